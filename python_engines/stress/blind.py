"""The blind family set of the stress fleet: shapes of real fleets that neither the tuned set
(``stress.families``) nor the held-out set (``stress.holdout``) draws, written in session 34 after every rule of
the engine was set. The held-out set has been scored on about thirty seeds, and several rules were chosen on its
seen seeds; no setting is tuned on the blind set. Its seeds (from 2001) are read once per code version: a defect
a blind read shows may be fixed, but the fix takes no number from blind data, is checked for harm on seen
tuned and held-out seeds, and is reported only on blind seeds not read before (docs/trust_log.md, session 34).

Same contract as the other sets: each function draws the whole family's (series x days) grid over history and
horizon, unclipped, placing events by the calendar's ``rel`` (0 on history_end). A family that is a known path
plus capped AR(1) noise hands the oracle its ``NoiseLaw``; a family whose future holds events the oracle cannot
know either (the next step of a staircase, the wander of a level) hands it a ``FutureSampler`` that continues
the process from the state it is in on history_end; the families with neither stay under 95 by construction.
"""

from __future__ import annotations

import numpy as np

from python_engines.stress.families import FamilyFunction, Shape, calm
from python_engines.stress.holdout import ar1_law, grid_dates, path_plus_noise
from python_engines.stress.processes import NOISE_CAP_SD, Calendar, ar1_noise, integer, uniform, weekly


def _ar1_continue(
    draw: np.random.Generator, state: np.ndarray, phi: np.ndarray, shape: tuple[int, int, int]
) -> np.ndarray:
    """(rows, simulations, days) standardised AR(1) paths continuing from ``state`` (rows,), capped at
    ``NOISE_CAP_SD`` like ``processes.ar1_noise``. A loop over the horizon's days, each a vectorised step."""
    rows, simulations, days = shape
    out = np.empty(shape)
    current = np.repeat(state[:, None], simulations, axis=1)
    persistence = phi[:, None]
    innovation = np.sqrt(1.0 - persistence**2)
    for day in range(days):
        current = persistence * current + innovation * draw.standard_normal((rows, simulations))
        out[:, :, day] = current
    return np.clip(out, -NOISE_CAP_SD, NOISE_CAP_SD)


# ---------------------------------------------------------------------------------------------- families


def annual_peak(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """A business with one busy season a year (tax season, a fiscal year end, enrolment): a level of 35-60 and
    a bell-shaped peak of +20..+45 points (at its top), 8-25 days wide (one standard deviation), centred on the
    same day every year between 20 January and 20 May (with the default calendar, three in the history and the
    fourth in the horizon). Each year's peak is 0-10% higher than the year before. Peaks whose top nears 95
    breach, in the 90-day window when they come before April."""
    level = uniform(rng, 35, 60, n)
    height = uniform(rng, 20, 45, n)
    width = uniform(rng, 8, 25, n)
    centre = uniform(rng, 19, 139, n)  # days after 1 January
    growth = uniform(rng, 0.0, 0.10, n)
    dates = grid_dates(calendar)
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    last_year = calendar.history_end.year + 1  # the horizon's season
    bump = np.zeros((n, calendar.days))
    for year in range(int(years.min()) - 1, int(years.max()) + 2):
        start = np.datetime64(f"{year}-01-01", "D")
        distance = (dates - start).astype(float)[None, :] - centre[:, None]
        size = height * (1 + growth) ** (year - last_year)
        bump += size[:, None] * np.exp(-0.5 * (distance / width[:, None]) ** 2)
    path = level[:, None] + bump + weekly(rng, calendar, uniform(rng, 0.5, 3, n))
    return path_plus_noise(path, ar1_law(rng, n, calendar, uniform(rng, 0.8, 2.0, n)))


def staircase(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """Load that grows in steps (a tenant, a batch of users or a data feed onboarded every few months): steps
    at intervals of 0.6-1.4 times a mean of 50-150 days, each 0.6-1.4 times the series' own size, which is
    what takes its history from a start of 5-25 to 45-92 on history_end (mostly 2-9 points a step); level in
    between, with a weekly cycle and AR(1) noise of 0.6-1.5. The next step's day and size are unknown to anyone:
    the oracle simulates them (the interval already under way is at least as long as it has lasted)."""
    mean_gap = uniform(rng, 50, 150, n)
    end_level = uniform(rng, 45, 92, n)
    start_level = uniform(rng, 5, 25, n)
    days = calendar.days
    slots = int(days // 30) + 2
    gaps = rng.uniform(0.6, 1.4, (n, slots)) * mean_gap[:, None]
    first = -rng.uniform(0, 1, n) * gaps[:, 0]
    when = first[:, None] + np.cumsum(gaps, axis=1)  # step days (fractional: a step lands on the next day)
    sizes = rng.uniform(0.6, 1.4, (n, slots))
    t = calendar.t.astype(float)
    history_end = calendar.history_days - 1
    # The steps' sizes scaled so the history climbs from start_level to end_level exactly.
    step = (end_level - start_level) / (sizes * (when <= history_end)).sum(axis=1)
    sizes = step[:, None] * sizes
    path = start_level[:, None] + (sizes[:, :, None] * (when[:, :, None] <= t[None, None, :])).sum(axis=1)
    cycle = weekly(rng, calendar, uniform(rng, 0.3, 1.5, n))
    phi = uniform(rng, 0.3, 0.85, n)
    size = uniform(rng, 0.6, 1.5, n)
    noise = ar1_noise(rng, days, phi, size)
    values = path + cycle + noise
    # What history_end tells: the level, how long the current interval has lasted, the noise state.
    last = np.where(when <= history_end, when, -np.inf).max(axis=1)
    age = history_end - np.where(np.isfinite(last), last, first)
    level_now = path[:, history_end]
    state = noise[:, history_end] / size
    horizon = np.arange(1, calendar.horizon_days + 1, dtype=float)
    future_cycle = cycle[:, calendar.history_days :]

    def future(draw: np.random.Generator, rows: np.ndarray, simulations: int) -> np.ndarray:
        k, h = rows.size, calendar.horizon_days
        m = mean_gap[rows][:, None, None]
        # The interval under way: uniform on [0.6, 1.4] x mean given it is longer than its age so far.
        low = np.maximum(0.6 * mean_gap[rows], age[rows])[:, None]
        current = low + draw.random((k, simulations)) * (1.4 * mean_gap[rows][:, None] - low)
        more = int(np.ceil(h / (0.6 * 50)))  # the horizon over the shortest gap (0.6 x 50 days): steps to come
        later = draw.uniform(0.6, 1.4, (k, simulations, more)) * m
        ahead = np.concatenate([(current - age[rows][:, None])[:, :, None], later], axis=2).cumsum(axis=2)
        rises = step[rows][:, None, None] * draw.uniform(0.6, 1.4, ahead.shape)
        climbed = np.zeros((k, simulations, h))
        for j in range(ahead.shape[2]):  # one step at a time: a (series, futures, days) grid, not one per step
            climbed += rises[:, :, j, None] * (ahead[:, :, j, None] <= horizon[None, None, :])
        shocks = _ar1_continue(draw, state[rows], phi[rows], (k, simulations, h)) * size[rows][:, None, None]
        return level_now[rows][:, None, None] + climbed + future_cycle[rows][:, None, :] + shocks

    return Shape(values=values, first_index=np.zeros(n, dtype=int), future=future)


def wandering(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """A level that wanders with no trend and only a slow pull back to its mean (a cache's working set, a
    queue's backlog, a shared host's tenants coming and going): a persistent AR(1) (0.990-0.998 a day) of
    4-9 points around a mean of 55-85, plus day-to-day noise of 0.5-1.2 and a weekly cycle. Over 90 days the
    level can move 5-10 points either way, so a band that does not widen with the horizon is too narrow, and
    a series near 85 may breach. The oracle continues the wander from its state on history_end."""
    mean = uniform(rng, 55, 85, n)
    slow_phi = uniform(rng, 0.990, 0.998, n)
    slow_size = uniform(rng, 4, 9, n)
    day_size = uniform(rng, 0.5, 1.2, n)
    slow = ar1_noise(rng, calendar.days, slow_phi, slow_size)
    day = np.clip(rng.standard_normal((n, calendar.days)), -NOISE_CAP_SD, NOISE_CAP_SD) * day_size[:, None]
    cycle = weekly(rng, calendar, uniform(rng, 0.3, 2.0, n))
    values = mean[:, None] + slow + day + cycle
    state = slow[:, calendar.history_days - 1] / slow_size
    future_cycle = cycle[:, calendar.history_days :]

    def future(draw: np.random.Generator, rows: np.ndarray, simulations: int) -> np.ndarray:
        shape = (rows.size, simulations, calendar.horizon_days)
        drift = _ar1_continue(draw, state[rows], slow_phi[rows], shape) * slow_size[rows][:, None, None]
        jitter = np.clip(draw.standard_normal(shape), -NOISE_CAP_SD, NOISE_CAP_SD) * day_size[rows][:, None, None]
        return mean[rows][:, None, None] + drift + jitter + future_cycle[rows][:, None, :]

    return Shape(values=values, first_index=np.zeros(n, dtype=int), future=future)


def traffic_growth(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """User traffic growing 15-60% a year, compounding, whose weekly cycle grows with it (a multiplicative
    cycle of size 15-35% of the day's mean: most series run 6-14% over the mean midweek and 15-35% under it at
    the weekend; one in six the other way round, 15-35% over it at the weekend), so the peaks reach 95 before
    the mean does. On history_end the peak day is at 55-94 (most 55-87); AR(1) noise of 0.6-1.5 on top.
    Faster growers' peaks breach within 90 days."""
    rate = np.log1p(uniform(rng, 0.15, 0.60, n)) / 365.0
    swing = uniform(rng, 0.15, 0.35, n)
    top = 1 + swing  # the full swing over the mean: a weekend-peaking series has it, a weekday one 0.41 of it
    end_mean = uniform(rng, 65, 94, n) / top
    level = end_mean[:, None] * np.exp(rate[:, None] * calendar.rel[None, :])
    cycle = 1 + weekly(rng, calendar, swing)
    return path_plus_noise(level * cycle, ar1_law(rng, n, calendar, uniform(rng, 0.6, 1.5, n)))


def autoscaled(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """A member of an autoscaled pool: its load climbs 0.05-0.4 points a day until the pool's scale-out rule
    fires at 78-88, when new members take their share and it drops by a sixth to a third (a pool of 2-5 gaining
    one), then climbs again. Never above 88.4 plus a weekly cycle of at most 1 and capped noise (0.4-1.0):
    under 94 always. A forecast that carries
    the climb on raises a false alarm; the drops are value-triggered, not on a calendar."""
    slope = uniform(rng, 0.05, 0.4, n)
    trigger = uniform(rng, 78, 88, n)
    pool = integer(rng, 2, 5, n)
    kept = pool / (pool + 1.0)
    level = rng.uniform(0.55, 1.0, n) * trigger
    path = np.empty((n, calendar.days))
    for day in range(calendar.days):  # value-triggered resets: one vectorised step per day
        level = np.where(level >= trigger, level * kept, level + slope)
        path[:, day] = level
    size = uniform(rng, 0.4, 1.0, n)
    noise = ar1_noise(rng, calendar.days, uniform(rng, 0.3, 0.85, n), size)
    return Shape(
        values=path + weekly(rng, calendar, uniform(rng, 0.3, 1.0, n)) + noise, first_index=np.zeros(n, dtype=int)
    )


def stuck_sensor(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """A calm series (``families.calm``) whose collector froze and repeated its last reading for 14-60 days
    within the last year; for two series in five the freeze is still on at history_end (the feed looks alive
    and flat). The truth after history_end is the calm series itself (the collector is fixed). Never near
    95."""
    shape = calm(rng, n, calendar)
    values = shape.values.copy()
    length = integer(rng, 14, 60, n)
    to_end = rng.random(n) < 0.4
    last = np.where(to_end, calendar.history_days - 1, calendar.history_days - 1 - integer(rng, 1, 300, n))
    first = last - length + 1
    frozen = values[np.arange(n), first - 1]
    t = calendar.t[None, :]
    inside = (t >= first[:, None]) & (t <= last[:, None])
    values = np.where(inside, frozen[:, None], values)
    return Shape(values=values, first_index=shape.first_index)


def migrated_host(rng: np.random.Generator, n: int, calendar: Calendar) -> Shape:
    """A host that joined 45-200 days before the end as a migration target (all four series, host by host):
    it took its load over in a cut-over of 1-7 days and has run level since, each series at 20-92 with a
    weekly cycle and AR(1) noise of 0.6-1.8. Young but not growing: on its noisiest days the hottest reaches
    95-99 (the oracle knows the law)."""
    age = np.repeat(integer(rng, 45, 200, -(-n // 4)), 4)[:n]
    first_index = calendar.history_days - 1 - age
    level = uniform(rng, 20, 92, n)
    cutover = integer(rng, 1, 7, n)
    since = calendar.t[None, :] - first_index[:, None]
    taken = np.clip((since + 1) / cutover[:, None], 0.1, 1.0)
    path = level[:, None] * taken + weekly(rng, calendar, uniform(rng, 0.3, 2.0, n))
    size = np.minimum(uniform(rng, 0.6, 1.8, n), np.maximum((97 - level) / NOISE_CAP_SD, 0.6))
    return path_plus_noise(path, ar1_law(rng, n, calendar, size), first_index)


#: Family -> (share of series, generator), like ``families.FAMILIES``; migrated_host's share is of hosts (a host
#: joins with all four series). calm (``families.calm``) takes the rest.
BLIND_FAMILIES: dict[str, tuple[float, FamilyFunction]] = {
    "calm": (0.0, calm),
    "annual_peak": (0.04, annual_peak),
    "staircase": (0.04, staircase),
    "wandering": (0.035, wandering),
    "traffic_growth": (0.035, traffic_growth),
    "autoscaled": (0.04, autoscaled),
    "stuck_sensor": (0.04, stuck_sensor),
    "migrated_host": (0.03, migrated_host),
}

#: Resources a family is drawn from first: seasons and traffic are CPU and network, tenants fill memory and
#: disk, a pool scales on CPU.
BLIND_AFFINITY: dict[str, tuple[str, ...]] = {
    "annual_peak": ("cpu", "network"),
    "traffic_growth": ("cpu", "network"),
    "staircase": ("memory", "disk"),
    "autoscaled": ("cpu",),
}

#: The families whose ceilings are promised (never above this in truth, any seed).
BLIND_CEILINGS: dict[str, float] = {
    "calm": 95.0,
    "autoscaled": 95.0,
    "stuck_sensor": 95.0,
}
