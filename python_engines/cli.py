"""``horizonscale`` command line: generate the synthetic fleet, build the warehouse, and friends."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from types import FrameType

from python_engines import unit_test_memo
from python_engines.paths import ProjectPaths

log = logging.getLogger("horizonscale")

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


class CliError(Exception):
    """A failure to report as one line (exit code in ``code``)."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


LOAD_EPILOG = """\
inventory columns (names matched case-insensitively; other columns are ignored):
  required: host_id, hostname, department, app_code, app_manager, region
  optional: environment, cpu_cores, memory_gb, storage_gb
telemetry columns: host_id, resource, ts, value
  host_id   as in the inventory (compared trimmed, case-insensitively)
  resource  cpu, memory, disk, network, or an alias in seeds/resource_aliases.csv
  ts        ISO 8601 date or timestamp: 2025-06-01, 2025-06-01T13:05:00Z, 2025-06-01T14:05:00+01:00;
            with an offset or zone it is converted to UTC, without one it is taken as UTC; each row
            counts for its UTC day. Epoch numbers and dates like 01/06/2025 are rejected.
  value     a number with a decimal point: percent 0-100 (0-1 with --value-scale fraction)
Each load gets a load_id (raw.load_audit; on every raw row). `load` replaces the raw layer (load 1);
`load --append --telemetry FILE` adds a load beside it; `load --undo LOAD_ID` removes one load's rows.
load changes nothing and exits 2 when a file cannot be read or lacks a required column, when no
telemetry row would be usable, or when the values look like 0-1 fractions and --value-scale is not
given; it warns when a problem would get many rows rejected. The build keeps every unusable row in
telemetry_rejects / inventory_rejects with its reason.
"""


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (use YYYY-MM-DD)") from exc


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help="where the warehouse and lake live, relative to the current directory like --out (default: "
        "$HORIZONSCALE_DATA_DIR, which like dbt reads a relative path from the project root, else the project's "
        "data/)",
    )


def _add_report_out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        help="directory for the CSV exception lists, relative to the current directory "
        "(default: reports/ in the data directory)",
    )
    parser.add_argument(
        "--no-bom",
        action="store_true",
        help="write the CSVs without a UTF-8 byte-order mark (by default they have one, so Excel reads "
        "non-Latin names right)",
    )


def _add_notify(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--notify",
        metavar="URL",
        help="Slack or Teams incoming-webhook URL: post one summary of risk_changes when something changed "
        "(default: $HORIZONSCALE_NOTIFY_URL; off when neither is set; the URL is never logged or stored)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="horizonscale", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    gen = commands.add_parser("generate", help="purge and regenerate the synthetic fleet and its telemetry lake")
    gen.add_argument("--hosts", type=int, default=2000, help="fleet size (default 2000)")
    gen.add_argument("--seed", type=int, default=42, help="random seed: same seed, same fleet (default 42)")
    gen.add_argument("--start", type=_iso_date, default=date(2023, 1, 1), help="first day (default 2023-01-01)")
    gen.add_argument("--end", type=_iso_date, default=date(2025, 12, 31), help="last day (default 2025-12-31)")
    gen.add_argument(
        "--extend-days",
        type=int,
        metavar="N",
        help="continue the synthetic fleet already in the data directory by N more days (same hosts, DNA and "
        "seed; every day it had is kept exactly; its --hosts/--seed/--start/--end are used, the forecast "
        "history is kept)",
    )
    _add_data_dir(gen)

    load = commands.add_parser(
        "load",
        help="bring your own fleet: land an inventory and telemetry exports",
        description="Land your own fleet's inventory and telemetry exports in the raw layer (replacing it), or add "
        "more telemetry to it (--append), or remove one load (--undo).",
        epilog=LOAD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    load.add_argument(
        "--inventory",
        help="inventory CSV or Parquet file (required, except with --append / --undo; with --append, the whole new "
        "inventory replaces the one loaded: hosts added or changed)",
    )
    load.add_argument("--telemetry", help="telemetry CSV/Parquet file or glob, e.g. 'exports/*.csv'")
    load.add_argument(
        "--append",
        action="store_true",
        help="add the telemetry to the fleet already loaded, as a new load (new days, late rows, re-sent rows; "
        "a repeated host/resource/instant: the later load wins); the inventory stays unless --inventory is given",
    )
    load.add_argument(
        "--undo",
        type=int,
        metavar="LOAD_ID",
        help="remove the rows of one load (see raw.load_audit) from the lake, then rebuild",
    )
    load.add_argument(
        "--value-scale",
        choices=("percent", "fraction"),
        default=None,
        help="utilisation given as percent 0-100 or fraction 0-1 (multiplied by 100); without it, percent, "
        "and values that all lie within 0-1 are refused until you say which",
    )
    _add_data_dir(load)

    stress = commands.add_parser(
        "stress-fleet",
        help="write an independent stress fleet (inventory, dirty telemetry) for `load`, its future aside as truth",
    )
    stress.add_argument("--hosts", type=int, default=400, help="fleet size (default 400)")
    stress.add_argument("--seed", type=int, default=11, help="random seed: same seed, same bytes (default 11)")
    stress.add_argument("--out", required=True, help="directory for inventory.csv, telemetry.parquet, truth ...")
    stress.add_argument(
        "--history-end", type=_iso_date, default=date(2025, 12, 31), help="last history day (default 2025-12-31)"
    )
    stress.add_argument("--history-days", type=int, default=1095, help="days of history (default 1095)")
    stress.add_argument("--horizon-days", type=int, default=180, help="days of truth after the history (default 180)")
    stress.add_argument(
        "--family-set",
        choices=("tuned", "holdout", "blind"),
        default="tuned",
        help="families to draw: tuned (the default; the ones the engine was tuned on), holdout (written without "
        "reading the engine; report on fresh seeds) or blind (nothing tuned on it; read once per code version)",
    )

    build = commands.add_parser("build", help="dbt build of the whole DAG on the fleet generated or loaded last")
    build.add_argument("--select", help="dbt node selection (default: everything)")
    build.add_argument("--exclude", help="dbt nodes to leave out (dbt --exclude syntax)")
    build.add_argument("--vars", help="dbt vars as YAML, e.g. \"{history_end: '2025-10-31'}\"")
    build.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental refinery models from nothing (same rows as the incremental path; use it "
        "after changing a refinery model or the inventory)",
    )
    _add_report_out(build)
    _add_notify(build)
    _add_data_dir(build)

    publish = commands.add_parser("publish", help="swap in a fresh read-only serving copy of the built warehouse")
    _add_data_dir(publish)

    report = commands.add_parser("report", help="write the exception lists as CSV (from the serving copy)")
    _add_report_out(report)
    _add_data_dir(report)

    whatif = commands.add_parser(
        "whatif",
        help="what if load grows, steps up or capacity changes: baseline vs scenario status (serving copy)",
        description="Apply one what-if scenario to the golden forecasts of the serving copy (no refit, no "
        "rebuild), print baseline vs scenario RAG counts and the hosts that change, and write a CSV. Same "
        "formula and breach rule as the scenario models (seeds/whatif_scenarios.csv).",
    )
    whatif.add_argument(
        "--scope",
        default="fleet",
        help="fleet (default), department=NAME, app_code=CODE, host=HOSTNAME or resource=cpu|memory|disk|network",
    )
    whatif.add_argument("--resource", default="all", help="resource the effect applies to (default all)")
    whatif.add_argument("--growth", help="extra growth compounding monthly from --from, e.g. 20%%/month")
    whatif.add_argument("--step", help="load added from --from: points (e.g. +10pts) or a share (e.g. 15%%)")
    whatif.add_argument("--capacity", help="capacity change as new / old, e.g. x2 (cores doubled)")
    whatif.add_argument(
        "--from", dest="start", type=_iso_date, help="first day of the effect (default: first forecast day)"
    )
    whatif.add_argument("--name", default="adhoc", help="scenario name, used in the CSV name (default adhoc)")
    whatif.add_argument("--scenario", help="run a row of seeds/whatif_scenarios.csv by name instead")
    _add_report_out(whatif)
    _add_data_dir(whatif)

    run = commands.add_parser("run", help="the main job: generate the fleet, then build everything")
    run.add_argument("--hosts", type=int, default=2000, help="hosts in the synthetic fleet (default 2000)")
    run.add_argument("--seed", type=int, default=42, help="seed of the fleet (default 42)")
    run.add_argument("--vars", help="dbt vars as YAML")
    _add_report_out(run)
    _add_notify(run)
    _add_data_dir(run)
    return parser


def cmd_generate(args: argparse.Namespace, paths: ProjectPaths) -> None:
    from python_engines.synthetic import GeneratorAuditError, GeneratorConfig, GeneratorInputError, generate
    from python_engines.synthetic.generator import extended_config

    _refuse_if_locked(paths)  # it deletes (or, extending, writes) the warehouse: not under a dbt or a client
    try:
        if getattr(args, "extend_days", None) is not None:
            config = extended_config(paths, args.extend_days)
        else:
            config = GeneratorConfig(hosts=args.hosts, seed=args.seed, start=args.start, end=args.end)
        result = generate(config, paths)
    except GeneratorInputError as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT) from exc
    except GeneratorAuditError as exc:
        raise CliError(str(exc), EXIT_FAILED) from exc
    log.info(
        "generated %s hosts and %s telemetry rows in %.1f s (dirt: %s)",
        f"{result.hosts:,}",
        f"{result.telemetry_rows:,}",
        result.seconds,
        ", ".join(f"{k}={v:,}" for k, v in result.dirt.as_dict().items()),
    )


def cmd_load(args: argparse.Namespace, paths: ProjectPaths) -> None:
    from python_engines.ingest import IngestError, append_telemetry, ingest
    from python_engines.loads import LoadError, undo_load

    if args.undo is not None:
        if args.append or args.inventory or args.telemetry:
            raise CliError("--undo LOAD_ID takes no other input: drop --append, --inventory and --telemetry", 2)
        _refuse_if_locked(paths)
        try:
            undo_load(paths, args.undo)
        except LoadError as exc:
            raise CliError(str(exc), EXIT_BAD_INPUT) from exc
        return
    if not args.telemetry:
        raise CliError("--telemetry is required (a file or glob of your telemetry exports)", EXIT_BAD_INPUT)
    if not args.append and not args.inventory:
        raise CliError("--inventory is required (or --append to add telemetry to the fleet loaded)", EXIT_BAD_INPUT)
    _refuse_if_locked(paths)  # a load deletes the warehouse (or, appending, writes it): not under a dbt or a client
    try:
        if args.append:
            append_telemetry(paths, args.telemetry, args.value_scale, args.inventory)
        else:
            ingest(paths, args.inventory, args.telemetry, args.value_scale)
    except IngestError as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT) from exc


def cmd_stress_fleet(args: argparse.Namespace) -> None:
    from python_engines.stress import StressConfig, StressInputError, generate_stress_fleet

    config = StressConfig(
        hosts=args.hosts,
        seed=args.seed,
        history_end=args.history_end,
        history_days=args.history_days,
        horizon_days=args.horizon_days,
        family_set=args.family_set,
    )
    try:
        generate_stress_fleet(config, Path(args.out))
    except StressInputError as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT) from exc


def dbt_executable() -> str:
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else "dbt"


def run_dbt(paths: ProjectPaths, *arguments: str) -> None:
    """Run dbt from the project root (where profiles.yml lives) against ``paths.data_dir``.

    dbt runs as a child that dies with this process (python_engines.dbt_process), so a killed CLI never leaves
    a dbt holding the warehouse lock.
    """
    from python_engines.dbt_process import run_child

    env = {**os.environ, "HORIZONSCALE_DATA_DIR": str(paths.data_dir)}
    command = [dbt_executable(), *arguments, "--project-dir", str(paths.root), "--profiles-dir", str(paths.root)]
    log.info("running: %s", " ".join(command))
    returncode = run_child(command, paths.root, env)
    if returncode != 0:
        raise CliError(f"dbt {arguments[0]} failed (exit {returncode}); see the dbt log above")


def _refuse_if_locked(paths: ProjectPaths) -> None:
    from python_engines.dbt_process import warehouse_lock_message

    locked = warehouse_lock_message(paths.warehouse)
    if locked:
        raise CliError(locked)


def _refuse_unreachable_dask(dbt_vars: str | None) -> None:
    """With --vars '{dask_scheduler: ...}', check that a scheduler answers there before dbt starts."""
    import yaml

    try:
        parsed = yaml.safe_load(dbt_vars) if dbt_vars else None
    except yaml.YAMLError:
        return  # dbt reports bad --vars itself
    address = parsed.get("dask_scheduler") if isinstance(parsed, dict) else None
    if address in (None, "", "none", "null"):
        return
    from python_engines.forecasting.fleet import dask_scheduler_problem

    problem = dask_scheduler_problem(str(address).strip())
    if problem:
        raise CliError(problem, EXIT_BAD_INPUT)


def cmd_build(args: argparse.Namespace, paths: ProjectPaths) -> None:
    """dbt build, then (only after a green build of the whole DAG) publish the serving copy and the reports.

    A build with --select or --exclude refreshes those nodes in the warehouse only: the serving copy and the
    reports stay as the last full build published them. Its tests are chosen cautiously (a test runs only
    when every table it reads was selected), so a subset never fails on tables it did not build.
    """
    from python_engines.quarantine import over_threshold_advice, read_quarantine, short_history_warning

    if not paths.warehouse.is_file():
        raise CliError(
            f"no warehouse at {paths.warehouse}: run `horizonscale generate` (synthetic fleet) or "
            "`horizonscale load` (your own fleet) first",
            EXIT_BAD_INPUT,
        )
    _refuse_if_locked(paths)
    if not (args.select or getattr(args, "exclude", None)):  # a whole build ends with the reports: check first
        writable_report_dir(args, paths)
    from python_engines.ingest import describe_last_load
    from python_engines.loads import unfinished_load_problem

    unfinished = unfinished_load_problem(paths.warehouse)
    if unfinished:
        raise CliError(unfinished)
    last_load = describe_last_load(paths.warehouse)
    if last_load:
        log.info(last_load)
    _refuse_unreachable_dask(args.vars)
    extra = ["--vars", args.vars] if args.vars else []
    full_refresh = getattr(args, "full_refresh", False)
    extra += ["--full-refresh"] if full_refresh else []
    selection = ["--select", args.select, "--indirect-selection", "cautious"] if args.select else []
    selection += ["--exclude", args.exclude] if getattr(args, "exclude", None) else []
    tested = unit_test_memo.fingerprint(paths.root, args.vars)
    skip_unit_tests = not full_refresh and unit_test_memo.unchanged_since_passed(paths.data_dir, tested)
    if skip_unit_tests:
        log.info(
            "dbt unit tests left out: the project's SQL, vars and dbt versions are those of the last build that "
            "passed them (a code change or --full-refresh runs them again)"
        )
        extra += unit_test_memo.SKIP_UNIT_TESTS
    try:
        run_dbt(paths, "build", *selection, *extra)
    except CliError as exc:
        from python_engines.dbt_process import warehouse_lock_message

        locked = warehouse_lock_message(paths.warehouse)
        if locked:
            raise CliError(locked) from exc
        advice = over_threshold_advice(paths.warehouse)
        raise CliError(f"{exc}: {advice}" if advice else str(exc)) from exc
    if not selection and not skip_unit_tests:  # every unit test ran, and passed
        unit_test_memo.record_passed(paths.data_dir, tested)
    for quarantine in read_quarantine(paths.warehouse):
        log.info("quarantine: %s", quarantine.describe())
    too_short = short_history_warning(paths.warehouse)
    if too_short:
        log.warning(too_short)
    if selection:
        log.warning(
            "partial build (%s): the warehouse holds the selected nodes only as rebuilt; the serving copy and the "
            "reports were left as the last full build published them. Run `horizonscale build` without --select "
            "/ --exclude to publish.",
            " ".join(selection),
        )
        return
    cmd_publish(args, paths)
    try:
        cmd_report(args, paths)
    finally:  # the change alert is compared with this build's snapshot: a lost one is never sent again
        report_changes(args, paths)


def report_changes(args: argparse.Namespace, paths: ProjectPaths) -> None:
    """risk_changes as JSON and CSV beside the other reports, and the webhook summary when asked for."""
    from python_engines.alerts import notify_url, report_and_notify
    from python_engines.serving import serving_file

    report_and_notify(
        serving_file(paths),
        report_dir(args, paths),
        notify_url(getattr(args, "notify", None)),
        bom=not getattr(args, "no_bom", False),
        sent_memo=paths.data_dir / ".last_notified",
        history_dir=paths.history_dir,
    )


def cmd_publish(args: argparse.Namespace, paths: ProjectPaths) -> None:
    import duckdb

    from python_engines.dbt_process import lock_message
    from python_engines.serving import IncompleteWarehouseError, publish

    try:
        result = publish(paths)
    except IncompleteWarehouseError as exc:
        raise CliError(str(exc)) from exc
    except duckdb.Error as exc:
        raise CliError(lock_message(paths.warehouse, exc) or f"publish failed: {str(exc).splitlines()[0]}") from exc
    log.info(
        "serving copy: %s (%d tables); Parquet exports in %s",
        result.serving_file,
        len(result.tables),
        result.parquet_dir,
    )


def cmd_report(args: argparse.Namespace, paths: ProjectPaths) -> None:
    import duckdb

    from python_engines.report import write_reports
    from python_engines.serving import serving_file

    try:
        write_reports(serving_file(paths), writable_report_dir(args, paths), bom=not getattr(args, "no_bom", False))
    except duckdb.CatalogException as exc:
        raise CliError(
            f"the serving copy {serving_file(paths)} lacks a report table ({str(exc).splitlines()[0]}): run "
            "`horizonscale build` (the whole DAG) to publish a complete one"
        ) from exc


def cmd_whatif(args: argparse.Namespace, paths: ProjectPaths) -> None:
    from python_engines import whatif
    from python_engines.serving import serving_file

    try:
        if args.scenario:
            if (
                args.growth
                or args.step
                or args.capacity
                or args.start
                or args.scope != "fleet"
                or args.resource.strip().lower() != "all"
                or args.name != "adhoc"
            ):
                raise whatif.WhatIfError(
                    "--scenario takes its name, scope, resource and effect from the seed: drop the other flags"
                )
            scenario = whatif.seed_scenario(serving_file(paths), args.scenario)
        else:
            if not (args.growth or args.step or args.capacity):
                raise whatif.WhatIfError("no effect given: add --growth 20%/month, --step +10pts or --capacity x2")
            kind, value = whatif.parse_scope(args.scope)
            step_points, step_pct = whatif.parse_step(args.step) if args.step else (0.0, 0.0)
            scenario = whatif.Scenario(
                scenario_name=args.name,
                scope_kind=kind,
                scope_value=value,
                resource=args.resource.strip().lower(),
                start_date=args.start,
                growth_pct_per_month=whatif.parse_growth(args.growth) if args.growth else 0.0,
                step_points=step_points,
                step_pct=step_pct,
                capacity_factor=whatif.parse_capacity(args.capacity) if args.capacity else 1.0,
            )
        result = whatif.run_whatif(serving_file(paths), scenario)
    except whatif.WhatIfError as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT) from exc
    out_dir = writable_report_dir(args, paths)
    print("\n".join(whatif.summary_lines(result)))
    target = whatif.write_csv(result, out_dir, bom=not args.no_bom)
    print(f"CSV: {target}")


def report_dir(args: argparse.Namespace, paths: ProjectPaths) -> Path:
    """``--out`` as the user meant it (relative to the current directory), else reports/ in the data directory."""
    out = getattr(args, "out", None)
    return Path(out).resolve() if out else paths.data_dir / "reports"


def writable_report_dir(args: argparse.Namespace, paths: ProjectPaths) -> Path:
    """The report folder, created if missing, once a file could be written in it; else one line naming the folder,
    why, and what to do (a traceback after a whole build once lost the day's change alert)."""
    folder = report_dir(args, paths)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write_check_{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise CliError(
            f"cannot write reports to {folder}: {exc.strerror or exc}; pass --out a folder you can write to",
            EXIT_BAD_INPUT,
        ) from exc
    return folder


#: Commands that change the data directory (warehouse, lake, serving copy): one at a time per directory.
WRITING_COMMANDS: frozenset[str] = frozenset({"generate", "load", "build", "publish", "run"})


@contextlib.contextmanager
def _data_dir_lock(command: str, paths: ProjectPaths) -> Iterator[None]:
    """The data directory's lock for the whole command when it writes there (python_engines.data_lock)."""
    from python_engines.data_lock import DataDirBusyError, exclusive

    if command not in WRITING_COMMANDS:
        yield
        return
    try:
        with exclusive(paths.data_dir, command):
            yield
    except DataDirBusyError as exc:  # raised only on entry: the command's own errors pass through
        raise CliError(str(exc)) from exc


def run_command(args: argparse.Namespace, paths: ProjectPaths) -> None:
    if args.command == "generate":
        cmd_generate(args, paths)
    elif args.command == "load":
        cmd_load(args, paths)
    elif args.command == "build":
        cmd_build(args, paths)
    elif args.command == "publish":
        cmd_publish(args, paths)
    elif args.command == "report":
        cmd_report(args, paths)
    elif args.command == "whatif":
        cmd_whatif(args, paths)
    elif args.command == "run":
        args.start, args.end, args.select, args.exclude = date(2023, 1, 1), date(2025, 12, 31), None, None
        _refuse_unreachable_dask(args.vars)  # before generate purges the warehouse a typo would cost
        cmd_generate(args, paths)
        cmd_build(args, paths)


#: The stop signals (SIGINT, SIGTERM) this process received, in order.
STOP_SIGNALS: list[int] = []


def _stop(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C and SIGTERM stop a command the same way: as an exception, so that every clean-up runs (a publish's
    partial copy, a load's staging area). SIGTERM's default killed the process on the spot, which left a partial
    serving copy as big as the real one behind for good; a DuckDB query under way stops with 'Query interrupted'."""
    STOP_SIGNALS.append(signum)
    raise KeyboardInterrupt


@contextlib.contextmanager
def _stop_signals_as_exceptions() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _interrupted() -> int:
    """'interrupted' on stderr; the exit code of the signal received (130 for Ctrl-C, 143 for SIGTERM)."""
    print("horizonscale: interrupted", file=sys.stderr)
    return 128 + (STOP_SIGNALS[-1] if STOP_SIGNALS else signal.SIGINT)


def main(argv: Sequence[str] | None = None) -> int:
    STOP_SIGNALS.clear()
    with _stop_signals_as_exceptions():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        if args.command == "stress-fleet":  # writes files for `load`; touches no data directory
            cmd_stress_fleet(args)
            return 0
        # --data-dir as typed, from the current directory (it was read from the project root, so a relative
        # path given elsewhere wrote into the checkout); the environment variable keeps dbt's reading.
        paths = ProjectPaths.discover(Path(args.data_dir).resolve() if args.data_dir else None)
        if paths.data_dir.exists() and not paths.data_dir.is_dir():
            raise CliError(
                f"the data directory {paths.data_dir} (--data-dir or HORIZONSCALE_DATA_DIR) is a file, not a "
                "directory: point it at a directory (it is created if missing)",
                EXIT_BAD_INPUT,
            )
        with _data_dir_lock(args.command, paths):
            run_command(args, paths)
    except CliError as exc:
        print(f"horizonscale: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:  # dbt got the Ctrl-C too and has stopped; the serving copy is untouched
        return _interrupted()
    except FileNotFoundError as exc:
        if STOP_SIGNALS:
            return _interrupted()
        print(f"horizonscale: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception:
        if not STOP_SIGNALS:
            raise
        return _interrupted()  # DuckDB turns the signal into RuntimeError('Query interrupted'), or a later error
    return 0


if __name__ == "__main__":
    sys.exit(main())
