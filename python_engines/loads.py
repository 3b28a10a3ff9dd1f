"""Loads of telemetry into the lake: numbering, the audit row, and undoing one load.

A load is one lake file: `generate` / `load` write load 1 (and recreate the raw layer); `generate --extend-days`
and `load --append` add load 2, 3, ... beside it, each row stamped with its ``load_id``. ``raw.load_audit``
keeps one row per load (never deleted: an undone load gets ``undone_at``). The refinery decides what a row that
arrives again means (the later load wins; see ``int_telemetry_duplicates`` / ``int_own_telemetry_samples``).
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from python_engines.paths import ProjectPaths
from python_engines.raw_layer import FLEET_COLUMNS, lake_glob, write_empty_parquet

log = logging.getLogger(__name__)


class LoadError(ValueError):
    """A load that cannot be added or undone as asked: the message says why and what to do."""


@dataclass(frozen=True)
class LoadRecord:
    load_id: int
    fleet: str
    load_mode: str
    loaded_at: datetime
    inventory_file: str | None
    telemetry_pattern: str
    telemetry_files: int
    inventory_rows: int
    telemetry_rows: int
    value_scale: str
    lake_file: str


def next_load_id(con: duckdb.DuckDBPyConnection) -> int:
    """The id the next load gets: one more than any load so far (undone ones included, ids are never reused)."""
    return int(con.execute("select coalesce(max(load_id), 0) + 1 from raw.load_audit").fetchone()[0])


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def record_load(con: duckdb.DuckDBPyConnection, record: LoadRecord) -> None:
    con.execute(
        """
        insert into raw.load_audit (load_id, fleet, load_mode, loaded_at, inventory_file, telemetry_pattern,
            telemetry_files, inventory_rows, telemetry_rows, value_scale, lake_file)
        values ($load_id, $fleet, $load_mode, $loaded_at, $inventory_file, $telemetry_pattern, $telemetry_files,
            $inventory_rows, $telemetry_rows, $value_scale, $lake_file)
        """,
        record.__dict__,
    )


def unfinished_load_problem(warehouse: Path) -> str | None:
    """Why the raw layer cannot be built, when the `generate` or `load` that recreated it stopped before it finished
    (Ctrl-C, SIGTERM, kill -9, a full disk): the warehouse then has raw tables and no load in ``raw.load_audit``,
    which each of them records last. None otherwise, and for a warehouse too old to have the table."""
    if not warehouse.is_file():
        return None
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            (loads,) = con.execute("select count(*) from raw.load_audit").fetchone()
    except duckdb.Error as exc:
        log.debug("no load audit in %s: %s", warehouse, exc)
        return None
    if loads:
        return None
    return (
        f"the raw layer in {warehouse} holds no finished load: the last `horizonscale load` or `generate` stopped "
        "before it finished (the warehouse it replaced is gone, the serving copy is untouched); run it again, "
        "then build"
    )


def fleet_in_warehouse(con: duckdb.DuckDBPyConnection) -> str | None:
    """The fleet the raw layer holds (from its live loads), or None."""
    row = con.execute(
        "select fleet from raw.load_audit where undone_at is null order by load_id desc limit 1"
    ).fetchone()
    return row[0] if row else None


def max_raw_row_id(paths: ProjectPaths, fleet: str) -> int:
    """The highest raw_row_id in the fleet's lake files (0 when empty): a new load numbers its rows after it."""
    with duckdb.connect() as con:
        row = con.execute("select coalesce(max(raw_row_id), 0) from read_parquet(?)", [lake_glob(paths, fleet)])
        return int(row.fetchone()[0])


def inventory_before_file(paths: ProjectPaths, load_id: int) -> Path:
    """The inventory an ``--append --inventory`` load replaced, kept beside the lake so that undo restores it."""
    return paths.lake_dir / f"inventory_before_load_{load_id:04d}.parquet"


def undo_load(paths: ProjectPaths, load_id: int) -> str:
    """Remove one load's rows from the lake (its file; load 1's file is emptied so the raw layer keeps its
    shape) and stamp its audit row. A synthetic fleet can only drop its latest extension (the generator
    continues from the last day it wrote); load 1 of a synthetic fleet is the fleet itself."""
    if not paths.warehouse.is_file():
        raise LoadError(f"no warehouse at {paths.warehouse}: nothing to undo")
    with duckdb.connect(str(paths.warehouse)) as con:
        loads = con.execute(
            "select load_id, fleet, lake_file, undone_at, telemetry_rows, loaded_at "
            "from raw.load_audit order by load_id"
        ).fetchall()
        by_id = {row[0]: row for row in loads}
        live = [row[0] for row in loads if row[3] is None]
        if load_id not in by_id:
            known = ", ".join(str(i) for i in live) or "none"
            raise LoadError(
                f"no load {load_id} in this warehouse (live loads: {known}; see raw.load_audit); nothing was changed"
            )
        _, fleet, lake_file, undone_at, rows, loaded_at = by_id[load_id]
        if undone_at is not None:
            raise LoadError(f"load {load_id} was already undone at {undone_at:%Y-%m-%d %H:%M} UTC; nothing was changed")
        if fleet == "synthetic":
            if load_id == 1:
                raise LoadError("load 1 is the generated fleet itself: run `horizonscale generate` for a new one")
            if load_id != max(live):
                raise LoadError(
                    f"a synthetic fleet continues from its last day: undo its latest extension first "
                    f"(load {max(live)}); nothing was changed"
                )
        before = inventory_before_file(paths, load_id)
        later_inventory = [later for later in live if later > load_id and inventory_before_file(paths, later).is_file()]
        if before.is_file() and later_inventory:
            raise LoadError(
                f"load {load_id} replaced the inventory, and so did load {later_inventory[0]} after it: undo load "
                f"{max(later_inventory)} first; nothing was changed"
            )
        target = paths.lake_dir / lake_file
        # A synthetic extension's loaded_at is on the fleet's made-up timeline (2026-01-10 for a week after
        # 2025-12-31), not when it landed: its lake file's time says that, for the snapshots built since.
        landed = (
            datetime.fromtimestamp(target.stat().st_mtime, UTC)
            if fleet == "synthetic" and target.is_file()
            else loaded_at
        )
        if load_id == 1:
            write_empty_parquet(con, FLEET_COLUMNS[fleet], target.with_suffix(".parquet.partial"))
            target.with_suffix(".parquet.partial").replace(target)
        else:
            target.unlink(missing_ok=True)
        if before.is_file():  # the load replaced the inventory: the one before it comes back
            con.execute("delete from raw.inventory")
            con.execute("insert into raw.inventory select * from read_parquet(?)", [str(before)])
            before.unlink()
        con.execute("update raw.load_audit set undone_at = $now where load_id = $id", {"now": utc_now(), "id": load_id})
        if fleet == "synthetic":
            _shorten_generation_audit(con, paths)
    moved = set_aside_snapshots(paths, load_id, landed)
    if moved:
        record_withdrawn(paths, load_id, moved)
    aside = (
        f"; {len(moved)} forecast snapshot(s) built on its data ({', '.join(moved)}) moved to "
        f"{paths.data_dir / UNDONE_HISTORY}/load_{load_id}"
        if moved
        else ""
    )
    message = (
        f"load {load_id} ({fleet}, {rows:,} telemetry rows, {lake_file}) undone{aside}; rebuild to refresh the "
        "warehouse"
    )
    log.info(message)
    return message


#: Where undo moves the forecast snapshots built on an undone load's data (kept, out of the track record).
UNDONE_HISTORY = "forecast_history_undone"
#: Snapshots set aside by undo whose change alerts the next notifying build withdraws (JSON lines).
WITHDRAWN_FILE = ".withdrawn_snapshots"


def record_withdrawn(paths: ProjectPaths, load_id: int, as_of: list[str]) -> None:
    """Note the snapshots an undo set aside: alerts may have been posted from them, and the next build that
    notifies says to disregard them (the change report, against the history left, sees nothing to say)."""
    with (paths.data_dir / WITHDRAWN_FILE).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"load_id": load_id, "as_of": as_of}) + "\n")


def read_withdrawn(data_dir: Path) -> list[dict]:
    """The undone loads' set-aside snapshots not yet withdrawn in a message, oldest first."""
    path = data_dir / WITHDRAWN_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def set_aside_snapshots(paths: ProjectPaths, load_id: int, loaded_at: datetime) -> list[str]:
    """Move every forecast_history snapshot built since the undone load landed (its data may be in it) out of
    the history, so forecast_accuracy and risk_changes never score or compare against it; their as_of folders."""
    # built_at is dbt's run_started_at: naive UTC.
    landed = loaded_at.astimezone(UTC).replace(tzinfo=None) if loaded_at.tzinfo else loaded_at
    if not any(paths.history_dir.glob("as_of=*/*.parquet")):
        return []
    with duckdb.connect() as con:  # one pass over the history: each snapshot's as_of and when it was built
        tainted = con.execute(
            "select strftime(as_of, '%Y-%m-%d') from read_parquet($glob, hive_partitioning = false, "
            "union_by_name = true) where as_of is not null group by as_of having max(built_at) >= $landed "
            "order by as_of",
            {"glob": str(paths.history_dir / "as_of=*" / "*.parquet"), "landed": landed},
        ).fetchall()
    moved = [as_of for (as_of,) in tainted]
    for as_of in moved:
        target = paths.data_dir / UNDONE_HISTORY / f"load_{load_id}" / f"as_of={as_of}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        (paths.history_dir / f"as_of={as_of}").replace(target)
    return moved


def _shorten_generation_audit(con: duckdb.DuckDBPyConnection, paths: ProjectPaths) -> None:
    """After a synthetic extension is undone, the generation audit ends at the last day the lake still holds."""
    (last_day, rows) = con.execute(
        "select max(ts), count(*) from read_parquet(?)", [lake_glob(paths, "synthetic")]
    ).fetchone()
    con.execute(
        """
        update raw.generation_audit
        set extend_days = extend_days - datediff('day', $last_day, end_date), end_date = $last_day,
            telemetry_rows = $rows
        """,
        {"last_day": last_day, "rows": rows},
    )
