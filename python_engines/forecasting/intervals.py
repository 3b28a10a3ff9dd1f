"""Prediction intervals calibrated on held-out history (split conformal by horizon).

Model-based intervals were measured too narrow on this kind of data (Prophet's own bands covered about 64%
of backtest actuals at a nominal 80%): in-sample residuals hide the slow level drift that dominates a
4-month error. So each engine is run once more, on a sample of series, with its training cut moved back by
the forecast horizon (:func:`calibration_windows`); the errors it makes on the days it did not see,
divided by each series' scale (:func:`series.series_scale`), give per-horizon quantiles. A band is then
``yhat + quantile[h] * scale``. The calibration window ends where the backtest begins, so the backtest
coverage reported for each engine is measured on data the calibration never saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from python_engines.forecasting.output import Band
from python_engines.forecasting.windows import ForecastWindows

#: Errors within this many days of a horizon are pooled for its quantile (smooths a small sample).
POOL_DAYS = 3


@dataclass(frozen=True)
class HorizonQuantiles:
    """Normalised error quantiles per horizon day (index 0 = first day after the training cut)."""

    lower: np.ndarray
    upper: np.ndarray
    width: float
    series: int

    def bounds(self, yhat: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bound around ``yhat`` (index 0 = first day after the cut), not yet made physical."""
        h = min(yhat.size, self.lower.size)
        lower = np.concatenate([self.lower[:h], np.full(yhat.size - h, self.lower[-1])])
        upper = np.concatenate([self.upper[:h], np.full(yhat.size - h, self.upper[-1])])
        return yhat + lower * scale, yhat + upper * scale

    def band(self, yhat: np.ndarray, scale: float) -> Band:
        return Band.bounded(yhat, *self.bounds(yhat, scale))

    def summary(self) -> str:
        picks = [d for d in (1, 30, 90, 180) if d <= self.lower.size]
        return ", ".join(f"h{d}=[{self.lower[d - 1]:+.2f}, {self.upper[d - 1]:+.2f}]" for d in picks)


def calibration_windows(windows: ForecastWindows) -> ForecastWindows:
    """The windows of the calibration run: the backtest moved back to end where the real backtest starts,
    as long as the production horizon, with training before it."""
    cut = windows.train_end - timedelta(days=windows.horizon_days)
    return ForecastWindows(
        history_start=windows.history_start,
        history_end=windows.train_end,
        backtest_start=cut + timedelta(days=1),
        train_end=cut,
        backtest_end=windows.train_end,
        forecast_start=windows.train_end + timedelta(days=1),
        forecast_end=windows.train_end + timedelta(days=windows.horizon_days),
    )


def fit_quantiles(errors: np.ndarray, width: float) -> HorizonQuantiles:
    """Quantiles of normalised errors ``(series, horizon)`` (NaN where no actual), pooled over nearby
    horizons and made to widen monotonically with the horizon."""
    alpha = (1.0 - width) / 2.0
    n_series, horizon = errors.shape
    lower = np.full(horizon, np.nan)
    upper = np.full(horizon, np.nan)
    for h in range(horizon):  # one quantile per horizon day, not per row
        pooled = errors[:, max(0, h - POOL_DAYS) : h + POOL_DAYS + 1]
        pooled = pooled[np.isfinite(pooled)]
        if pooled.size:
            lower[h], upper[h] = np.quantile(pooled, [alpha, 1.0 - alpha])
    if not np.isfinite(lower).any():
        raise ValueError("no calibration errors to learn intervals from")
    lower = _fill_gaps(lower)
    upper = _fill_gaps(upper)
    return HorizonQuantiles(
        lower=np.minimum.accumulate(np.minimum(lower, 0.0)),
        upper=np.maximum.accumulate(np.maximum(upper, 0.0)),
        width=width,
        series=n_series,
    )


def _fill_gaps(values: np.ndarray) -> np.ndarray:
    known = np.flatnonzero(np.isfinite(values))
    return np.interp(np.arange(values.size), known, values[known])


def normalised_errors(yhat: np.ndarray, actual: np.ndarray, observed: np.ndarray, scale: float) -> np.ndarray:
    """(actual - yhat) / scale on observed days, NaN elsewhere."""
    return np.where(observed, (actual - yhat) / scale, np.nan)
