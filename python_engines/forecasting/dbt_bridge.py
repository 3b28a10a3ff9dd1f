"""What the dbt Python models in ``models/forecasting`` call: read, run one engine over the fleet, persist.

A dbt Python model stays a few lines: it takes its refs and configs (dbt only passes configs that the model
file names literally) and hands them here. Besides the returned table, each run writes to the lake
(``<lake_dir>/forecasts/``): ``<model>.parquet`` (the forecasts, for fast reads), ``<model>_runs.parquet``
(the run log behind ``engine_runs``) and ``<model>_timings.parquet`` (behind ``engine_timings``). Each file is
written to a temporary name and renamed, so a rerun replaces it whole.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from python_engines.forecasting.frames import INPUT_COLUMNS, series_from_frame
from python_engines.forecasting.output import forecast_table, run_table
from python_engines.forecasting.runs import ENGINES, EngineRun, FleetConfig
from python_engines.forecasting.series import HistoryRules
from python_engines.forecasting.windows import ForecastWindows

log = logging.getLogger(__name__)


def _empty(value: Any) -> bool:
    return value is None or str(value).strip().lower() in ("", "none", "null")


def _int(value: Any) -> int | None:
    return None if _empty(value) else int(float(value))


def _float(value: Any, default: float) -> float:
    return default if _empty(value) else float(value)


@dataclass(frozen=True)
class ModelConfig:
    """The dbt configs of an engine model (rendered from vars in models/forecasting/_forecasting__models.yml)."""

    lake_dir: Path
    fleet: FleetConfig
    host_limit: int | None

    @classmethod
    def from_configs(cls, configs: Mapping[str, Any]) -> ModelConfig:
        fleet = FleetConfig(
            workers=_int(configs.get("forecast_workers")),
            scheduler=None if _empty(configs.get("dask_scheduler")) else str(configs["dask_scheduler"]).strip(),
            calibration_series=_int(configs.get("calibration_series")) or FleetConfig.calibration_series,
            time_limit=_float(configs.get("forecast_time_limit_seconds"), FleetConfig.time_limit),
            interval_width=_float(configs.get("interval_width"), FleetConfig.interval_width),
        )
        rules = HistoryRules(
            min_observed_days=_int(configs.get("min_history_days")) or HistoryRules.min_observed_days,
            max_imputed_share=_float(configs.get("max_imputed_share"), HistoryRules.max_imputed_share),
        )
        fleet = replace(
            fleet,
            prophet=replace(fleet.prophet, history=rules),
            xgboost=replace(fleet.xgboost, history=rules),
        )
        growth = configs.get("prophet_growth")
        if not _empty(growth):
            if str(growth) not in ("linear", "logistic"):
                raise ValueError(f"prophet_growth must be 'linear' or 'logistic', got {growth!r}")
            fleet = replace(fleet, prophet=replace(fleet.prophet, growth=str(growth)))
        mode = configs.get("xgboost_mode")
        if not _empty(mode):
            if str(mode) not in ("global", "local"):
                raise ValueError(f"xgboost_mode must be 'global' or 'local', got {mode!r}")
            fleet = replace(fleet, xgboost=replace(fleet.xgboost, mode=str(mode)))
        lake = configs.get("lake_dir")
        return cls(
            lake_dir=Path("data/lake" if _empty(lake) else str(lake)),
            fleet=fleet,
            host_limit=_int(configs.get("forecast_host_limit")),
        )


def _ensure_progress_visible() -> None:
    """dbt does not route library logging to its console: send this package's INFO lines to stderr."""
    package = logging.getLogger("python_engines")
    if not package.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
        package.addHandler(handler)
        package.setLevel(logging.INFO)
        package.propagate = False


def subset_hosts(frame: pl.DataFrame, host_limit: int | None) -> pl.DataFrame:
    """Dev knob: only the first ``host_limit`` hosts by id (all resources of each)."""
    if host_limit is None:
        return frame
    hosts = frame.select(pl.col("host_id").unique().sort().head(host_limit))
    return frame.join(hosts, on="host_id", how="semi")


def _write_atomically(table: pa.Table, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    pq.write_table(table, partial, compression="zstd")
    partial.replace(target)


def timing_table(run: EngineRun, started_at: datetime) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "model": t.model,
                "phase": t.phase,
                "series": t.series,
                "wall_seconds": round(t.wall_seconds, 3),
                "series_per_second": round(t.series_per_second, 3),
                "workers": t.workers,
                "backend": t.backend,
                "run_started_at": started_at,
            }
            for t in run.timings
        ],
        schema=pa.schema(
            [
                ("model", pa.string()),
                ("phase", pa.string()),
                ("series", pa.int64()),
                ("wall_seconds", pa.float64()),
                ("series_per_second", pa.float64()),
                ("workers", pa.int64()),
                ("backend", pa.string()),
                ("run_started_at", pa.timestamp("us")),
            ]
        ),
    )


def run_engine_model(engine: str, processed: Any, windows_relation: Any, configs: Mapping[str, Any]) -> pa.Table:
    """Body of an engine's dbt Python model. ``engine`` is its name in the registry (var ``engines``) and in
    ``ENGINES``; ``processed`` / ``windows_relation`` are the DuckDB relations of ``processed_data`` and
    ``forecast_windows``; returns the forecast table dbt materialises."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: python_engines.forecasting.runs.ENGINES has {sorted(ENGINES)}")
    _ensure_progress_visible()
    started_at = datetime.now(UTC).replace(tzinfo=None)
    config = ModelConfig.from_configs(configs)
    window_rows = windows_relation.pl().to_dicts()
    if len(window_rows) != 1:
        raise ValueError(f"forecast_windows must have exactly one row, found {len(window_rows)}")
    windows = ForecastWindows.from_mapping(window_rows[0])
    frame = subset_hosts(processed.project(", ".join(INPUT_COLUMNS)).pl(), config.host_limit)
    series = series_from_frame(frame)
    log.info("%s: %d series, windows %s", engine, len(series), windows)
    run = ENGINES[engine](series, windows, config.fleet)
    table = forecast_table(run.results, windows)
    runs = run_table(run.results).append_column("run_started_at", pa.array([started_at] * len(run.results)))
    stem = config.lake_dir / "forecasts" / engine  # the engine's name is its model value and lake file stem
    _write_atomically(table, stem.with_suffix(".parquet"))
    _write_atomically(runs, stem.with_name(stem.name + "_runs.parquet"))
    _write_atomically(timing_table(run, started_at), stem.with_name(stem.name + "_timings.parquet"))
    statuses = runs.group_by("status").aggregate([("host_id", "count")]).to_pylist()
    log.info(
        "%s: done in %.0f s: %s",
        engine,
        run.wall_seconds,
        ", ".join(f"{row['status']}={row['host_id_count']}" for row in statuses),
    )
    return table
