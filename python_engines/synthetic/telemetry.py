"""Vectorised scenario generators: daily P95 utilisation for every host x resource x day.

Every host carries a behavioral DNA (scenario x variant). The scenario shapes all four resources of the
host, strongly on its ``primary_resource`` and more mildly on the others; resource "textures" (memory
that leaks and restarts, disk that fills and is cleaned up, noisy network) sit on top. Everything is
computed on ``(hosts, resources, days)`` arrays: there is no Python loop over rows or days, only over
the ten DNA groups.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from scipy.signal import lfilter

from python_engines.synthetic.fleet import RESOURCES

#: Typical P95 level per resource on a healthy host (low, high), in percent.
BASE_LEVELS: dict[str, tuple[float, float]] = {
    "cpu": (18.0, 45.0),
    "memory": (38.0, 62.0),
    "disk": (28.0, 55.0),
    "network": (5.0, 25.0),
}
#: How strongly the DNA shapes a resource that is not the host's primary one.
SECONDARY_STRENGTH = 0.35
BREACH_LEVEL = 95.0


@dataclass(frozen=True)
class Calendar:
    """Day index and calendar attributes of the generated window."""

    days: np.ndarray  # datetime64[D]
    t: np.ndarray  # 0..T-1 as float
    weekday: np.ndarray  # 0=Monday
    day_of_year: np.ndarray
    is_month_end: np.ndarray  # last two days of a month
    is_quarter_end: np.ndarray  # last five days of a quarter

    @classmethod
    def between(cls, start: date, end: date) -> Calendar:
        days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
        weekday = ((days.astype(np.int64) + 3) % 7).astype(np.int64)  # 1970-01-01 was a Thursday
        months = days.astype("datetime64[M]")
        next_month = (months + 1).astype("datetime64[D]")
        days_left = (next_month - days).astype(np.int64)
        month_number = months.astype(np.int64) % 12 + 1
        year_start = days.astype("datetime64[Y]").astype("datetime64[D]")
        return cls(
            days=days,
            t=np.arange(days.size, dtype=np.float64),
            weekday=weekday,
            day_of_year=(days - year_start).astype(np.int64),
            is_month_end=days_left <= 2,
            is_quarter_end=(days_left <= 5) & (month_number % 3 == 0),
        )


def block_key(block: int) -> tuple[int, ...]:
    """The suffix a block of hosts adds to every stream key: none for the first block (a fleet that fits one
    block draws exactly what it drew before fleets were generated in blocks), the block's number otherwise."""
    return (block,) if block else ()


def group_rng(seed: int, scenario: str, variant: str, block: int = 0) -> np.random.Generator:
    """An independent, reproducible stream per DNA group and block of hosts (stable when the catalog is
    reordered)."""
    key = zlib.crc32(f"{scenario}/{variant}".encode())
    return np.random.default_rng(np.random.SeedSequence([seed, 1, key, *block_key(block)]))


def _u(rng: np.random.Generator, low: float, high: float, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(low, high, shape)


def base_levels(rng: np.random.Generator, hosts: int) -> np.ndarray:
    """(hosts, resources) starting level per resource."""
    low = np.array([BASE_LEVELS[r][0] for r in RESOURCES])
    high = np.array([BASE_LEVELS[r][1] for r in RESOURCES])
    return low + (high - low) * rng.random((hosts, len(RESOURCES)))


def weekly_and_yearly(
    rng: np.random.Generator, cal: Calendar, shape: tuple[int, int], weekly: float, yearly: float
) -> np.ndarray:
    """Business-day rhythm plus an annual cycle with a random phase; mean roughly zero."""
    amp_w = _u(rng, 0.5, 1.0, shape)[..., None] * weekly
    amp_y = _u(rng, 0.5, 1.0, shape)[..., None] * yearly
    phase = _u(rng, 0.0, 2 * np.pi, shape)[..., None]
    business = np.where(cal.weekday < 5, 0.4, -1.0)
    annual = np.sin(2 * np.pi * cal.day_of_year / 365.25 + phase)
    return amp_w * business + amp_y * annual


AR_COEFFICIENT = 0.95


def ar1_noise(
    rng: np.random.Generator, days: int, shape: tuple[int, int], sigma: np.ndarray, extension: list[np.ndarray] = ()
) -> np.ndarray:
    """White noise plus a slowly wandering AR(1) component (a bounded random walk) over ``days`` days, then
    continued over the extension days: ``extension`` holds one (2, *shape) standard-normal draw per later day
    (white, shock), so the first ``days`` values never depend on how far the fleet was extended."""
    white = rng.standard_normal((*shape, days)) * sigma[..., None]
    shocks = rng.standard_normal((*shape, days)) * (0.35 * sigma[..., None])
    wander = lfilter([1.0], [1.0, -AR_COEFFICIENT], shocks, axis=-1)
    noise = white + wander
    if not len(extension):
        return noise
    draws = np.stack(extension, axis=-1)  # (2, *shape, extra days)
    more_white = draws[0] * sigma[..., None]
    more_shocks = draws[1] * (0.35 * sigma[..., None])
    more_wander, _ = lfilter([1.0], [1.0, -AR_COEFFICIENT], more_shocks, axis=-1, zi=AR_COEFFICIENT * wander[..., -1:])
    return np.concatenate([noise, more_white + more_wander], axis=-1)


def textures(rng: np.random.Generator, cal: Calendar, hosts: int) -> np.ndarray:
    """Resource-specific shapes: memory leaks then restarts, disk fills then gets cleaned up."""
    out = np.zeros((hosts, len(RESOURCES), cal.t.size))
    for r, (period_range, amp_range) in {
        RESOURCES.index("memory"): ((10.0, 45.0), (2.0, 8.0)),
        RESOURCES.index("disk"): ((45.0, 120.0), (4.0, 12.0)),
    }.items():
        period = _u(rng, *period_range, (hosts,))[:, None]
        amp = _u(rng, *amp_range, (hosts,))[:, None]
        offset = _u(rng, 0.0, 120.0, (hosts,))[:, None]
        out[:, r, :] = amp * (((cal.t + offset) % period) / period - 0.5)
    return out


def growth_to_breach(
    base: np.ndarray, end_level: np.ndarray, days_to_breach: np.ndarray, t: np.ndarray, last: float | None = None
) -> np.ndarray:
    """Slow organic growth, then a smooth ramp that ends at ``end_level`` heading for 95%.

    At the last day the slope is (95 - end_level) / days_to_breach, so extrapolating the recent ramp
    reaches the breach on schedule. The ramp's knee sits where the ramp must start to arrive at
    ``end_level``; a 30-day softplus rounds it so the change looks organic, not scripted. ``last`` is the day the
    story is anchored to (default the last of ``t``); days after it continue the ramp towards the breach.
    """
    last = t[-1] if last is None else last
    slope_end = (BREACH_LEVEL - end_level) / days_to_breach
    organic = np.minimum(2.0 / 365.25, slope_end / 4)
    ramp = slope_end - organic
    knee = np.maximum(last - (end_level - base - organic * last) / ramp, 0.0)
    width = 30.0
    softplus = width * np.logaddexp(0.0, (t - knee[..., None]) / width)
    return organic[..., None] * t + ramp[..., None] * softplus


def scenario_shape(
    scenario: str,
    variant: str,
    rng: np.random.Generator,
    cal: Calendar,
    base: np.ndarray,
    primary: np.ndarray,
    base_days: int | None = None,
    extension: list[np.random.Generator] = (),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The DNA's contribution (hosts, resources, days), a multiplier for noise/seasonality/texture, and the
    planted breaches: (hosts, resources) days after the last day at which the DNA's trend reaches 95% (NaN
    where the DNA plants none).

    The story is anchored to the first ``base_days`` days (default: all of ``cal``): draws sized by days use
    that count, so days after it (an extended fleet) continue the same story; their random parts (bursts)
    come from ``extension``, one generator per extra day."""
    hosts = base.shape[0]
    shape = base.shape
    t = cal.t
    base_days = t.size if base_days is None else base_days
    years = t / 365.25
    base_years = (base_days - 1) / 365.25
    strength = np.where(primary, 1.0, SECONDARY_STRENGTH)
    extreme = variant == "EXTREME"
    calm = np.ones(shape)
    none = np.full(shape, np.nan)
    if scenario == "STEADY_GROWTH":
        if extreme:
            target_end = _u(rng, 70.0, 86.0, shape)
            slope = np.where(primary, (target_end - base) / base_years, _u(rng, 2.0, 6.0, shape))
        else:
            slope = _u(rng, 3.0, 8.0, shape) * strength
        return slope[..., None] * years, calm, none
    if scenario == "SEASONAL":
        weekly, yearly = (10.0, 14.0) if extreme else (8.0, 10.0)
        contribution = weekly_and_yearly(rng, cal, shape, weekly, yearly) * strength[..., None]
        if extreme:
            spikes = _u(rng, 15.0, 25.0, shape)[..., None] * cal.is_month_end
            spikes = spikes + _u(rng, 5.0, 10.0, shape)[..., None] * cal.is_quarter_end
            contribution = contribution + spikes * strength[..., None]
        return contribution, calm, none
    if scenario == "CAPACITY_BREACH":
        end_level = _u(rng, 74.0, 86.0, shape)
        days_to_breach = _u(rng, 20.0, 75.0, shape) if extreme else _u(rng, 100.0, 170.0, shape)
        breach = growth_to_breach(base, end_level, days_to_breach, t, last=float(base_days - 1))
        steady = _u(rng, 1.0, 4.0, shape)[..., None] * years
        planted = np.where(primary, days_to_breach, np.nan)
        return np.where(primary[..., None], breach, steady), np.where(primary, 0.6, 1.0), planted
    if scenario == "BURSTY":
        rate = np.where(primary, 1 / 20, 1 / 60)[..., None]
        starts = rng.random((*shape, base_days)) < rate
        height = _u(rng, 20.0, 45.0, (*shape, base_days)) * strength[..., None]
        duration = rng.integers(1, 6, (*shape, base_days))
        if len(extension):
            later = [
                (day.random(shape), day.uniform(20.0, 45.0, shape), day.integers(1, 6, shape)) for day in extension
            ]
            starts = np.concatenate([starts, np.stack([d[0] for d in later], axis=-1) < rate], axis=-1)
            height = np.concatenate([height, np.stack([d[1] for d in later], axis=-1) * strength[..., None]], axis=-1)
            duration = np.concatenate([duration, np.stack([d[2] for d in later], axis=-1)], axis=-1)
        bursts = np.zeros((*shape, t.size))
        for lag in range(5):  # a burst lasts 1-5 days: spread each start over its duration
            spread = np.where(starts & (duration > lag), height, 0.0)
            bursts[..., lag:] = np.maximum(bursts[..., lag:], spread[..., : t.size - lag])
        return bursts - 0.4 * base[..., None], calm, none
    if scenario == "BLACK_SWAN":
        step_day = rng.integers(base_days - 365, base_days - 45, (hosts, 1))
        magnitude = _u(rng, 15.0, 35.0, shape) * np.where(rng.random((hosts, 1)) < 0.15, -0.6, 1.0)
        return (magnitude * strength)[..., None] * (t >= step_day[..., None]), calm, none
    if scenario == "IDLE":
        idle_level = _u(rng, 0.3, 4.0, shape)
        idle_level[:, RESOURCES.index("network")] = _u(rng, 0.1, 1.0, (hosts,))
        return np.broadcast_to((idle_level - base)[..., None], (*shape, t.size)).copy(), np.full(shape, 0.08), none
    if scenario == "DECLINING":
        floor = _u(rng, 5.0, 15.0, shape)
        tau = _u(rng, 300.0, 700.0, shape)[..., None]
        drop = (base - floor)[..., None] * (1 - np.exp(-t / tau))
        return -drop * np.where(primary, 1.0, 0.6)[..., None], calm, none
    raise ValueError(f"no generator for scenario {scenario}")


def extension_rngs(
    seed: int, scenario: str, variant: str, purpose: int, extra_days: int, block: int = 0
) -> list[np.random.Generator]:
    """One generator per day after the anchored window, keyed by the day's number after it: day k draws the
    same numbers however many days the fleet is extended by (extend 7 = the first 7 days of extend 14)."""
    key = zlib.crc32(f"{scenario}/{variant}".encode())
    return [
        np.random.default_rng(np.random.SeedSequence([seed, 3, key, purpose, k, *block_key(block)]))
        for k in range(1, extra_days + 1)
    ]


def generate_group(
    scenario: str,
    variant: str,
    primary_index: np.ndarray,
    cal: Calendar,
    seed: int,
    base_days: int | None = None,
    block: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Clean daily P95 values (hosts, resources, days) for the hosts of one DNA group in one block of hosts,
    and its planted breaches (hosts, resources; see :func:`scenario_shape`). With ``base_days`` below the
    calendar's length, the first ``base_days`` days are exactly those of a calendar that ends there, and the
    rest continue them."""
    rng = group_rng(seed, scenario, variant, block)
    hosts = primary_index.size
    shape = (hosts, len(RESOURCES))
    base_days = cal.t.size if base_days is None else base_days
    extra_days = cal.t.size - base_days
    primary = np.arange(len(RESOURCES))[None, :] == primary_index[:, None]
    base = base_levels(rng, hosts)
    bursts = extension_rngs(seed, scenario, variant, 0, extra_days, block)
    contribution, calm, planted = scenario_shape(scenario, variant, rng, cal, base, primary, base_days, bursts)
    season = weekly_and_yearly(rng, cal, shape, 3.0, 2.0)
    sigma = _u(rng, 0.8, 2.2, shape) * np.where(np.arange(len(RESOURCES)) == RESOURCES.index("network"), 1.5, 1.0)
    noise_rngs = extension_rngs(seed, scenario, variant, 1, extra_days, block)
    noise_days = [day.standard_normal((2, *shape)) for day in noise_rngs]
    wiggle = season + textures(rng, cal, hosts) + ar1_noise(rng, base_days, shape, sigma, noise_days)
    values = base[..., None] + contribution + calm[..., None] * wiggle
    return np.clip(values, 0.0, 100.0), planted


def generate_clean(
    hosts: pl.DataFrame, cal: Calendar, seed: int, base_days: int | None = None, block: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(hosts, resources, days) values in the row order of ``hosts``, and the planted breaches (hosts,
    resources): days after the anchored window's last day at which a CAPACITY_BREACH trend reaches 95%, NaN
    elsewhere. ``base_days``: see :func:`generate_group` (the fleet extended beyond its window). ``hosts`` is
    one block of the fleet, ``block`` its number (0: the first block, or the whole of a fleet of one block)."""
    out = np.empty((hosts.height, len(RESOURCES), cal.t.size))
    planted = np.full((hosts.height, len(RESOURCES)), np.nan)
    primary_index = (
        hosts["primary_resource"]
        .replace_strict({r: i for i, r in enumerate(RESOURCES)}, return_dtype=pl.Int64)
        .to_numpy()
    )
    groups = hosts.with_row_index("row").group_by("scenario", "variant", maintain_order=True).agg("row")
    for scenario, variant, rows in groups.iter_rows():
        index = np.asarray(rows, dtype=np.int64)
        out[index], planted[index] = generate_group(
            scenario, variant, primary_index[index], cal, seed, base_days, block
        )
    return np.round(out, 2), planted
