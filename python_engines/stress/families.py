"""The stress fleet's families: one function per family, drawing the whole family's (series x days) grid.

Each function returns the series over history and horizon together (one process, continued), before clipping
to [0, 100]; ``first_index`` is where a series' history starts (late joiners) and ``gaps`` the history days a
family leaves empty by design (outages). Parameters come from ranges, so every seed gives other fleets; the
ceilings the docstrings promise (e.g. "never above 95") hold for every draw because AR(1) noise is capped at
``NOISE_CAP_SD`` standard deviations and levels are bounded with that cap in mind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from python_engines.stress.processes import (
    NOISE_CAP_SD,
    Calendar,
    ar1_noise,
    integer,
    recurring_events,
    uniform,
    weekly,
    yearly,
)

BREACH_THRESHOLD = 95.0


@dataclass(frozen=True)
class NoiseLaw:
    """A family's additive AR(1) term and its law: the series is a known path plus this noise. It is what an
    oracle forecaster would know (``stress.oracle``): the path, the persistence, the size and the state the
    noise is in on history_end; only the future draws are unknown."""

    phi: np.ndarray  # (series,) day-to-day persistence
    sd: np.ndarray  # (series,) marginal size
    values: np.ndarray  # (series, days) the drawn noise, as added to the path


#: Draws continuations of a family's horizon for the series ``rows`` (indices into the family's grid), given
#: everything in the history: (len(rows), simulations, horizon days), unclipped. For a family whose future is
#: not a path plus AR(1) noise (heavy tails, random spikes) but whose law is still known to the generator.
FutureSampler = Callable[[np.random.Generator, np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class Shape:
    values: np.ndarray  # (series, history + horizon days), unclipped
    first_index: np.ndarray  # (series,) first history day index
    gaps: np.ndarray | None = None  # (series, days) True where a history day is missing by design
    #: Set by the families that can breach (a known path plus AR(1) noise); the others stay under 95 by design.
    noise: NoiseLaw | None = None
    #: Set instead of ``noise`` by a family whose law the oracle can only simulate (``stress.oracle.simulated``).
    future: FutureSampler | None = None
    #: (series,) minutes east of UTC the collector writes each day's local midnight with (None: dates or UTC).
    utc_offset_minutes: np.ndarray | None = None


def _shape(values: np.ndarray) -> Shape:
    return Shape(values=values, first_index=np.zeros(values.shape[0], dtype=int))


def _noise_law(rng: np.random.Generator, n: int, calendar: Calendar, low: float, high: float) -> NoiseLaw:
    """AR(1) noise of a size drawn in [low, high] points and persistence 0.3-0.85 (realistic daily P95s)."""
    phi = uniform(rng, 0.3, 0.85, n)
    sd = uniform(rng, low, high, n)
    return NoiseLaw(phi=phi, sd=sd, values=ar1_noise(rng, calendar.days, phi, sd))


def _noise(rng: np.random.Generator, n: int, calendar: Calendar, low: float, high: float) -> np.ndarray:
    return _noise_law(rng, n, calendar, low, high).values


def _path_plus_noise(path: np.ndarray, noise: NoiseLaw) -> Shape:
    return Shape(values=path + noise.values, first_index=np.zeros(path.shape[0], dtype=int), noise=noise)


def calm(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """Ordinary series: level 5-70 with a slight drift (at most a third of its level over the history),
    weekly cycle, a small annual swell and AR(1) noise of 1-3 points; never near 95."""
    level = uniform(rng, 5, 70, n)
    drift = level * uniform(rng, -0.0002, 0.0003, n)
    weekly_size = np.minimum(uniform(rng, 0.5, 5, n), 0.3 * level)
    yearly_size = np.minimum(uniform(rng, 0, 3, n), 0.2 * level)
    noise_size = np.minimum(uniform(rng, 1, 3, n), np.maximum(0.3 * level, 0.5))
    phi = uniform(rng, 0.3, 0.85, n)
    values = (
        level[:, None]
        + drift[:, None] * calendar.rel[None, :]
        + weekly(rng, calendar, weekly_size)
        + yearly(rng, calendar, yearly_size)
        + ar1_noise(rng, calendar.days, phi, noise_size)
    )
    return _shape(values)


def _level_shift(rng: np.random.Generator, n: int, calendar: Calendar, up: bool) -> Shape:
    step = uniform(rng, 10, 35, n)
    if up:
        before = uniform(rng, 10, 45, n)
        after = np.minimum(before + step, 72.0)  # + weekly 3 + noise 4 x 2: under 85
    else:
        before = uniform(rng, 40, 80, n)
        after = np.maximum(before - step, 8.0)
    shift_day = -integer(rng, 30, 240, n)
    level = np.where(calendar.rel[None, :] >= shift_day[:, None], after[:, None], before[:, None])
    values = level + weekly(rng, calendar, uniform(rng, 0.5, 3, n)) + _noise(rng, n, calendar, 1, 2)
    return _shape(values)


def level_shift_up(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """One step up of 10-35 points 30-240 days before the end (a migration, a new tenant), then level, under
    85: a trend model that reads the step as growth raises a false alarm."""
    return _level_shift(rng, n, calendar, up=True)


def level_shift_down(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """One step down of 10-35 points 30-240 days before the end (a workload moved away), then level."""
    return _level_shift(rng, n, calendar, up=False)


def saturating(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """Logistic growth from 8-30 to an asymptote of 60-88 whose knee (where it levels off) falls 60-330 days
    before the end: the future is flat near the asymptote, and extrapolating the old slope over-forecasts."""
    start = uniform(rng, 8, 30, n)
    ceiling = uniform(rng, 60, 88, n)
    scale = uniform(rng, 15, 50, n)
    knee = -uniform(rng, 60, 330, n)
    midpoint = knee - 2.5 * scale
    curve = 1.0 / (1.0 + np.exp(-(calendar.rel[None, :] - midpoint[:, None]) / scale[:, None]))
    weekly_size = uniform(rng, 0.3, 1.5, n)
    noise_size = np.minimum(uniform(rng, 0.5, 2, n), (93 - ceiling - weekly_size) / NOISE_CAP_SD)
    values = (
        start[:, None]
        + (ceiling - start)[:, None] * curve
        + weekly(rng, calendar, weekly_size)
        + ar1_noise(rng, calendar.days, uniform(rng, 0.3, 0.85, n), noise_size)
    )
    return _shape(values)


def reversing(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """Growth over 180-500 days to a peak of 55-82 reached 60-150 days before the end, then a decline of
    0.05-0.2 points a day down to a floor (a project wound down): the trend turned, the alarm must not."""
    start = uniform(rng, 10, 35, n)
    peak = uniform(rng, 55, 82, n)
    peak_day = -integer(rng, 60, 150, n)
    growth_days = uniform(rng, 180, 500, n)
    decline = uniform(rng, 0.05, 0.2, n)
    floor = start + uniform(rng, 0, 10, n)
    rel = calendar.rel[None, :]
    rising = start[:, None] + (peak - start)[:, None] * np.clip(
        (rel - (peak_day - growth_days)[:, None]) / growth_days[:, None], 0, 1
    )
    falling = np.maximum(peak[:, None] - decline[:, None] * (rel - peak_day[:, None]), floor[:, None])
    level = np.where(rel <= peak_day[:, None], rising, falling)
    values = level + weekly(rng, calendar, uniform(rng, 0.5, 2, n)) + _noise(rng, n, calendar, 1, 2)
    return _shape(values)


def restart_sawtooth(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """A memory leak: climbs from a base of 15-40 at a steady rate, reset by a restart every 7-40 days
    (each interval drawn anew, +-20% around the series' own period); peaks under 90."""
    base = uniform(rng, 15, 40, n)
    period = uniform(rng, 7, 40, n)
    longest = np.floor(1.2 * period) + 1
    leak = (82 - base) / longest * uniform(rng, 0.35, 1.0, n)
    events = recurring_events(rng, calendar.days, np.floor(0.8 * period), longest)
    values = base[:, None] + leak[:, None] * events.age + _noise(rng, n, calendar, 0.5, 1.5)
    return _shape(values)


def fill_cleanup(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """A disk that fills steadily and drops at cleanups every 45-120 days (each interval anew), to its base
    plus 0-4 points left behind by each cleanup; peaks under 92."""
    base = uniform(rng, 20, 50, n)
    low = integer(rng, 45, 90, n)
    high = low + integer(rng, 0, 30, n)
    fill = (83 - base) / (high + 1) * uniform(rng, 0.4, 1.0, n)
    events = recurring_events(rng, calendar.days, low, high)
    leftover = rng.uniform(0, 4, (n, int(events.count.max()) + 1))
    after_cleanup = np.take_along_axis(leftover, events.count, axis=1)
    values = base[:, None] + after_cleanup + fill[:, None] * events.age + _noise(rng, n, calendar, 0.2, 0.8)
    return _shape(values)


def weekly_batch(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """One or two batch days a week 20-40 points above a base of 15-40 (peaks under 90): the weekly spike
    is the series' normal, not a trend."""
    bump = uniform(rng, 20, 40, n)
    base = np.minimum(uniform(rng, 15, 40, n), 78 - bump)
    first_day = integer(rng, 0, 6, n)
    second_day = np.where(rng.random(n) < 0.4, (first_day + integer(rng, 1, 6, n)) % 7, first_day)
    weekday = calendar.weekday[None, :]
    is_batch = (weekday == first_day[:, None]) | (weekday == second_day[:, None])
    values = base[:, None] + bump[:, None] * is_batch + _noise(rng, n, calendar, 1, 2.5)
    return _shape(values)


def compounding_growth(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """Exponential growth over a floor of 5-25 (users compounding), doubling every 35-170 days. The day the
    curve reaches 95 is drawn: 40% within 90 days of the end, 30% within 91-180, 30% beyond the horizon; a
    curve already above 85 at the end is pushed later, so the history ends below the ceiling."""
    floor = uniform(rng, 5, 25, n)
    growth = np.log(2) / uniform(rng, 35, 170, n)
    kind = rng.random(n)
    crossing = np.where(
        kind < 0.4, uniform(rng, 10, 90, n), np.where(kind < 0.7, uniform(rng, 91, 180, n), uniform(rng, 181, 450, n))
    )
    crossing = np.maximum(crossing, np.log((95 - floor) / (85 - floor)) / growth)
    scale = (95 - floor) * np.exp(-growth * crossing)  # above the floor on history_end
    curve = scale[:, None] * np.exp(np.minimum(growth[:, None] * calendar.rel[None, :], 50.0))
    path = floor[:, None] + curve + weekly(rng, calendar, uniform(rng, 0.5, 2, n))
    return _path_plus_noise(path, _noise_law(rng, n, calendar, 0.8, 2))


def hot_steady(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """Steady at 80-89 with small noise (0.4-1 point) and a weekly cycle under 1 point: busy but never
    above 95. Any breach alert here is false."""
    level = uniform(rng, 80, 89, n)
    values = level[:, None] + weekly(rng, calendar, uniform(rng, 0, 1, n)) + _noise(rng, n, calendar, 0.4, 1.0)
    return _shape(values)


def noise_shift(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """Level 30-55 whose noise changes size 60-400 days before the end, calm (0.5-1.5) to noisy (4-8) or
    the reverse: an interval learned on the wrong regime is too narrow or too wide."""
    level = uniform(rng, 30, 55, n)
    quiet, loud = uniform(rng, 0.5, 1.5, n), uniform(rng, 4, 8, n)
    becomes_noisy = rng.random(n) < 0.5
    switch = -integer(rng, 60, 400, n)
    after = calendar.rel[None, :] >= switch[:, None]
    size = np.where(after == becomes_noisy[:, None], loud[:, None], quiet[:, None])
    noise = ar1_noise(rng, calendar.days, uniform(rng, 0.3, 0.85, n), size)
    values = level[:, None] + weekly(rng, calendar, uniform(rng, 0.5, 3, n)) + noise
    return _shape(values)


def two_level(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """Alternates between a low level of 15-40 and a high one 20-40 points above (under 75), switching every
    7-28 days (a failover pair, a blue/green deployment)."""
    low = uniform(rng, 15, 40, n)
    high = np.minimum(low + uniform(rng, 20, 40, n), 75.0)
    events = recurring_events(rng, calendar.days, np.full(n, 7), np.full(n, 28))
    starts_high = rng.integers(0, 2, n)
    is_high = (events.count + starts_high[:, None]) % 2 == 1
    values = np.where(is_high, high[:, None], low[:, None]) + _noise(rng, n, calendar, 1, 2)
    return _shape(values)


def outages(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """A calm series whose history has 2-4 multi-week gaps (14-42 days) of missing days: the refinery
    interpolates them, and a model must not learn from the straight lines. The truth has no gaps."""
    shape = calm(rng, n, calendar)
    count = 4
    length = rng.integers(14, 43, (n, count))
    latest_start = calendar.history_days - 15 - length  # never the last two weeks: the end stays observed
    start = np.floor(rng.uniform(1, latest_start)).astype(int)
    used = rng.random((n, count)) < np.array([1.0, 1.0, 0.6, 0.4])  # 2-4 gaps
    t = calendar.t[None, None, :]
    gaps = ((t >= start[:, :, None]) & (t < (start + length)[:, :, None]) & used[:, :, None]).any(axis=1)
    return Shape(values=shape.values, first_index=shape.first_index, gaps=gaps)


def late_joiner(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """A host that joined 200-500 days before the end (all four of its series): calm, or (40%) growing
    gently from its first day (below 80 at the end of the horizon). The series come host by host, four in a
    row, and share their host's first day."""
    age = np.repeat(np.minimum(integer(rng, 200, 500, -(-n // 4)), calendar.history_days - 1), 4)[:n]
    first_index = calendar.history_days - 1 - age
    level = uniform(rng, 10, 45, n)
    grows = rng.random(n) < 0.4
    slope = np.where(grows, (78 - level) / (age + calendar.horizon_days) * uniform(rng, 0.3, 1.0, n), 0.0)
    since_join = np.maximum(calendar.t[None, :] - first_index[:, None], 0)
    values = (
        level[:, None]
        + slope[:, None] * since_join
        + weekly(rng, calendar, uniform(rng, 0.5, 3, n))
        + _noise(rng, n, calendar, 1, 2.5)
    )
    return Shape(values=values, first_index=first_index)


def late_ramp(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """Flat at 25-55, then a ramp that began 28-56 days before the end and keeps going, its trend reaching 95
    15-60 days after the end: a true breach within 90 days (the slope of at least 0.34 points a day outruns
    the worst noise within 25 days). Only the last weeks of the history show it."""
    level = uniform(rng, 25, 55, n)
    ramp_start = -integer(rng, 28, 56, n)
    crossing = uniform(rng, 15, 60, n)
    slope = (95 - level) / (crossing - ramp_start)
    ramp = slope[:, None] * np.maximum(calendar.rel[None, :] - ramp_start[:, None], 0)
    path = level[:, None] + ramp + weekly(rng, calendar, uniform(rng, 0.5, 2, n))
    return _path_plus_noise(path, _noise_law(rng, n, calendar, 0.8, 1.5))


def linear_breach(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """Steady linear growth over the whole history from 5-35, with small noise, that first exceeds 95 about
    10-170 days after the end (half within 90): the trend is aimed so that it is a noise margin (weekly peak
    plus two noise sizes) below 95 on the drawn day."""
    start = uniform(rng, 5, 35, n)
    crossing = np.where(rng.random(n) < 0.5, uniform(rng, 10, 85, n), uniform(rng, 95, 170, n))
    weekly_size = uniform(rng, 0.3, 1.5, n)
    noise_size = uniform(rng, 0.5, 1.2, n)
    margin = weekly_size + 2 * noise_size
    slope = (95 - margin - start) / (crossing + calendar.history_days - 1)
    trend = start[:, None] + slope[:, None] * calendar.t[None, :]
    path = trend + weekly(rng, calendar, weekly_size)
    phi = uniform(rng, 0.3, 0.85, n)
    noise = NoiseLaw(phi=phi, sd=noise_size, values=ar1_noise(rng, calendar.days, phi, noise_size))
    return _path_plus_noise(path, noise)


FamilyFunction = Callable[[np.random.Generator, int, Calendar], Shape]

#: Family -> (share of series, generator). calm takes whatever the others leave; late_joiner's share is of
#: hosts (a host joins with all four series); the three breaching families make about 3-5% of series breach
#: within 90 days, like the real fleets we measured (19 of 1,200, 26 of 2,000, 46 of 1,600).
FAMILIES: dict[str, tuple[float, FamilyFunction]] = {
    "calm": (0.0, calm),
    "level_shift_up": (0.035, level_shift_up),
    "level_shift_down": (0.03, level_shift_down),
    "saturating": (0.035, saturating),
    "reversing": (0.03, reversing),
    "restart_sawtooth": (0.04, restart_sawtooth),
    "fill_cleanup": (0.04, fill_cleanup),
    "weekly_batch": (0.035, weekly_batch),
    "compounding_growth": (0.025, compounding_growth),
    "hot_steady": (0.03, hot_steady),
    "noise_shift": (0.03, noise_shift),
    "two_level": (0.03, two_level),
    "outages": (0.025, outages),
    "late_joiner": (0.04, late_joiner),
    "late_ramp": (0.015, late_ramp),
    "linear_breach": (0.025, linear_breach),
}

#: Families that belong to one resource in real fleets (a leak is memory, a fill is disk, a batch is CPU or
#: network): drawn from those resources' series first.
RESOURCE_AFFINITY: dict[str, tuple[str, ...]] = {
    "restart_sawtooth": ("memory",),
    "fill_cleanup": ("disk",),
    "weekly_batch": ("cpu", "network"),
}
