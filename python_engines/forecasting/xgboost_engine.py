"""XGBoost challenger: gradient-boosted trees on the day-to-day change, forecast recursively.

Trees cannot extrapolate a level they never saw, so the target is the daily difference ``y_t - y_{t-1}``
divided by the series' scale (:func:`series.series_scale`), which also lets one model serve series of any
size. Features, all from the 30 days before the target day: the last 14 daily changes, the mean change over
7/14/28 days (the local slope), the distance of yesterday's level from its 7- and 28-day means (how far the
series has wandered), the level itself, the log scale, and the target day's calendar (weekday, day of year,
day of month, month end, quarter end). The forecast adds predicted changes one day at a time, feeding each
day back into the window, clipped to [0, 100].

``global`` (default): one model per training cut over every eligible series, trained once in the calling
process; a chunk of series is then forecast in one vectorised recursion (one ``inplace_predict`` per day for
the whole chunk). ``local``: one model per series. bench/README.md has the measured comparison.
Deterministic: fixed seed, ``hist`` trees, a fixed thread count.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np

from python_engines.forecasting.intervals import HorizonQuantiles
from python_engines.forecasting.output import (
    STATUS_INSUFFICIENT,
    STATUS_OK,
    Band,
    SeriesForecast,
    failed,
)
from python_engines.forecasting.series import HistoryRules, Series, history_problem, scale_until
from python_engines.forecasting.windows import ForecastWindows

MODEL_NAME = "xgboost"
WINDOW = 366  # days of history one feature row looks back on
LAGS = 14
SLOPE_WINDOWS = (7, 14, 28, 91, 182, 364)
LEVEL_WINDOWS = (7, 28)
DRIFT_WINDOW = 364
FEATURE_NAMES = (
    *(f"change_lag_{k}" for k in range(1, LAGS + 1)),
    *(f"mean_change_{w}" for w in SLOPE_WINDOWS),
    *(f"level_vs_mean_{w}" for w in LEVEL_WINDOWS),
    "level",
    "log_scale",
    "slope_year_ago",
    "weekday_change_4w",
    "weekday_change_8w",
    "weekday",
    "day_of_year_sin",
    "day_of_year_cos",
    "day_of_month",
    "is_month_end",
    "is_quarter_end",
)


@dataclass(frozen=True)
class XGBoostSettings:
    mode: Literal["global", "local"] = "global"
    n_estimators: int = 200
    local_estimators: int = 100
    max_depth: int = 6
    learning_rate: float = 0.08
    min_child_weight: float = 20.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    objective: str = "reg:squarederror"
    max_bin: int = 128
    # Rows sampled from the fleet per training cut: 600k rows x 200 rounds was as accurate as 1M x 300
    # (bench/README.md); training is most of this engine's time, and it runs three times (calibration,
    # backtest and production cuts).
    max_train_rows: int = 400_000
    drift_margin: bool = True
    seed: int = 0
    nthread: int = 1
    history: HistoryRules = field(default_factory=HistoryRules)

    def booster_params(self, nthread: int | None = None) -> dict[str, object]:
        return {
            "objective": self.objective,
            "tree_method": "hist",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "max_bin": self.max_bin,
            "seed": self.seed,
            # With a per-row drift margin the intercept must be zero, so that a prediction is exactly
            # margin + trees and the margin can be added after inplace_predict (passing it there is slow).
            "base_score": 0.0,
            "nthread": nthread or self.nthread,
            "verbosity": 0,
        }


def calendar_features(days: np.ndarray) -> np.ndarray:
    """(days, 6): weekday (0 = Monday), day-of-year sin/cos, day of month, month end (last 2 days),
    quarter end (last 5 days of Mar/Jun/Sep/Dec)."""
    days = days.astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    days_left = ((months + 1).astype("datetime64[D]") - days).astype(np.int64)
    day_of_year = (days - days.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.float64)
    month_number = months.astype(np.int64) % 12 + 1
    angle = 2.0 * np.pi * day_of_year / 365.25
    return np.column_stack(
        [
            (days.astype(np.int64) + 3) % 7,
            np.sin(angle),
            np.cos(angle),
            (days - months.astype("datetime64[D]")).astype(np.int64) + 1,
            days_left <= 2,
            (days_left <= 5) & (month_number % 3 == 0),
        ]
    ).astype(np.float32)


def window_features(window: np.ndarray, scale: np.ndarray, calendar: np.ndarray) -> np.ndarray:
    """Feature rows from ``window`` (rows, WINDOW) = levels of the days before each target day."""
    last = window[:, -1]
    unit = scale[:, None]
    changes = np.diff(window[:, -(LAGS + 1) :], axis=1)[:, ::-1] / unit  # change_lag_1 first
    slopes = [(last - window[:, -1 - w]) / w / scale for w in SLOPE_WINDOWS]
    levels = [(last - window[:, -w:].mean(axis=1)) / scale for w in LEVEL_WINDOWS]
    year_ago = (window[:, -358] - window[:, -366]) / 8.0 / scale
    # The same weekday's change in recent weeks: this series' own weekly rhythm, which a global model
    # cannot otherwise tell apart from noise.
    weekly = np.diff(window[:, -57:], axis=1)[:, ::-1][:, 6::7] / unit  # changes at lags 7, 14, ..., 56
    return np.column_stack(
        [
            changes,
            *slopes,
            *levels,
            last / 100.0,
            np.log(scale),
            year_ago,
            np.nanmean(weekly[:, :4], axis=1),
            np.nanmean(weekly, axis=1),
            calendar,
        ],
    ).astype(np.float32)


def drift(window: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Scaled mean daily change over the last year (or as much of it as the window holds): the base
    prediction the trees correct, so that a model that learned nothing is a random walk with drift."""
    span = window[:, -DRIFT_WINDOW - 1 :]
    known = np.isfinite(span)
    first = np.argmax(known, axis=1)
    days = span.shape[1] - 1 - first
    start = span[np.arange(span.shape[0]), first]
    slope = np.where(days > 0, (span[:, -1] - start) / np.maximum(days, 1), 0.0)
    return np.nan_to_num(slope / scale)


def grid_matrix(series: Sequence[Series], start: date, end: date) -> tuple[np.ndarray, np.ndarray]:
    """(series, days) levels on the daily grid, forward-filled; and the mask of real observations."""
    first, last = np.datetime64(start, "D"), np.datetime64(end, "D")
    n_days = int((last - first).astype(np.int64)) + 1
    levels = np.full((len(series), n_days), np.nan)
    observed = np.zeros((len(series), n_days), dtype=bool)
    for row, s in enumerate(series):  # one vectorised scatter per series
        inside = (s.ds >= first) & (s.ds <= last)
        index = (s.ds[inside] - first).astype(np.int64)
        levels[row, index] = s.y[inside]
        observed[row, index] = s.observed()[inside]
    return _forward_fill(levels), observed


def _forward_fill(levels: np.ndarray) -> np.ndarray:
    known = np.isfinite(levels)
    index = np.where(known, np.arange(levels.shape[1])[None, :], 0)
    np.maximum.accumulate(index, axis=1, out=index)
    filled = np.take_along_axis(levels, index, axis=1)
    return np.where(np.maximum.accumulate(known, axis=1), filled, np.nan)


def scales_until(series: Sequence[Series], start: date, cut: date) -> np.ndarray:
    first, last = np.datetime64(start, "D"), np.datetime64(cut, "D")
    return np.array([scale_until(s, first, last) for s in series])


MIN_CONTEXT = 30  # a training row needs at least this many days before it (older days may be missing)
BATCH_ROWS = 100_000  # feature rows built at a time (a row's window is WINDOW floats)


def padded(levels: np.ndarray) -> np.ndarray:
    """Levels with WINDOW missing days in front, so every day has a full (partly NaN) window."""
    return np.hstack([np.full((levels.shape[0], WINDOW), np.nan), levels])


def training_rows(
    levels: np.ndarray,
    observed: np.ndarray,
    scale: np.ndarray,
    calendar: np.ndarray,
    cut_index: int,
    max_rows: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, scaled daily-change target and drift margin for every real observation up to
    ``cut_index`` (deterministically subsampled to ``max_rows``)."""
    usable = observed[:, MIN_CONTEXT : cut_index + 1] & observed[:, MIN_CONTEXT - 1 : cut_index]
    rows, cols = np.nonzero(usable)
    cols = cols + MIN_CONTEXT
    if rows.size > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(rows.size, max_rows, replace=False))
        rows, cols = rows[keep], cols[keep]
    wide = padded(levels)
    offsets = np.arange(0, WINDOW)[None, :]
    features, margins = [], []
    for batch in range(0, rows.size, BATCH_ROWS):  # bounded memory: BATCH_ROWS x WINDOW at a time
        r, c = rows[batch : batch + BATCH_ROWS], cols[batch : batch + BATCH_ROWS]
        window = wide[r[:, None], c[:, None] + offsets]  # padded column c + WINDOW is day c
        features.append(window_features(window, scale[r], calendar[c]))
        margins.append(drift(window, scale[r]))
    target = ((levels[rows, cols] - levels[rows, cols - 1]) / scale[rows]).astype(np.float32)
    empty = np.empty((0, len(FEATURE_NAMES)), np.float32)
    return (np.vstack(features) if features else empty), target, np.concatenate(margins) if margins else np.empty(0)


def train_booster(
    features: np.ndarray, target: np.ndarray, margin: np.ndarray, settings: XGBoostSettings, rounds: int, nthread: int
):
    import xgboost as xgb

    matrix = xgb.DMatrix(features, label=target, feature_names=list(FEATURE_NAMES), nthread=nthread)
    if settings.drift_margin:
        matrix.set_base_margin(margin)
    return xgb.train(settings.booster_params(nthread), matrix, num_boost_round=rounds)


def recursive_forecast(
    booster, window: np.ndarray, scale: np.ndarray, future_days: np.ndarray, settings: XGBoostSettings, nthread: int
) -> np.ndarray:
    """(series, days) levels: predict the next day's change for every series at once, append, repeat."""
    booster.set_param({"nthread": nthread})
    calendar = calendar_features(future_days)
    window = window.copy()
    out = np.empty((window.shape[0], future_days.size))
    for step in range(future_days.size):  # one step per future day, vectorised over the series
        rows = window_features(window, scale, np.broadcast_to(calendar[step], (window.shape[0], calendar.shape[1])))
        change = booster.inplace_predict(rows).astype(np.float64)
        if settings.drift_margin:
            change += drift(window, scale)
        level = np.clip(window[:, -1] + change * scale, 0.0, 100.0)
        out[:, step] = level
        window = np.concatenate([window[:, 1:], level[:, None]], axis=1)
    return out


@dataclass(frozen=True)
class XGBoostParams:
    """What a worker needs: settings, the global boosters by training cut (raw bytes), interval quantiles."""

    settings: XGBoostSettings = field(default_factory=XGBoostSettings)
    boosters: dict[date, bytes] = field(default_factory=dict)
    quantiles: HorizonQuantiles | None = None
    segments: tuple[str, ...] = ("backtest", "forecast")


def train_global(
    series: Sequence[Series], windows: ForecastWindows, cuts: Sequence[date], settings: XGBoostSettings, nthread: int
) -> dict[date, bytes]:
    """One booster per training cut over every eligible series (the fleet-level step of the global mode)."""
    eligible = [s for s in series if history_problem(s, windows, settings.history) is None]
    if not eligible:
        return {}
    levels, observed = grid_matrix(eligible, windows.history_start, windows.history_end)
    calendar = calendar_features(windows.history_dates())
    boosters = {}
    for cut in cuts:
        cut_index = (cut - windows.history_start).days
        scale = scales_until(eligible, windows.history_start, cut)
        features, target, margin = training_rows(
            levels, observed, scale, calendar, cut_index, settings.max_train_rows, settings.seed
        )
        booster = train_booster(features, target, margin, settings, settings.n_estimators, nthread)
        boosters[cut] = bytes(booster.save_raw("ubj"))
    return boosters


def _load(raw: bytes):
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
    return booster


def _local_paths(
    levels: np.ndarray,
    observed: np.ndarray,
    scale: np.ndarray,
    calendar: np.ndarray,
    cut_index: int,
    future_days: np.ndarray,
    settings: XGBoostSettings,
) -> np.ndarray:
    paths = np.empty((levels.shape[0], future_days.size))
    for row in range(levels.shape[0]):  # local mode: one model per series, by definition
        one = slice(row, row + 1)
        features, target, margin = training_rows(
            levels[one], observed[one], scale[one], calendar, cut_index, settings.max_train_rows, settings.seed
        )
        booster = train_booster(features, target, margin, settings, settings.local_estimators, settings.nthread)
        window = padded(levels[one])[:, cut_index + 1 : cut_index + 1 + WINDOW]
        paths[row] = recursive_forecast(booster, window, scale[one], future_days, settings, settings.nthread)[0]
    return paths


def _fallback_band(path: np.ndarray, scale: float) -> Band:
    """Without calibration: a band that widens like a random walk of daily changes (sqrt of the horizon)."""
    spread = 1.28 * scale * np.sqrt(np.arange(1, path.size + 1) / 7.0)
    return Band.bounded(path, path - spread, path + spread)


def xgboost_chunk(chunk: Sequence[Series], windows: ForecastWindows, params: XGBoostParams) -> list[SeriesForecast]:
    """Backtest and production forecasts for a chunk of series (pure: same inputs, same outputs)."""
    settings = params.settings
    started = time.perf_counter()
    results: dict[tuple[str, str], SeriesForecast] = {}
    eligible: list[Series] = []
    for s in chunk:
        problem = history_problem(s, windows, settings.history)
        observed_days = int(s.observed().sum())
        if problem is None:
            eligible.append(s)
            results[s.key] = SeriesForecast(s.host_id, s.resource, MODEL_NAME, STATUS_OK, observed_days=observed_days)
        else:
            results[s.key] = SeriesForecast(
                s.host_id, s.resource, MODEL_NAME, STATUS_INSUFFICIENT, error=problem, observed_days=observed_days
            )
    if eligible:
        try:
            _forecast_eligible(eligible, windows, params, results)
        except Exception as exc:  # a broken chunk is a run-log row per series, never a fleet failure
            for s in eligible:
                results[s.key] = failed(s.host_id, s.resource, MODEL_NAME, f"{type(exc).__name__}: {exc}")
    seconds = (time.perf_counter() - started) / max(len(chunk), 1)
    for result in results.values():
        result.fit_seconds = seconds
    return [results[s.key] for s in chunk]


def _forecast_eligible(
    eligible: Sequence[Series],
    windows: ForecastWindows,
    params: XGBoostParams,
    results: dict[tuple[str, str], SeriesForecast],
) -> None:
    settings = params.settings
    levels, observed = grid_matrix(eligible, windows.history_start, windows.history_end)
    calendar = calendar_features(windows.history_dates())
    segments = {
        "backtest": (windows.train_end, windows.backtest_dates()),
        "forecast": (windows.history_end, windows.forecast_dates()),
    }
    for segment in params.segments:
        cut, future_days = segments[segment]
        cut_index = (cut - windows.history_start).days
        scale = scales_until(eligible, windows.history_start, cut)
        if settings.mode == "global":
            if cut not in params.boosters:
                raise RuntimeError(f"no global model trained for the cut {cut}")
            window = padded(levels)[:, cut_index + 1 : cut_index + 1 + WINDOW]
            booster = _load(params.boosters[cut])
            paths = recursive_forecast(booster, window, scale, future_days, settings, settings.nthread)
        else:
            paths = _local_paths(levels, observed, scale, calendar, cut_index, future_days, settings)
        for row, s in enumerate(eligible):
            band = (
                params.quantiles.band(paths[row], scale[row])
                if params.quantiles is not None
                else _fallback_band(paths[row], scale[row])
            )
            setattr(results[s.key], segment, band)
    for s in eligible:
        results[s.key].detail = {"mode": settings.mode}
