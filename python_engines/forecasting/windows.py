"""The backtest and production windows: one pure rule, shared by every engine.

Backtest: train on everything before the last ``backtest_months`` calendar months of history, predict those
months. A daily build may keep the backtest (the tournament) of a build up to ``tournament_max_age_days``
earlier: then ``backtest_end`` is that build's last day, before ``history_end`` (dbt model ``forecast_windows``).
Production: refit on the whole history and forecast ``horizon_days`` past its last day. On the
default data (2023-01-01 .. 2025-12-31, 4 months, 180 days) that is training 2023-01-01 .. 2025-08-31,
backtest 2025-09-01 .. 2025-12-31 (122 days) and forecast 2026-01-01 .. 2026-06-29 (180 days).

The dbt model ``forecast_windows`` applies the same rule in SQL and the dbt Python models pass its row to
the engines; :func:`compute_windows` is the rule for callers without dbt (benchmarks, tests, Spark).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np


def _add_months(day: date, months: int) -> date:
    """``day`` shifted by whole calendar months, clamped to the end of a shorter month."""
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    first_of_next = date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    last_day = (first_of_next - timedelta(days=1)).day
    return date(year, month + 1, min(day.day, last_day))


@dataclass(frozen=True)
class ForecastWindows:
    """Inclusive date ranges of one forecasting run."""

    history_start: date
    history_end: date
    backtest_start: date
    train_end: date
    backtest_end: date  # = history_end, or earlier when the tournament of an earlier build is kept
    forecast_start: date
    forecast_end: date

    @property
    def backtest_days(self) -> int:
        return (self.backtest_end - self.backtest_start).days + 1

    @property
    def horizon_days(self) -> int:
        return (self.forecast_end - self.forecast_start).days + 1

    def backtest_dates(self) -> np.ndarray:
        return np.arange(np.datetime64(self.backtest_start, "D"), np.datetime64(self.backtest_end, "D") + 1)

    def forecast_dates(self) -> np.ndarray:
        return np.arange(np.datetime64(self.forecast_start, "D"), np.datetime64(self.forecast_end, "D") + 1)

    def history_dates(self) -> np.ndarray:
        return np.arange(np.datetime64(self.history_start, "D"), np.datetime64(self.history_end, "D") + 1)

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> ForecastWindows:
        """From a ``forecast_windows`` row (dates, datetimes or ISO strings)."""

        def as_date(value: Any) -> date:
            if isinstance(value, str):
                return date.fromisoformat(value[:10])
            if hasattr(value, "date") and callable(value.date):
                return value.date()
            return value

        return cls(**{name: as_date(row[name]) for name in cls.__dataclass_fields__})


def compute_windows(
    history_start: date, history_end: date, backtest_months: int = 4, horizon_days: int = 180
) -> ForecastWindows:
    """The windows for history ``history_start .. history_end`` (the one place this rule lives in Python;
    the dbt model ``forecast_windows`` is its SQL twin and a test keeps them equal).

    The backtest is the last ``backtest_months`` calendar months, the month of ``history_end`` counting as
    the last one: it starts on the first of the month ``backtest_months - 1`` months before that month
    (2025-12-31 -> 2025-09-01; 2025-10-15 -> 2025-07-01).
    """
    if backtest_months < 1 or horizon_days < 1:
        raise ValueError("backtest_months and horizon_days must be positive")
    backtest_start = _add_months(history_end.replace(day=1), -(backtest_months - 1))
    if backtest_start <= history_start:
        raise ValueError(f"history {history_start}..{history_end} is too short for a {backtest_months}-month backtest")
    return ForecastWindows(
        history_start=history_start,
        history_end=history_end,
        backtest_start=backtest_start,
        train_end=backtest_start - timedelta(days=1),
        backtest_end=history_end,
        forecast_start=history_end + timedelta(days=1),
        forecast_end=history_end + timedelta(days=horizon_days),
    )
