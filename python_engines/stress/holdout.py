"""The held-out families: shapes of real bank fleets that no part of HorizonScale was tuned on.

The tuned families (``stress.families``) were in view while the engine was tuned, so a good score on a fresh
seed of them says the figures hold on new draws of known shapes, not on new shapes. These were written in
session 29 from what production fleets do (month-end closes, heavy-tailed traffic, year-end freezes, resizes,
decommissions, collectors in other time zones), without reading the forecasting engine, and are meant to be
scored once per seed and reported as they come out, never tuned against.

Same contract as ``stress.families``: each function draws the whole family's (series x days) grid over history
and horizon, unclipped, with the calendar's ``rel`` (0 on history_end) placing events. Where a family is a
known path plus capped AR(1) noise it hands the oracle its ``NoiseLaw`` (exact band and probability); where the
noise is not Gaussian AR(1) (heavy_tail) it hands a ``FutureSampler`` and the oracle simulates; the families
without either stay under 95 by construction (their oracle probability is 0, their band null).
"""

from __future__ import annotations

import numpy as np

from python_engines.stress.families import FamilyFunction, NoiseLaw, Shape, calm
from python_engines.stress.processes import Calendar, ar1_noise, integer, uniform, weekly, yearly

#: Offsets (minutes east of UTC) of the collectors that write local midnight: -08:00 (US Pacific) to +09:00
#: (Tokyo), including India's +05:30; never 0 (that is a UTC export).
UTC_OFFSETS_MINUTES = np.array([-480, -420, -360, -300, -240, -180, 60, 120, 180, 240, 330, 480, 540])


# ---------------------------------------------------------------------------------------------- calendar


def grid_dates(calendar: Calendar) -> np.ndarray:
    """datetime64[D] of every grid day (history and horizon)."""
    return np.datetime64(calendar.history_start.isoformat(), "D") + calendar.t


def business_days_left(calendar: Calendar) -> np.ndarray:
    """(days,) for a business day (Monday-Friday): how many business days of its month remain, itself
    included (1 on the month's last business day); 0 on weekends. Holidays are ignored."""
    days = calendar.days
    dates = grid_dates(calendar)
    extended = np.arange(days + 31)  # the grid's last month may end after the horizon
    business = (calendar.history_start.weekday() + extended) % 7 < 5
    count = np.cumsum(business)
    month_end = (dates.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    month_end_index = (month_end - dates[0]).astype(int)
    left = count[month_end_index] - count[:days] + business[:days]
    return np.where(business[:days], left, 0)


def is_quarter_end_month(calendar: Calendar) -> np.ndarray:
    """(days,) True in March, June, September and December."""
    month = grid_dates(calendar).astype("datetime64[M]").astype(int) % 12 + 1
    return month % 3 == 0


def days_from_new_year(calendar: Calendar) -> np.ndarray:
    """(days,) in December: the day of month minus 31 (0 on 31 December, -1 on the 30th); in January: the day of
    month (1 on 1 January); elsewhere a large number (no holiday nearby)."""
    dates = grid_dates(calendar)
    month = dates.astype("datetime64[M]").astype(int) % 12 + 1
    day_of_month = (dates - dates.astype("datetime64[M]").astype("datetime64[D]")).astype(int) + 1
    return np.where(month == 12, day_of_month - 31, np.where(month == 1, day_of_month, 10_000))


# ---------------------------------------------------------------------------------------------- families


def path_plus_noise(path: np.ndarray, noise: NoiseLaw, first_index: np.ndarray | None = None) -> Shape:
    start = np.zeros(path.shape[0], dtype=int) if first_index is None else first_index
    return Shape(values=path + noise.values, first_index=start, noise=noise)


def ar1_law(rng: np.random.Generator, n: int, calendar: Calendar, size: np.ndarray) -> NoiseLaw:
    phi = uniform(rng, 0.3, 0.85, n)
    return NoiseLaw(phi=phi, sd=size, values=ar1_noise(rng, calendar.days, phi, size))


def month_end_batch(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """A base of 40-80 (on history_end), flat or drifting by at most 0.006 points a day, that closes the books
    on the last 1-3 business days of every month (+8..+18 points) and harder at quarter end (a further
    +4..+12, so +12..+30). Where base plus the quarter-end peak nears 95, the March close (days 86-90 of the
    horizon) or a month-end breaches; most peaks stay under."""
    base = uniform(rng, 40, 80, n)
    drift = uniform(rng, -0.004, 0.006, n)
    close_days = integer(rng, 1, 3, n)
    month_peak = uniform(rng, 8, 18, n)
    quarter_peak = month_peak + uniform(rng, 4, 12, n)
    left = business_days_left(calendar)[None, :]
    closing = (left >= 1) & (left <= close_days[:, None])
    peak = np.where(is_quarter_end_month(calendar)[None, :], quarter_peak[:, None], month_peak[:, None])
    path = (
        base[:, None]
        + drift[:, None] * calendar.rel[None, :]
        + weekly(rng, calendar, uniform(rng, 0.5, 2.5, n))
        + np.where(closing, peak, 0.0)
    )
    return path_plus_noise(path, ar1_law(rng, n, calendar, uniform(rng, 1.0, 2.5, n)))


def heavy_tail(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """A level of 60-85 with a small weekly cycle, day-to-day noise from a Student t with 2.5-4 degrees of
    freedom (scale 0.8-2 points: mostly quiet, now and then a day far out) and single-day spikes of +6..+22
    points on 1-3% of days. Neither the noise nor the spikes are capped: some series go over 95 within 90
    days, a few far over. The oracle simulates the known law (the days are independent given the path)."""
    level = uniform(rng, 60, 85, n)
    path = level[:, None] + weekly(rng, calendar, uniform(rng, 0.3, 2.0, n))
    df = uniform(rng, 2.5, 4.0, n)
    scale = uniform(rng, 0.8, 2.0, n)
    spike_rate = uniform(rng, 0.01, 0.03, n)

    def disturbance(draw: np.random.Generator, rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """t noise plus spikes for the series ``rows``; ``shape`` ends with the days, one leading axis per row."""
        extra = (1,) * (len(shape) - 1)
        noise = draw.standard_t(df[rows].reshape(-1, *extra), shape) * scale[rows].reshape(-1, *extra)
        spiking = draw.random(shape) < spike_rate[rows].reshape(-1, *extra)
        return noise + spiking * draw.uniform(6, 22, shape)

    values = path + disturbance(rng, np.arange(n), (n, calendar.days))
    horizon = path[:, calendar.history_days :]

    def future(draw: np.random.Generator, rows: np.ndarray, simulations: int) -> np.ndarray:
        shape = (rows.size, simulations, calendar.horizon_days)
        return horizon[rows, None, :] + disturbance(draw, rows, shape)

    return Shape(values=values, first_index=np.zeros(n, dtype=int), future=future)


def holiday_dip(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """A calm series (level 15-65, slight drift, weekly cycle, small annual swell, AR(1) noise 1-2.5) whose
    business stops over the year end: from the last 7-12 days of December to the first 1-4 of January it runs
    15-40% lower, then recovers linearly over 7-20 days. With the history ending on 31 December, the history
    ends inside the dip and the horizon starts with the recovery. Never above 90."""
    level = uniform(rng, 15, 65, n)
    drift = level * uniform(rng, -0.0002, 0.0003, n)
    weekly_size = np.minimum(uniform(rng, 0.5, 5, n), 0.3 * level)
    yearly_size = np.minimum(uniform(rng, 0, 3, n), 0.2 * level)
    depth = uniform(rng, 0.15, 0.40, n)
    december_days = integer(rng, 7, 12, n)
    january_days = integer(rng, 1, 4, n)
    recovery = integer(rng, 7, 20, n)
    k = days_from_new_year(calendar)[None, :]
    down = (k > -december_days[:, None]) & (k <= january_days[:, None])
    recovering = np.clip(1 - (k - january_days[:, None]) / recovery[:, None], 0, 1)
    profile = np.where(down, 1.0, np.where(k > january_days[:, None], recovering, 0.0))
    business = (
        level[:, None]
        + drift[:, None] * calendar.rel[None, :]
        + weekly(rng, calendar, weekly_size)
        + yearly(rng, calendar, yearly_size)
    )
    path = business * (1 - depth[:, None] * profile)
    noise_size = np.minimum(uniform(rng, 1, 2.5, n), np.maximum(0.3 * level, 0.5))
    return path_plus_noise(path, ar1_law(rng, n, calendar, noise_size))


def ramp_plateau(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """Flat at 25-55, then a straight ramp that began 20-70 days before the end and levels off 10-80 days after
    it at a plateau of 75-99 (a migration filling a new host, a product launch settling). Plateaus from about
    93 up breach within 90 days; most stop short, and a forecaster that carries the ramp on raises a false
    alarm."""
    start = uniform(rng, 25, 55, n)
    began = integer(rng, 20, 70, n)
    levels_off = integer(rng, 10, 80, n)
    plateau = uniform(rng, 75, 99, n)
    length = began + levels_off
    progress = np.clip((calendar.rel[None, :] + began[:, None]) / length[:, None], 0, 1)
    path = start[:, None] + (plateau - start)[:, None] * progress + weekly(rng, calendar, uniform(rng, 0.3, 1.5, n))
    return path_plus_noise(path, ar1_law(rng, n, calendar, uniform(rng, 0.6, 1.5, n)))


def young_ramp(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """A host that joined 90-240 days before the end (all four series, host by host), loaded steadily since:
    each series climbs in a straight line from 5-30 on its first day. The day its trend comes within a noise
    margin of 95 is drawn: half within 10-85 days of the end (they breach within 90, or just after), half
    100-400 days out. Less than a year of history: no annual cycle to learn, a short trend to trust."""
    age = np.repeat(integer(rng, 90, 240, -(-n // 4)), 4)[:n]
    first_index = calendar.history_days - 1 - age
    start = uniform(rng, 5, 30, n)
    crossing = np.where(rng.random(n) < 0.5, uniform(rng, 10, 85, n), uniform(rng, 100, 400, n))
    weekly_size = uniform(rng, 0.3, 1.5, n)
    noise_size = uniform(rng, 0.5, 1.2, n)
    slope = (95 - weekly_size - 2 * noise_size - start) / (crossing + age)
    since_join = np.maximum(calendar.t[None, :] - first_index[:, None], 0)
    path = start[:, None] + slope[:, None] * since_join + weekly(rng, calendar, weekly_size)
    return path_plus_noise(path, ar1_law(rng, n, calendar, noise_size), first_index)


def resized(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """A VM resized 30-300 days before the end: capacity doubled (utilisation, its weekly cycle and its noise
    all halve) or halved (all double). Before: a level of 20-80 (to be halved) or 10-36 (to be doubled), so the
    new level stays under 95 with its doubled cycle and noise; except one doubled series in five, which starts
    at 44-49 and lands at 88-98 (a host cut too small), and may breach."""
    halves = rng.random(n) < 0.5
    too_small = ~halves & (rng.random(n) < 0.2)
    level = np.where(
        halves, uniform(rng, 20, 80, n), np.where(too_small, uniform(rng, 44, 49, n), uniform(rng, 10, 36, n))
    )
    factor = np.where(halves, 0.5, 2.0)
    after = calendar.rel[None, :] >= -integer(rng, 30, 300, n)[:, None]
    scale = np.where(after, factor[:, None], 1.0)
    new_level = np.minimum(level * factor, 98.0)
    level_grid = np.where(after, new_level[:, None], level[:, None])
    cycle = weekly(rng, calendar, uniform(rng, 0.5, 2.0, n)) * scale
    size = uniform(rng, 0.5, 1.25, n)
    phi = uniform(rng, 0.3, 0.85, n)
    noise = ar1_noise(rng, calendar.days, phi, size[:, None] * scale)
    law = NoiseLaw(phi=phi, sd=size * factor, values=noise)  # the size after the resize: the horizon's
    return path_plus_noise(level_grid + cycle, law)


def decommission(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """A host being emptied: from a level of 20-70 its load (and weekly cycle) drains linearly over 30-120 days
    to a floor of 0.5-3 (agents and backups still run), the drain starting 0-60 days before the end and still
    going on history_end. Residual noise 0.3-1 point. Never near 95."""
    level = uniform(rng, 20, 70, n)
    floor = uniform(rng, 0.5, 3, n)
    duration = integer(rng, 30, 120, n)
    began = np.floor(rng.uniform(0, np.minimum(60, duration - 15) + 1)).astype(int)
    remaining = np.clip(1 - (calendar.rel[None, :] + began[:, None]) / duration[:, None], 0, 1)
    business = level[:, None] + weekly(rng, calendar, uniform(rng, 0.5, 3, n))
    path = floor[:, None] + (business - floor[:, None]) * remaining
    return path_plus_noise(path, ar1_law(rng, n, calendar, uniform(rng, 0.3, 1.0, n)))


def timezone_shift(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """A calm series (as ``families.calm``) whose collector stamps each day at local midnight with its UTC
    offset (-08:00..+09:00, e.g. ``2025-06-01T00:00:00+05:30``). The load path files a row under its UTC day,
    so east of UTC every day lands on the day before: the weekly cycle and the last day move by one. The
    truth stays on the local days. Never near 95."""
    shape = calm(rng, n, calendar)
    offsets = rng.choice(UTC_OFFSETS_MINUTES, n)
    return Shape(values=shape.values, first_index=shape.first_index, utc_offset_minutes=offsets)


#: Family -> (share of series, generator), like ``families.FAMILIES``; young_ramp's share is of hosts (a host
#: joins with all four series). calm (``families.calm``) takes the rest.
HOLDOUT_FAMILIES: dict[str, tuple[float, FamilyFunction]] = {
    "calm": (0.0, calm),
    "month_end_batch": (0.04, month_end_batch),
    "heavy_tail": (0.035, heavy_tail),
    "holiday_dip": (0.04, holiday_dip),
    "ramp_plateau": (0.035, ramp_plateau),
    "young_ramp": (0.03, young_ramp),
    "resized": (0.04, resized),
    "decommission": (0.03, decommission),
    "timezone_shift": (0.04, timezone_shift),
}

#: Resources a family is drawn from first: a close is batch CPU and network, a resize changes cores and RAM.
HOLDOUT_AFFINITY: dict[str, tuple[str, ...]] = {
    "month_end_batch": ("cpu", "network"),
    "resized": ("cpu", "memory"),
}

#: The families whose ceilings are promised (never above this in truth, any seed).
HOLDOUT_CEILINGS: dict[str, float] = {
    "calm": 95.0,
    "holiday_dip": 90.0,
    "decommission": 95.0,
    "timezone_shift": 95.0,
}
