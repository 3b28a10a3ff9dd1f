"""A `horizonscale publish` stopped part-way (SIGTERM, Ctrl-C, kill -9) leaves the last good serving copy and no
debris, and says so in one line; real processes, real DuckDB.

Before: SIGTERM (a scheduler's stop, `systemctl stop`, `timeout`) killed the process on the spot and left the
partial copy and its WAL (as big as the serving copy: hundreds of MB on the default fleet) for good; Ctrl-C gave a
traceback ending in DuckDB's 'RuntimeError: Query interrupted'; and nothing ever removed what a kill -9 left.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
from support import run_isolated, start_cli

from python_engines.serving import REQUIRED_TABLES, SERVING_FILE

#: Rows of the one big table: enough that copying it takes a moment to interrupt.
BIG_ROWS = 40_000_000


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A data directory whose warehouse holds every table a serving copy needs, one of them big, published once."""
    data = tmp_path / "data"
    data.mkdir()
    with duckdb.connect(str(data / "horizonscale.duckdb")) as con:
        for table in REQUIRED_TABLES:
            con.execute(f"create table {table} as select 1 as id")
        con.execute(
            f"create or replace table processed_data as select range as id, random() as y from range({BIG_ROWS})"
        )
    first = run_isolated(["horizonscale", "publish"], data, tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    return data


def _debris(serving: Path) -> list[str]:
    """Partial copies, their WAL files and Parquet folders nothing points at."""
    current = (serving / "parquet").resolve().name
    names = [path.name for path in serving.iterdir()]
    return sorted(name for name in names if ".partial" in name or (name.startswith("parquet-") and name != current))


def _stop_mid_publish(data: Path, work: Path, signum: int) -> subprocess.CompletedProcess[str]:
    process = start_cli(["publish"], data, work, capture=True)
    serving = data / "serving"
    deadline = time.monotonic() + 60
    # Stop it inside DuckDB's copy of the big table: its rows are reaching the partial copy.
    while sum(part.stat().st_size for part in serving.glob(f".{SERVING_FILE}.*.partial*")) < 4 << 20:
        assert process.poll() is None, "the publish ended before it could be interrupted"
        assert time.monotonic() < deadline, "the publish never started its partial copy"
        time.sleep(0.005)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_publish_keeps_the_last_copy_leaves_nothing_and_says_interrupted(
    warehouse: Path, tmp_path: Path, signum: int, code: int
) -> None:
    serving = warehouse / "serving"
    before = (serving / SERVING_FILE).stat().st_ino

    stopped = _stop_mid_publish(warehouse, tmp_path, signum)

    assert "Traceback" not in stopped.stderr, stopped.stderr[-3000:]
    assert stopped.stderr.strip().splitlines()[-1:] == ["horizonscale: interrupted"], stopped.stderr[-3000:]
    assert stopped.returncode == code
    assert _debris(serving) == []
    assert (serving / SERVING_FILE).stat().st_ino == before, "the serving copy was replaced"
    with duckdb.connect(str(serving / SERVING_FILE), read_only=True) as con:
        assert con.execute("select count(*) from processed_data").fetchone() == (BIG_ROWS,)


def test_the_next_publish_removes_what_a_killed_one_left(warehouse: Path, tmp_path: Path) -> None:
    serving = warehouse / "serving"
    killed = _stop_mid_publish(warehouse, tmp_path, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    assert _debris(serving), "a kill -9 cannot clean up: the test needs its partial copy"

    again = run_isolated(["horizonscale", "publish"], warehouse, tmp_path)

    assert again.returncode == 0, again.stderr[-3000:]
    assert _debris(serving) == []
    assert "leftover(s) of interrupted publishes" in again.stderr


def test_an_error_without_a_signal_is_still_its_own_one_line(tmp_path: Path) -> None:
    missing = run_isolated(["horizonscale", "publish"], tmp_path / "data", tmp_path)

    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"horizonscale: error: no warehouse at {tmp_path / 'data' / 'horizonscale.duckdb'}: build it first (make run)"
    ]
