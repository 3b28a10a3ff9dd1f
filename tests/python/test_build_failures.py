"""Builds that must fail, and fail early, with one line that says why (issue 11): real `load`, real `dbt build`.

One tiny own fleet (nine inventory rows, one with a bad cpu_cores; telemetry of two hosts for a month, every
resource one we do not forecast): every telemetry row and 11% of the inventory are rejected, so the quarantine gate
must stop the build before any engine starts and say why in one line. On the same data: a `horizonscale build`
killed with SIGKILL while dbt runs (dbt must die with it and free the warehouse), and a warehouse locked by
another process (one line naming the PID, no traceback).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from own_fleets import OwnFleet, mismatched_fleet
from support import run_isolated, start_cli

#: The engine models: none may start when the quarantine gate fails.
ENGINE_MODELS = ("baseline_forecasts", "prophet_forecasts", "xgboost_forecasts")


def _ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"


def _query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The command's last stderr line, which must be its error; no traceback anywhere."""
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("horizonscale: error: "), result.stderr[-3000:]
    return message


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[OwnFleet, Path, Path]:
    """The mismatched fleet, loaded: (fleet, data dir, work dir)."""
    work = tmp_path_factory.mktemp("build_failures")
    fleet = mismatched_fleet(work / "exports")
    _ok(run_isolated(["horizonscale", *fleet.load_args()], work / "data", work))
    return fleet, work / "data", work


def test_every_row_rejected_stops_at_the_quarantine_gate_and_says_why(loaded: tuple[OwnFleet, Path, Path]) -> None:
    fleet, data, work = loaded
    warehouse = data / "horizonscale.duckdb"

    failed = run_isolated(["horizonscale", "build"], data, work)

    assert failed.returncode == 1
    message = _one_line_error(failed)
    # Every telemetry row: the top reason, an example row as delivered, what it means; no limit to raise.
    assert "telemetry_rejects holds every raw row (240), nothing is left to build on (unknown_resource: 240)" in message
    assert "e.g. this unknown_resource row: {'host_id': h0, 'resource': gpu_" in message
    assert "in telemetry.csv: resource must be cpu, memory, disk or network" in message
    assert "select reason, count(*) from telemetry_rejects group by reason" in message
    # 11% of the inventory: above max_reject_share, with the row and the limit that would let it pass.
    assert (
        "inventory_rejects holds 11.1% of the raw rows, above max_reject_share 5.0% (invalid_cpu_cores: 1)" in message
    )
    assert "e.g. this invalid_cpu_cores row: {'host_id': h8" in message
    assert "'cpu_cores': four" in message and "in inventory.csv" in message
    assert "--vars '{max_reject_share: 0.12}'" in message
    assert message.count("max_reject_share: ") == 1  # raising the limit cannot help the telemetry
    # The gate is the only failure (the history window is left open, so the quarantine tables build) ...
    assert "FAIL 2 reject_share_within_max_reject_share" in failed.stdout
    assert "ERROR=1 " in failed.stdout
    raw = _query(warehouse, "select count(*) from stg_own_telemetry")[0][0]
    rejected = dict(_query(warehouse, "select reason, count(*) from telemetry_rejects group by reason"))
    assert raw == 240 and rejected == dict(fleet.telemetry_rejects)  # raw = used (none) + rejected
    assert dict(_query(warehouse, "select reason, count(*) from inventory_rejects group by reason")) == dict(
        fleet.inventory_rejects
    )
    # ... and it fails fast: processed_data, forecast_windows and every engine wait for it, so none ran.
    for model in ("processed_data", "forecast_windows", *ENGINE_MODELS):
        assert f"SKIP relation main.{model} " in failed.stdout, model
        assert f"model main.{model} " not in failed.stdout, model
    assert not (data / "serving").exists()  # nothing published


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _holds_open(pid: int, path: Path) -> bool:
    try:
        return any(os.readlink(fd) == str(path) for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _opens_for_writing(database: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        try:
            duckdb.connect(str(database)).close()
            return True
        except duckdb.IOException:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_killed_build_takes_its_dbt_with_it_and_a_held_lock_is_one_line(loaded: tuple[OwnFleet, Path, Path]) -> None:
    _, data, tmp_path = loaded
    warehouse = data / "horizonscale.duckdb"
    cli = start_cli(["build"], data, tmp_path)
    dbt = None
    deadline = time.monotonic() + 180
    while dbt is None and time.monotonic() < deadline:
        assert cli.poll() is None, "the build ended before dbt opened the warehouse"
        dbt = next((child for child in _children(cli.pid) if _holds_open(child, warehouse)), None)
        time.sleep(0.1)
    assert dbt is not None, "dbt never opened the warehouse"

    cli.send_signal(signal.SIGKILL)
    cli.wait()
    deadline = time.monotonic() + 5
    while _alive(dbt) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(dbt), f"dbt (PID {dbt}) outlived the killed CLI"
    # The lock went with it: the warehouse opens for writing again, and its tables are there. A killed
    # multi-threaded process shows as a zombie while its other threads still exit and hold its files, so the lock
    # may outlive the zombie by a moment.
    assert _opens_for_writing(warehouse, seconds=15), f"the warehouse stayed locked after dbt (PID {dbt}) died"
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("select count(*) from raw.inventory").fetchone() == (9,)

    # A warehouse held by another process: one line with its PID and what to do, before dbt even starts.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('open', flush=True); sys.stdin.read()",
            str(warehouse),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        locked = run_isolated(["horizonscale", "build"], data, tmp_path)
    finally:
        holder.communicate("", timeout=30)
    assert locked.returncode == 1
    assert locked.stderr.strip().splitlines() == [_one_line_error(locked)]
    assert f"is in use by another process, PID {holder.pid} (python" in locked.stderr
    assert f"kill {holder.pid}" in locked.stderr
    assert "running:" not in locked.stderr  # refused before starting dbt
