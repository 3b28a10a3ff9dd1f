"""`horizonscale load` stopped part-way (SIGTERM while it writes the lake; Ctrl-C or kill -9 alike), real processes.

A replacing load leaves a raw layer without its load: the next build must say so in one line before dbt starts
(it ran dbt on the inventory without telemetry and failed after half a minute on an unrelated dbt test). An
append with a new inventory must change nothing (it left the inventory replaced and no load recorded; run again,
it kept the replaced inventory as the one undo restores, so the original inventory was lost).
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import duckdb
from support import run_isolated, start_cli

from python_engines.loads import unfinished_load_problem


def _ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def _stop_when_written(command: list[str], data: Path, work: Path, lake_file: str) -> subprocess.CompletedProcess[str]:
    """Run ``horizonscale <command>`` and send it SIGTERM once it writes ``lake_file`` (after it changed things)."""
    process = start_cli(command, data, work, capture=True)
    deadline = time.monotonic() + 120
    while not (data / "lake" / lake_file).exists():
        assert process.poll() is None, "the load ended before it could be interrupted"
        assert time.monotonic() < deadline, "the load never wrote its lake file"
        time.sleep(0.002)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


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
    stopped = _stop_when_written(load, data, tmp_path, "own_telemetry.parquet.partial")
    assert stopped.returncode == 143 and stopped.stderr.strip().splitlines()[-1] == "horizonscale: interrupted"

    build = run_isolated(["horizonscale", "build"], data, tmp_path)

    assert build.returncode == 1
    assert "Traceback" not in build.stderr and "running:" not in build.stderr, build.stderr[-3000:]  # no dbt
    (line,) = build.stderr.strip().splitlines()
    assert line == f"horizonscale: error: {unfinished_load_problem(data / 'horizonscale.duckdb')}"
    assert "holds no finished load" in line and "run it again" in line

    _ok(run_isolated(["horizonscale", *load], data, tmp_path))
    assert unfinished_load_problem(data / "horizonscale.duckdb") is None


def test_an_append_stopped_part_way_changes_nothing_and_undo_still_restores_the_inventory(tmp_path: Path) -> None:
    exports, data = tmp_path / "exports", tmp_path / "data"
    _ok(run_isolated(["horizonscale", "stress-fleet", "--hosts", "200", "--out", str(exports)], data, tmp_path))
    grown = exports / "inventory.csv"
    first = exports / "inventory_first.csv"  # every host but the last: the append's inventory adds it
    first.write_text("".join(grown.read_text().splitlines(keepends=True)[:-1]))
    telemetry = str(exports / "telemetry.parquet")
    _ok(run_isolated(["horizonscale", "load", "--inventory", str(first), "--telemetry", telemetry], data, tmp_path))
    warehouse = data / "horizonscale.duckdb"
    hosts = "select host_id from raw.inventory order by all"
    original = _query(warehouse, hosts)
    append = ["load", "--append", "--inventory", str(grown), "--telemetry", telemetry]

    stopped = _stop_when_written(append, data, tmp_path, "own_telemetry.load_0002.parquet.partial")

    assert stopped.returncode == 143, stopped.stderr[-3000:]
    assert _query(warehouse, hosts) == original
    assert _query(warehouse, "select load_id from raw.load_audit") == [(1,)]
    assert sorted(path.name for path in (data / "lake").glob("own_telemetry*")) == ["own_telemetry.parquet"]

    _ok(run_isolated(["horizonscale", *append], data, tmp_path))
    assert len(_query(warehouse, hosts)) == len(original) + 1
    _ok(run_isolated(["horizonscale", "load", "--undo", "2"], data, tmp_path))
    assert _query(warehouse, hosts) == original
