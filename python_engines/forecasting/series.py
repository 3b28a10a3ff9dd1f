"""One series in, the way every engine sees it, and the rule that says whether it can be forecast at all."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from python_engines.forecasting.windows import ForecastWindows


@dataclass(frozen=True)
class Series:
    """Daily history of one (host_id, resource): ``ds`` sorted and unique, ``y`` NaN where unknown.

    ``is_imputed`` marks values the refinery filled in (gap filling); engines treat them as known for lag
    features but never fit a model to them as if they were observations.
    """

    host_id: str
    resource: str
    ds: np.ndarray  # datetime64[D]
    y: np.ndarray  # float64
    is_imputed: np.ndarray  # bool

    @property
    def key(self) -> tuple[str, str]:
        return (self.host_id, self.resource)

    def observed(self) -> np.ndarray:
        """Mask of real observations (not imputed, not missing)."""
        return ~self.is_imputed & np.isfinite(self.y)

    def until(self, last_day: np.datetime64) -> Series:
        keep = self.ds <= last_day
        return Series(self.host_id, self.resource, self.ds[keep], self.y[keep], self.is_imputed[keep])

    @classmethod
    def from_arrays(
        cls, host_id: str, resource: str, ds: np.ndarray, y: np.ndarray, is_imputed: np.ndarray | None = None
    ) -> Series:
        """Normalise loosely typed arrays (dates, NaN/None values) into a sorted, de-duplicated series."""
        days = np.asarray(ds).astype("datetime64[D]")
        values = np.asarray(y, dtype=np.float64)
        imputed = np.zeros(days.size, dtype=bool) if is_imputed is None else np.asarray(is_imputed, dtype=bool)
        days, first = np.unique(days, return_index=True)
        return cls(host_id, resource, days, values[first], imputed[first])


def daily_grid(series: Series, start: np.datetime64, end: np.datetime64) -> tuple[np.ndarray, np.ndarray]:
    """Values and observed-mask on every day of ``start .. end`` (NaN / False where the series has no row)."""
    days = np.arange(start, end + 1)
    values = np.full(days.size, np.nan)
    observed = np.zeros(days.size, dtype=bool)
    inside = (series.ds >= start) & (series.ds <= end)
    index = (series.ds[inside] - start).astype(np.int64)
    values[index] = series.y[inside]
    observed[index] = series.observed()[inside]
    return values, observed


@dataclass(frozen=True)
class HistoryRules:
    """When a series has too little real history to be worth a model (status ``insufficient_history``)."""

    min_observed_days: int = 180
    max_imputed_share: float = 0.5
    min_distinct_values: int = 2


def history_problem(series: Series, windows: ForecastWindows, rules: HistoryRules) -> str | None:
    """Why the series cannot be backtested (its training window is what must hold enough real data), or None."""
    train_end = np.datetime64(windows.train_end, "D")
    in_training = series.ds <= train_end
    rows = int(in_training.sum())
    observed = series.observed() & in_training
    observed_days = int(observed.sum())
    if observed_days == 0:
        return f"no observed values before {windows.backtest_start}"
    if observed_days < rules.min_observed_days:
        return f"only {observed_days} observed days before {windows.backtest_start} (need {rules.min_observed_days})"
    imputed_share = 1.0 - observed_days / rows
    if imputed_share > rules.max_imputed_share:
        return f"{imputed_share:.0%} of the training days are imputed (limit {rules.max_imputed_share:.0%})"
    if np.unique(series.y[observed]).size < rules.min_distinct_values:
        return f"constant series: every observed value is {series.y[observed][0]:g}"
    return None


#: Smallest scale an interval is built on, in percentage points (an idle, flat series still gets a band).
MIN_SCALE = 0.05


def series_scale(values: np.ndarray) -> float:
    """Typical week-on-week change of a daily series (mean |y_t - y_{t-7}|): the unit intervals are drawn in.

    Model-independent on purpose: every engine normalises its errors by the same yardstick, so interval
    calibration learned on some series transfers to others of a different size.
    """
    return float(series_scales(values[None, :])[0])


def series_scales(grid: np.ndarray) -> np.ndarray:
    """:func:`series_scale` of every row of a (series, days) grid at once (NaN where a day is unknown)."""
    weekly = np.abs(grid[:, 7:] - grid[:, :-7])
    known = np.isfinite(weekly)
    count = known.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(known, weekly, 0.0).sum(axis=1) / count
    return np.where(count > 0, np.maximum(mean, MIN_SCALE), MIN_SCALE)


def scale_until(series: Series, start: np.datetime64, cut: np.datetime64) -> float:
    """:func:`series_scale` of the series' values on the daily grid ``start .. cut`` (what an engine
    trained up to ``cut`` knows)."""
    values, _ = daily_grid(series, start, cut)
    return series_scale(values)
