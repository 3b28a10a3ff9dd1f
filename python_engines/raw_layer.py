"""The raw layer both fleets land in: the DuckDB raw schema and the Parquet telemetry lake.

`horizonscale generate` (synthetic fleet) and `horizonscale load` (your own fleet) each purge the warehouse and
create the whole raw layer: every raw table of ``create_tables.sql`` and an empty, typed Parquet file for each
fleet's telemetry; then they fill their own fleet's part. So the raw layer always has the same shape and
exactly one fleet holds rows: the dbt refinery reads both fleets' sources on every build (the empty one costs
nothing), and which command ran last is the switch between them.

Later loads of the same fleet (`load --append`, `generate --extend-days`) land beside the first: each load is
one lake file (load 1 is the file named below, load N ``<stem>.load_000N.parquet``), every row carries its
``load_id``, and the dbt sources read the glob of them (``python_engines.loads``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from python_engines.paths import ProjectPaths

SYNTHETIC_TELEMETRY_FILE = "master_daily_2023_2025.parquet"
OWN_TELEMETRY_FILE = "own_telemetry.parquet"

#: Column name -> DuckDB type of each fleet's telemetry Parquet, as its writer produces it.
SYNTHETIC_TELEMETRY_COLUMNS: dict[str, str] = {
    "raw_row_id": "bigint",
    "host_id": "varchar",
    "resource": "varchar",
    "ts": "date",
    "value": "double",
    "loaded_at": "timestamp",
    "load_id": "integer",
}
OWN_TELEMETRY_COLUMNS: dict[str, str] = {
    "raw_row_id": "bigint",
    "host_id": "varchar",
    "resource": "varchar",
    "ts": "varchar",
    "value": "varchar",
    "source_file": "varchar",
    "load_id": "integer",
}
#: Fleet -> the lake file of its first load (the load that created the raw layer).
FLEET_FILES: dict[str, str] = {"synthetic": SYNTHETIC_TELEMETRY_FILE, "own": OWN_TELEMETRY_FILE}
FLEET_COLUMNS: dict[str, dict[str, str]] = {"synthetic": SYNTHETIC_TELEMETRY_COLUMNS, "own": OWN_TELEMETRY_COLUMNS}


def load_file_name(fleet: str, load_id: int) -> str:
    """The lake file of one load: the fleet's file for load 1, ``<stem>.load_000N.parquet`` for a later one (the
    sources' glob ``<stem>*.parquet`` reads them all)."""
    base = FLEET_FILES[fleet]
    return base if load_id == 1 else base.replace(".parquet", f".load_{load_id:04d}.parquet")


def lake_glob(paths: ProjectPaths, fleet: str) -> str:
    """Every lake file of one fleet, as a DuckDB glob."""
    return str(paths.lake_dir / FLEET_FILES[fleet].replace(".parquet", "*.parquet"))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def purge(paths: ProjectPaths) -> None:
    """Remove earlier outputs so a rerun starts from nothing (idempotent)."""
    for leftover in (paths.warehouse, paths.warehouse.with_suffix(".duckdb.wal")):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(paths.lake_dir, ignore_errors=True)


def write_empty_parquet(con: duckdb.DuckDBPyConnection, columns: dict[str, str], target: Path) -> None:
    """A Parquet file with the given typed columns and no rows."""
    target.parent.mkdir(parents=True, exist_ok=True)
    select = ", ".join(f"cast(null as {kind}) as {name}" for name, kind in columns.items())
    con.execute(f"copy (select {select} limit 0) to {_literal(str(target))} (format parquet)")


def create_warehouse(paths: ProjectPaths) -> duckdb.DuckDBPyConnection:
    """Create the warehouse file with the raw schema and an empty telemetry lake for both fleets."""
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(paths.warehouse))
    con.execute(paths.ddl.read_text())
    write_empty_parquet(con, SYNTHETIC_TELEMETRY_COLUMNS, paths.lake_dir / SYNTHETIC_TELEMETRY_FILE)
    write_empty_parquet(con, OWN_TELEMETRY_COLUMNS, paths.lake_dir / OWN_TELEMETRY_FILE)
    return con
