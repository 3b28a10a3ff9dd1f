"""00 init + 01 telemetry: purge, create the raw warehouse, write the fleet and the Parquet lake, audit."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from python_engines.paths import ProjectPaths
from python_engines.raw_layer import SYNTHETIC_TELEMETRY_FILE, create_warehouse, purge
from python_engines.synthetic.catalog import GeneratorInputError, ReferenceData, load_reference_data
from python_engines.synthetic.dirt import DirtCounts, DirtRates, dirty_feed
from python_engines.synthetic.fleet import RESOURCES, build_fleet
from python_engines.synthetic.telemetry import Calendar, generate_clean

log = logging.getLogger(__name__)

TELEMETRY_FILE = SYNTHETIC_TELEMETRY_FILE


class GeneratorAuditError(RuntimeError):
    """The generated warehouse does not meet its own exit audit."""


@dataclass(frozen=True)
class GeneratorConfig:
    hosts: int = 2000
    seed: int = 42
    start: date = date(2023, 1, 1)
    end: date = date(2025, 12, 31)
    dirt: DirtRates = field(default_factory=DirtRates)

    def validate(self) -> None:
        if self.hosts <= 0:
            raise GeneratorInputError(f"--hosts must be a positive number, got {self.hosts}")
        if self.end < self.start:
            raise GeneratorInputError(f"--end {self.end} is before --start {self.start}: swap them")
        if (self.end - self.start).days < 13:
            raise GeneratorInputError("the window must span at least two weeks (--start .. --end)")
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
    frame.write_parquet(partial, compression="zstd", compression_level=3, row_group_size=512 * 1024)
    partial.replace(target)


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


def generate(config: GeneratorConfig, paths: ProjectPaths) -> GenerationResult:
    """Validate everything first (so bad input writes nothing), then rebuild the raw layer from scratch."""
    started = time.perf_counter()
    config.validate()
    reference = load_reference_data(paths.seeds_dir)
    if not paths.ddl.is_file():
        raise GeneratorInputError(f"DDL file {paths.ddl} not found: run from the project root")
    loaded_at = datetime(config.end.year, config.end.month, config.end.day, 23, 0)
    fleet = build_fleet(reference, config.hosts, config.seed, loaded_at)

    purge(paths)
    con = create_warehouse(paths)
    try:
        con.register("fleet_frame", fleet.to_arrow())
        con.execute("insert into raw.hosts by name select * from fleet_frame")
        con.unregister("fleet_frame")
        log.info("init: %s hosts written to %s", f"{fleet.height:,}", paths.warehouse)

        cal = Calendar.between(config.start, config.end)
        clean, planted = generate_clean(fleet, cal, config.seed)
        write_planted_breaches(con, fleet, planted, config.end)
        log.info("telemetry: %s clean values generated in %.1f s", f"{clean.size:,}", time.perf_counter() - started)
        feed, dirt = dirty_feed(clean, fleet["host_id"].to_list(), cal, config.seed, config.dirt)
        del clean
        target = paths.lake_dir / TELEMETRY_FILE
        write_parquet_atomically(feed, target)
        log.info("telemetry: %s raw rows written to %s", f"{feed.height:,}", target)

        con.execute(
            "insert into raw.generation_audit values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                str(uuid.uuid5(uuid.NAMESPACE_URL, f"horizonscale/{config.seed}/{config.hosts}")),
                config.seed,
                config.hosts,
                fleet.height,
                reference.dna.height,
                config.start,
                config.end,
                feed.height,
                str(target),
                dirt.duplicate_rows,
                dirt.missing_rows,
                dirt.mixed_case_rows,
                dirt.out_of_range_rows,
                dirt.null_value_rows,
                loaded_at,
            ],
        )
        audit(con, reference, config)
    finally:
        con.close()
    return GenerationResult(
        hosts=fleet.height,
        telemetry_rows=feed.height,
        telemetry_path=target,
        warehouse_path=paths.warehouse,
        dirt=dirt,
        seconds=time.perf_counter() - started,
    )
