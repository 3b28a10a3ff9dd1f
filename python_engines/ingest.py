"""Bring your own fleet: land a team's inventory and telemetry exports in the raw layer, as delivered.

This step only checks what must hold for the files to be read at all (the file exists and parses, the
required columns are there) and stops with one message naming the file and the column otherwise. Every
row, however bad, is landed as text with a ``raw_row_id``: the dbt refinery validates rows and keeps each
one it cannot use in ``telemetry_rejects`` / ``inventory_rejects`` with a reason, so nothing is lost.
"""

from __future__ import annotations

import glob
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from python_engines.paths import ProjectPaths
from python_engines.raw_layer import OWN_TELEMETRY_FILE, create_warehouse, purge

log = logging.getLogger(__name__)

INVENTORY_REQUIRED: tuple[str, ...] = ("host_id", "hostname", "department", "app_code", "app_manager", "region")
INVENTORY_OPTIONAL: tuple[str, ...] = ("environment", "cpu_cores", "memory_gb", "storage_gb")
TELEMETRY_REQUIRED: tuple[str, ...] = ("host_id", "resource", "ts", "value")
VALUE_SCALES: tuple[str, ...] = ("percent", "fraction")


class IngestError(ValueError):
    """A file that cannot be read as asked: the message names the file, the column and what to do."""


@dataclass(frozen=True)
class IngestResult:
    inventory_rows: int
    telemetry_rows: int
    telemetry_files: int
    seconds: float


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _reader(path: str) -> str:
    """A DuckDB table function reading one file with every column as text."""
    lowered = path.lower()
    if lowered.endswith(".parquet"):
        return f"read_parquet({_literal(path)})"
    if lowered.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
        return f"read_csv({_literal(path)}, all_varchar = true, header = true)"
    raise IngestError(f"{path}: unsupported file type (use .csv, .csv.gz or .parquet)")


def _columns(con: duckdb.DuckDBPyConnection, path: str) -> dict[str, str]:
    """Lower-cased, trimmed column name -> column name as written in the file."""
    try:
        described = con.execute(f"describe select * from {_reader(path)}").fetchall()
    except duckdb.Error as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise IngestError(f"{path}: cannot be read ({first_line})") from exc
    return {row[0].strip().lower(): row[0] for row in described}


def _select_text(columns: dict[str, str], wanted: tuple[str, ...], path: str, required: bool) -> list[str]:
    picked = []
    for name in wanted:
        if name in columns:
            picked.append(f'cast("{columns[name]}" as varchar) as {name}')
        elif required:
            found = ", ".join(sorted(columns)) or "none"
            raise IngestError(f"{path}: required column '{name}' is missing (found: {found})")
        else:
            picked.append(f"cast(null as varchar) as {name}")
    return picked


def _has_rows(con: duckdb.DuckDBPyConnection, path: str) -> bool:
    return con.execute(f"select exists (select 1 from {_reader(path)})").fetchone()[0]


def expand(pattern: str) -> list[str]:
    files = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
    missing = [f for f in files if not Path(f).is_file()]
    if not files or missing:
        raise IngestError(f"{missing[0] if missing else pattern}: no such file (check the path or glob)")
    return files


def land_inventory(con: duckdb.DuckDBPyConnection, path: str) -> int:
    columns = _columns(con, path)
    select = _select_text(columns, INVENTORY_REQUIRED, path, True)
    select += _select_text(columns, INVENTORY_OPTIONAL, path, False)
    columns = ", ".join(("raw_row_id", *INVENTORY_REQUIRED, *INVENTORY_OPTIONAL, "source_file"))
    con.execute(
        f"""
        insert into raw.inventory ({columns})
        select row_number() over () as raw_row_id, {", ".join(select)}, {_literal(path)} as source_file
        from {_reader(path)}
        """
    )
    return con.execute("select count(*) from raw.inventory").fetchone()[0]


def land_telemetry(con: duckdb.DuckDBPyConnection, files: list[str], target: Path) -> int:
    parts = []
    for path in files:
        select = _select_text(_columns(con, path), TELEMETRY_REQUIRED, path, True)
        parts.append(f"select {', '.join(select)}, {_literal(path)} as source_file from {_reader(path)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".parquet.partial")
    con.execute(
        f"""
        copy (
            select row_number() over () as raw_row_id, *
            from ({" union all ".join(parts)})
        ) to {_literal(str(partial))} (format parquet, compression zstd)
        """
    )
    partial.replace(target)
    return con.execute(f"select count(*) from read_parquet({_literal(str(target))})").fetchone()[0]


def ingest(paths: ProjectPaths, inventory: str, telemetry: str, value_scale: str = "percent") -> IngestResult:
    """Check both inputs can be read (writing nothing otherwise), then rebuild the raw layer from them."""
    started = time.perf_counter()
    if value_scale not in VALUE_SCALES:
        raise IngestError(f"--value-scale must be one of {', '.join(VALUE_SCALES)}, got {value_scale!r}")
    inventory_file = expand(inventory)[0]
    telemetry_files = expand(telemetry)
    with duckdb.connect() as probe:  # validate everything before purging anything
        _select_text(_columns(probe, inventory_file), INVENTORY_REQUIRED, inventory_file, True)
        for path in telemetry_files:
            _select_text(_columns(probe, path), TELEMETRY_REQUIRED, path, True)
        if not _has_rows(probe, inventory_file):
            raise IngestError(f"{inventory_file}: has no rows (check the export)")
        if not any(_has_rows(probe, path) for path in telemetry_files):
            raise IngestError(f"{telemetry}: no telemetry rows in {len(telemetry_files)} file(s) (check the export)")

    purge(paths)
    con = create_warehouse(paths)
    try:
        con.execute("set TimeZone = 'UTC'")  # Parquet timestamps with a zone become text with a +00 offset
        inventory_rows = land_inventory(con, inventory_file)
        telemetry_rows = land_telemetry(con, telemetry_files, paths.lake_dir / OWN_TELEMETRY_FILE)
        con.execute(
            """
            insert into raw.load_audit
            select timezone('UTC', now()) as loaded_at, ? as inventory_file, ? as telemetry_pattern,
                   ? as telemetry_files, ? as inventory_rows, ? as telemetry_rows, ? as value_scale
            """,
            [inventory_file, telemetry, len(telemetry_files), inventory_rows, telemetry_rows, value_scale],
        )
    finally:
        con.close()
    seconds = time.perf_counter() - started
    log.info(
        "landed %s inventory rows and %s telemetry rows from %d file(s) in %.1f s",
        f"{inventory_rows:,}",
        f"{telemetry_rows:,}",
        len(telemetry_files),
        seconds,
    )
    return IngestResult(inventory_rows, telemetry_rows, len(telemetry_files), seconds)
