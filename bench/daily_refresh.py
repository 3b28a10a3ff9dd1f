"""Benchmark the daily loop: a refresh after one new day against a full build of the same data.

    python -m bench.daily_refresh [--hosts 200] [--data-dir /tmp/hs_bench_daily] [--workers 2]
                                  [--refinery-only] [--repeats 1]

Steps, each as its own process (as a user runs them):

1. ``generate --hosts N`` and ``build``: the warehouse as it stands before the day (not measured in the table);
2. daily refresh: ``generate --extend-days 1`` (the day lands as a new load) and ``build`` (dbt build with the
   incremental refinery, the last build's tournament kept, then publish + reports);
3. full build: ``build --full-refresh`` of the same data (the refinery from nothing, a fresh tournament).

For each build the dbt run results are split into the refinery (models under staging, intermediate and core,
where the incremental models are), the forecasting engines (models/forecasting: every engine refits every
series' production forecast, since each history gained a day; the daily build keeps Prophet's backtests),
the rest of the DAG (risk, history, scenarios), dbt's data and unit tests, and what is outside the dbt nodes
(dbt start-up and parsing, publish, reports). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("refinery models", "forecasting engines", "other models", "dbt tests", "outside dbt nodes")
REFINERY_SELECTION = [
    "--select",
    "+processed_data telemetry_rejects quarantine_summary int_refinery_loads",
    "--indirect-selection",
    "cautious",
    "--exclude-resource-type",
    "unit_test",
]


def run(command: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one child process (exits with its log tail on failure)."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{(done.stdout + done.stderr)[-4000:]}")
    return time.perf_counter() - started


def part_of(node: dict) -> str:
    if node["resource_type"] != "model":
        return "dbt tests"
    path = node["original_file_path"]
    if path.startswith("models/intermediate/risk/"):  # the risk marts' intermediates, built after the engines
        return "other models"
    if path.startswith(("models/staging/", "models/intermediate/", "models/core/")):
        return "refinery models"
    if path.startswith("models/forecasting/"):
        return "forecasting engines"
    return "other models"


def split_build(target: Path, wall: float) -> dict[str, float]:
    """Seconds per part of one build, from dbt's run_results.json and manifest.json (threads run nodes in
    parallel, so the node times add up to more than the wall time when nodes overlapped)."""
    results = json.loads((target / "run_results.json").read_text())
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    seconds: dict[str, float] = defaultdict(float)
    for result in results["results"]:
        node = nodes.get(result["unique_id"])
        if node is not None:
            seconds[part_of(node)] += result["execution_time"]
    seconds["outside dbt nodes"] = wall - results["elapsed_time"]
    seconds["build wall"] = wall
    for part, spent in sql_seconds(target.parent / "dbt_logs" / "dbt.log", nodes).items():
        seconds[f"{part}: SQL in DuckDB"] = spent
    return dict(seconds)


def sql_seconds(log: Path, nodes: dict) -> dict[str, float]:
    """Seconds the warehouse spent on each part's SQL statements, from dbt's debug log ("On <node>: <sql>"
    then "SQL status: OK in 0.123 seconds"): the node times less dbt's own per-node work (compiling,
    metadata, hooks bookkeeping), which on a loaded machine can be most of a small node's time."""
    seconds: dict[str, float] = defaultdict(float)
    if not log.exists():
        return {}
    node = None
    for line in log.read_text(errors="replace").splitlines():
        opened = re.search(r"On ((?:model|test)\.[\w.]+): ", line)
        if opened:
            node = nodes.get(opened.group(1))
            continue
        status = re.search(r"SQL status: \S+ in ([\d.]+) seconds", line)
        if status and node is not None:
            seconds[part_of(node)] += float(status.group(1))
            node = None
    return dict(seconds)


def kept_backtests(runs: Path) -> tuple[int, int]:
    """(series whose backtest the build kept, series forecast) from an engine's run log."""
    if not runs.exists():
        return 0, 0
    log = pl.read_parquet(runs).filter(pl.col("status") == "ok")
    return log.filter(pl.col("detail").str.contains("backtest=kept")).height, log.height


def median_parts(builds: list[dict[str, float]]) -> dict[str, float]:
    """Per part, the median over repeated builds."""
    return {part: statistics.median(build.get(part, 0.0) for build in builds) for part in builds[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--data-dir", default="/tmp/hs_bench_daily")
    parser.add_argument("--workers", type=int, default=2, help="forecast_workers var (default 2)")
    parser.add_argument(
        "--refinery-only", action="store_true", help="build only the refinery's dbt selection (no engines' refit)"
    )
    parser.add_argument("--repeats", type=int, default=1, help="daily and full builds N times, medians (default 1)")
    args = parser.parse_args()
    data = Path(args.data_dir)
    shutil.rmtree(data, ignore_errors=True)
    target = data / "dbt_target"
    logs = data / "dbt_logs"
    env = {
        **os.environ,
        "HORIZONSCALE_DATA_DIR": str(data),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(logs),
    }
    cli = [sys.executable, "-m", "python_engines.cli"]
    gentle = ["--vars", f"{{forecast_workers: {args.workers}}}"]
    if args.refinery_only:
        build = [str(Path(sys.executable).with_name("dbt")), "build", *REFINERY_SELECTION]
    else:
        build = [*cli, "build", *gentle]
    full_build = [*build, "--full-refresh"]

    run([*cli, "generate", "--hosts", str(args.hosts)], env)
    run(build, env)
    extend = run([*cli, "generate", "--extend-days", "1"], env)
    warehouse = data / "horizonscale.duckdb"
    before_day = data / "before_the_daily_build.duckdb"
    shutil.copyfile(warehouse, before_day)
    engines, engines_before = data / "lake" / "forecasts", data / "forecasts_before_the_daily_build"
    if engines.exists():  # the engines' last run (what a daily build keeps backtests from)
        shutil.copytree(engines, engines_before)
    dailies, fulls, kept = [], [], []
    for _ in range(args.repeats):
        shutil.copyfile(before_day, warehouse)
        if engines_before.exists():
            shutil.rmtree(engines, ignore_errors=True)
            shutil.copytree(engines_before, engines)
        shutil.rmtree(logs, ignore_errors=True)
        dailies.append(split_build(target, run(build, env)))
        kept.append(kept_backtests(engines / "prophet_runs.parquet"))
        shutil.rmtree(logs, ignore_errors=True)
        fulls.append(split_build(target, run(full_build, env)))
    daily, full = median_parts(dailies), median_parts(fulls)

    what = "the refinery's dbt selection" if args.refinery_only else "the whole build"
    repeats = f", median of {args.repeats} runs" if args.repeats > 1 else ""
    print(
        f"Daily refresh after one new day vs a full build ({what}), {args.hosts:,} hosts "
        f"({args.hosts * 4:,} series){repeats}\n"
    )
    print("| part | daily refresh s | full build s | daily / full |")
    print("|---|---:|---:|---:|")
    print(f"| load the day (`generate --extend-days 1`) | {extend:.1f} | | |")
    sql_parts = [f"{part}: SQL in DuckDB" for part in PARTS if f"{part}: SQL in DuckDB" in full]
    for part in (*PARTS, *sql_parts, "build wall"):
        if args.refinery_only and part.startswith(("forecasting engines", "other models")):
            continue
        a, b = daily.get(part, 0.0), full.get(part, 0.0)
        print(f"| {part} | {a:.1f} | {b:.1f} | {a / b:.0%} |" if b else f"| {part} | {a:.1f} | {b:.1f} | |")
    total = extend + daily["build wall"]
    print(
        f"| **whole refresh (load + build{'' if args.refinery_only else ' + publish'})** | {total:.1f} | "
        f"{full['build wall']:.1f} | {total / full['build wall']:.0%} |"
    )
    if not args.refinery_only:
        print(f"\nProphet kept the backtest of {kept[-1][0]:,} of {kept[-1][1]:,} series in the daily build.")


if __name__ == "__main__":
    main()
