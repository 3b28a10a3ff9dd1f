"""A `horizonscale load` stopped part-way (here SIGTERM while it writes the lake; Ctrl-C or kill -9 alike) leaves a
raw layer without its load: the next build must say so in one line before dbt starts, and the load must run again.

Before: the build ran dbt on the inventory without telemetry and failed after half a minute on a dbt test
(not_null_forecast_windows_train_start) that said nothing about the interrupted load.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from support import PROJECT_ROOT, isolated_env, run_isolated

from python_engines.loads import unfinished_load_problem


def _ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def test_a_load_stopped_part_way_stops_the_next_build_in_one_line(tmp_path: Path) -> None:
    exports, data = tmp_path / "exports", tmp_path / "data"
    _ok(run_isolated(["horizonscale", "stress-fleet", "--hosts", "200", "--out", str(exports)], data, tmp_path))
    load = [
        "load",
        "--inventory",
        str(exports / "inventory.csv"),
        "--telemetry",
        str(exports / "telemetry.parquet"),
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "python_engines.cli", *load],
        cwd=PROJECT_ROOT,
        env=isolated_env(data, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    partial = data / "lake" / "own_telemetry.parquet.partial"  # the old warehouse is purged: the lake is written
    deadline = time.monotonic() + 120
    while not partial.exists():
        assert process.poll() is None, "the load ended before it could be interrupted"
        assert time.monotonic() < deadline, "the load never wrote its lake file"
        time.sleep(0.002)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143 and stderr.strip().splitlines()[-1] == "horizonscale: interrupted", stderr

    build = run_isolated(["horizonscale", "build"], data, tmp_path)

    assert build.returncode == 1
    assert "Traceback" not in build.stderr and "running:" not in build.stderr, build.stderr[-3000:]  # no dbt
    (line,) = build.stderr.strip().splitlines()
    assert line == f"horizonscale: error: {unfinished_load_problem(data / 'horizonscale.duckdb')}"
    assert "holds no finished load" in line and "run it again" in line

    _ok(run_isolated(["horizonscale", *load], data, tmp_path))
    assert unfinished_load_problem(data / "horizonscale.duckdb") is None
