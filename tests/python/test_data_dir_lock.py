"""One horizonscale command at a time per data directory (python_engines.data_lock), with real processes.

While a real `horizonscale build` runs, a `load` once deleted the lake and the warehouse under it (the build died
in a pyarrow traceback; `generate` did the same), since DuckDB's lock on the warehouse is held only while dbt has
it open and `load` never looked. Now every writing command is refused in one line naming the build's PID, nothing
in the data directory changes, and a build killed with SIGKILL leaves no lock behind.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
from own_fleets import clean_fleet
from support import run_isolated, start_cli

from python_engines.data_lock import exclusive, flock_holders, lock_holder

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="flock holders come from /proc/locks")


def test_proc_locks_lines_give_the_holder_not_the_waiters() -> None:
    text = (
        "1: FLOCK  ADVISORY  WRITE 14324 fe:00:2441628 0 EOF\n"
        "1: -> FLOCK  ADVISORY  WRITE 999 fe:00:2441628 0 EOF\n"
        "2: POSIX  ADVISORY  WRITE 13760 fe:00:2441628 0 EOF\n"
        "3: FLOCK  ADVISORY  WRITE 77 fe:00:12 0 EOF\n"
    )
    assert flock_holders(text, "fe:00:2441628") == [14324]
    assert flock_holders(text, "fe:00:1") == []


def _held_open(path: Path) -> bool:
    """Some process has ``path`` open (read from /proc, so the check itself never takes DuckDB's lock)."""
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(fd) == str(path) for fd in fd_dir.iterdir()):
                return True
        except OSError:
            continue
    return False


def _inodes(data: Path) -> dict[str, int]:
    """The warehouse's and the lake file's inodes: `load` and `generate` delete and recreate both."""
    return {
        name: (data / name).stat().st_ino for name in ("horizonscale.duckdb", "lake/master_daily_2023_2025.parquet")
    }


def test_a_running_build_refuses_load_generate_publish_and_a_second_build(tmp_path: Path) -> None:
    data = tmp_path / "data"
    fleet = clean_fleet(tmp_path / "exports")
    generated = run_isolated(["horizonscale", "generate", "--hosts", "12", "--end", "2024-06-30"], data, tmp_path)
    assert generated.returncode == 0, generated.stderr[-3000:]

    build = start_cli(["build"], data, tmp_path)
    try:
        # Wait until dbt works on the warehouse (the build took the directory's lock long before).
        deadline = time.monotonic() + 120
        while not _held_open(data / "horizonscale.duckdb"):
            assert build.poll() is None, "the build ended before dbt opened the warehouse"
            assert time.monotonic() < deadline, "dbt never opened the warehouse"
            time.sleep(0.05)
        before = _inodes(data)
        for command in (
            [*fleet.load_args()],
            ["generate", "--hosts", "12"],
            ["publish"],
            ["build"],
            ["load", "--undo", "1"],
        ):
            refused = run_isolated(["horizonscale", *command], data, tmp_path)
            assert refused.returncode == 1, (command, refused.stderr[-3000:])
            assert "Traceback" not in refused.stderr, refused.stderr[-3000:]
            (line,) = refused.stderr.strip().splitlines()
            assert line.startswith(
                f"horizonscale: error: the data directory {data} is in use by another process, PID {build.pid} ("
            ), line
            assert f"kill {build.pid}" in line
            assert build.poll() is None, f"`{' '.join(command)}` broke the running build"
        assert _inodes(data) == before, "a refused command replaced the warehouse or the lake"
    finally:
        build.send_signal(signal.SIGKILL)
        build.wait()
    # The kernel dropped the killed build's lock with it: no stale lock file, the next command may run.
    with exclusive(data, "test"):
        assert lock_holder(data) is None
    assert not [path for path in data.iterdir() if "lock" in path.name]


def test_a_data_directory_that_does_not_exist_yet_is_locked_too_and_left_out_if_unused(tmp_path: Path) -> None:
    """A first `horizonscale run` creates the directory and builds in it for minutes: it must hold the lock too."""
    used, unused = tmp_path / "new" / "data", tmp_path / "unused"
    with exclusive(used, "run"):
        other = run_isolated(["horizonscale", "publish"], used, tmp_path)
        (used / "horizonscale.duckdb").write_bytes(b"")
    assert other.returncode == 1 and "is in use by another process" in other.stderr, other.stderr[-3000:]
    assert used.is_dir()
    with exclusive(unused, "load"):
        assert unused.is_dir()
    assert not unused.exists()
