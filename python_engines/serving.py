"""Publish the built warehouse as a read-only serving copy, swapped in whole.

DuckDB lets one process write a file, and a reader holding it open (even read-only) blocks dbt. So the
dashboard, SQL clients and reports never open the file dbt writes: after a successful build the model
tables are copied into a fresh file beside the old serving copy, then ``os.replace`` swaps it in atomically.
A reader that still holds the old copy keeps reading it (its inode lives on until it closes); a new reader
sees the new one; nobody ever sees a half-written file, and a failed build leaves the last good copy.
`horizonscale build` publishes only after a green build of the whole DAG; ``publish`` itself refuses a warehouse
that lacks any table the dashboard and reports read (e.g. after a `load` and a build with --select), so the
serving copy is never replaced by part of a warehouse.

The serving copy is the product, not the plumbing: the marts (dbt ``access: public``) and the seeds, all in
``main``; the refinery's staging and intermediate models (``stg_*``, ``int_*``: ``access`` private or protected)
stay in the warehouse. It is written in DuckDB's v1.2.0 storage format, so DuckDB 1.2 .. 1.5 clients (DBeaver's
driver, the node and .NET packages, older CLIs) open it as well as DuckDB 2.0.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from python_engines.paths import ProjectPaths, duckdb_memory_limit

log = logging.getLogger(__name__)

SERVING_FILE = "horizonscale.duckdb"
#: Storage format of the serving copy: the oldest DuckDB that opens it is 1.2.0 (DuckDB 2.0's own format, version
#: 69, is refused by every 1.x client: "can only read versions between 64 and 68").
SERVING_STORAGE_VERSION = "v1.2.0"
#: Name prefixes of the refinery's plumbing (staging and intermediate models): never published.
PLUMBING_PREFIXES: tuple[str, ...] = ("int_", "stg_")
#: Marts also exported as Parquet for tools whose DuckDB is older than 2.0 (or that speak only Parquet).
PARQUET_EXPORTS: tuple[str, ...] = (
    "hosts",
    "forecasts",
    "forecast_exclusions",
    "model_leaderboard",
    "capacity_risks",
    "department_risk_summary",
    "app_exception_list",
    "fleet_health",
    "model_audit",
)

#: Tables every serving copy holds: the dashboard, the reports and SQL users read them.
REQUIRED_TABLES: tuple[str, ...] = (
    *PARQUET_EXPORTS,
    "processed_data",
    "forecast_windows",
    "engine_registry",
    "quarantine_summary",
    "telemetry_rejects",
    "inventory_rejects",
)


class IncompleteWarehouseError(RuntimeError):
    """The warehouse lacks tables a serving copy must hold: nothing was published."""


@dataclass(frozen=True)
class PublishResult:
    serving_file: Path
    parquet_dir: Path
    tables: dict[str, int]
    seconds: float


def serving_dir(paths: ProjectPaths) -> Path:
    return paths.data_dir / "serving"


def serving_file(paths: ProjectPaths) -> Path:
    return serving_dir(paths) / SERVING_FILE


def connect(paths: ProjectPaths | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the serving copy published now, for notebooks and scripts (tables in ``main``).

    ``duckdb.connect(path, read_only=True)`` hands back the database a live connection of the same process already
    opened for that path: a notebook cell run again after a publish kept answering from the copy it replaced, with
    no sign of it. ATTACH always opens the file the path names now (the dashboard reads it so too).
    """
    path = serving_file(paths or ProjectPaths.discover())
    if not path.is_file():
        raise FileNotFoundError(f"no serving copy at {path}: run `horizonscale build` first")
    con = duckdb.connect(":memory:")
    con.execute("attach ? as serving (read_only)", [str(path)])
    con.execute("use serving")
    return con


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def is_plumbing(table: str) -> bool:
    """A staging or intermediate model: it stays in the warehouse, out of the serving copy."""
    return table.startswith(PLUMBING_PREFIXES)


def _copy_tables(con: duckdb.DuckDBPyConnection, source: Path) -> dict[str, int]:
    """Copy every mart and seed table (all schemas but raw; no plumbing) into ``main``, with their comments."""
    con.execute(f"attach {_literal(str(source))} as warehouse (read_only)")
    tables = con.execute(
        """
        select schema_name, table_name, comment
        from duckdb_tables()
        where database_name = 'warehouse' and schema_name <> 'raw'
        order by table_name
        """
    ).fetchall()
    missing = sorted(set(REQUIRED_TABLES) - {table for _, table, _ in tables})
    if missing:
        con.execute("detach warehouse")
        raise IncompleteWarehouseError(
            f"not published: the warehouse {source} lacks {', '.join(missing)} (a build that stopped part-way, or "
            "ran with --select after a load); the serving copy was left as it was: run `horizonscale build` "
            "(the whole DAG) to publish"
        )
    counts: dict[str, int] = {}
    for schema, table, comment in tables:
        if is_plumbing(table):
            continue
        if table in counts:
            raise RuntimeError(f"table {table} exists in two schemas; cannot flatten it into the serving copy")
        con.execute(f"create table main.{_quote(table)} as from warehouse.{_quote(schema)}.{_quote(table)}")
        if comment:
            con.execute(f"comment on table main.{_quote(table)} is {_literal(comment)}")
        columns = con.execute(
            """
            select column_name, comment from duckdb_columns()
            where database_name = 'warehouse' and schema_name = ? and table_name = ? and comment is not null
            """,
            [schema, table],
        ).fetchall()
        for column, column_comment in columns:
            con.execute(f"comment on column main.{_quote(table)}.{_quote(column)} is {_literal(column_comment)}")
        counts[table] = con.execute(f"select count(*) from main.{_quote(table)}").fetchone()[0]
    con.execute("detach warehouse")
    return counts


def _export_parquet(con: duckdb.DuckDBPyConnection, target: Path, tables: dict[str, int]) -> None:
    target.mkdir(parents=True)
    for table in PARQUET_EXPORTS:
        if table in tables:
            out = _literal(str(target / f"{table}.parquet"))
            con.execute(f"copy main.{_quote(table)} to {out} (format parquet, compression zstd)")


def _swap_symlink(link: Path, new_target: Path) -> None:
    """Point ``link`` at ``new_target`` atomically, then drop the directories nothing points at any more."""
    staging = link.with_name(f".{link.name}.{os.getpid()}.link")
    staging.unlink(missing_ok=True)
    staging.symlink_to(new_target.name)
    os.replace(staging, link)
    for old in link.parent.glob(f"{link.name}-*"):
        if old.is_dir() and old.name != new_target.name:
            shutil.rmtree(old, ignore_errors=True)


def _stamp_pid(name: str) -> int | None:
    """The PID in a publish's stamp (``<time>-<pid>``) inside a partial copy's or a Parquet folder's name."""
    match = re.search(r"\d{8}T\d{6}-(\d+)", name)
    return int(match.group(1)) if match else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(out_dir: Path) -> list[Path]:
    """Delete what killed publishes left (``kill -9``, a lost machine): partial copies with their WAL, and Parquet
    folders nothing points at. Only those whose publish process is gone: a publish still running keeps its own."""
    link = out_dir / "parquet"
    current = os.readlink(link) if link.is_symlink() else None
    leftovers = [*out_dir.glob(f".{SERVING_FILE}.*.partial*"), *out_dir.glob("parquet-*")]
    removed = []
    for leftover in leftovers:
        pid = _stamp_pid(leftover.name)
        if leftover.name == current or pid is None or pid == os.getpid() or _pid_alive(pid):
            continue
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        removed.append(leftover)
    if removed:
        log.warning("removed %d leftover(s) of interrupted publishes in %s", len(removed), out_dir)
    return removed


def publish(paths: ProjectPaths) -> PublishResult:
    """Build the serving copy from the warehouse and swap it in (call only after a successful build)."""
    started = time.perf_counter()
    if not paths.warehouse.is_file():
        raise FileNotFoundError(f"no warehouse at {paths.warehouse}: build it first (make run)")
    out_dir = serving_dir(paths)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(out_dir)
    stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
    partial = out_dir / f".{SERVING_FILE}.{stamp}.partial"
    parquet_dir = out_dir / f"parquet-{stamp}"
    try:
        # DuckDB's default limit is 80% of RAM: copying a 20,000-host warehouse peaked at 7.75 GB without one.
        storage = {"storage_compatibility_version": SERVING_STORAGE_VERSION, "memory_limit": duckdb_memory_limit()}
        with duckdb.connect(str(partial), config=storage) as con:
            tables = _copy_tables(con, paths.warehouse)
            con.execute(
                "create table main._published as select now() as published_at, ? as warehouse_path",
                [str(paths.warehouse)],
            )
            _export_parquet(con, parquet_dir, tables)
            con.execute("checkpoint")
        os.replace(partial, out_dir / SERVING_FILE)
    except BaseException:  # an error, Ctrl-C or SIGTERM (the CLI turns it into an exception): leave nothing behind
        partial.unlink(missing_ok=True)
        partial.with_name(partial.name + ".wal").unlink(missing_ok=True)
        shutil.rmtree(parquet_dir, ignore_errors=True)
        raise
    _swap_symlink(out_dir / "parquet", parquet_dir)
    seconds = time.perf_counter() - started
    log.info(
        "published %d tables to %s (storage %s: DuckDB >= 1.2 opens it) in %.1f s",
        len(tables),
        out_dir / SERVING_FILE,
        SERVING_STORAGE_VERSION,
        seconds,
    )
    return PublishResult(out_dir / SERVING_FILE, out_dir / "parquet", tables, seconds)
