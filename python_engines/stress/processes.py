"""Building blocks of the stress fleet's series: (series x days) numpy grids, no per-day Python loops.

Every function takes a numpy ``Generator`` and returns a float grid with one row per series, so a family is a
few array expressions over the whole family at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

#: AR(1) noise is cut at this many standard deviations: a family's documented ceiling (hot_steady never above
#: 95, sawtooth peaks under 90) then holds for every seed, not just almost surely.
NOISE_CAP_SD = 4.0

#: Weekday shape (Monday first) of a business workload: busy midweek, quiet weekend; zero mean, peak 1.
_WEEKLY_SHAPE = np.array([0.55, 0.75, 0.8, 0.7, 0.35, -1.2, -1.95])
WEEKLY_SHAPE = (_WEEKLY_SHAPE - _WEEKLY_SHAPE.mean()) / np.abs(_WEEKLY_SHAPE - _WEEKLY_SHAPE.mean()).max()


@dataclass(frozen=True)
class Calendar:
    """The day axis shared by every grid: the history, then the horizon written aside as truth.

    ``rel`` counts days from ``history_end`` (0 on it, 1 on the first horizon day), which is how families
    place their events ("a step 30-240 days before the end")."""

    history_end: date
    history_days: int
    horizon_days: int

    @property
    def days(self) -> int:
        return self.history_days + self.horizon_days

    @property
    def history_start(self) -> date:
        return self.history_end - timedelta(days=self.history_days - 1)

    @property
    def t(self) -> np.ndarray:
        return np.arange(self.days)

    @property
    def rel(self) -> np.ndarray:
        return self.t - (self.history_days - 1)

    @property
    def weekday(self) -> np.ndarray:
        return (self.history_start.weekday() + self.t) % 7

    def iso_dates(self) -> np.ndarray:
        """ISO date text of every day of the grid (history and horizon)."""
        first = np.datetime64(self.history_start.isoformat(), "D")
        return np.datetime_as_string(first + self.t, unit="D")


def ar1_noise(rng: np.random.Generator, days: int, phi: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Stationary AR(1) noise, one row per series: day-to-day persistence ``phi``, marginal size ``sd``.

    Real utilisation residuals are autocorrelated (a busy day is followed by a busy day), which is what makes
    a naive model look better than it is; white noise would flatter every engine. The recursion
    x[t] = phi x[t-1] + e[t] is solved exactly by a log2(days)-step prefix scan (Hillis-Steele), so a
    thousand days cost eleven vectorised steps instead of a thousand Python iterations. ``sd`` may be one value
    per series or a full grid (noise whose size changes over time)."""
    phi = np.asarray(phi, dtype=float)[:, None]
    x = rng.standard_normal((phi.shape[0], days))
    x[:, 1:] *= np.sqrt(1.0 - phi**2)  # the first day is drawn from the stationary law: unit variance throughout
    power, step = phi.copy(), 1
    while step < days:
        shifted = np.zeros_like(x)
        shifted[:, step:] = x[:, :-step]
        x = x + power * shifted
        power, step = power * power, step * 2
    sd = np.asarray(sd, dtype=float)
    return np.clip(x, -NOISE_CAP_SD, NOISE_CAP_SD) * (sd[:, None] if sd.ndim == 1 else sd)


def weekly(rng: np.random.Generator, calendar: Calendar, amplitude: np.ndarray) -> np.ndarray:
    """Weekday cycle of the given peak size; about one series in six peaks at the weekend instead (backups,
    batch reporting) rather than every series sharing office hours."""
    sign = np.where(rng.random(amplitude.shape[0]) < 0.15, -1.0, 1.0)
    return (sign * amplitude)[:, None] * WEEKLY_SHAPE[calendar.weekday][None, :]


def yearly(rng: np.random.Generator, calendar: Calendar, amplitude: np.ndarray) -> np.ndarray:
    """A gentle annual swell at a random phase (season, fiscal year end)."""
    phase = rng.uniform(0, 2 * np.pi, amplitude.shape[0])
    return amplitude[:, None] * np.sin(2 * np.pi * calendar.t[None, :] / 365.25 + phase[:, None])


@dataclass(frozen=True)
class Events:
    """Recurring events (restarts, cleanups, switches) on the day grid.

    ``age``: days since the latest event (the event day itself is 0); ``count``: events so far."""

    age: np.ndarray
    count: np.ndarray


def recurring_events(rng: np.random.Generator, days: int, low: np.ndarray, high: np.ndarray) -> Events:
    """Events spaced by intervals drawn uniformly in [low, high] days (per series, each interval anew).

    The first event falls before day 0 at a random phase, so series are not synchronised on the first day.
    Vectorised: the event days go into a boolean grid and "latest event so far" is a running maximum."""
    n = low.shape[0]
    slots = int(days // max(1, int(low.min()))) + 2
    intervals = np.floor(rng.uniform(low[:, None], high[:, None] + 1, (n, slots))).astype(int)
    first = -np.floor(rng.uniform(0, intervals[:, 0])).astype(int)  # the last event before day 0
    positions = first[:, None] + np.cumsum(intervals, axis=1)
    marker = np.zeros((n, days), dtype=bool)
    rows, cols = np.nonzero(positions < days)
    marker[rows, positions[rows, cols]] = True
    t = np.arange(days)[None, :]
    latest = np.maximum.accumulate(np.where(marker, t, first[:, None]), axis=1)
    return Events(age=t - latest, count=np.cumsum(marker, axis=1))


def uniform(rng: np.random.Generator, low: float, high: float, n: int) -> np.ndarray:
    return rng.uniform(low, high, n)


def integer(rng: np.random.Generator, low: int, high: int, n: int) -> np.ndarray:
    """Integers in [low, high], both ends included."""
    return rng.integers(low, high + 1, n)
