"""Prophet champion: Prophet's model (piecewise trend, weekly + yearly Fourier seasonality, Laplace prior on
trend changes, MAP fit by Stan's L-BFGS), set up with numpy instead of pandas.

``fit_prophet`` builds exactly the stan data Prophet's ``preprocess`` builds (same scaling, changepoint grid,
Fourier features and priors), fits it with the compiled model from the prophet wheel (:mod:`.stan`) and
predicts with the same trend formulas. ``tests/python/test_engines.py`` checks the point forecast against
``prophet.Prophet`` itself.

Choices (measured in bench/README.md):
- growth: ``linear`` then clipped to [0, 100] by default; ``logistic`` (cap 100, floor 0) selectable.
- yearly Fourier order 5 (Prophet: 10) and 12 potential changepoints (Prophet: 25): same backtest accuracy
  on this data, fewer parameters for L-BFGS.
- changepoint_range 0.95 (Prophet: 0.8): with 0.8 a ramp that began in the last 7 months of history is
  extrapolated at the older slope. On the capacity-breach hosts of the default fleet, 0.95 puts the forecast
  crossing of 95% a median 9 days after the generator's true breach (0.8: 43 days late, 28 of 101 imminent
  breaches within 90 days instead of 90), for about 1.5% more backtest error on average.
- L-BFGS stops at tol_rel_grad 1e9 (Stan: 1e7): about a third fewer iterations, same accuracy.
- intervals: calibrated by horizon on held-out history when the fleet runner provides quantiles
  (:mod:`.intervals`); otherwise Prophet's own recipe (simulated future trend changes + observation noise)
  from a fixed seed. No sampling ever happens for the point forecast.
- the production refit starts cold: a warm start from the backtest fit (``fit_prophet(warm=...)``)
  saved about 4% of its time and changes the result, so it is not used.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

import numpy as np

from python_engines.forecasting.intervals import HorizonQuantiles
from python_engines.forecasting.output import (
    SEGMENT_BACKTEST,
    SEGMENT_FORECAST,
    STATUS_INSUFFICIENT,
    STATUS_OK,
    Band,
    SeriesForecast,
    failed,
)
from python_engines.forecasting.series import HistoryRules, Series, history_problem, scale_until
from python_engines.forecasting.stan import StanFitError, StanOptions, optimize
from python_engines.forecasting.windows import ForecastWindows

MODEL_NAME = "prophet"
EPOCH = np.datetime64("1970-01-01", "D")
TREND_INDICATOR = {"linear": 0, "logistic": 1}


@dataclass(frozen=True)
class ProphetSettings:
    growth: Literal["linear", "logistic"] = "linear"
    cap: float = 100.0
    floor: float = 0.0
    n_changepoints: int = 12
    # Prophet's default 0.8 leaves the last 7 months without a changepoint, so a ramp that began there is
    # extrapolated at the older, flatter slope: measured two months late on capacity-breach hosts (bench/README.md).
    changepoint_range: float = 0.95
    changepoint_prior_scale: float = 0.05
    seasonality_prior_scale: float = 10.0
    yearly_order: int = 5
    weekly_order: int = 3
    interval_width: float = 0.8
    uncertainty_samples: int = 300
    seed: int = 0
    stan: StanOptions = field(default_factory=StanOptions)
    time_limit: float | None = 120.0
    history: HistoryRules = field(default_factory=HistoryRules)


@dataclass(frozen=True)
class ProphetFit:
    """A fitted model: MAP parameters plus the scaling that maps days to model time and back."""

    settings: ProphetSettings
    start: np.datetime64
    t_scale: float  # days between first and last training observation
    y_scale: float
    changepoints_t: np.ndarray
    k: float
    m: float
    delta: np.ndarray
    beta: np.ndarray
    sigma_obs: float
    residuals: np.ndarray
    optimizer: str = "converged"

    def time_of(self, days: np.ndarray) -> np.ndarray:
        return (days - self.start).astype(np.float64) / self.t_scale

    def trend(self, days: np.ndarray) -> np.ndarray:
        """Trend in scaled units (Prophet's ``piecewise_linear`` / ``piecewise_logistic``)."""
        return _trend(self.settings, self.time_of(days), self.k, self.m, self.delta, self.changepoints_t, self.y_scale)

    def predict(self, days: np.ndarray) -> np.ndarray:
        s = self.settings
        seasonal = seasonal_features(days, s.yearly_order, s.weekly_order) @ self.beta
        return (self.trend(days) + seasonal) * self.y_scale + s.floor


def seasonal_features(days: np.ndarray, yearly_order: int, weekly_order: int) -> np.ndarray:
    """Prophet's Fourier columns: yearly (365.25 d) then weekly (7 d), sin/cos interleaved, time in epoch days."""
    t = (days - EPOCH).astype(np.float64)
    blocks = []
    for period, order in ((365.25, yearly_order), (7.0, weekly_order)):
        if order <= 0:
            continue
        angle = 2.0 * np.pi * t[:, None] * np.arange(1, order + 1)[None, :] / period
        block = np.empty((t.size, 2 * order))
        block[:, 0::2] = np.sin(angle)
        block[:, 1::2] = np.cos(angle)
        blocks.append(block)
    return np.hstack(blocks) if blocks else np.zeros((t.size, 1))


def _trend(
    s: ProphetSettings,
    t: np.ndarray,
    k: float,
    m: float,
    delta: np.ndarray,
    changepoints_t: np.ndarray,
    y_scale: float,
) -> np.ndarray:
    after = changepoints_t[None, :] <= t[:, None]
    if s.growth == "linear":
        return (k + after @ delta) * t + (m + after @ (-changepoints_t * delta))
    cap = (s.cap - s.floor) / y_scale
    k_cum = np.concatenate([[k], k + np.cumsum(delta)])
    gammas = np.zeros(changepoints_t.size)
    for i, t_s in enumerate(changepoints_t):  # offsets keep the curve continuous (25 steps, not per row)
        gammas[i] = (t_s - m - gammas[:i].sum()) * (1.0 - k_cum[i] / k_cum[i + 1])
    with np.errstate(over="ignore"):  # exp overflow is the curve's floor (0), which is what we want
        return cap / (1.0 + np.exp(-(k + after @ delta) * (t - (m + after @ gammas))))


def _changepoint_grid(t: np.ndarray, settings: ProphetSettings) -> np.ndarray:
    """Potential changepoints evenly through the first ``changepoint_range`` of the history rows."""
    hist_size = int(np.floor(t.size * settings.changepoint_range))
    n = min(settings.n_changepoints, hist_size - 1)
    if n <= 0:
        return np.array([0.0])  # Prophet's dummy changepoint
    return t[np.linspace(0, hist_size - 1, n + 1).round().astype(int)[1:]]


def _initial_params(t: np.ndarray, y: np.ndarray, cap: float, growth: str, n_cp: int, n_beta: int) -> dict:
    """Prophet's ``linear_growth_init`` / ``logistic_growth_init``: a line through the first and last points."""
    span = t[-1] - t[0]
    if growth == "linear":
        k = (y[-1] - y[0]) / span
        m = y[0] - k * t[0]
    else:
        y0 = max(0.01 * cap, min(0.99 * cap, y[0]))
        y1 = max(0.01 * cap, min(0.99 * cap, y[-1]))
        r0, r1 = cap / y0, cap / y1
        if abs(r0 - r1) <= 0.01:
            r0 *= 1.05
        l0, l1 = np.log(r0 - 1), np.log(r1 - 1)
        m = l0 * span / (l0 - l1)
        k = (l0 - l1) / span
    return {"k": float(k), "m": float(m), "delta": np.zeros(n_cp), "beta": np.zeros(n_beta), "sigma_obs": 1.0}


def _rescaled(previous: ProphetFit, t_scale: float, y_scale: float, n_cp: int) -> dict:
    """Warm start: the previous fit's parameters expressed in the new fit's time and value scales."""
    value = previous.y_scale / y_scale
    slope = value * t_scale / previous.t_scale
    delta = previous.delta * slope if previous.delta.size == n_cp else np.zeros(n_cp)
    return {
        "k": previous.k * slope,
        "m": previous.m * value,
        "delta": delta,
        "beta": previous.beta * value,
        "sigma_obs": max(previous.sigma_obs * value, 1e-3),
    }


def fit_prophet(
    days: np.ndarray, y: np.ndarray, settings: ProphetSettings, warm: ProphetFit | None = None
) -> ProphetFit:
    """MAP fit on observed days ``days`` (datetime64[D], sorted) with values ``y`` (finite)."""
    s = settings
    start = days[0]
    t_scale = float((days[-1] - start).astype(np.float64))
    t = (days - start).astype(np.float64) / t_scale
    y_scale = float(np.abs(y - s.floor).max()) or 1.0
    y_scaled = (y - s.floor) / y_scale
    changepoints_t = _changepoint_grid(t, s)
    features = seasonal_features(days, s.yearly_order, s.weekly_order)
    n_beta = features.shape[1]
    cap_scaled = (s.cap - s.floor) / y_scale
    data = {
        "T": int(t.size),
        "S": int(changepoints_t.size),
        "K": int(n_beta),
        "tau": s.changepoint_prior_scale,
        "trend_indicator": TREND_INDICATOR[s.growth],
        "y": y_scaled,
        "t": t,
        "cap": np.full(t.size, cap_scaled if s.growth == "logistic" else 0.0),
        "t_change": changepoints_t,
        "X": features,
        "sigmas": np.full(n_beta, s.seasonality_prior_scale),
        "s_a": np.ones(n_beta),
        "s_m": np.zeros(n_beta),
    }
    default_init = _initial_params(t, y_scaled, cap_scaled, s.growth, changepoints_t.size, n_beta)
    init = _rescaled(warm, t_scale, y_scale, changepoints_t.size) if warm is not None else default_init
    try:
        params, outcome = optimize(data, init, s.stan, s.time_limit)
    except StanFitError:
        if warm is None:
            raise
        params, outcome = optimize(data, default_init, s.stan, s.time_limit)  # a bad warm start must not cost
    fit = ProphetFit(
        settings=s,
        start=start,
        t_scale=t_scale,
        y_scale=y_scale,
        changepoints_t=changepoints_t,
        k=float(params["k"][0]),
        m=float(params["m"][0]),
        delta=params["delta"],
        beta=params["beta"],
        sigma_obs=float(params["sigma_obs"][0]),
        residuals=np.empty(0),
        optimizer=outcome,
    )
    return replace(fit, residuals=y - fit.predict(days))


def _trend_uncertainty(fit: ProphetFit, days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Prophet's future-trend simulation: slope changes as frequent and as large as in the history.

    Returns (samples, days) deviations in original units; zero for days inside the training history.
    """
    s = fit.settings
    t = fit.time_of(days)
    future = t > 1.0
    out = np.zeros((s.uncertainty_samples, days.size))
    if not future.any() or fit.changepoints_t.size == 0:
        return out
    step = 1.0 / fit.t_scale
    likelihood = fit.changepoints_t.size * step
    mean_delta = float(np.mean(np.abs(fit.delta))) + 1e-8
    n_future = int(future.sum())
    changes = rng.uniform(size=(s.uncertainty_samples, n_future)) < likelihood
    shifts = rng.laplace(0.0, mean_delta, size=changes.shape) * changes
    shifts = (shifts + np.hstack([np.zeros((shifts.shape[0], 1)), shifts[:, :-1]])) / 2.0
    paths = shifts.cumsum(axis=1).cumsum(axis=1) * step
    out[:, future] = paths * fit.y_scale
    return out


def interval(fit: ProphetFit, days: np.ndarray, yhat: np.ndarray) -> Band:
    """``interval_width`` band: quantiles of yhat + simulated trend change + Gaussian observation noise."""
    s = fit.settings
    rng = np.random.default_rng(s.seed)
    noise = rng.normal(0.0, fit.sigma_obs * fit.y_scale, size=(s.uncertainty_samples, days.size))
    draws = yhat[None, :] + _trend_uncertainty(fit, days, rng) + noise
    alpha = (1.0 - s.interval_width) / 2.0
    lower, upper = np.quantile(draws, [alpha, 1.0 - alpha], axis=0)
    return Band.bounded(yhat, lower, upper)


def _training_points(series: Series, last_day: np.datetime64) -> tuple[np.ndarray, np.ndarray]:
    keep = series.observed() & (series.ds <= last_day)
    return series.ds[keep], series.y[keep]


def _segment(
    series: Series,
    windows: ForecastWindows,
    cut: date,
    days: np.ndarray,
    settings: ProphetSettings,
    quantiles: HorizonQuantiles | None,
) -> Band:
    """Fit on observed days up to ``cut``, predict ``days``, put the interval around it."""
    fit = fit_prophet(*_training_points(series, np.datetime64(cut, "D")), settings)
    yhat = fit.predict(days)
    if quantiles is None:
        return interval(fit, days, yhat)
    scale = scale_until(series, np.datetime64(windows.history_start, "D"), np.datetime64(cut, "D"))
    return quantiles.band(yhat, scale)


def prophet_forecast(
    series: Series,
    windows: ForecastWindows,
    settings: ProphetSettings | None = None,
    quantiles: HorizonQuantiles | None = None,
    segments: Sequence[str] = (SEGMENT_BACKTEST, SEGMENT_FORECAST),
) -> SeriesForecast:
    """Backtest (fit before ``backtest_start``) and production (refit on everything) forecasts of one series.

    Pure: arrays in, arrays out; knows nothing of pools, clusters or dbt. ``quantiles`` (calibrated
    intervals, see :mod:`.intervals`) replace Prophet's sampled interval when given.
    """
    settings = settings or ProphetSettings()
    started = time.perf_counter()
    observed_days = int(series.observed().sum())
    result = SeriesForecast(series.host_id, series.resource, MODEL_NAME, STATUS_OK, observed_days=observed_days)
    problem = history_problem(series, windows, settings.history)
    if problem is not None:
        result.status, result.error = STATUS_INSUFFICIENT, problem
        return result
    plan = {
        SEGMENT_BACKTEST: (windows.train_end, windows.backtest_dates()),
        SEGMENT_FORECAST: (windows.history_end, windows.forecast_dates()),
    }
    try:
        for segment in segments:
            cut, days = plan[segment]
            setattr(result, segment, _segment(series, windows, cut, days, settings, quantiles))
    except Exception as exc:  # one series' failure is a run-log row, never a fleet failure
        result = failed(series.host_id, series.resource, MODEL_NAME, f"{type(exc).__name__}: {exc}")
        result.observed_days = observed_days
    result.fit_seconds = time.perf_counter() - started
    if result.status == STATUS_OK:
        result.detail = {"growth": settings.growth, "interval": "calibrated" if quantiles else "prophet"}
    return result


@dataclass(frozen=True)
class ProphetParams:
    settings: ProphetSettings = field(default_factory=ProphetSettings)
    quantiles: HorizonQuantiles | None = None
    segments: tuple[str, ...] = (SEGMENT_BACKTEST, SEGMENT_FORECAST)


def prophet_chunk(chunk: Sequence[Series], windows: ForecastWindows, params: ProphetParams) -> list[SeriesForecast]:
    """The fleet runner's entry point: :func:`prophet_forecast` for each series of ``chunk``."""
    return [prophet_forecast(s, windows, params.settings, params.quantiles, params.segments) for s in chunk]
