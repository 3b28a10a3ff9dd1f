"""One engine over a whole fleet: (train) -> calibrate intervals -> forecast, each pass on the fleet runner.

This is the only place that knows the order of those steps; engines stay per-series (or per-chunk)
functions and the runner stays a scheduler.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from python_engines.forecasting.fleet import EngineTask, FleetOptions, FleetPass, run_fleet
from python_engines.forecasting.intervals import (
    HorizonQuantiles,
    calibration_windows,
    fit_quantiles,
    normalised_errors,
)
from python_engines.forecasting.output import SEGMENT_BACKTEST, STATUS_OK, SeriesForecast
from python_engines.forecasting.prophet_check import verify_prophet_model
from python_engines.forecasting.prophet_engine import ProphetParams, ProphetSettings, prophet_chunk
from python_engines.forecasting.series import Series, daily_grid, history_problem, scale_until
from python_engines.forecasting.windows import ForecastWindows
from python_engines.forecasting.xgboost_engine import XGBoostParams, XGBoostSettings, train_global, xgboost_chunk

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FleetConfig:
    workers: int | None = None  # None: one per core
    scheduler: str | None = None
    prophet_chunk_size: int = 20
    xgboost_chunk_size: int = 500
    calibration_series: int = 400
    time_limit: float = 300.0  # seconds per series (Prophet: two fits)
    interval_width: float = 0.8
    prophet: ProphetSettings = field(default_factory=ProphetSettings)
    xgboost: XGBoostSettings = field(default_factory=XGBoostSettings)

    def options(self, chunk_size: int) -> FleetOptions:
        base = FleetOptions(chunk_size=chunk_size, scheduler=self.scheduler)
        return replace(base, workers=self.workers) if self.workers else base


@dataclass(frozen=True)
class PhaseTiming:
    model: str
    phase: str  # train | calibrate | forecast
    series: int
    wall_seconds: float
    workers: int
    backend: str

    @property
    def series_per_second(self) -> float:
        return self.series / self.wall_seconds if self.wall_seconds > 0 else 0.0


@dataclass
class EngineRun:
    model: str
    results: list[SeriesForecast]
    quantiles: HorizonQuantiles | None
    timings: list[PhaseTiming]

    @property
    def wall_seconds(self) -> float:
        return sum(t.wall_seconds for t in self.timings)


def _timing(model: str, phase: str, fleet_pass: FleetPass) -> PhaseTiming:
    return PhaseTiming(
        model, phase, len(fleet_pass.results), fleet_pass.wall_seconds, fleet_pass.workers, fleet_pass.backend
    )


def calibration_sample(series: Sequence[Series], windows: ForecastWindows, rules, size: int) -> list[Series]:
    """A fixed pseudo-random sample (by a hash of the key, so the same series every run) of the series
    that have enough history for the calibration windows."""
    eligible = [s for s in series if history_problem(s, windows, rules) is None]
    eligible.sort(key=lambda s: zlib.crc32(f"{s.host_id}|{s.resource}".encode()))
    return eligible[:size]


def learn_quantiles(
    sample: Sequence[Series], results: Sequence[SeriesForecast], windows: ForecastWindows, width: float
) -> HorizonQuantiles | None:
    """Per-horizon quantiles of the calibration run's normalised errors (None if nothing succeeded)."""
    start, cut = np.datetime64(windows.history_start, "D"), np.datetime64(windows.train_end, "D")
    first, last = np.datetime64(windows.backtest_start, "D"), np.datetime64(windows.history_end, "D")
    rows = []
    for s, result in zip(sample, results, strict=True):
        if result.status != STATUS_OK or result.backtest is None:
            continue
        actual, observed = daily_grid(s, first, last)
        rows.append(normalised_errors(result.backtest.yhat, actual, observed, scale_until(s, start, cut)))
    if not rows:
        log.warning("interval calibration produced no errors; engines fall back to their own intervals")
        return None
    return fit_quantiles(np.vstack(rows), width)


def _calibrate(
    model: str, task: EngineTask, series: Sequence[Series], rules, config: FleetConfig, chunk_size: int
) -> tuple[HorizonQuantiles | None, PhaseTiming]:
    cal_windows = task.windows
    sample = calibration_sample(series, cal_windows, rules, config.calibration_series)
    fleet_pass = run_fleet(task, sample, config.options(chunk_size))
    quantiles = learn_quantiles(sample, fleet_pass.results, cal_windows, config.interval_width)
    if quantiles is not None:
        log.info("%s: intervals calibrated on %d series: %s", model, quantiles.series, quantiles.summary())
    return quantiles, _timing(model, "calibrate", fleet_pass)


def run_prophet(series: Sequence[Series], windows: ForecastWindows, config: FleetConfig) -> EngineRun:
    log.info("prophet: Stan model verified (prophet %s)", verify_prophet_model())
    settings = replace(config.prophet, interval_width=config.interval_width)
    cal_windows = calibration_windows(windows)

    def task(win: ForecastWindows, params: ProphetParams) -> EngineTask:
        return EngineTask("prophet", prophet_chunk, win, params, per_series=True, time_limit=config.time_limit)

    calibration = task(cal_windows, ProphetParams(settings, segments=(SEGMENT_BACKTEST,)))
    quantiles, cal_timing = _calibrate(
        "prophet", calibration, series, settings.history, config, config.prophet_chunk_size
    )
    main = run_fleet(
        task(windows, ProphetParams(settings, quantiles)), series, config.options(config.prophet_chunk_size)
    )
    return EngineRun("prophet", main.results, quantiles, [cal_timing, _timing("prophet", "forecast", main)])


def run_xgboost(series: Sequence[Series], windows: ForecastWindows, config: FleetConfig) -> EngineRun:
    settings = replace(config.xgboost, nthread=1)
    cal_windows = calibration_windows(windows)
    timings = []
    boosters: dict = {}
    if settings.mode == "global":
        started = time.perf_counter()
        threads = config.workers or FleetOptions().workers
        boosters = train_global(
            series, windows, [cal_windows.train_end, windows.train_end, windows.history_end], settings, threads
        )
        timings.append(
            PhaseTiming("xgboost", "train", len(series), time.perf_counter() - started, threads, "in-process")
        )

    def task(win: ForecastWindows, params: XGBoostParams) -> EngineTask:
        limit = config.time_limit
        return EngineTask("xgboost", xgboost_chunk, win, params, per_series=False, time_limit=limit)

    calibration = task(cal_windows, XGBoostParams(settings, boosters, segments=(SEGMENT_BACKTEST,)))
    quantiles, cal_timing = _calibrate(
        "xgboost", calibration, series, settings.history, config, config.xgboost_chunk_size
    )
    main = run_fleet(
        task(windows, XGBoostParams(settings, boosters, quantiles)), series, config.options(config.xgboost_chunk_size)
    )
    timings += [cal_timing, _timing("xgboost", "forecast", main)]
    return EngineRun("xgboost", main.results, quantiles, timings)


ENGINES = {"prophet": run_prophet, "xgboost": run_xgboost}
