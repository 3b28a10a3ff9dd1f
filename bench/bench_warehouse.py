"""Benchmark the warehouse: full-fleet generation (init + telemetry), the refinery dbt build and, with
``--engines``, the rest of the DAG (the three engines, tournament, golden record and risk marts).

    python -m bench.bench_warehouse [--hosts 2000] [--data-dir /tmp/hs_bench] [--engines]

Runs each step as its own process (as a user would) and prints wall seconds and peak RSS per step.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (GiB; ru_maxrss is KiB on Linux) of one child process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            log.seek(0)
            raise SystemExit(f"{' '.join(command)} failed:\n{log.read()[-4000:]}")
    return wall, usage.ru_maxrss / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--data-dir", default="/tmp/horizonscale_bench")
    parser.add_argument("--engines", action="store_true", help="also build forecasting and risk (full fleet)")
    args = parser.parse_args()
    env = {**os.environ, "HORIZONSCALE_DATA_DIR": args.data_dir}
    bin_dir = Path(sys.executable).parent
    steps = {
        "generate (init + telemetry)": [str(bin_dir / "horizonscale"), "generate", "--hosts", str(args.hosts)],
        "dbt seed": [str(bin_dir / "dbt"), "seed"],
        "dbt build refinery (+core +intermediate)": [
            str(bin_dir / "dbt"),
            "build",
            "--select",
            "+core +intermediate",
            # intermediate.risk reads the forecasts: without this the "refinery" step ran every engine too.
            "--exclude",
            "forecasting intermediate.risk",
            "--indirect-selection",
            "cautious",
        ],
    }
    if args.engines:
        steps["dbt build forecasting + risk (engines, tournament, marts)"] = [
            str(bin_dir / "dbt"),
            "build",
            "--select",
            "path:models/forecasting path:models/risk",
        ]
    print(f"| step ({args.hosts:,} hosts) | wall s | peak RSS GiB |")
    print("|---|---:|---:|")
    for name, command in steps.items():
        wall, rss = run_measured(command, env)
        print(f"| {name} | {wall:.1f} | {rss:.2f} |", flush=True)


if __name__ == "__main__":
    main()
