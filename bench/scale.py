"""The cost curve: wall time and peak memory of every stage of the main job as the fleet grows.

    python -m bench.scale                        # 500 and 2,000 hosts
    python -m bench.scale --hosts 100 200        # any sizes
    python -m bench.scale --with-8000 --with-20000   # the big ones (an hour and more; opt-in)
    python -m bench.scale --hosts 200 --vars "{forecast_chunk_hosts: 50}"

For each fleet size, in a fresh data dir (``<root>/hosts_<N>``), each stage runs as its own process, the way
a user runs it: generate (``horizonscale generate``), refinery (``dbt seed`` + ``dbt build`` of core and the
quarantine tables), each engine of the registry (``dbt build`` of its model), marts (``dbt build`` of everything
else: tournament, golden forecasts, risk, scenarios, history) and publish (``horizonscale publish``). Together
they are the DAG of ``horizonscale build``.

Per stage: wall seconds; the peak RSS of the largest single process (``wait4``'s ``ru_maxrss``, which covers
every reaped descendant: dbt, DuckDB inside it, the engines' worker processes); and the peak of the whole
process tree's summed RSS, sampled every 0.2 s (what the machine must hold at once). For Python engines the
engine's own phases (train / calibrate / forecast) come from its ``_timings.parquet``. The last table is the
slope per 1,000 hosts (least squares over the sizes run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_SECONDS = 0.2
#: The refinery and its quarantine tables (not `+intermediate`: models/intermediate/risk reads the forecasts).
REFINERY = "+core +telemetry_rejects +inventory_rejects +quarantine_summary +int_refinery_loads"


@dataclass(frozen=True)
class Measure:
    stage: str
    hosts: int
    wall_seconds: float
    peak_process_gib: float  # largest single process
    peak_tree_gib: float  # sum over the process tree, sampled


def _tree_rss(root: psutil.Process) -> int:
    total = 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, peak single-process RSS and peak summed tree RSS (GiB) of ``command``."""
    started = time.perf_counter()
    peak_tree = 0
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        watched = psutil.Process(proc.pid)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak_tree
            while not done.wait(SAMPLE_SECONDS):
                peak_tree = max(peak_tree, _tree_rss(watched))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        sampler.join()
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            log.seek(0)
            raise SystemExit(f"{' '.join(command)} failed:\n{log.read()[-4000:]}")
    gib = 1024**3
    return wall, usage.ru_maxrss * 1024 / gib, max(peak_tree, usage.ru_maxrss * 1024) / gib


def registered_engines() -> list[dict]:
    return list(yaml.safe_load((ROOT / "dbt_project.yml").read_text())["vars"]["engines"])


def stages(hosts: int, seed: int, data_dir: Path, dbt_vars: str | None) -> dict[str, list[list[str]]]:
    """Stage name -> the commands it runs, in DAG order."""
    bin_dir = Path(sys.executable).parent
    cli, dbt = str(bin_dir / "horizonscale"), str(bin_dir / "dbt")
    extra = ["--vars", dbt_vars] if dbt_vars else []
    engines = [e["relation"] for e in registered_engines()]

    def build(*selection: str) -> list[str]:
        return [dbt, "build", *selection, "--indirect-selection", "cautious", *extra]

    plan = {
        "generate": [[cli, "generate", "--hosts", str(hosts), "--seed", str(seed), "--data-dir", str(data_dir)]],
        "refinery": [[dbt, "seed", *extra], build("--select", REFINERY)],
    }
    for engine in registered_engines():  # the engine and what it alone needs (eligibility, windows)
        others = [e for e in engines if e != engine["relation"]]
        plan[f"engine {engine['name']}"] = [build("--select", f"+{engine['relation']}", "--exclude", REFINERY, *others)]
    plan["marts"] = [build("--exclude", REFINERY, *engines, "--exclude-resource-type", "seed")]
    plan["publish"] = [[cli, "publish", "--data-dir", str(data_dir)]]
    return plan


def run_fleet(hosts: int, seed: int, root: Path, dbt_vars: str | None, only: set[str] | None = None) -> list[Measure]:
    data_dir = root / f"hosts_{hosts}"
    if only is None:
        shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HORIZONSCALE_DATA_DIR": str(data_dir),
        "DBT_TARGET_PATH": str(data_dir / "dbt_target"),
        "DBT_LOG_PATH": str(data_dir / "dbt_logs"),
    }
    measures = []
    for stage, commands in stages(hosts, seed, data_dir, dbt_vars).items():
        if only is not None and stage not in only:
            continue
        wall, process, tree = 0.0, 0.0, 0.0
        for command in commands:
            w, p, t = run_measured(command, env)
            wall, process, tree = wall + w, max(process, p), max(tree, t)
        measures.append(Measure(stage, hosts, wall, process, tree))
        print(f"  {hosts:>6,} hosts  {stage:<22} {wall:8.1f} s  {process:6.2f} GiB  {tree:6.2f} GiB", flush=True)
    phases = engine_phases(data_dir / "lake" / "forecasts")
    if not phases.is_empty():
        print(phases.with_columns(pl.lit(hosts).alias("hosts")), flush=True)
    return measures


def engine_phases(forecasts_dir: Path) -> pl.DataFrame:
    files = sorted(forecasts_dir.glob("*_timings.parquet"))
    if not files:
        return pl.DataFrame()
    return pl.concat([pl.read_parquet(f) for f in files]).select("model", "phase", "series", "wall_seconds")


def slope(hosts: np.ndarray, values: np.ndarray) -> float:
    """Least-squares change per 1,000 hosts."""
    if hosts.size < 2:
        return float("nan")
    return float(np.polyfit(hosts / 1000.0, values, 1)[0])


def tables(measures: list[Measure]) -> str:
    frame = pl.DataFrame([m.__dict__ for m in measures])
    sizes = sorted(frame["hosts"].unique().to_list())
    order = list(dict.fromkeys(frame["stage"].to_list()))
    lines = [
        "| stage | " + " | ".join(f"{h:,} hosts: wall s / peak process GiB / peak tree GiB" for h in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for stage in [*order, "total"]:
        cells = []
        for h in sizes:
            rows = frame.filter(pl.col("hosts") == h)
            rows = rows if stage == "total" else rows.filter(pl.col("stage") == stage)
            cells.append(
                f"{rows['wall_seconds'].sum():.1f} / {rows['peak_process_gib'].max():.2f} / "
                f"{rows['peak_tree_gib'].max():.2f}"
            )
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    if len(sizes) < 2:
        return "\n".join([*lines, "", "(one fleet size: no slope per 1,000 hosts)"])
    lines += ["", "| stage | wall s per 1,000 hosts | peak process GiB per 1,000 hosts |", "|---|---:|---:|"]
    for stage in [*order, "total"]:
        rows = frame if stage == "total" else frame.filter(pl.col("stage") == stage)
        by_size = rows.group_by("hosts").agg(pl.col("wall_seconds").sum(), pl.col("peak_process_gib").max())
        by_size = by_size.sort("hosts")
        x = by_size["hosts"].to_numpy().astype(float)
        lines.append(
            f"| {stage} | {slope(x, by_size['wall_seconds'].to_numpy()):.1f} | "
            f"{slope(x, by_size['peak_process_gib'].to_numpy()):.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, nargs="+", default=[500, 2000], help="fleet sizes (default 500 2000)")
    parser.add_argument("--with-8000", action="store_true", help="add 8,000 hosts (about 20 minutes)")
    parser.add_argument("--with-20000", action="store_true", help="add 20,000 hosts (about an hour)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--root", type=Path, default=Path("/tmp/horizonscale_scale"), help="one data dir per size")
    parser.add_argument("--vars", help='dbt vars (YAML) for every build, e.g. "{forecast_chunk_hosts: 250}"')
    parser.add_argument("--keep", action="store_true", help="keep each size's data dir (default: removed)")
    parser.add_argument(
        "--stages",
        help="comma-separated stages to (re)run on a kept data dir, e.g. 'engine prophet,marts' (default: all, "
        "in a fresh data dir)",
    )
    args = parser.parse_args(argv)
    sizes = sorted({*args.hosts, *([8000] if args.with_8000 else []), *([20000] if args.with_20000 else [])})
    if any(h < 1 for h in sizes):
        parser.error("--hosts must be positive")
    measures: list[Measure] = []
    for hosts in sizes:
        only = {name.strip() for name in args.stages.split(",")} if args.stages else None
        measures += run_fleet(hosts, args.seed, args.root, args.vars, only)
        if not args.keep and not args.stages:
            shutil.rmtree(args.root / f"hosts_{hosts}", ignore_errors=True)
    print()
    print(tables(measures))


if __name__ == "__main__":
    main()
