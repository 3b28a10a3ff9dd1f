"""00 init + 01 telemetry: purge, create the raw warehouse, write the fleet and the Parquet lake, audit."""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow.parquet as pq

from python_engines.loads import LoadRecord, max_raw_row_id, next_load_id, record_load
from python_engines.paths import ProjectPaths
from python_engines.raw_layer import SYNTHETIC_TELEMETRY_FILE, create_warehouse, load_file_name, purge
from python_engines.synthetic.catalog import GeneratorInputError, ReferenceData, load_reference_data
from python_engines.synthetic.dirt import NO_DIRT, DirtCounts, DirtRates, block_stream, dirty_feed, extension_days
from python_engines.synthetic.fleet import RESOURCES, build_fleet
from python_engines.synthetic.telemetry import Calendar, generate_clean

log = logging.getLogger(__name__)

TELEMETRY_FILE = SYNTHETIC_TELEMETRY_FILE

#: Hosts generated at a time: only one block's telemetry arrays and raw rows are in memory at once (about 2.9 GB
#: peak for a full block over three years), so any fleet size runs in bounded memory. A fleet of up to one block
#: (the default 2,000-host fleet and every test fleet) is drawn exactly as it was before blocks existed; a larger
#: fleet draws each block from its own random streams, so the block size is part of a large fleet's identity
#: (same seed and block size, same fleet).
BLOCK_HOSTS = 2_000
ROW_GROUP_ROWS = 512 * 1024


class GeneratorAuditError(RuntimeError):
    """The generated warehouse does not meet its own exit audit."""


@dataclass(frozen=True)
class GeneratorConfig:
    hosts: int = 2000
    seed: int = 42
    start: date = date(2023, 1, 1)
    end: date = date(2025, 12, 31)
    dirt: DirtRates = field(default_factory=DirtRates)
    #: Days after ``end`` the fleet continues (``generate --extend-days``): the days up to ``end`` are exactly
    #: those of the same config without extension; telemetry then runs to ``last_day``.
    extend_days: int = 0

    @property
    def last_day(self) -> date:
        return self.end + timedelta(days=self.extend_days)

    def validate(self) -> None:
        if self.hosts <= 0:
            raise GeneratorInputError(f"--hosts must be a positive number, got {self.hosts}")
        if self.end < self.start:
            raise GeneratorInputError(f"--end {self.end} is before --start {self.start}: swap them")
        if (self.end - self.start).days < 13:
            raise GeneratorInputError("the window must span at least two weeks (--start .. --end)")
        if self.extend_days < 0:
            raise GeneratorInputError(f"--extend-days must be >= 0, got {self.extend_days}")
        if self.seed < 0:
            raise GeneratorInputError(f"--seed must be >= 0, got {self.seed}")


@dataclass(frozen=True)
class GenerationResult:
    hosts: int
    telemetry_rows: int
    telemetry_path: Path
    warehouse_path: Path
    dirt: DirtCounts
    seconds: float


def write_parquet_atomically(frame: pl.DataFrame, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".parquet.partial")
    frame.write_parquet(partial, compression="zstd", compression_level=3, row_group_size=ROW_GROUP_ROWS)
    partial.replace(target)


def host_blocks(hosts: int) -> list[slice]:
    """The fleet's rows in blocks of :data:`BLOCK_HOSTS` hosts, in fleet order."""
    size = BLOCK_HOSTS
    return [slice(first, min(first + size, hosts)) for first in range(0, hosts, size)]


class LakeWriter:
    """One lake file of one load, fed frame by frame in raw_row_id order. Held and written at once when the
    fleet fits one block (the file is then exactly what it always was); streamed otherwise, each frame
    appended as row groups as it comes, so memory holds one block's rows at most. The file appears at its
    name only when complete."""

    def __init__(self, target: Path, load_id: int, stream: bool, first_row_id: int = 1) -> None:
        self.target = target
        self.load_id = load_id
        self.stream = stream
        self.first_row_id = first_row_id
        self.partial = target.with_suffix(".parquet.partial")
        self.rows = 0
        self.loaded_at: datetime | None = None
        self._held: list[pl.DataFrame] = []
        self._writer: pq.ParquetWriter | None = None

    @property
    def next_row_id(self) -> int:
        return self.first_row_id + self.rows

    def add(self, frame: pl.DataFrame) -> None:
        self.rows += frame.height
        latest = frame["loaded_at"].max()
        if latest is not None and (self.loaded_at is None or latest > self.loaded_at):
            self.loaded_at = latest
        if not self.stream:
            self._held.append(frame)
            return
        table = frame.with_columns(pl.lit(self.load_id, dtype=pl.Int32).alias("load_id")).to_arrow()
        if self._writer is None:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.partial, table.schema, compression="zstd", compression_level=3)
        self._writer.write_table(table.cast(self._writer.schema), row_group_size=ROW_GROUP_ROWS)

    def close(self) -> None:
        if not self.stream:
            feed = pl.concat(self._held) if len(self._held) > 1 else self._held[0]
            self._held = []
            write_parquet_atomically(
                feed.with_columns(pl.lit(self.load_id, dtype=pl.Int32).alias("load_id")), self.target
            )
            return
        if self._writer is None:
            raise RuntimeError("no telemetry rows to write")
        self._writer.close()
        self.partial.replace(self.target)

    def abandon(self) -> None:
        """Drop a half-written file (generation failed)."""
        if self._writer is not None:
            self._writer.close()
        self.partial.unlink(missing_ok=True)


def write_planted_breaches(con: duckdb.DuckDBPyConnection, fleet: pl.DataFrame, planted: np.ndarray, end: date) -> None:
    """The ground truth a forecast can be checked against: every series whose DNA trend reaches 95% after the
    last day of history, and when (``raw.planted_breaches``; read by the benchmarks, not by dbt)."""
    host_index, resource_index = np.nonzero(np.isfinite(planted))
    days = planted[host_index, resource_index]
    truth = pl.DataFrame(
        {
            "host_id": fleet["host_id"].gather(host_index),
            "resource": [RESOURCES[i] for i in resource_index],
            "days_after_end": np.round(days, 2),
            "breach_date": np.datetime64(end, "D") + np.ceil(days).astype("timedelta64[D]"),
        }
    )
    con.register("planted_frame", truth.to_arrow())
    con.execute("insert into raw.planted_breaches by name select * from planted_frame")
    con.unregister("planted_frame")


def audit(con: duckdb.DuckDBPyConnection, reference: ReferenceData, config: GeneratorConfig) -> None:
    """Exit audit: host count equals the target and every DNA combination of the catalog is present."""
    (host_count,) = con.execute("select count(*) from raw.hosts").fetchone()
    if host_count != config.hosts:
        raise GeneratorAuditError(f"audit failed: raw.hosts has {host_count} hosts, expected {config.hosts}")
    present = {tuple(r) for r in con.execute("select distinct scenario, variant from raw.hosts").fetchall()}
    wanted = {tuple(r) for r in reference.dna.select("scenario", "variant").iter_rows()}
    if wanted - present:
        missing = ", ".join(f"{s} x {v}" for s, v in sorted(wanted - present))
        raise GeneratorAuditError(f"audit failed: no host carries DNA {missing}")


def _record_synthetic_load(con: duckdb.DuckDBPyConnection, lake: LakeWriter, mode: str, pattern: str) -> None:
    """The load audit row of a synthetic load: loaded when its last row was (deterministic)."""
    load_id = lake.load_id
    record_load(
        con,
        LoadRecord(
            load_id=load_id,
            fleet="synthetic",
            load_mode=mode,
            loaded_at=lake.loaded_at,
            inventory_file=None,
            telemetry_pattern=pattern,
            telemetry_files=1,
            inventory_rows=0,
            telemetry_rows=lake.rows,
            value_scale="percent",
            lake_file=load_file_name("synthetic", load_id),
        ),
    )


def extended_config(paths: ProjectPaths, more_days: int) -> GeneratorConfig:
    """The config of the synthetic fleet in ``paths`` continued by ``more_days`` days (``generate --extend-days``)."""
    if more_days < 1:
        raise GeneratorInputError(f"--extend-days must be at least 1, got {more_days}")
    missing = f"no synthetic fleet to extend in {paths.data_dir}: run `horizonscale generate` first"
    if not paths.warehouse.is_file():
        raise GeneratorInputError(missing)
    try:
        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            row = con.execute(
                "select seed, hosts_requested, start_date, end_date, extend_days from raw.generation_audit "
                "order by created_at desc limit 1"
            ).fetchone()
    except duckdb.Error as exc:
        raise GeneratorInputError(f"{missing} ({str(exc).splitlines()[0]})") from exc
    if row is None:
        raise GeneratorInputError(missing + " (the data directory holds a loaded fleet, not a generated one)")
    seed, hosts, start, last_day, extended = row
    return GeneratorConfig(
        hosts=hosts,
        seed=seed,
        start=start,
        end=last_day - timedelta(days=extended),
        extend_days=extended + more_days,
    )


def _block_log(what: str, number: int, blocks: list[slice], started: float) -> None:
    if len(blocks) > 1:
        rows = blocks[number]
        log.info(
            "telemetry: block %d/%d (hosts %s-%s) %s in %.1f s",
            number + 1,
            len(blocks),
            f"{rows.start + 1:,}",
            f"{rows.stop:,}",
            what,
            time.perf_counter() - started,
        )


def _write_window(
    config: GeneratorConfig, fleet: pl.DataFrame, lake: LakeWriter, started: float
) -> tuple[np.ndarray, np.ndarray, DirtCounts]:
    """The generated window of the whole fleet, block by block, into ``lake``; returns the planted breaches
    (hosts, resources), the clean values of the extension days (hosts, resources, days; empty without
    extension) and the dirt of the window."""
    base_cal = Calendar.between(config.start, config.end)
    cal = Calendar.between(config.start, config.last_day)
    base_days = base_cal.t.size
    blocks = host_blocks(fleet.height)
    planted: list[np.ndarray] = []
    later: list[np.ndarray] = []
    dirt = NO_DIRT
    for number, rows in enumerate(blocks):
        block = fleet[rows]
        clean, block_planted = generate_clean(block, cal, config.seed, base_days, number)
        planted.append(block_planted)
        later.append(clean[:, :, base_days:].copy())
        if len(blocks) == 1:
            log.info("telemetry: %s clean values generated in %.1f s", f"{clean.size:,}", time.perf_counter() - started)
        feed, block_dirt = dirty_feed(
            clean[:, :, :base_days],
            block["host_id"].to_list(),
            base_cal,
            config.seed,
            config.dirt,
            block_stream(number),
            lake.next_row_id,
        )
        del clean
        lake.add(feed)
        dirt = dirt + block_dirt
        del feed
        _block_log(f"written ({lake.rows:,} rows so far)", number, blocks, started)
    return np.concatenate(planted), np.concatenate(later), dirt


def _write_extension(
    config: GeneratorConfig, host_ids: list[str], clean: np.ndarray, first_day_number: int, lake: LakeWriter
) -> tuple[DirtCounts, Calendar]:
    """The dirty feed of the extension days whose clean values are ``clean``, day by day, into ``lake``."""
    first = config.end + timedelta(days=first_day_number)
    cal = Calendar.between(first, config.last_day)
    dirt = NO_DIRT
    for frame, counts in extension_days(
        clean, host_ids, cal, config.seed, config.dirt, lake.next_row_id, first_day_number
    ):
        lake.add(frame)
        dirt = dirt + counts
    return dirt, cal


def generate(config: GeneratorConfig, paths: ProjectPaths) -> GenerationResult:
    """Validate everything first (so bad input writes nothing), then rebuild the raw layer from scratch."""
    started = time.perf_counter()
    config.validate()
    reference = load_reference_data(paths.seeds_dir)
    if not paths.ddl.is_file():
        raise GeneratorInputError(f"DDL file {paths.ddl} not found: run from the project root")
    loaded_at = datetime(config.end.year, config.end.month, config.end.day, 23, 0)
    fleet = build_fleet(reference, config.hosts, config.seed, loaded_at)
    if config.extend_days and paths.warehouse.is_file():
        return _append_extension(config, paths, fleet, started)

    purge(paths)
    if not config.extend_days and paths.history_dir.is_dir():
        # A new fleet starts a new story: the forecasts of the previous one would not match its hosts.
        shutil.rmtree(paths.history_dir)
        log.info("init: forecast history of the previous fleet removed (%s)", paths.history_dir)
    con = create_warehouse(paths)
    target = paths.lake_dir / TELEMETRY_FILE
    lake = LakeWriter(target, 1, stream=len(host_blocks(fleet.height)) > 1)
    try:
        con.register("fleet_frame", fleet.to_arrow())
        con.execute("insert into raw.hosts by name select * from fleet_frame")
        con.unregister("fleet_frame")
        log.info("init: %s hosts written to %s", f"{fleet.height:,}", paths.warehouse)

        planted, later, dirt = _write_window(config, fleet, lake, started)
        write_planted_breaches(con, fleet, planted, config.end)
        if config.extend_days:
            window_rows = lake.rows
            later_dirt, _ = _write_extension(config, fleet["host_id"].to_list(), later, 1, lake)
            dirt = dirt + later_dirt
            log.info(
                "telemetry: extended by %d days after %s (%s rows)",
                config.extend_days,
                config.end,
                lake.rows - window_rows,
            )
        del later
        lake.close()
        _record_synthetic_load(con, lake, "replace", f"generate --hosts {config.hosts} --seed {config.seed}")
        log.info("telemetry: %s raw rows written to %s", f"{lake.rows:,}", target)

        con.execute(
            "insert into raw.generation_audit values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                str(uuid.uuid5(uuid.NAMESPACE_URL, f"horizonscale/{config.seed}/{config.hosts}")),
                config.seed,
                config.hosts,
                fleet.height,
                reference.dna.height,
                config.start,
                config.last_day,
                lake.rows,
                str(target),
                dirt.duplicate_rows,
                dirt.missing_rows,
                dirt.mixed_case_rows,
                dirt.out_of_range_rows,
                dirt.null_value_rows,
                loaded_at,
                config.extend_days,
            ],
        )
        audit(con, reference, config)
    except BaseException:
        lake.abandon()
        raise
    finally:
        con.close()
    return GenerationResult(
        hosts=fleet.height,
        telemetry_rows=lake.rows,
        telemetry_path=target,
        warehouse_path=paths.warehouse,
        dirt=dirt,
        seconds=time.perf_counter() - started,
    )


def _extension_clean(config: GeneratorConfig, fleet: pl.DataFrame, first_new: int, started: float) -> np.ndarray:
    """Clean values (hosts, resources, days) of the whole fleet from day index ``first_new`` of the extended
    calendar on, generated block by block (each block's full story is needed to continue it)."""
    cal = Calendar.between(config.start, config.last_day)
    base_days = Calendar.between(config.start, config.end).t.size
    blocks = host_blocks(fleet.height)
    parts: list[np.ndarray] = []
    for number, rows in enumerate(blocks):
        clean, _ = generate_clean(fleet[rows], cal, config.seed, base_days, number)
        parts.append(clean[:, :, first_new:].copy())
        del clean
        _block_log("continued", number, blocks, started)
    return np.concatenate(parts)


def _append_extension(
    config: GeneratorConfig, paths: ProjectPaths, fleet: pl.DataFrame, started: float
) -> GenerationResult:
    """``generate --extend-days`` on a warehouse that holds the fleet: the days after its last one land as a new
    load (its own lake file, a new load_id) beside the rows already there; the warehouse, its built models and
    the forecast history stay. The rows are those a generation extended at once would have (same ids, values,
    dirt, loaded_at)."""
    with duckdb.connect(str(paths.warehouse)) as con:
        try:
            (written_days,) = con.execute("select extend_days from raw.generation_audit").fetchone()
            load_id = next_load_id(con)
        except (duckdb.Error, TypeError) as exc:
            raise GeneratorInputError(
                f"the warehouse in {paths.data_dir} predates numbered loads: run `horizonscale generate` again"
            ) from exc
        base_days = Calendar.between(config.start, config.end).t.size
        clean = _extension_clean(config, fleet, base_days + written_days, started)
        target = paths.lake_dir / load_file_name("synthetic", load_id)
        lake = LakeWriter(
            target,
            load_id,
            stream=len(host_blocks(fleet.height)) > 1,
            first_row_id=max_raw_row_id(paths, "synthetic") + 1,
        )
        try:
            dirt, new_cal = _write_extension(config, fleet["host_id"].to_list(), clean, written_days + 1, lake)
            del clean
            lake.close()
        except BaseException:
            lake.abandon()
            raise
        _record_synthetic_load(con, lake, "append", f"generate --extend-days {config.extend_days - written_days}")
        con.execute(
            """
            update raw.generation_audit
            set end_date = $last_day, extend_days = $extend_days, telemetry_rows = telemetry_rows + $rows,
                duplicate_rows = duplicate_rows + $dup, missing_rows = missing_rows + $missing,
                mixed_case_rows = mixed_case_rows + $mixed, out_of_range_rows = out_of_range_rows + $range,
                null_value_rows = null_value_rows + $nulls
            """,
            {
                "last_day": config.last_day,
                "extend_days": config.extend_days,
                "rows": lake.rows,
                "dup": dirt.duplicate_rows,
                "missing": dirt.missing_rows,
                "mixed": dirt.mixed_case_rows,
                "range": dirt.out_of_range_rows,
                "nulls": dirt.null_value_rows,
            },
        )
    log.info(
        "telemetry: load %d: %d days after %s (%s rows) appended as %s",
        load_id,
        new_cal.t.size,
        config.end + timedelta(days=written_days),
        f"{lake.rows:,}",
        target,
    )
    return GenerationResult(
        hosts=fleet.height,
        telemetry_rows=lake.rows,
        telemetry_path=target,
        warehouse_path=paths.warehouse,
        dirt=dirt,
        seconds=time.perf_counter() - started,
    )
