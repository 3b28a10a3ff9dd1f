"""The oracle's breach probability: how likely a series was to breach, for a forecaster that knew everything
but the future's noise.

The truth a breach alert is scored on is one draw. A linear ramp whose trend meets 95 on day 95 may be pushed
over on day 88 by a busy week, or not; no forecaster can know which. So a figure like "precision 0.88 on seed
62" mixes two things: how well the forecast knew the series, and how the dice fell. The oracle separates them.
For every series that is a known path plus AR(1) noise (``families.NoiseLaw``: the families that can breach),
it knows the path over the horizon, the noise's persistence and size, and the state the noise is in on
history_end, and simulates the rest: P(the series exceeds the threshold on some day 1..window). A family whose
noise is not AR(1) but whose law the generator still knows (the held-out heavy_tail) hands over a sampler of
its futures instead (:func:`simulated`: probability and band from simulated continuations). Every other
family stays under the threshold by construction (capped noise, bounded levels), so its probability is 0.

An alert that flags P >= 0.5 (the oracle alert in ``bench.trust``) is the best any forecaster could do on
that fleet with equal costs for a false alarm and a miss; its misses and false alarms are the dice.

The same knowledge gives the oracle's band (:func:`band`): each horizon day's 10% and 90% quantiles of the
series given everything but the future noise. It is the yardstick for band coverage: where the series is at
least 10% likely to sit at the ceiling of 100, the ideal band's upper bound is 100 and a truth pinned there is
inside it (at least 90% likely: the band is [100, 100]), so a family of ramps that sit at 100 for most of the
horizon has an ideal coverage well above 0.80 over all days.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from python_engines.stress.families import FutureSampler, NoiseLaw
from python_engines.stress.processes import NOISE_CAP_SD

#: Simulated futures per series: the probability's standard error is at most 0.5 / sqrt(SIMULATIONS) = 0.008.
SIMULATIONS = 4000
#: Simulated futures per series for a family whose whole law is only simulated (:func:`simulated`): the
#: probability's standard error is at most 0.016, a 10% quantile's about 0.08 of the noise's spread.
SIMULATED_FUTURES = 1000
#: Simulated values held at once (rows x futures x days), about 32 MB of float64 per array.
_CHUNK_CELLS = 4_000_000


def breach_probability(
    values: np.ndarray,
    noise: NoiseLaw,
    history_days: int,
    window: int,
    threshold: float,
    rng: np.random.Generator,
    simulations: int = SIMULATIONS,
) -> np.ndarray:
    """Per series (rows of ``values``, the unclipped path plus noise over history and horizon): the probability
    of exceeding ``threshold`` on some horizon day 1..window, given the path and the noise state on the last
    history day. Series that cannot reach it even with the noise at its cap get exactly 0, unsimulated."""
    path = values - noise.values
    future = path[:, history_days : history_days + window]
    reachable = np.flatnonzero(future.max(axis=1) + NOISE_CAP_SD * noise.sd > threshold)
    probability = np.zeros(values.shape[0])
    if reachable.size == 0:
        return probability
    phi = noise.phi[reachable, None]
    sd = noise.sd[reachable, None]
    innovation = np.sqrt(1.0 - phi**2)
    # The standardised AR(1) state on history_end, then the same recursion the generator ran.
    state = np.repeat(noise.values[reachable, history_days - 1 : history_days] / sd, simulations, axis=1)
    crossed = np.zeros((reachable.size, simulations), dtype=bool)
    for day in range(future.shape[1]):
        state = phi * state + innovation * rng.standard_normal(state.shape)
        level = future[reachable, day : day + 1] + sd * np.clip(state, -NOISE_CAP_SD, NOISE_CAP_SD)
        crossed |= level > threshold
    probability[reachable] = crossed.mean(axis=1)
    return probability


def band(
    values: np.ndarray,
    noise: NoiseLaw,
    history_days: int,
    coverage: float = 0.8,
    floor: float = 0.0,
    ceiling: float = 100.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per series and horizon day (columns from ``history_days`` on): the oracle's (lower, median, upper) for a
    central ``coverage`` band, exact rather than simulated. Given the noise state s on the last history day,
    the standardised AR(1) state h days later is normal with mean phi^h s and variance 1 - phi^(2h); the value
    is the path plus the capped state times the size, clipped to [floor, ceiling] like the generator's output.
    Capping and clipping are monotone, so they carry the state's quantiles over to the value's."""
    path = values - noise.values
    future = path[:, history_days:]
    ahead = np.arange(1, future.shape[1] + 1)[None, :]
    phi, sd = noise.phi[:, None], noise.sd[:, None]
    mean = phi**ahead * (noise.values[:, history_days - 1 : history_days] / sd)
    spread = np.sqrt(1.0 - phi ** (2 * ahead))
    z = NormalDist().inv_cdf(0.5 + coverage / 2)

    def quantile(standard: float) -> np.ndarray:
        state = np.clip(mean + standard * spread, -NOISE_CAP_SD, NOISE_CAP_SD)
        return np.clip(future + sd * state, floor, ceiling)

    return quantile(-z), quantile(0.0), quantile(z)


def simulated(
    future: FutureSampler,
    count: int,
    horizon_days: int,
    window: int,
    threshold: float,
    rng: np.random.Generator,
    coverage: float = 0.8,
    simulations: int = SIMULATED_FUTURES,
) -> tuple[np.ndarray, np.ndarray]:
    """The oracle for a family whose future it can draw but not write down (``Shape.future``: heavy-tailed
    noise, random spikes): ``simulations`` continuations of each of the ``count`` series, clipped to [0, 100]
    like the generator's output. Returns the probability of exceeding ``threshold`` on some day 1..window
    (count,) and the (3, count, horizon_days) central ``coverage`` band (lower, median, upper) as the futures'
    quantiles. Series go a chunk at a time so memory stays bounded."""
    probability = np.empty(count)
    bands = np.empty((3, count, horizon_days))
    quantiles = [0.5 - coverage / 2, 0.5, 0.5 + coverage / 2]
    per_chunk = max(1, _CHUNK_CELLS // (simulations * horizon_days))
    for start in range(0, count, per_chunk):
        rows = np.arange(start, min(count, start + per_chunk))
        futures = np.clip(future(rng, rows, simulations), 0.0, 100.0)
        probability[rows] = (futures[:, :, :window] > threshold).any(axis=2).mean(axis=1)
        bands[:, rows] = np.quantile(futures, quantiles, axis=1)
    return probability, bands
