"""The daily loop end to end on a tiny fleet: build, the fleet continues by a week, build again.

forecast_history then holds two snapshots, forecast_accuracy scores the first against the week that arrived,
risk_changes lists the planted change, a host that went silent is AMBER in fleet_health (stale_hosts), and the
local webhook received exactly one message (none after the first build: nothing to compare yet), whose URL is
nowhere in the logs or the warehouse.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from support import INCREMENTAL_REFINERY as REFINERY
from support import PROJECT_ROOT, run_isolated

from python_engines.paths import ProjectPaths
from python_engines.raw_layer import load_file_name
from python_engines.serving import serving_file

HOSTS = 10
SEED = 3
START, END = date(2024, 7, 1), date(2025, 6, 30)
EXTEND_DAYS = 7
SECRET = "/hooks/T0/B0/daily-loop-secret"
# The second build comes 7 days later: it keeps the first build's tournament (the default age limit is 6 days).
# Both builds pass the same vars, so the second leaves out the unit tests the first passed (unit_test_memo).
KEEP_TOURNAMENT = "{forecast_workers: 1, tournament_max_age_days: 7}"


class Hook:
    """A local incoming webhook recording every POSTed JSON body."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{SECRET}"


def _check(completed: subprocess.CompletedProcess[str]) -> str:
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-6000:]
    return output


def _query(path: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, parameters).fetchall()


REFINED_TABLES = ("processed_data", "telemetry_rejects", "inventory_rejects", "quarantine_summary")


def _refined(paths: ProjectPaths) -> dict[str, list[tuple]]:
    return {table: _query(paths.warehouse, f"select * from {table} order by all") for table in REFINED_TABLES}


def _run_ids(paths: ProjectPaths) -> dict[date, tuple[str, int]]:
    rows = _query(paths.warehouse, "select as_of, any_value(run_id), count(*) from forecast_history group by all")
    return {as_of: (run_id, count) for as_of, run_id, count in rows}


def _run_results(work: Path) -> list[dict]:
    """The node results of the last dbt run (dbt's target is under ``work``: support.isolated_env)."""
    return json.loads((work / "target" / "run_results.json").read_text())["results"]


def _model_messages(work: Path) -> dict[str, str]:
    """Each model of the last dbt run -> its result message (``KEPT (unchanged view)`` for a kept view)."""
    return {
        r["unique_id"].split(".")[-1]: r["message"] for r in _run_results(work) if r["unique_id"].startswith("model.")
    }


#: A view the test makes look as if an older build had written it (no stamp in its comment).
STALE_VIEW = "stg_inventory"


def _unit_tests_run(work: Path) -> int:
    """Unit tests in the last dbt run's results."""
    return sum(r["unique_id"].startswith("unit_test.") for r in _run_results(work))


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    work = tmp_path_factory.mktemp("daily")
    paths = ProjectPaths(root=PROJECT_ROOT, data_dir=work / "data")
    hook = Hook()
    logs: list[str] = []

    def cli(*args: str) -> str:
        output = _check(run_isolated(["horizonscale", *args], paths.data_dir, work))
        logs.append(output)
        return output

    cli("generate", "--hosts", str(HOSTS), "--seed", str(SEED), "--start", str(START), "--end", str(END))
    cli("build", "--vars", KEEP_TOURNAMENT, "--notify", hook.url)
    messages_after_first_build = len(hook.bodies)
    first = _query(
        serving_file(paths),
        "select h.host_id, h.scenario from hosts as h order by h.scenario = 'IDLE' desc, h.hostname",
    )
    spiked, silenced = first[0][0], first[-1][0]

    cli("generate", "--extend-days", str(EXTEND_DAYS))
    # The planted change: the idle host's cpu jumps to 99% for the new week; another host goes silent. The new
    # week landed beside the fleet as load 2 (its own lake file); the second build refines it incrementally.
    lake = paths.lake_dir / load_file_name("synthetic", 2)
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * replace (case when lower(host_id) = '{spiked}' and lower(trim(resource)) = 'cpu' "
            f"and ts > date '{END}' then 99.0 else value end as value) from read_parquet('{lake}') "
            f"where not (lower(host_id) = '{silenced}' and ts > date '{END}')) to '{lake}.new' (format parquet)"
        )
    Path(f"{lake}.new").replace(lake)
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute(f"comment on view {STALE_VIEW} is 'written by an older build'")
    second_build = cli("build", "--vars", KEEP_TOURNAMENT, "--notify", hook.url)
    unit_tests_second_build = _unit_tests_run(work)
    second_build_messages = _model_messages(work)
    views = {
        name: comment
        for name, comment in _query(paths.warehouse, "select view_name, comment from duckdb_views() where not internal")
    }
    hook.server.shutdown()
    tournament = _query(
        paths.warehouse,
        "select w.is_tournament_kept, w.backtest_end, w.tournament_age_days, count(r.host_id),"
        " count(r.host_id) filter (where r.detail like '%backtest=kept%'),"
        " (select max(ds) from prophet_forecasts where segment = 'backtest')"
        " from forecast_windows as w"
        " left join engine_runs as r on r.model = 'prophet' and r.status = 'ok' group by all",
    )[0]
    xgboost_backtests = _query(
        paths.warehouse,
        "select count(*) filter (where status = 'ok'), count(*) filter (where detail like '%backtest=kept%')"
        " from engine_runs where model = 'xgboost'",
    )[0]
    runs_before = _run_ids(paths)
    incremental = _refined(paths)
    # Rebuilding the latest snapshot (the pre-hook runs again) replaces that snapshot only.
    logs.append(_check(run_isolated(["dbt", "run", "--select", "forecast_history"], paths.data_dir, work)))
    # The same refinery from nothing: the incremental path must have given the same rows.
    logs.append(_check(run_isolated([*REFINERY, "--full-refresh"], paths.data_dir, work)))
    full_refresh_messages = _model_messages(work)
    yield {
        "paths": paths,
        "hook": hook,
        "logs": "\n".join(logs),
        "first_messages": messages_after_first_build,
        "spiked": spiked,
        "silenced": silenced,
        "runs_before": runs_before,
        "runs_after": _run_ids(paths),
        "incremental": incremental,
        "full_refresh": _refined(paths),
        "tournament": tournament,
        "xgboost_backtests": xgboost_backtests,
        "unit_tests_second_build": unit_tests_second_build,
        "second_build_log": second_build,
        "second_build_messages": second_build_messages,
        "full_refresh_messages": full_refresh_messages,
        "views": views,
    }


def test_the_second_build_left_out_the_unit_tests_the_first_passed(loop: dict) -> None:
    assert "dbt unit tests left out" in loop["second_build_log"]
    assert loop["unit_tests_second_build"] == 0
    assert "dbt unit tests left out" not in loop["logs"].split(loop["second_build_log"])[0]


def test_the_second_build_kept_the_unchanged_views(loop: dict) -> None:
    """Views whose SQL and docs are unchanged are kept (materializations/view.sql); one whose comment lacks this
    build's stamp is re-created and stamped, and so is a view under an enforced contract; --full-refresh
    re-creates them all."""
    kept = "KEPT (unchanged view)"
    messages, views = loop["second_build_messages"], loop["views"]
    staging = [name for name in views if name.startswith("stg_")]
    assert len(staging) >= 5 and STALE_VIEW in staging
    assert {name: messages[name] for name in staging if name != STALE_VIEW} == {
        name: kept for name in staging if name != STALE_VIEW
    }
    assert messages[STALE_VIEW] != kept
    assert messages["forecast_history"] != kept  # under an enforced contract: re-created, so dbt checks it
    assert all("(horizonscale view stamp " in views[name] for name in staging), views
    assert views[STALE_VIEW].startswith("Your own inventory")  # the model's description, then the stamp
    assert not any(message == kept for message in loop["full_refresh_messages"].values())
    assert sum(name.startswith("stg_") for name in loop["full_refresh_messages"]) >= 5


def test_the_second_build_kept_the_first_tournament(loop: dict) -> None:
    kept, backtest_end, age, prophet_ok, prophet_kept, last_backtest_day = loop["tournament"]
    assert (kept, backtest_end, age, last_backtest_day) == (True, END, EXTEND_DAYS, END)
    # No day before the training cut changed: Prophet refit only the production forecast of every series,
    # and XGBoost predicted only the production forecasts (same backtest booster and calibration).
    assert prophet_kept == prophet_ok > 0
    xgboost_ok, xgboost_kept = loop["xgboost_backtests"]
    assert xgboost_kept == xgboost_ok > 0


def test_history_keeps_both_snapshots(loop: dict) -> None:
    paths: ProjectPaths = loop["paths"]
    snapshots = _query(
        paths.warehouse,  # a view over the Parquet history: in the warehouse, not copied to the serving copy
        "select as_of, count(distinct run_id), min(horizon_days), max(horizon_days) from forecast_history "
        "group by all order by as_of",
    )
    assert [row[0] for row in snapshots] == [END, END + timedelta(days=EXTEND_DAYS)]
    assert all(row[1:] == (1, 1, 180) for row in snapshots)
    # The latest snapshot keeps where each band came from, as `forecasts` (that build) has it.
    ((kept, differing),) = _query(
        paths.warehouse,
        "select count(h.band_source), count(*) filter (where h.band_source is distinct from f.band_source) "
        "from forecast_history as h inner join forecasts as f using (host_id, resource, ds) where h.as_of = ?",
        [END + timedelta(days=EXTEND_DAYS)],
    )
    assert kept > 0 and differing == 0
    files = sorted(p.relative_to(paths.history_dir).as_posix() for p in paths.history_dir.rglob("*.parquet"))
    assert files == [
        f"as_of={END}/forecasts0.parquet",
        f"as_of={END + timedelta(days=EXTEND_DAYS)}/forecasts0.parquet",
        "as_of=__HIVE_DEFAULT_PARTITION__/forecasts0.parquet",  # the empty-history placeholder row
    ]


def test_rebuild_replaces_only_its_own_snapshot(loop: dict) -> None:
    before, after = loop["runs_before"], loop["runs_after"]
    latest = END + timedelta(days=EXTEND_DAYS)
    assert after[END] == before[END]
    assert after[latest][1] == before[latest][1]
    assert after[latest][0] != before[latest][0]


def test_accuracy_scores_the_first_snapshot_on_the_new_week(loop: dict) -> None:
    rows = _query(
        serving_file(loop["paths"]),
        "select as_of, horizon_bucket, sum(scored_days), max(max_horizon_days) from forecast_accuracy group by all",
    )
    assert len(rows) == 1
    as_of, bucket, scored, furthest = rows[0]
    assert (as_of, bucket, furthest) == (END, "1-7", EXTEND_DAYS)
    # Every forecast series of the first snapshot, on every observed day of the week (a few days are missing).
    assert 0.9 * HOSTS * 4 * EXTEND_DAYS * 0.9 < scored <= HOSTS * 4 * EXTEND_DAYS


def test_risk_changes_list_the_planted_breach(loop: dict) -> None:
    changes = _query(
        serving_file(loop["paths"]),
        f"select change_type, current_breach_date from risk_changes where host_id = '{loop['spiked']}' "
        "and resource = 'cpu'",
    )
    assert changes[0][:1] == ("NEW_BREACH",), changes
    assert changes[0][1] <= END + timedelta(days=EXTEND_DAYS + 90)


def test_silent_host_is_stale_and_amber(loop: dict) -> None:
    serving = serving_file(loop["paths"])
    assert _query(serving, "select host_id, days_silent from stale_hosts") == [(loop["silenced"], EXTEND_DAYS)]
    status, reason = _query(
        serving, f"select status, status_reason from fleet_health where host_id = '{loop['silenced']}'"
    )[0]
    assert status == "AMBER"
    assert reason.startswith(f"no telemetry since {END} ({EXTEND_DAYS} days)")


def test_one_message_and_reports(loop: dict) -> None:
    paths: ProjectPaths = loop["paths"]
    assert loop["first_messages"] == 0  # one snapshot: nothing changed yet, nothing sent
    assert len(loop["hook"].bodies) == 1
    text = loop["hook"].bodies[0]["text"]
    assert f"{END} -> {END + timedelta(days=EXTEND_DAYS)}" in text
    report = json.loads((paths.data_dir / "reports" / "risk_changes.json").read_text())
    assert report["counts"]["NEW_BREACH"] >= 1
    assert (paths.data_dir / "reports" / "risk_changes.csv").is_file()


def test_webhook_url_is_kept_secret(loop: dict) -> None:
    paths: ProjectPaths = loop["paths"]
    assert SECRET not in loop["logs"]
    for stored in (paths.warehouse, serving_file(paths)):
        assert SECRET.encode() not in stored.read_bytes()
    assert not any(SECRET.encode() in p.read_bytes() for p in paths.history_dir.rglob("*.parquet"))


def test_incremental_refinery_equals_full_refresh(loop: dict) -> None:
    """The second build reprocessed only the new week (and the gap fill back to the latest observation before
    it); a --full-refresh of the refinery gives the same rows in processed_data and the quarantine tables."""
    for table in REFINED_TABLES:
        assert loop["incremental"][table] == loop["full_refresh"][table], table
    assert max(row[2] for row in loop["incremental"]["processed_data"]) == END + timedelta(days=EXTEND_DAYS)


def test_undoing_the_extension_sets_aside_only_its_snapshot(loop: dict, tmp_path: Path) -> None:
    """Last in the module (it changes the loop's data). A synthetic extension's loaded_at is on the fleet's
    made-up timeline, not the clock the builds stamp: undoing it once moved every snapshot, the first build's
    too, so the whole track record went with it."""
    from python_engines.loads import UNDONE_HISTORY, read_withdrawn

    paths = loop["paths"]
    _check(run_isolated(["horizonscale", "load", "--undo", "2"], paths.data_dir, tmp_path))
    kept = sorted(p.name for p in paths.history_dir.glob("as_of=*") if "HIVE_DEFAULT" not in p.name)
    aside = sorted(p.name for p in (paths.data_dir / UNDONE_HISTORY / "load_2").glob("as_of=*"))
    assert kept == [f"as_of={END}"]
    assert aside == [f"as_of={END + timedelta(days=EXTEND_DAYS)}"]
    # the next notifying build withdraws the alerts posted from it
    assert read_withdrawn(paths.data_dir) == [{"load_id": 2, "as_of": [str(END + timedelta(days=EXTEND_DAYS))]}]
