"""One engine over a whole fleet: (train) -> calibrate intervals -> forecast, each pass on the fleet runner.

This is the only place that knows the order of those steps; engines stay per-series (or per-chunk)
functions and the runner stays a scheduler. The fleet comes as a :class:`.streaming.SeriesSource` read a
chunk of hosts at a time: one pass takes the fleet-wide samples (calibration, XGBoost's training set), the
forecast pass streams every chunk through the runner and hands its results to a sink (``stream_*``);
``run_*`` are the same over series in memory, keeping every result.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from python_engines.forecasting.backtest_reuse import (
    BacktestReuse,
    calibration_key,
    keep_boosters,
    store_quantiles,
    stored_quantiles,
)
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
from python_engines.forecasting.streaming import MemorySource, SeriesSource, scan_samples
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
    # XGBoost's global models train on at most this many eligible series (a fixed sample by key hash):
    # the training panel stays bounded on any fleet; fleets up to this size train on every series.
    training_series: int = 8000
    time_limit: float = 300.0  # seconds per series (Prophet: two fits)
    interval_width: float = 0.8
    # The lake file stem of the engine's previous run: Prophet keeps a series' stored backtest, and XGBoost a
    # stored booster, when nothing it was made from changed (backtest_reuse). None: everything is fitted.
    reuse_from: Path | None = None
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


@dataclass
class EngineStream:
    """A streamed engine run: its results went to the sink, this is what is left."""

    model: str
    quantiles: HorizonQuantiles | None
    timings: list[PhaseTiming]
    series: int

    @property
    def wall_seconds(self) -> float:
        return sum(t.wall_seconds for t in self.timings)


ResultSink = Callable[[list[SeriesForecast]], None]
StreamFunction = Callable[[SeriesSource, ForecastWindows, "FleetConfig", ResultSink], EngineStream]


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
    """Per-horizon quantiles of the calibration run's normalised errors (None if nothing succeeded): each
    series' misses in the yardstick its engine drew the band in (``Band.scale``; unset: :func:`scale_until`)."""
    start, cut = np.datetime64(windows.history_start, "D"), np.datetime64(windows.train_end, "D")
    first, last = np.datetime64(windows.backtest_start, "D"), np.datetime64(windows.history_end, "D")
    rows = []
    for s, result in zip(sample, results, strict=True):
        if result.status != STATUS_OK or result.backtest is None:
            continue
        actual, observed = daily_grid(s, first, last)
        scale = result.backtest.scale if result.backtest.scale is not None else scale_until(s, start, cut)
        rows.append(normalised_errors(result.backtest.yhat, actual, observed, scale))
    if not rows:
        log.warning("interval calibration produced no errors; engines fall back to their own intervals")
        return None
    return fit_quantiles(np.vstack(rows), width)


def _calibrate(
    model: str,
    task: EngineTask,
    sample: Sequence[Series],
    config: FleetConfig,
    chunk_size: int,
    extra_key: bytes = b"",
) -> tuple[HorizonQuantiles | None, PhaseTiming]:
    """Calibrate on ``sample``, or keep the last run's quantiles when everything they came from is the same
    (a kept tournament: same windows, same histories up to its training cut; :func:`.calibration_key`)."""
    started = time.perf_counter()
    key = calibration_key(model, task.windows, task.params.settings, config.interval_width, sample, extra_key)
    kept = stored_quantiles(config.reuse_from, key)
    if kept is not None:
        log.info("%s: kept the interval calibration of the last run (same windows and histories)", model)
        return kept, PhaseTiming(model, "calibrate", len(sample), time.perf_counter() - started, 0, "kept")
    fleet_pass = run_fleet(task, sample, config.options(chunk_size))
    quantiles = learn_quantiles(sample, fleet_pass.results, task.windows, config.interval_width)
    if quantiles is not None:
        log.info("%s: intervals calibrated on %d series: %s", model, quantiles.series, quantiles.summary())
    store_quantiles(config.reuse_from, key, quantiles)
    return quantiles, _timing(model, "calibrate", fleet_pass)


def _forecast_chunks(
    model: str,
    task_for: Callable[[list[Series]], EngineTask],
    source: SeriesSource,
    options: FleetOptions,
    sink: ResultSink,
    reuse: BacktestReuse | None = None,
) -> PhaseTiming:
    """The main pass, one chunk of hosts at a time: each chunk's results go to ``sink`` and are dropped.
    ``task_for`` gives a chunk its task; ``reuse`` (when given) completes its results with kept backtests."""
    started = time.perf_counter()
    series, workers, backend = 0, 0, "local"
    for number, chunk in enumerate(source.chunks()):
        fleet_pass = run_fleet(task_for(chunk), chunk, options)
        if reuse is not None:
            reuse.finish(fleet_pass.results)
        sink(fleet_pass.results)
        series += len(fleet_pass.results)
        workers, backend = max(workers, fleet_pass.workers), fleet_pass.backend
        log.info("%s: chunk %d done (%d series so far)", model, number + 1, series)
    return PhaseTiming(model, "forecast", series, time.perf_counter() - started, workers, backend)


def stream_prophet(
    source: SeriesSource, windows: ForecastWindows, config: FleetConfig, sink: ResultSink
) -> EngineStream:
    """Prophet over ``source`` chunk by chunk: calibrate on the fleet's sample, then forecast every chunk."""
    log.info("prophet: Stan model verified (prophet %s)", verify_prophet_model())
    settings = replace(config.prophet, interval_width=config.interval_width)
    cal_windows = calibration_windows(windows)
    samples = scan_samples(source, cal_windows, windows, settings.history, config.calibration_series)

    def task(win: ForecastWindows, params: ProphetParams) -> EngineTask:
        return EngineTask("prophet", prophet_chunk, win, params, per_series=True, time_limit=config.time_limit)

    calibration = task(cal_windows, ProphetParams(settings, segments=(SEGMENT_BACKTEST,)))
    quantiles, cal_timing = _calibrate("prophet", calibration, samples.calibration, config, config.prophet_chunk_size)
    samples.calibration = []
    reuse = BacktestReuse.start("prophet", windows, settings, quantiles, config.reuse_from)

    def main(chunk: list[Series]) -> EngineTask:
        return task(windows, ProphetParams(settings, quantiles, kept=reuse.plan(chunk)))

    forecast = _forecast_chunks("prophet", main, source, config.options(config.prophet_chunk_size), sink, reuse)
    if reuse.stored_keys:
        log.info(
            "prophet: kept the backtest (%s..%s) of %d of %d series from the last run; fitted the rest",
            windows.backtest_start,
            windows.backtest_end,
            reuse.kept,
            samples.series,
        )
    return EngineStream("prophet", quantiles, [cal_timing, forecast], samples.series)


def stream_xgboost(
    source: SeriesSource, windows: ForecastWindows, config: FleetConfig, sink: ResultSink
) -> EngineStream:
    """XGBoost over ``source``: train the global models on the fleet's (bounded) training set, calibrate on
    the fleet's sample, then forecast every chunk."""
    settings = replace(config.xgboost, nthread=1)
    cal_windows = calibration_windows(windows)
    is_global = settings.mode == "global"
    samples = scan_samples(
        source,
        cal_windows,
        windows,
        settings.history,
        config.calibration_series,
        training_cap=config.training_series if is_global else None,
    )
    timings = []
    boosters: dict = {}
    if is_global:
        started = time.perf_counter()
        threads = config.workers or FleetOptions().workers
        # The production model is trained with the tournament, on the history up to the day it ran (backtest_end,
        # which is history_end unless the tournament is kept): a kept tournament keeps it too, and it forecasts
        # from each new day's data (the features move every day; the fitted relations are a few days old).
        production_cut = windows.backtest_end
        boosters, kept = keep_boosters(
            config.reuse_from,
            samples.training,
            windows,
            [cal_windows.train_end, windows.train_end, production_cut],
            settings,
            lambda cuts: train_global(samples.training, windows, cuts, settings, threads),
        )
        if production_cut in boosters:
            boosters[windows.history_end] = boosters[production_cut]
        if kept:
            log.info("xgboost: kept %d of 3 boosters from the last run (same training data); trained the rest", kept)
        timings.append(
            PhaseTiming("xgboost", "train", len(samples.training), time.perf_counter() - started, threads, "in-process")
        )
        samples.training = []

    def task(win: ForecastWindows, params: XGBoostParams) -> EngineTask:
        limit = config.time_limit
        return EngineTask("xgboost", xgboost_chunk, win, params, per_series=False, time_limit=limit)

    calibration = task(cal_windows, XGBoostParams(settings, boosters, segments=(SEGMENT_BACKTEST,)))
    booster = boosters.get(cal_windows.train_end, b"")
    quantiles, cal_timing = _calibrate(
        "xgboost", calibration, samples.calibration, config, config.xgboost_chunk_size, booster
    )
    samples.calibration = []
    # A series' backtest is kept when the backtest booster, the calibration and its history up to train_end are
    # the last run's (a kept tournament): only its production forecast is predicted.
    reuse = BacktestReuse.start(
        "xgboost", windows, settings, quantiles, config.reuse_from, boosters.get(windows.train_end, b"")
    )

    def main(chunk: list[Series]) -> EngineTask:
        return task(windows, XGBoostParams(settings, boosters, quantiles, kept=reuse.plan(chunk)))

    forecast = _forecast_chunks("xgboost", main, source, config.options(config.xgboost_chunk_size), sink, reuse)
    if reuse.stored_keys:
        log.info("xgboost: kept the backtest of %d of %d series from the last run", reuse.kept, samples.series)
    return EngineStream("xgboost", quantiles, [*timings, cal_timing, forecast], samples.series)


def _collected(stream: StreamFunction, series: Sequence[Series], windows: ForecastWindows, config: FleetConfig):
    results: list[SeriesForecast] = []
    run = stream(MemorySource(series), windows, config, results.extend)
    return EngineRun(run.model, results, run.quantiles, run.timings)


def run_prophet(series: Sequence[Series], windows: ForecastWindows, config: FleetConfig) -> EngineRun:
    """Prophet over series in memory, every result kept (small fleets, tests, benchmarks)."""
    return _collected(stream_prophet, series, windows, config)


def run_xgboost(series: Sequence[Series], windows: ForecastWindows, config: FleetConfig) -> EngineRun:
    """XGBoost over series in memory, every result kept (small fleets, tests, benchmarks)."""
    return _collected(stream_xgboost, series, windows, config)


ENGINES = {"prophet": run_prophet, "xgboost": run_xgboost}
STREAMING_ENGINES: dict[str, StreamFunction] = {"prophet": stream_prophet, "xgboost": stream_xgboost}
