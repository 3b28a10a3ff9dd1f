"""The blind family set of the stress fleet (``stress.blind``): drawn as documented, deterministic, every law
known to the oracle, and loadable through the bring-your-own path. Small fleets, numpy and polars only."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from python_engines.cli import main
from python_engines.stress import FAMILIES, StressConfig, build_stress_fleet
from python_engines.stress.blind import (
    BLIND_CEILINGS,
    BLIND_FAMILIES,
    autoscaled,
    staircase,
    stuck_sensor,
    wandering,
)
from python_engines.stress.fleet import StressFleet, draw_values
from python_engines.stress.holdout import HOLDOUT_FAMILIES
from python_engines.stress.oracle import simulated
from python_engines.stress.processes import Calendar

SEEDS = (2001, 2002)
CALENDAR = Calendar(date(2025, 12, 31), 1095, 180)
#: The families that cannot reach 95 (capped by construction): no oracle band, probability 0.
NEVER = ("calm", "autoscaled", "stuck_sensor")


@pytest.fixture(scope="module")
def fleets() -> dict[int, StressFleet]:
    return {seed: build_stress_fleet(StressConfig(hosts=200, seed=seed, family_set="blind")) for seed in SEEDS}


def _grid(family: str, seed: int, hosts: int = 12) -> tuple[np.ndarray, np.ndarray]:
    config = StressConfig(hosts=hosts, seed=seed, family_set="blind", families=(family,) * (hosts * 4))
    drawn = draw_values(config, np.array(config.families, dtype=object))
    return drawn.values, drawn.first_index


def test_blind_draws_its_own_families_only(fleets: dict[int, StressFleet]) -> None:
    others = (set(FAMILIES) | set(HOLDOUT_FAMILIES)) - {"calm"}
    for fleet in fleets.values():
        families = set(fleet.series["family"].unique())
        assert families == set(BLIND_FAMILIES) and not families & others
        assert fleet.manifest["family_set"] == "blind"
    again = build_stress_fleet(StressConfig(hosts=200, seed=SEEDS[0], family_set="blind"))
    assert again.truth.equals(fleets[SEEDS[0]].truth) and again.series.equals(fleets[SEEDS[0]].series)


@pytest.mark.parametrize("family", [f for f in BLIND_FAMILIES if f != "calm"])
def test_every_family_draws_within_0_100_and_under_its_ceiling(family: str) -> None:
    for seed in SEEDS:
        values, first_index = _grid(family, seed)
        assert np.isfinite(values).all() and values.min() >= 0 and values.max() <= 100
        assert values.max() <= BLIND_CEILINGS.get(family, 100.0), (family, seed)
        assert (first_index >= 0).all() and (first_index < 1095).all()


def test_oracle_knows_every_law_that_can_breach(fleets: dict[int, StressFleet]) -> None:
    """A band and a probability for every family that can reach 95, 0 for the capped ones; the oracle's band
    covers about 80% of the truth and its expected breach count is near the true one."""
    series = pl.concat([f.series for f in fleets.values()])
    truth = pl.concat([f.truth for f in fleets.values()])
    banded = set(truth.filter(pl.col("oracle_median").is_not_null())["family"].unique())
    assert banded == set(BLIND_FAMILIES) - set(NEVER)
    assert series["oracle_breach_probability"].null_count() == 0
    assert series.filter(pl.col("family").is_in(NEVER))["oracle_breach_probability"].max() == 0.0
    inside = pl.col("y").is_between(pl.col("oracle_lower"), pl.col("oracle_upper")).mean()
    coverage = dict(truth.filter(pl.col("oracle_median").is_not_null()).group_by("family").agg(inside).rows())
    assert all(0.7 <= c <= 0.9 for c in coverage.values()), coverage
    expected = sum(f.manifest["oracle_expected_breaches_within_90_days"] for f in fleets.values())
    true = (series["days_to_true_breach"].fill_null(999) <= 90).sum()
    assert expected > 5 and abs(expected - true) <= 3 * expected**0.5 + 3


def test_staircase_steps_and_its_sampler_continue_the_same_process() -> None:
    """The history climbs in steps from 5-25 to 45-92; the sampler's futures start from the level on
    history_end and rise only by steps (their median never falls far below it)."""
    shape = staircase(np.random.default_rng(3), 40, CALENDAR)
    assert shape.future is not None
    end = shape.values[:, 1094]
    assert end.min() > 40 and end.max() < 100
    futures = shape.future(np.random.default_rng(4), np.arange(40), 200)
    assert futures.shape == (40, 200, 180)
    median = np.median(futures, axis=1)
    assert (median[:, -1] >= median[:, 0] - 1).all() and (median[:, -1] > median[:, 0] + 1).mean() > 0.8
    assert np.abs(median[:, 0] - end).max() < 8


def test_autoscaled_pools_climb_and_drop_under_the_threshold() -> None:
    shape = autoscaled(np.random.default_rng(5), 30, CALENDAR)
    values = shape.values
    assert values.max() < 94
    drops = (np.diff(values, axis=1) < -8).sum(axis=1)
    assert (drops >= 2).all()  # every pool scaled out more than once in 3.5 years


def test_stuck_sensors_repeat_one_reading() -> None:
    shape = stuck_sensor(np.random.default_rng(6), 50, CALENDAR)
    history = shape.values[:, :1095]
    repeats = (np.diff(history, axis=1) == 0).sum(axis=1)
    assert (repeats >= 13).all()
    at_end = (np.diff(history[:, -14:], axis=1) == 0).all(axis=1)
    assert 0.2 <= at_end.mean() <= 0.6  # two in five frozen on history_end


def test_simulated_oracle_of_the_wander_is_calibrated() -> None:
    """The wandering level's sampler, scored against fresh draws of itself: its 80% band holds 80% of them."""
    shape = wandering(np.random.default_rng(8), 20, CALENDAR)
    assert shape.future is not None
    _, bands = simulated(shape.future, 20, 180, 90, 95.0, np.random.default_rng(9), simulations=400)
    fresh = np.clip(shape.future(np.random.default_rng(10), np.arange(20), 50), 0, 100)
    inside = ((fresh >= bands[0][:, None, :]) & (fresh <= bands[2][:, None, :])).mean()
    assert 0.75 <= inside <= 0.85
    assert (bands[2][:, -1] - bands[0][:, -1]).mean() > 2 * (bands[2][:, 0] - bands[0][:, 0]).mean()


def test_cli_blind_fleet_loads(tmp_path: Path) -> None:
    out, data = tmp_path / "fleet", tmp_path / "data"
    assert main(["stress-fleet", "--family-set", "blind", "--hosts", "30", "--seed", "2001", "--out", str(out)]) == 0
    assert json.loads((out / "manifest.json").read_text())["family_set"] == "blind"
    inventory, telemetry = str(out / "inventory.csv"), str(out / "telemetry.parquet")
    assert main(["load", "--inventory", inventory, "--telemetry", telemetry, "--data-dir", str(data)]) == 0
