"""Bring your own fleet: land a team's inventory and telemetry exports in the raw layer, as delivered.

This step only checks what must hold for the files to be read at all (the file exists and parses to its
last line, the required columns are there) and stops with one message naming the file and the column (for a
malformed CSV line: its number and what is wrong) otherwise, before the warehouse is touched: each file is
first read in full into a staging area. Then it looks at the staged telemetry as a whole (``load_checks``):
it warns, naming the fix, about problems that would get most rows rejected, refuses when no row would be
usable or when the values look like 0-1 fractions and no ``--value-scale`` was given. Every row, however bad,
is landed as text with a ``raw_row_id``: the dbt refinery validates rows and keeps each one it cannot use in
``telemetry_rejects`` / ``inventory_rejects`` with a reason, so nothing is lost.
"""

from __future__ import annotations

import codecs
import contextlib
import glob
import gzip
import logging
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from python_engines.load_checks import (
    LoadCheckError,
    append_scale_problem,
    check_telemetry,
    describe_value_scale,
    fraction_groups_problem,
    profile_telemetry,
    reserved_label_problem,
    resolve_value_scale,
    silent_hosts_warning,
    value_groups,
)
from python_engines.loads import (
    LoadRecord,
    fleet_in_warehouse,
    inventory_before_file,
    max_raw_row_id,
    next_load_id,
    record_load,
    utc_now,
)
from python_engines.paths import ProjectPaths, duckdb_memory_limit
from python_engines.raw_layer import OWN_TELEMETRY_FILE, create_warehouse, lake_glob, load_file_name, purge

log = logging.getLogger(__name__)

INVENTORY_REQUIRED: tuple[str, ...] = ("host_id", "hostname", "department", "app_code", "app_manager", "region")
INVENTORY_OPTIONAL: tuple[str, ...] = ("environment", "cpu_cores", "memory_gb", "storage_gb")
TELEMETRY_REQUIRED: tuple[str, ...] = ("host_id", "resource", "ts", "value")
VALUE_SCALES: tuple[str, ...] = ("percent", "fraction")
CSV_SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".tsv", ".txt")
#: Field separators a header line is checked for, when DuckDB's sniffer could not read a CSV file.
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")


class IngestError(ValueError):
    """A file that cannot be read as asked: the message names the file, the column and what to do."""


@dataclass(frozen=True)
class IngestResult:
    inventory_rows: int
    telemetry_rows: int
    telemetry_files: int
    seconds: float


#: How every CSV file is read: all text (the refinery parses and rejects with a reason), the first line the
#: header, and no comment character. DuckDB's sniffer otherwise takes '#' for a comment marker, so a row whose
#: host is Excel's '#N/A' vanished before it had a row id and a cell holding '#N/A' came out empty; skip = 0 so
#: that no line is passed over as a preamble. The delimiter and quoting are still sniffed (';' exports exist).
CSV_OPTIONS = "all_varchar = true, header = true, comment = '', skip = 0"


def bounded(con: duckdb.DuckDBPyConnection, spill_dir: Path) -> duckdb.DuckDBPyConnection:
    """``con`` held to the project's DuckDB memory_limit (HORIZONSCALE_DUCKDB_MEMORY), spilling to ``spill_dir``:
    a load's memory grew with the export (1.28 GB for a 905 MB CSV) where dbt and publish stay capped."""
    spill_dir.mkdir(parents=True, exist_ok=True)
    con.execute(f"set memory_limit = {_literal(duckdb_memory_limit())}")
    con.execute(f"set temp_directory = {_literal(str(spill_dir))}")
    return con


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _reader(path: str) -> str:
    """A DuckDB table function reading one file with every column as text."""
    lowered = path.lower()
    if lowered.endswith(".parquet"):
        return f"read_parquet({_literal(path)})"
    if lowered.endswith(CSV_SUFFIXES):
        return f"read_csv({_literal(path)}, {CSV_OPTIONS})"
    raise IngestError(f"{path}: unsupported file type (use .csv, .csv.gz or .parquet)")


def _header_line(path: str) -> str:
    opener = gzip.open if path.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
        return handle.readline().lstrip("\ufeff").rstrip("\r\n")


#: Bytes read at a time when a CSV file's encoding is checked (only after DuckDB failed on the file).
ENCODING_CHUNK = 1 << 20


def _utf16_problem(head: bytes) -> str | None:
    """UTF-16 (Excel's "Unicode text", PowerShell 5's default) by its byte-order mark or its NUL bytes."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[:4000].count(0) > len(head[:4000]) // 4:
        return "is UTF-16 (as Excel's 'Unicode text' or PowerShell 5 write it), not UTF-8: save it as UTF-8"
    return None


def encoding_problem(path: str) -> str | None:
    """Why a CSV file is not UTF-8, in words (its first bad line and byte, and the likely encoding), or None.

    DuckDB reports a non-UTF-8 file as a CSV error on some line, or (UTF-16) as a header with one column; only
    called once it failed, so reading the file again costs nothing on a good load."""
    if not path.lower().endswith(CSV_SUFFIXES):
        return None
    opener = gzip.open if path.lower().endswith(".gz") else open
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    try:
        with opener(path, "rb") as handle:
            chunk = handle.read(ENCODING_CHUNK)
            utf16 = _utf16_problem(chunk)
            if utf16:
                return utf16
            while chunk:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    # exc.object: any bytes held over from the last chunk (never a newline) and this chunk.
                    line += exc.object.count(b"\n", 0, exc.start)
                    bad = exc.object[exc.start]
                    guess = bytes([bad]).decode("cp1252", errors="replace")
                    return (
                        f"is not UTF-8: line {line} has the byte 0x{bad:02X} ({guess!r} in Windows-1252, which "
                        "Excel's 'CSV (Comma delimited)' writes): save it as UTF-8 (Excel: 'CSV UTF-8')"
                    )
                line += chunk.count(b"\n")
                chunk = handle.read(ENCODING_CHUNK)
    except OSError:
        return None
    return None


def _describe_line_error(error_type: str, message: str) -> str:
    """reject_errors' error type and message in words."""
    found = [int(n) for n in re.findall(r"Found: (\d+)", message)]
    expected = re.search(r"Expected Number of Columns: (\d+)", message)
    if error_type in ("TOO MANY COLUMNS", "MISSING COLUMNS") and found and expected:
        # One reject per surplus or missing field, each counting up to it: the extreme one is the line's count.
        fields = max(found) if error_type == "TOO MANY COLUMNS" else min(found)
        return f"has {fields} fields where the header has {expected.group(1)}"
    if error_type == "UNQUOTED VALUE":
        return "has a stray or unclosed quote"
    if error_type == "INVALID UNICODE":
        return "is not valid UTF-8 (re-export the file as UTF-8)"
    return message.strip().splitlines()[0] if message.strip() else error_type.lower()


def csv_line_problem(path: str) -> str | None:
    """The first malformed line of a CSV file, in words ("line 3 has 5 fields where the header has 4"), or
    None. Reads the file with the separator its header line uses (DuckDB's sniffer can be thrown by one
    ragged row) and DuckDB's rejects table, which keeps each bad line's number."""
    if not path.lower().endswith(CSV_SUFFIXES):
        return None
    try:
        header = _header_line(path)
    except OSError:
        return None
    counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
    delimiter = max(counts, key=counts.__getitem__)
    if counts[delimiter] == 0:
        return None
    with duckdb.connect() as con:
        try:
            con.execute(
                f"select count(*) from read_csv({_literal(path)}, {CSV_OPTIONS}, "
                f"delim = {_literal(delimiter)}, store_rejects = true)"
            ).fetchall()
            rows = con.execute(
                "select line, error_type, error_message from reject_errors order by line, column_idx"
            ).fetchall()
        except duckdb.Error as exc:
            log.debug("%s: no line-level diagnosis: %s", path, exc)
            return None
    if not rows:
        return None
    line, error_type, _ = rows[0]
    message = " ".join(row[2] for row in rows if row[0] == line and row[1] == error_type)
    bad_lines = len({row[0] for row in rows})
    more = f" (and {bad_lines - 1:,} more malformed line{'s' if bad_lines > 2 else ''})" if bad_lines > 1 else ""
    return f"line {line:,} {_describe_line_error(error_type, message)}{more}"


def _unreadable(path: str, exc: duckdb.Error) -> IngestError:
    """The error for a file DuckDB failed on: its malformed line if one can be found, else DuckDB's words."""
    problem = encoding_problem(path) or csv_line_problem(path)
    if problem is None:
        problem = f"cannot be read ({str(exc).strip().splitlines()[0]})"
    return IngestError(f"{path}: {problem}; fix or re-export it, nothing was changed")


def column_key(name: str) -> str:
    """A header as the required names are matched: trimmed, lower case, runs of spaces or hyphens as one
    underscore ("Host ID" and "app-manager" as CMDB exports write them are host_id and app_manager)."""
    return re.sub(r"[\s-]+", "_", name.strip().lower())


def _columns(con: duckdb.DuckDBPyConnection, path: str) -> dict[str, str]:
    """Matching key (column_key) -> column name as written in the file."""
    if Path(path).is_file() and Path(path).stat().st_size == 0:
        raise IngestError(f"{path}: is empty (0 bytes): check the export, nothing was changed")
    try:
        described = con.execute(f"describe select * from {_reader(path)}").fetchall()
    except duckdb.Error as exc:
        raise _unreadable(path, exc) from exc
    return {column_key(row[0]): row[0] for row in described}


def _select_text(columns: dict[str, str], wanted: tuple[str, ...], path: str, required: bool) -> list[str]:
    picked = []
    for name in wanted:
        if name in columns:
            picked.append(f'cast("{columns[name]}" as varchar) as {name}')
        elif required:
            # A ragged line or another encoding can make the sniffer misread the header.
            problem = encoding_problem(path) or csv_line_problem(path)
            if problem:
                raise IngestError(f"{path}: {problem}; fix or re-export it, nothing was changed")
            found = ", ".join(sorted(columns)) or "none"
            raise IngestError(f"{path}: required column '{name}' is missing (found: {found})")
        else:
            picked.append(f"cast(null as varchar) as {name}")
    return picked


def expand(pattern: str) -> list[str]:
    files = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
    directories = [f for f in files if Path(f).is_dir()]
    if directories:
        example = str(Path(directories[0]) / "*.csv")
        raise IngestError(f"{directories[0]}: is a directory; give a file, or a glob such as {example!r}")
    missing = [f for f in files if not Path(f).is_file()]
    if not files or missing:
        raise IngestError(f"{missing[0] if missing else pattern}: no such file (check the path or glob)")
    return files


def _stage(con: duckdb.DuckDBPyConnection, query: str, path: str, target: Path) -> int:
    """Read one input file in full into a staging Parquet file; a file that breaks anywhere (a malformed
    line deep in a CSV, a corrupt row group) stops here, before anything in the warehouse changed."""
    try:
        con.execute(f"copy ({query}) to {_literal(str(target))} (format parquet, compression zstd)")
        return con.execute(f"select count(*) from read_parquet({_literal(str(target))})").fetchone()[0]
    except duckdb.Error as exc:
        raise _unreadable(path, exc) from exc


def stage_inventory(con: duckdb.DuckDBPyConnection, path: str, staging: Path) -> tuple[Path, int]:
    columns = _columns(con, path)
    select = _select_text(columns, INVENTORY_REQUIRED, path, True)
    select += _select_text(columns, INVENTORY_OPTIONAL, path, False)
    query = (
        f"select row_number() over () as raw_row_id, {', '.join(select)}, {_literal(path)} as source_file "
        f"from {_reader(path)}"
    )
    target = staging / "inventory.parquet"
    rows = _stage(con, query, path, target)
    if rows == 0:
        raise IngestError(f"{path}: has no rows (check the export)")
    return target, rows


def stage_telemetry(con: duckdb.DuckDBPyConnection, files: list[str], staging: Path) -> list[tuple[Path, int]]:
    """One staged Parquet file per input file, each row numbered in file order."""
    parts = []
    for number, path in enumerate(files):
        select = _select_text(_columns(con, path), TELEMETRY_REQUIRED, path, True)
        query = (
            f"select row_number() over () as file_row, {', '.join(select)}, {_literal(path)} as source_file "
            f"from {_reader(path)}"
        )
        target = staging / f"telemetry_{number:05d}.parquet"
        parts.append((target, _stage(con, query, path, target)))
    return parts


def land_inventory(con: duckdb.DuckDBPyConnection, staged: Path) -> int:
    columns = ", ".join(("raw_row_id", *INVENTORY_REQUIRED, *INVENTORY_OPTIONAL, "source_file"))
    con.execute(f"insert into raw.inventory ({columns}) select {columns} from read_parquet({_literal(str(staged))})")
    return con.execute("select count(*) from raw.inventory").fetchone()[0]


def write_lake_partial(
    con: duckdb.DuckDBPyConnection, parts: list[tuple[Path, int]], target: Path, load_id: int = 1, first_row: int = 0
) -> tuple[Path, int]:
    """The staged files as one load's lake file, written beside ``target`` under a name the sources' glob does not
    read (``.parquet.partial``): (that file, its rows). raw_row_id numbers the rows across files in the order given,
    after ``first_row`` (the highest id of earlier loads), so ids stay unique across loads."""
    selects, offset = [], first_row
    for staged, rows in parts:
        selects.append(
            f"select file_row + {offset} as raw_row_id, {', '.join(TELEMETRY_REQUIRED)}, source_file, "
            f"cast({int(load_id)} as integer) as load_id from read_parquet({_literal(str(staged))})"
        )
        offset += rows
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".parquet.partial")
    con.execute(f"copy ({' union all '.join(selects)}) to {_literal(str(partial))} (format parquet, compression zstd)")
    return partial, con.execute(f"select count(*) from read_parquet({_literal(str(partial))})").fetchone()[0]


def land_telemetry(
    con: duckdb.DuckDBPyConnection, parts: list[tuple[Path, int]], target: Path, load_id: int = 1, first_row: int = 0
) -> int:
    """The staged files as one lake file (one load), its rows (see write_lake_partial)."""
    partial, rows = write_lake_partial(con, parts, target, load_id, first_row)
    partial.replace(target)
    return rows


def stage_inputs(inventory_file: str, telemetry_files: list[str], staging: Path) -> tuple[Path, list[tuple[Path, int]]]:
    """Check every header, then read every file in full into ``staging`` (IngestError naming the file)."""
    with bounded(duckdb.connect(), staging / ".spill") as probe:
        probe.execute("set TimeZone = 'UTC'")  # Parquet timestamps with a zone become text with a +00 offset
        # Every header first: a missing column is reported before any long full read.
        _select_text(_columns(probe, inventory_file), INVENTORY_REQUIRED, inventory_file, True)
        for path in telemetry_files:
            _select_text(_columns(probe, path), TELEMETRY_REQUIRED, path, True)
        staged_inventory, _ = stage_inventory(probe, inventory_file, staging)
        parts = stage_telemetry(probe, telemetry_files, staging)
    if not any(rows for _, rows in parts):
        raise IngestError(f"{', '.join(telemetry_files)}: no telemetry rows (check the export)")
    return staged_inventory, parts


def rebuild_raw_layer(
    paths: ProjectPaths, staged_inventory: Path, parts: list[tuple[Path, int]], audit: dict[str, object]
) -> tuple[int, int]:
    """Purge the warehouse and land the staged files in a fresh raw layer; (inventory rows, telemetry rows)."""
    purge(paths)
    con = bounded(create_warehouse(paths), staged_inventory.parent / ".spill")
    try:
        inventory_rows = land_inventory(con, staged_inventory)
        telemetry_rows = land_telemetry(con, parts, paths.lake_dir / OWN_TELEMETRY_FILE)
        record_load(
            con,
            LoadRecord(
                load_id=1,
                fleet="own",
                load_mode="replace",
                loaded_at=utc_now(),
                inventory_file=str(audit["inventory_file"]),
                telemetry_pattern=str(audit["telemetry_pattern"]),
                telemetry_files=int(audit["telemetry_files"]),
                inventory_rows=inventory_rows,
                telemetry_rows=telemetry_rows,
                value_scale=str(audit["value_scale"]),
                lake_file=OWN_TELEMETRY_FILE,
            ),
        )
    finally:
        con.close()
    return inventory_rows, telemetry_rows


def inspect_staged(staged_inventory: Path, parts: list[tuple[Path, int]], value_scale: str | None, source: str) -> str:
    """Warn about what would get most telemetry rows rejected; the value scale to load with (IngestError when
    no row would be usable, or the values look like fractions and no scale was given)."""
    with bounded(duckdb.connect(), staged_inventory.parent / ".spill") as con:
        con.execute("set TimeZone = 'UTC'")
        profile = profile_telemetry(con, staged_inventory, [staged for staged, _ in parts])
        groups = value_groups(con, [staged for staged, _ in parts])
    try:
        scale = resolve_value_scale(profile, value_scale, source)
        warnings = check_telemetry(profile, scale, source)
    except LoadCheckError as exc:
        raise IngestError(str(exc)) from exc
    mixed = fraction_groups_problem(groups, value_scale, scale, source)
    if mixed is not None and value_scale is None:
        raise IngestError(mixed)
    if mixed is not None:
        warnings.append(mixed)
    for warning in warnings:
        log.warning(warning)
    log.info(describe_value_scale(profile, value_scale, scale))
    return scale


def refuse_reserved_labels(staged_inventory: Path, source: str) -> None:
    """IngestError when an inventory host's region or app_code is a mart roll-up's label ('ALL')."""
    with duckdb.connect() as con:
        problem = reserved_label_problem(con, staged_inventory, source)
    if problem is not None:
        raise IngestError(f"{problem}; nothing was changed")


def warn_silent_hosts(staged_inventory: Path, parts: list[tuple[Path, int]], source: str) -> None:
    """A first load (not an append, which may bring some hosts' days only) names inventory hosts without data."""
    with duckdb.connect() as con:
        warning = silent_hosts_warning(con, staged_inventory, [staged for staged, _ in parts], source)
    if warning is not None:
        log.warning(warning)


#: Where a load puts the forecast history of a different fleet (kept, not deleted).
REPLACED_HISTORY = "forecast_history_replaced"


def set_aside_other_fleets_history(paths: ProjectPaths, staged_inventory: Path) -> Path | None:
    """A load keeps the forecast history (the track record of a fleet re-exported whole), unless it belongs to
    another fleet: none of its hosts is in the new inventory. Loaded into a data directory that held `make run`'s
    synthetic fleet, its snapshots once made NO_FORECAST change alerts for hosts the new fleet never had."""
    snapshots = str(paths.history_dir / "as_of=*" / "*.parquet")
    if not any(paths.history_dir.glob("as_of=*/*.parquet")):
        return None
    with duckdb.connect() as con:
        (shared,) = con.execute(
            f"select count(*) from (select distinct host_id from read_parquet({_literal(snapshots)}, "
            "hive_partitioning = false, union_by_name = true) where host_id is not null) as history "
            f"where host_id in (select lower(trim(host_id)) from read_parquet({_literal(str(staged_inventory))}))"
        ).fetchone()
    if shared:
        return None
    target = paths.data_dir / REPLACED_HISTORY / utc_now().strftime("%Y%m%dT%H%M%S")
    target.parent.mkdir(parents=True, exist_ok=True)
    paths.history_dir.replace(target)
    log.warning(
        "forecast history: none of its hosts is in this inventory (another fleet's track record), so it was "
        "moved to %s; risk_changes and forecast_accuracy start afresh with the next build",
        target,
    )
    return target


def ingest(paths: ProjectPaths, inventory: str, telemetry: str, value_scale: str | None = None) -> IngestResult:
    """Read both inputs in full into a staging area, changing nothing if any file fails or no telemetry row
    would be usable, then rebuild the raw layer from them. ``value_scale`` None: percent, unless the values
    look like 0-1 fractions (then IngestError: the user must say which)."""
    started = time.perf_counter()
    if value_scale is not None and value_scale not in VALUE_SCALES:
        raise IngestError(f"--value-scale must be one of {', '.join(VALUE_SCALES)}, got {value_scale!r}")
    inventories = expand(inventory)
    if len(inventories) > 1:
        raise IngestError(f"{inventory}: matches {len(inventories)} files; give one inventory file")
    telemetry_files = expand(telemetry)
    fresh = not paths.data_dir.exists()
    staging = paths.data_dir / ".load_staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        staged_inventory, parts = stage_inputs(inventories[0], telemetry_files, staging)
        refuse_reserved_labels(staged_inventory, inventories[0])
        scale = inspect_staged(staged_inventory, parts, value_scale, telemetry)
        warn_silent_hosts(staged_inventory, parts, telemetry)
        audit = {
            "inventory_file": inventories[0],
            "telemetry_pattern": telemetry,
            "telemetry_files": len(telemetry_files),
            "value_scale": scale,
        }
        set_aside_other_fleets_history(paths, staged_inventory)
        inventory_rows, telemetry_rows = rebuild_raw_layer(paths, staged_inventory, parts, audit)
    except IngestError:
        if fresh:  # a failed first load leaves no data directory behind
            shutil.rmtree(paths.data_dir, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    seconds = time.perf_counter() - started
    log.info(
        "landed %s inventory rows and %s telemetry rows from %d file(s) in %.1f s (values as %s)",
        f"{inventory_rows:,}",
        f"{telemetry_rows:,}",
        len(telemetry_files),
        seconds,
        scale,
    )
    return IngestResult(inventory_rows, telemetry_rows, len(telemetry_files), seconds)


def append_telemetry(
    paths: ProjectPaths, telemetry: str, value_scale: str | None = None, inventory: str | None = None
) -> IngestResult:
    """``load --append``: land more telemetry of the fleet already loaded, beside what is there, as a new load
    (its own lake file and load_id; raw_row_ids continue after the highest so far). The inventory stays, or,
    with ``inventory``, the new export replaces it (hosts added or changed; the one it replaced is kept for
    undo, and the refinery judges the whole history again against it). The same checks as a first load run,
    and nothing is changed when they fail. New days, late rows for old days and re-sent rows are all just rows:
    the refinery decides (the later load wins a repeated instant or day; the earlier row is rejected as
    superseded_by_later_load)."""
    started = time.perf_counter()
    if value_scale is not None and value_scale not in VALUE_SCALES:
        raise IngestError(f"--value-scale must be one of {', '.join(VALUE_SCALES)}, got {value_scale!r}")
    if not paths.warehouse.is_file():
        raise IngestError(f"no warehouse at {paths.warehouse}: load your fleet first (without --append)")
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        try:
            fleet = fleet_in_warehouse(con)
        except duckdb.Error as exc:
            raise IngestError(f"the warehouse in {paths.data_dir} predates numbered loads: load it again") from exc
    if fleet != "own":
        raise IngestError(
            "--append adds to your own fleet, but the warehouse holds "
            + ("a synthetic fleet (use `generate --extend-days N`)" if fleet else "no loaded fleet")
            + ": load inventory and telemetry without --append first"
        )
    telemetry_files = expand(telemetry)
    inventories = expand(inventory) if inventory else []
    if len(inventories) > 1:
        raise IngestError(f"{inventory}: matches {len(inventories)} files; give one inventory file")
    staging = paths.data_dir / ".load_staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        with bounded(duckdb.connect(), staging / ".spill") as probe:
            probe.execute("set TimeZone = 'UTC'")
            for path in telemetry_files:
                _select_text(_columns(probe, path), TELEMETRY_REQUIRED, path, True)
            if inventories:
                _select_text(_columns(probe, inventories[0]), INVENTORY_REQUIRED, inventories[0], True)
            parts = stage_telemetry(probe, telemetry_files, staging)
            if inventories:
                staged_inventory, inventory_rows = stage_inventory(probe, inventories[0], staging)
            else:
                staged_inventory, inventory_rows = staging / "inventory.parquet", 0
                probe.execute(f"attach {_literal(str(paths.warehouse))} as warehouse (read_only)")
                probe.execute(f"copy warehouse.raw.inventory to {_literal(str(staged_inventory))} (format parquet)")
                probe.execute("detach warehouse")
        if not any(rows for _, rows in parts):
            raise IngestError(f"{', '.join(telemetry_files)}: no telemetry rows (check the export)")
        if inventories:
            refuse_reserved_labels(staged_inventory, inventories[0])
        scale = inspect_staged(staged_inventory, parts, value_scale, telemetry)
        if inventories:
            warn_silent_hosts(staged_inventory, parts, telemetry)
        if scale == "percent":
            with duckdb.connect() as con:
                problem = append_scale_problem(
                    con, [staged for staged, _ in parts], lake_glob(paths, "own"), value_scale, telemetry
                )
            if problem and value_scale is None:
                raise IngestError(problem)
            if problem:
                log.warning(problem)
        first_row = max_raw_row_id(paths, "own")
        with bounded(duckdb.connect(str(paths.warehouse)), staging / ".spill") as con:
            load_id = next_load_id(con)
            lake_file = load_file_name("own", load_id)
            target = paths.lake_dir / lake_file
            # The long write first, where no source reads it; then the inventory, the lake file and the audit row
            # change together. Stopped part-way (Ctrl-C, SIGTERM, kill -9), an append once left the inventory
            # replaced and no load recorded: run again, it kept the replaced inventory as the one undo restores.
            partial, rows = write_lake_partial(con, parts, target, load_id, first_row)
            record = LoadRecord(
                load_id=load_id,
                fleet="own",
                load_mode="append",
                loaded_at=utc_now(),
                inventory_file=inventories[0] if inventories else None,
                telemetry_pattern=telemetry,
                telemetry_files=len(telemetry_files),
                inventory_rows=inventory_rows,
                telemetry_rows=rows,
                value_scale=scale,
                lake_file=lake_file,
            )
            try:
                con.begin()
                if inventories:  # keep the inventory it replaces for undo, then replace it
                    before = inventory_before_file(paths, load_id)
                    con.execute(f"copy raw.inventory to {_literal(str(before))} (format parquet)")
                    con.execute("delete from raw.inventory")
                    land_inventory(con, staged_inventory)
                record_load(con, record)
                partial.replace(target)  # the load's rows reach the refinery with its audit row
                con.commit()
            except BaseException:
                with contextlib.suppress(duckdb.Error):  # none open when begin or commit itself failed
                    con.rollback()
                raise
            finally:
                partial.unlink(missing_ok=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    seconds = time.perf_counter() - started
    log.info(
        "load %d: appended %s telemetry rows from %d file(s) in %.1f s (values as %s)",
        load_id,
        f"{rows:,}",
        len(telemetry_files),
        seconds,
        scale,
    )
    return IngestResult(0, rows, len(telemetry_files), seconds)


def describe_last_load(warehouse: Path) -> str | None:
    """The last `horizonscale load` in one line (when, which files, the value scale it decided), for the build
    log; None for a synthetic fleet or when the warehouse cannot be read."""
    if not warehouse.is_file():
        return None
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            row = con.execute(
                "select loaded_at, inventory_file, telemetry_pattern, telemetry_files, telemetry_rows, value_scale "
                "from raw.load_audit where fleet = 'own' and load_id = 1 and undone_at is null"
            ).fetchone()
    except duckdb.Error as exc:
        log.debug("no load audit in %s: %s", warehouse, exc)
        return None
    if row is None:
        return None
    loaded_at, inventory, pattern, files, rows, scale = row
    return (
        f"own fleet loaded {loaded_at:%Y-%m-%d %H:%M} UTC from {inventory} and {pattern} ({files} file(s), "
        f"{rows:,} telemetry rows), values as {scale}"
        + (" (0-1 fractions, multiplied by 100)" if scale == "fraction" else " (0-100)")
    )
