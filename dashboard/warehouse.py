"""The dashboard's only door to data: the published serving copy, read-only, with cached, bound queries.

The serving copy is replaced whole by an atomic rename after each successful build. A ``Snapshot`` names
one published version (inode, size, mtime); every query result is cached under it, so a new publish is
picked up on the next rerun and old results are never mixed with new ones.

The file is ATTACHed to an in-memory DuckDB rather than opened with ``duckdb.connect(path)``: while any
connection to the old file is alive, ``connect(path)`` hands back that already-open instance (the file
that was swapped out), whereas ATTACH always opens the file the path names now.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import streamlit as st

from python_engines.paths import ProjectPaths
from python_engines.serving import serving_file

log = logging.getLogger("horizonscale.dashboard")

CATALOG = "serving"
_CURSOR_LOCK = threading.Lock()


@dataclass(frozen=True)
class Snapshot:
    """One published version of the serving copy."""

    path: str
    version: str


def serving_path() -> Path:
    """``$HORIZONSCALE_DATA_DIR/serving/horizonscale.duckdb`` (default data dir: ``data`` in the project)."""
    return serving_file(ProjectPaths.discover())


def current_snapshot(path: Path) -> Snapshot | None:
    """The version published at ``path`` now, or None when nothing is published yet."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return Snapshot(str(path), f"{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}")


@st.cache_resource(max_entries=2, show_spinner=False)
def _database(path: str, version: str) -> duckdb.DuckDBPyConnection:
    log.info("attaching serving copy %s (version %s)", path, version)
    con = duckdb.connect(":memory:")
    con.execute(f"attach ? as {CATALOG} (read_only)", [path])
    return con


def _bindable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@st.cache_data(max_entries=2048, show_spinner=False)
def _cached_query(path: str, version: str, sql: str, params: tuple[Any, ...]) -> pl.DataFrame:
    with _CURSOR_LOCK:
        cursor = _database(path, version).cursor()
    try:
        cursor.execute(f"use {CATALOG}")
        return cursor.sql(sql, params=[_bindable(value) for value in params]).pl()
    finally:
        cursor.close()


def query(snapshot: Snapshot, sql: str, params: Sequence[Any] = ()) -> pl.DataFrame:
    """Run constant ``sql`` with user values bound as ``?`` parameters; cached per snapshot.

    ``sql`` must never contain user input: filters and searches arrive only through ``params``.
    Sequences bind as DuckDB lists (use them with ``list_contains(?::varchar[], column)``).
    """
    frozen = tuple(tuple(value) if isinstance(value, list | tuple) else value for value in params)
    return _cached_query(snapshot.path, snapshot.version, sql, frozen)


def tables(snapshot: Snapshot) -> frozenset[str]:
    """Names of the tables in the serving copy's ``main`` schema."""
    frame = query(
        snapshot,
        "select table_name from duckdb_tables() where database_name = current_database() and schema_name = 'main'",
    )
    return frozenset(frame["table_name"].to_list())
