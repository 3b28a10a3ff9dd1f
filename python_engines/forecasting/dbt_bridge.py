"""What the dbt Python models in ``models/forecasting`` call: read, run one engine over the fleet, persist.

A dbt Python model stays a few lines: it takes its refs and configs (dbt only passes configs that the model
file names literally) and hands them here. Besides the returned table, each run writes to the lake
(``<lake_dir>/forecasts/``): ``<model>.parquet`` (the forecasts, for fast reads), ``<model>_runs.parquet``
(the run log behind ``engine_runs``), ``<model>_timings.parquet`` (behind ``engine_timings``) and
``<model>_backtest_keys.parquet`` (what each series' backtest was made from: the next run keeps a backtest
whose key still matches, :mod:`.backtest_reuse`), ``<model>_quantiles.parquet`` (its interval calibration, kept
the same way) and, for global XGBoost, ``<model>_boosters.parquet``.

Bounded memory: the fleet is read from DuckDB ``forecast_chunk_hosts`` hosts at a time
(:class:`.streaming.RelationSource`), and each chunk's forecast and run-log rows go to Parquet part files in a
temporary directory (``<lake_dir>/forecasts/.<model>.parts``) as soon as the chunk is done. At the end DuckDB
merges the parts into the lake files (streaming, each written to a temporary name and renamed, so a rerun
replaces it whole and a failed run leaves the previous files), deletes the parts, and the model returns a
DuckDB relation over the lake file: neither the fleet's input nor its forecasts are ever in memory at once.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from python_engines.forecasting.backtest_reuse import KEYS_SCHEMA, keys_path
from python_engines.forecasting.output import SeriesForecast, forecast_table, run_table, write_atomically
from python_engines.forecasting.prophet_engine import SHARP_YEARLY_ORDERS, ProphetSettings
from python_engines.forecasting.runs import STREAMING_ENGINES, EngineStream, FleetConfig
from python_engines.forecasting.series import HistoryRules
from python_engines.forecasting.streaming import DEFAULT_CHUNK_HOSTS, RelationSource
from python_engines.forecasting.windows import ForecastWindows

log = logging.getLogger(__name__)


def _empty(value: Any) -> bool:
    return value is None or str(value).strip().lower() in ("", "none", "null")


def _int(value: Any) -> int | None:
    return None if _empty(value) else int(float(value))


def _float(value: Any, default: float) -> float:
    return default if _empty(value) else float(value)


def _as_float(value: Any) -> float:
    """``value`` as a float, NaN when it is not a number (the callers say which var and what it must be)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _number(name: str, value: Any) -> float:
    number = _as_float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return number


def count_var(name: str, value: Any, unset: str) -> int | None:
    """A dbt var counting something (hosts, workers, series): a whole number of at least 1, or null for
    ``unset``. 'abc', 0 or -1 once meant all hosts to one engine and none to another, or failed deep inside."""
    if _empty(value):
        return None
    number = _as_float(value)
    if isinstance(value, bool) or not math.isfinite(number) or number != int(number) or number < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, or null for {unset}; got {value!r}")
    return int(number)


def seconds_var(name: str, value: Any, default: float) -> float:
    """A dbt var of seconds over 0, or null for ``default``: a negative time limit failed every series, one
    worker restart at a time, and the build still passed."""
    if _empty(value):
        return default
    seconds = _number(name, value)
    if seconds <= 0:
        raise ValueError(
            f"{name} must be a number of seconds over 0, or null for the default {default:g}; got {value!r}"
        )
    return seconds


def flag_var(name: str, value: Any) -> bool:
    """A dbt config rendered from a boolean var (``True``/``False`` once rendered, or true/false)."""
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return text == "true"


def optional_float(value: Any) -> float | None:
    """A dbt config rendered from a var that may be null: a number, or None."""
    return None if _empty(value) else float(value)


def _days_beyond(name: str, value: Any, window: int, window_name: str) -> int | None:
    """A var of days searched further back than a window (``name``: a whole number over ``window``, the
    ``window_name`` days), or 0 or null for off."""
    if _empty(value):
        return None
    days = _as_float(value)
    if days == 0:
        return None
    if not math.isfinite(days) or days != int(days) or days <= window:
        raise ValueError(
            f"{name} must be a whole number of days over {window_name} ({window}), or 0 / null for off; got {value!r}"
        )
    return int(days)


#: Prophet's search windows set by dbt vars: var -> (setting, the window it must exceed, that window's name).
PROPHET_SEARCH_VARS = {
    "prophet_hinge_lookback": ("hinge_lookback", "recent_window", "recent_trend_days"),
    "prophet_growth_search_window": ("growth_search_window", "growth_window", "Prophet's growth_window"),
}


@dataclass(frozen=True)
class ModelConfig:
    """The dbt configs of an engine model (rendered from vars in models/forecasting/_forecasting__models.yml)."""

    lake_dir: Path
    fleet: FleetConfig
    host_limit: int | None
    chunk_hosts: int = DEFAULT_CHUNK_HOSTS

    @classmethod
    def from_configs(cls, configs: Mapping[str, Any]) -> ModelConfig:
        interval_width = _float(configs.get("interval_width"), FleetConfig.interval_width)
        if not 0 < interval_width < 1:
            raise ValueError(f"interval_width must lie between 0 and 1 (0.8: an 80% band), got {interval_width!r}")
        workers = count_var("forecast_workers", configs.get("forecast_workers"), "one per core")
        cores = os.cpu_count() or 1
        if workers is not None and workers > cores:
            # Fits are CPU-bound: 100 workers on 2 cores started 100 processes and trained XGBoost on 100 threads.
            log.warning("forecast_workers %d is more than this machine's %d cores: using %d", workers, cores, cores)
            workers = cores
        fleet = FleetConfig(
            workers=workers,
            scheduler=None if _empty(configs.get("dask_scheduler")) else str(configs["dask_scheduler"]).strip(),
            calibration_series=count_var("calibration_series", configs.get("calibration_series"), "the default")
            or FleetConfig.calibration_series,
            time_limit=seconds_var(
                "forecast_time_limit_seconds", configs.get("forecast_time_limit_seconds"), FleetConfig.time_limit
            ),
            interval_width=interval_width,
            training_series=count_var("xgboost_train_series", configs.get("xgboost_train_series"), "the default")
            or FleetConfig.training_series,
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
        fleet = replace(fleet, prophet=recent_trend_settings(fleet.prophet, configs))
        for var, field_name in PROPHET_FLAG_VARS.items():
            value = configs.get(var)
            if not _empty(value):
                fleet = replace(fleet, prophet=replace(fleet.prophet, **{field_name: flag_var(var, value)}))
        for var, (field_name, window, window_name) in PROPHET_SEARCH_VARS.items():
            if var in configs:  # set, even to null (off); absent: Prophet's default
                days = _days_beyond(var, configs[var], getattr(fleet.prophet, window), window_name)
                fleet = replace(fleet, prophet=replace(fleet.prophet, **{field_name: days}))
        sharpest = configs.get("prophet_sharp_season_order")
        if not _empty(sharpest):
            fleet = replace(fleet, prophet=replace(fleet.prophet, sharpest_yearly_order=sharp_season_order(sharpest)))
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
        anchor_days = count_var("xgboost_anchor_days", configs.get("xgboost_anchor_days"), "the default (7)")
        if anchor_days is not None:
            fleet = replace(fleet, xgboost=replace(fleet.xgboost, anchor_days=anchor_days))
        lake = configs.get("lake_dir")
        return cls(
            lake_dir=Path("data/lake" if _empty(lake) else str(lake)),
            fleet=fleet,
            host_limit=count_var("forecast_host_limit", configs.get("forecast_host_limit"), "every host"),
            chunk_hosts=count_var("forecast_chunk_hosts", configs.get("forecast_chunk_hosts"), "the default")
            or DEFAULT_CHUNK_HOSTS,
        )


def sharp_season_order(value: Any) -> int:
    """The var prophet_sharp_season_order as Prophet's sharpest_yearly_order: one of SHARP_YEARLY_ORDERS."""
    text = str(value).strip()
    allowed = ", ".join(str(order) for order in SHARP_YEARLY_ORDERS)
    if not text.isdigit() or int(text) not in SHARP_YEARLY_ORDERS:
        raise ValueError(
            f"prophet_sharp_season_order must be one of {allowed} (the most yearly Fourier terms a season the "
            f"years agree on may earn), got {value!r}"
        )
    return int(text)


#: dbt vars that switch a Prophet setting on or off (true / false) -> the setting.
PROPHET_FLAG_VARS = {
    "recent_slope_uncertainty": "recent_slope_uncertainty",
    "prophet_residual_autocorrelation": "residual_autocorrelation",
    "prophet_since_step": "since_step",
    "prophet_since_step_recent_pull": "since_step_recent_pull",
    "prophet_staircase": "staircase",
    "prophet_staircase_renewal": "staircase_renewal",
    "prophet_staircase_many_steps": "staircase_many_steps",
    "prophet_level_cycle": "level_cycle",
    "prophet_cycle_in_trend": "cycle_in_trend",
    "prophet_slow_compounding": "slow_compounding",
    "prophet_sharp_seasons": "sharp_seasons",
    "prophet_growing_seasons": "growing_seasons",
    "prophet_season_size_own_base": "season_size_own_base",
    "prophet_wander_damping": "wander_damping",
    "prophet_wandering_levels": "wandering_levels",
    "prophet_wander_model_floor": "wander_model_floor",
    "prophet_season_ramp_check": "season_ramp_check",
    "prophet_season_free_yardstick": "season_free_yardstick",
    "prophet_season_size_uncertainty": "season_size_uncertainty",
    "prophet_young_ramp_check": "young_ramp_check",
    "prophet_calendar_peaks": "calendar_peaks",
    "prophet_reset_steps": "reset_steps",
}


#: dbt vars that define a material recent trend (model_leaderboard's recent-trend handover) -> the Prophet
#: settings of its own recent-shape reading: one definition for both, set in dbt_project.yml.
RECENT_TREND_VARS = {
    "recent_trend_days": "recent_window",
    "recent_trend_z": "consensus_z",
    "recent_trend_min_points": "material_points",
    "recent_trend_material_days": "material_days",
}


def recent_trend_settings(settings: ProphetSettings, configs: Mapping[str, Any]) -> ProphetSettings:
    """``settings`` with the recent-trend numbers the dbt vars give (unset vars keep Prophet's defaults)."""
    changes: dict[str, Any] = {}
    for var, field_name in RECENT_TREND_VARS.items():
        value = configs.get(var)
        if _empty(value):
            continue
        default = getattr(settings, field_name)
        changes[field_name] = _int(value) if isinstance(default, int) else _float(value, default)
        if changes[field_name] is None or changes[field_name] <= 0:
            raise ValueError(f"{var} must be a positive number, got {value!r}")
    return replace(settings, **changes)


def _ensure_progress_visible() -> None:
    """dbt does not route library logging to its console: send this package's INFO lines to stderr."""
    package = logging.getLogger("python_engines")
    if not package.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
        package.addHandler(handler)
        package.setLevel(logging.INFO)
        package.propagate = False


def timing_table(run: EngineStream, started_at: datetime) -> pa.Table:
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


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class LakeParts:
    """Each chunk's forecast and run-log rows as numbered Parquet parts in a temporary directory; merged
    into the lake files by :meth:`publish` (nothing of a failed run reaches them)."""

    def __init__(self, stem: Path, windows: ForecastWindows, started_at: datetime) -> None:
        self.stem, self.windows, self.started_at = stem, windows, started_at
        self.directory = stem.with_name(f".{stem.name}.parts")
        shutil.rmtree(self.directory, ignore_errors=True)  # left by a failed run
        self.directory.mkdir(parents=True)
        self.parts = 0
        self.statuses: dict[str, int] = {}

    def __call__(self, results: list[SeriesForecast]) -> None:
        runs = run_table(results)
        runs = runs.append_column("run_started_at", pa.array([self.started_at] * len(results), pa.timestamp("us")))
        pq.write_table(forecast_table(results, self.windows), self._part("forecast"), compression="zstd")
        pq.write_table(runs, self._part("runs"), compression="zstd")
        recorded = [r for r in results if r.backtest_key is not None]
        keys = pa.table(
            {
                "host_id": [r.host_id for r in recorded],
                "resource": [r.resource for r in recorded],
                "backtest_key": [r.backtest_key for r in recorded],
            },
            schema=KEYS_SCHEMA,
        )
        pq.write_table(keys, self._part("keys"), compression="zstd")
        for result in results:
            self.statuses[result.status] = self.statuses.get(result.status, 0) + 1
        self.parts += 1

    def _part(self, kind: str) -> Path:
        return self.directory / f"{kind}-{self.parts:05d}.parquet"

    def publish(self, run: EngineStream) -> Path:
        """Merge the parts into ``<stem>.parquet`` and ``<stem>_runs.parquet`` (streamed by DuckDB, in part
        order), write ``<stem>_timings.parquet``, remove the parts; returns the forecast file."""
        if self.parts == 0:  # an empty fleet still publishes (empty) files with the right columns
            self([])
        targets = {
            "forecast": self.stem.with_suffix(".parquet"),
            "runs": self.stem.with_name(f"{self.stem.name}_runs.parquet"),
            "keys": keys_path(self.stem),
        }
        with duckdb.connect(config={"memory_limit": "1GB", "temp_directory": str(self.directory / "tmp")}) as con:
            con.execute("set preserve_insertion_order = true")
            for kind, target in targets.items():
                partial = target.with_name(target.name + ".partial")
                parts = _sql_path(self.directory / f"{kind}-*.parquet")
                con.execute(
                    f"copy (select * from read_parquet({parts})) to {_sql_path(partial)}"
                    " (format parquet, compression zstd)"
                )
                partial.replace(target)
        write_atomically(timing_table(run, self.started_at), self.stem.with_name(f"{self.stem.name}_timings.parquet"))
        shutil.rmtree(self.directory, ignore_errors=True)
        return targets["forecast"]


def read_windows(windows_relation: Any) -> ForecastWindows:
    window_rows = windows_relation.pl().to_dicts()
    if len(window_rows) != 1:
        raise ValueError(f"forecast_windows must have exactly one row, found {len(window_rows)}")
    return ForecastWindows.from_mapping(window_rows[0])


def run_engine_model(
    engine: str,
    processed: Any,
    windows_relation: Any,
    configs: Mapping[str, Any],
    session: Any = None,
    fleet: FleetConfig | None = None,
) -> Any:
    """Body of an engine's dbt Python model. ``engine`` is its name in the registry (var ``engines``) and in
    ``ENGINES``; ``processed`` / ``windows_relation`` are the DuckDB relations of ``processed_data`` and
    ``forecast_windows``; ``session`` is the model's DuckDB connection. Returns the forecast table dbt
    materialises: a relation of ``session`` over the lake file (a pyarrow table without a session).
    ``fleet`` replaces the engine settings read from ``configs`` (tests and benchmarks)."""
    if engine not in STREAMING_ENGINES:
        raise ValueError(
            f"unknown engine {engine!r}: python_engines.forecasting.runs.ENGINES has {sorted(STREAMING_ENGINES)}"
        )
    _ensure_progress_visible()
    started_at = datetime.now(UTC).replace(tzinfo=None)
    config = ModelConfig.from_configs(configs)
    windows = read_windows(windows_relation)
    source = RelationSource(processed, config.chunk_hosts, config.host_limit)
    log.info(
        "%s: %d hosts in %d chunk(s) of up to %d hosts, windows %s",
        engine,
        len(source.hosts),
        source.chunk_count,
        config.chunk_hosts,
        windows,
    )
    stem = config.lake_dir / "forecasts" / engine  # the engine's name is its model value and lake file stem
    parts = LakeParts(stem, windows, started_at)
    try:
        # The engine may keep backtests of its last run (the lake files this run replaces at the end).
        engine_fleet = replace(fleet or config.fleet, reuse_from=stem)
        run = STREAMING_ENGINES[engine](source, windows, engine_fleet, parts)
        forecasts = parts.publish(run)
    finally:
        shutil.rmtree(parts.directory, ignore_errors=True)
    log.info(
        "%s: %d series done in %.0f s: %s",
        engine,
        run.series,
        run.wall_seconds,
        ", ".join(f"{status}={n}" for status, n in sorted(parts.statuses.items())),
    )
    if session is None:
        return pq.read_table(forecasts)
    return session.read_parquet(str(forecasts))
