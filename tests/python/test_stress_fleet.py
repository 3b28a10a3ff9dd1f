"""The stress fleet generator: deterministic files, every family, truth that keeps its promises, dirt the
refinery can read. Fast: no dbt (the end-to-end load and build of a stress fleet is tested elsewhere)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from statistics import NormalDist

import numpy as np
import polars as pl
import pytest
from support import PROJECT_ROOT

from python_engines.cli import main
from python_engines.stress import FAMILIES, StressConfig, StressInputError, build_stress_fleet, generate_stress_fleet
from python_engines.stress.families import NoiseLaw
from python_engines.stress.fleet import StressFleet
from python_engines.stress.oracle import band, breach_probability
from python_engines.stress.processes import NOISE_CAP_SD

FILES = ("inventory.csv", "telemetry.parquet", "truth.parquet", "series.parquet", "manifest.json")
CEILING_FAMILIES = ("hot_steady", "saturating", "level_shift_up", "level_shift_down")


@pytest.fixture(scope="module")
def fleet400() -> StressFleet:
    return build_stress_fleet(StressConfig(hosts=400, seed=11))


def _aliases() -> pl.DataFrame:
    return pl.read_csv(PROJECT_ROOT / "seeds" / "resource_aliases.csv")


def _normalised(telemetry: pl.DataFrame) -> pl.DataFrame:
    """Telemetry as the refinery reads it: lower-cased ids, resources through the alias seed, UTC day."""
    return (
        telemetry.with_columns(
            pl.col("host_id").str.strip_chars().str.to_lowercase(),
            pl.col("resource").str.strip_chars().str.to_lowercase().alias("alias"),
            pl.col("ts").str.slice(0, 10).str.to_date().alias("ds"),
        )
        .drop("resource")
        .join(_aliases(), on="alias", how="left")
    )


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    config = StressConfig(hosts=24, seed=5)
    generate_stress_fleet(config, tmp_path / "a")
    generate_stress_fleet(config, tmp_path / "b")
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_different_seeds_differ() -> None:
    first, second = (build_stress_fleet(StressConfig(hosts=24, seed=seed)) for seed in (5, 6))
    assert first.inventory["host_id"][0] == "sf5-0001" and second.inventory["host_id"][0] == "sf6-0001"
    assert first.series["family"].to_list() != second.series["family"].to_list()
    assert first.inventory["app_code"].to_list() != second.inventory["app_code"].to_list()
    assert not first.truth["y"].equals(second.truth["y"])


def test_every_family_present_at_400_hosts(fleet400: StressFleet) -> None:
    counts = fleet400.series["family"].value_counts()
    assert set(counts["family"]) == set(FAMILIES)
    assert fleet400.manifest["family_counts"] == dict(zip(counts["family"], counts["count"], strict=True))
    assert counts.filter(pl.col("family") == "calm")["count"][0] > 0.5 * fleet400.series.height
    # late joiners come as whole hosts and start 200-500 days before the end
    joiners = fleet400.series.filter(pl.col("family") == "late_joiner")
    assert joiners.group_by("host_id").len()["len"].unique().to_list() == [4]
    days_before_end = (date(2025, 12, 31) - joiners["first_day"]).dt.total_days()
    assert days_before_end.min() >= 200 and days_before_end.max() <= 500


def test_truth_is_continuous(fleet400: StressFleet) -> None:
    truth = fleet400.truth
    per_series = truth.group_by("host_id", "resource").agg(
        pl.len(), pl.col("ds").min().alias("first"), pl.col("ds").max().alias("last"), pl.col("ds").n_unique()
    )
    assert per_series.height == fleet400.series.height == 1600
    assert per_series["len"].unique().to_list() == [180]
    assert per_series["ds"].unique().to_list() == [180]
    assert per_series["first"].unique().to_list() == [date(2026, 1, 1)]
    assert per_series["last"].unique().to_list() == [date(2026, 1, 1) + timedelta(days=179)]
    assert truth["y"].null_count() == 0 and truth["y"].dtype == pl.Float64
    assert truth["y"].min() >= 0 and truth["y"].max() <= 100


def test_families_keep_their_promises_in_truth(fleet400: StressFleet) -> None:
    peaks = fleet400.truth.group_by("family").agg(pl.col("y").max())
    peak = dict(zip(peaks["family"], peaks["y"], strict=True))
    for family in CEILING_FAMILIES:
        assert peak[family] <= 95, family
    ramps = fleet400.series.filter(pl.col("family") == "late_ramp")
    assert ramps.height > 0 and ramps["days_to_true_breach"].max() <= 90
    assert ramps["days_to_true_breach"].null_count() == 0


def test_breach_columns_agree_with_truth(fleet400: StressFleet) -> None:
    first_above = (
        fleet400.truth.filter(pl.col("y") > 95).group_by("host_id", "resource").agg(pl.col("ds").min().alias("first"))
    )
    joined = fleet400.series.join(first_above, on=["host_id", "resource"], how="left")
    assert joined.filter(pl.col("first").ne_missing(pl.col("true_breach_date"))).height == 0
    expected_days = (pl.col("true_breach_date") - pl.lit(date(2025, 12, 31))).dt.total_days()
    assert joined.filter(expected_days.ne_missing(pl.col("days_to_true_breach"))).height == 0


def test_true_breach_share_is_realistic(fleet400: StressFleet) -> None:
    within_90 = fleet400.series.filter(pl.col("days_to_true_breach") <= 90).height
    assert within_90 == fleet400.manifest["true_breaches_within_90_days"]
    assert 0.02 <= within_90 / fleet400.series.height <= 0.07


def test_history_values_in_range_except_the_planted_impossible_ones(fleet400: StressFleet) -> None:
    telemetry = fleet400.telemetry
    outside = telemetry.filter((pl.col("value") < 0) | (pl.col("value") > 100)).height
    dirt = fleet400.manifest["dirt"]
    assert outside == dirt["impossible_value_rows"] > 0
    rejected = dirt["expected_out_of_range"] + dirt["expected_duplicate_sample"]
    assert rejected / telemetry.height < 0.02


def test_telemetry_reads_back_onto_inventory_and_series(fleet400: StressFleet) -> None:
    telemetry = _normalised(fleet400.telemetry)
    assert telemetry["resource"].null_count() == 0  # every spelling is in the alias seed
    assert set(telemetry["host_id"]) == set(fleet400.inventory["host_id"])
    assert telemetry["ds"].max() == date(2025, 12, 31) and telemetry["ds"].min() == date(2023, 1, 2)
    assert (fleet400.telemetry["host_id"] != telemetry["host_id"]).sum() > 0  # upper case was planted
    first_seen = telemetry.group_by("host_id", "resource").agg(pl.col("ds").min().alias("seen"))
    joined = fleet400.series.join(first_seen, on=["host_id", "resource"])
    assert joined.height == fleet400.series.height
    assert (joined["seen"] == joined["first_day"]).all()
    # re-sent rows: the same series and day delivered twice, with another value
    repeats = telemetry.group_by("host_id", "resource", "ds").agg(pl.len(), pl.col("value").n_unique().alias("v"))
    assert repeats.filter(pl.col("len") > 1).height == fleet400.manifest["dirt"]["resent_duplicate_rows"]
    assert repeats.filter((pl.col("len") > 1) & (pl.col("v") == 1)).height == 0


def test_every_series_reports_on_history_end(fleet400: StressFleet) -> None:
    """bench.trust scores the golden alert (counted from the warehouse's history_end, which the refinery derives
    as the last day most series report) against a truth counted from the generator's: outages, collector
    outages, missing days and late joiners must leave every series a row on the generator's last day."""
    telemetry = _normalised(fleet400.telemetry)
    last = telemetry.filter(pl.col("ds") == date(2025, 12, 31)).select("host_id", "resource").unique()
    assert last.height == fleet400.series.height


def test_outage_series_have_multi_week_gaps(fleet400: StressFleet) -> None:
    telemetry = _normalised(fleet400.telemetry).unique(["host_id", "resource", "ds"])
    days = telemetry.group_by("host_id", "resource").len()
    families = fleet400.series.join(days, on=["host_id", "resource"])
    missing = (
        families.with_columns((1095 - pl.col("len")).alias("missing")).group_by("family").agg(pl.col("missing").min())
    )
    assert dict(zip(missing["family"], missing["missing"], strict=True))["outages"] >= 28


def test_cli_writes_the_files_and_rejects_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fleet"
    assert main(["stress-fleet", "--hosts", "6", "--seed", "2", "--out", str(out), "--horizon-days", "120"]) == 0
    assert all((out / name).is_file() for name in FILES)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["horizon_days"] == 120 and manifest["breach_threshold"] == 95
    assert pl.read_parquet(out / "truth.parquet").height == 6 * 4 * 120
    assert main(["stress-fleet", "--hosts", "0", "--out", str(tmp_path / "bad")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == ["horizonscale: error: --hosts must be between 1 and 9999, got 0"]


def test_chosen_families_land_where_asked_and_keep_their_promises() -> None:
    families = ("late_ramp", "calm", "calm", "calm", "calm", "saturating", "calm", "calm", *("late_joiner",) * 4)
    fleet = build_stress_fleet(StressConfig(hosts=3, seed=5, families=families))
    assert fleet.series["family"].to_list() == list(families)
    assert fleet.series["host_id"].to_list()[:5] == ["sf5-0001"] * 4 + ["sf5-0002"]
    assert fleet.series["resource"].to_list()[:5] == ["cpu", "memory", "disk", "network", "cpu"]
    assert fleet.manifest["family_counts"] == {name: families.count(name) for name in FAMILIES}
    assert fleet.series.filter(pl.col("family") == "late_ramp")["days_to_true_breach"].item() <= 90
    joined = fleet.series.filter(pl.col("family") == "late_joiner")["first_day"]
    assert joined.n_unique() == 1 and joined[0] > date(2023, 1, 2)
    # the same seed and choice give the same fleet; the default draw is untouched by the option
    again = build_stress_fleet(StressConfig(hosts=3, seed=5, families=families))
    assert again.truth.equals(fleet.truth) and again.telemetry.equals(fleet.telemetry)
    drawn = build_stress_fleet(StressConfig(hosts=3, seed=5))
    assert drawn.series["family"].to_list() != list(families)


@pytest.mark.parametrize(
    ("families", "message"),
    [
        (("calm",) * 7, "families must name one family per series, 8 for 2 hosts x 4 resources"),
        (("calm",) * 7 + ("late_rampp",), "unknown families late_rampp: use calm, level_shift_up"),
        (
            ("calm",) * 4 + ("late_joiner",) * 3 + ("calm",),
            "late_joiner is a whole host: give all four series of host 2",
        ),
    ],
)
def test_a_bad_family_choice_is_a_clear_error(families: tuple[str, ...], message: str) -> None:
    with pytest.raises(StressInputError, match=message):
        build_stress_fleet(StressConfig(hosts=2, seed=1, families=families))


def test_oracle_probability_is_the_normal_tail_for_white_noise() -> None:
    """With no persistence and a one-day window the simulated probability is 1 - Phi((threshold - path) / sd);
    over five days of independent draws, 1 - Phi^5. A path that cannot reach the threshold even at the noise
    cap gets exactly 0."""
    days, history = 20, 10
    path = np.array([[94.0] * days, [93.0] * days, [80.0] * days])
    law = NoiseLaw(phi=np.zeros(3), sd=np.ones(3), values=np.zeros((3, days)))
    one_day = breach_probability(path, law, history, 1, 95.0, np.random.default_rng(0), simulations=20000)
    assert one_day[0] == pytest.approx(1 - NormalDist().cdf(1.0), abs=0.01)
    assert one_day[1] == pytest.approx(1 - NormalDist().cdf(2.0), abs=0.005)
    assert one_day[2] == 0.0
    five_days = breach_probability(path, law, history, 5, 95.0, np.random.default_rng(0), simulations=20000)
    assert five_days[0] == pytest.approx(1 - NormalDist().cdf(1.0) ** 5, abs=0.01)


def test_oracle_knows_the_noise_state_on_history_end() -> None:
    """Persistent noise that ends the history high makes a near-threshold path likelier to cross tomorrow."""
    days, history = 20, 10
    path = np.full((2, days), 93.0)
    noise = np.zeros((2, days))
    noise[0, history - 1], noise[1, history - 1] = 1.5, -1.5
    law = NoiseLaw(phi=np.full(2, 0.9), sd=np.ones(2), values=noise)
    high, low = breach_probability(path + noise, law, history, 1, 95.0, np.random.default_rng(0), simulations=20000)
    # tomorrow's noise is 0.9 x 1.5 = 1.35 (or -1.35) plus an innovation of size sqrt(1 - 0.81)
    assert high == pytest.approx(1 - NormalDist(1.35, 0.19**0.5).cdf(2.0), abs=0.01)
    assert low < 1e-3


def test_oracle_band_is_the_quantiles_of_simulated_futures() -> None:
    """The exact band against 40,000 futures run through the AR(1) recursion from the last history day's state:
    the 10/50/90% quantiles agree on day 1 (where the known state narrows the band), day 5 and day 60 (where it
    has the noise's full size), and the band is clipped where the series saturates."""
    days, history, phi, sd = 70, 10, 0.8, 2.0
    path = np.full((1, days), 50.0)
    noise = np.zeros((1, days))
    noise[0, history - 1] = 1.5 * sd
    law = NoiseLaw(phi=np.array([phi]), sd=np.array([sd]), values=noise)
    lower, median, upper = band(path + noise, law, history)

    rng = np.random.default_rng(0)
    state, futures = np.full(40000, 1.5), []
    for _ in range(days - history):
        state = phi * state + np.sqrt(1 - phi**2) * rng.standard_normal(state.size)
        futures.append(50.0 + sd * state)
    for day in (1, 5, 60):
        simulated = np.quantile(futures[day - 1], [0.1, 0.5, 0.9])
        assert [lower[0, day - 1], median[0, day - 1], upper[0, day - 1]] == pytest.approx(simulated, abs=0.05)
    assert upper[0, 0] - lower[0, 0] < 0.65 * (upper[0, 59] - lower[0, 59])  # sqrt(1 - 0.8^2) = 0.6

    saturated = band(path + 49.0 + noise, law, history)  # the path at 99: the upper bound is the ceiling
    assert saturated[2][0].max() == 100.0 and saturated[0][0, -1] < 99.0
    assert [q[0].min() for q in band(path + 70.0 + noise, law, history)] == [100.0] * 3  # past 100: [100, 100]
    assert band(path - 49.0 + noise, law, history)[0][0].min() == 0.0  # the path at 1: the lower bound is the floor

    # Noise is capped at NOISE_CAP_SD sizes: a persistent state at the cap cannot push the band past it.
    capped = np.zeros((1, days))
    capped[0, history - 1] = NOISE_CAP_SD * sd
    persistent = NoiseLaw(phi=np.array([0.99]), sd=np.array([sd]), values=capped)
    assert band(path + capped, persistent, history)[2][0, 0] == pytest.approx(50.0 + NOISE_CAP_SD * sd)


def test_oracle_band_in_the_truth_file(fleet400: StressFleet) -> None:
    """The band is kept for the three breaching families and null elsewhere. Over all days it covers about 80%
    of the linear ramps' truth, and far more of the late ramps', which sit at 100 for most of the horizon: the
    coverage an ideal band gets there."""
    truth = fleet400.truth
    known = truth.filter(pl.col("oracle_median").is_not_null())
    assert set(known["family"].unique()) == {"late_ramp", "linear_breach", "compounding_growth"}
    unknown = truth.filter(pl.col("oracle_median").is_null())
    assert unknown.height == truth.height - known.height > 0
    assert unknown.select(pl.col("oracle_lower", "oracle_upper").null_count()).row(0) == (unknown.height,) * 2
    assert known.filter(
        (pl.col("oracle_lower") > pl.col("oracle_median")) | (pl.col("oracle_median") > pl.col("oracle_upper"))
    ).is_empty()
    inside = pl.col("y").is_between(pl.col("oracle_lower"), pl.col("oracle_upper"))
    coverage = dict(known.group_by("family").agg(inside.mean()).rows())
    assert 0.76 <= coverage["linear_breach"] <= 0.86
    assert coverage["late_ramp"] >= 0.92


def test_oracle_probability_in_the_series_file(fleet400: StressFleet) -> None:
    """Late ramps breach for certain, the quiet families never; over the fleet the oracle's expected count is
    close to the breaches that happened (one draw around it), and the likely ones mostly did breach."""
    series = fleet400.series
    probability = pl.col("oracle_breach_probability")
    by_family = series.group_by("family").agg(probability.min().alias("low"), probability.max().alias("high"))
    bounds = {r["family"]: (r["low"], r["high"]) for r in by_family.to_dicts()}
    assert bounds["late_ramp"][0] >= 0.99
    for family in ("calm", *CEILING_FAMILIES, "restart_sawtooth", "two_level"):
        assert bounds[family] == (0.0, 0.0), family
    true = series["days_to_true_breach"].fill_null(999) <= 90
    expected = fleet400.manifest["oracle_expected_breaches_within_90_days"]
    assert abs(expected - int(true.sum())) <= 8
    likely = series.filter(probability >= 0.9)
    assert (likely["days_to_true_breach"].fill_null(999) <= 90).mean() >= 0.9
