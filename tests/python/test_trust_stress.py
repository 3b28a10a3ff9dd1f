"""The breach alert a planner relies on, end to end on a small stress fleet with real fits.

Eight stress hosts (32 series, families chosen with ``StressConfig(families=...)``) go through the
bring-your-own-fleet path (``horizonscale load``, then ``horizonscale build``: real dbt, Prophet and XGBoost),
and the built warehouse is read against the truth the generator kept aside (the 180 days after history_end):

- level shifts up and saturating series that stay under the threshold raise no alarm (no capacity_risks
  row, host not RED);
- a genuine late ramp (true breach within 90 days) is flagged within 90 days; its band's lower bound holds (the
  rise may stop) and its breach chance reads that lower bound, so it is stated as likely, not certain;
- calm series get bands about as wide as their own noise that still cover most of their truth;
- on so small a fleet the calibration factors stay within [0.5, 4] (a factor of 113 once stretched a calm
  band to 12+ points on an 8-host fleet);
- a load that turned and falls holds its upper bound (the fall may stop) and raises no alarm;
- a host whose series cycle without a trend (restart sawtooth, two levels, fill and cleanup) raises no alarm,
  and a sawtooth's band is its own last-year range (int_series_history_band), which covers its future.

The seed is fixed and its truth facts are asserted too, so a change in the generator fails loudly here rather
than silently testing other shapes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy.stats import norm
from support import run_isolated

from python_engines.stress import StressConfig, generate_stress_fleet

#: Seed 2: the late ramp truly breaches on day 48 and the quiet shapes peak at 81.1 (checked in
#: test_the_fleet_holds_the_shapes_it_promises; of seeds 0-39, the ramp breaches on days 18-58).
SEED = 2
CALM = ("calm",) * 3
#: Host by host, (cpu, memory, disk, network): the shapes under test on one resource, the rest calm.
FAMILIES = (
    *("late_ramp", *CALM),  # sf-0001: breaches within 90 days
    *("level_shift_up", *CALM),  # sf-0002
    *("saturating", *CALM),  # sf-0003
    *("calm", "level_shift_up", "calm", "calm"),  # sf-0004
    *("calm", "saturating", "calm", "calm"),  # sf-0005
    *("calm", *CALM),  # sf-0006
    *("restart_sawtooth", "two_level", "fill_cleanup", "restart_sawtooth"),  # sf-0007: cycles, no trend
    *("reversing", "level_shift_down", "reversing", "level_shift_down"),  # sf-0008: falls and steps down
)
HOSTS = len(FAMILIES) // 4
QUIET_FAMILIES = ("level_shift_up", "saturating")
CYCLING_FAMILIES = ("restart_sawtooth", "two_level", "fill_cleanup")
WINDOW = 90


def _ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"


def _frame(database: Path, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.sql(sql).pl()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(warehouse, stress fleet directory): the fleet generated, loaded and built once for the module."""
    work = tmp_path_factory.mktemp("trust_stress")
    exports, data = work / "exports", work / "data"
    generate_stress_fleet(StressConfig(hosts=HOSTS, seed=SEED, families=FAMILIES), exports)
    load = ["horizonscale", "load", "--inventory", str(exports / "inventory.csv")]
    _ok(run_isolated([*load, "--telemetry", str(exports / "telemetry.parquet")], data, work))
    build = ["horizonscale", "build", "--vars", "{forecast_workers: 1}", "--out", str(work / "reports")]
    _ok(run_isolated(build, data, work))
    return data / "horizonscale.duckdb", exports


def _series(exports: Path) -> pl.DataFrame:
    return pl.read_parquet(exports / "series.parquet")


def _truth(exports: Path) -> pl.DataFrame:
    return pl.read_parquet(exports / "truth.parquet")


def _explain(database: Path, exports: Path, keys: pl.DataFrame) -> str:
    """What a planner would ask about failing series: family, champion, reason, forecast and truth paths."""
    forecasts = _frame(
        database,
        "select host_id, resource, any_value(champion_model) as champion_model, "
        "any_value(champion_reason) as champion_reason, any_value(interval_stretch) as stretch, "
        "round(min(yhat), 1) as yhat_min, round(max(yhat), 1) as yhat_max, "
        "round(max(yhat_upper) filter (where ds <= (select min(ds) from forecasts) + 89), 1) as upper_max_90d, "
        "round(avg(yhat_upper - yhat_lower), 1) as mean_width from forecasts group by all",
    )
    truth = (
        _truth(exports)
        .group_by("host_id", "resource")
        .agg(pl.col("y").min().round(1).alias("truth_min"), pl.col("y").max().round(1).alias("truth_max"))
    )
    joined = keys.join(_series(exports), on=["host_id", "resource"], how="left")
    return str(joined.join(forecasts, on=["host_id", "resource"], how="left").join(truth, on=["host_id", "resource"]))


def test_the_fleet_holds_the_shapes_it_promises(built: tuple[Path, Path]) -> None:
    _, exports = built
    series = _series(exports)
    assert series["family"].to_list() == list(FAMILIES)
    peaks = _truth(exports).group_by("host_id", "resource", "family").agg(pl.col("y").max().alias("peak"))
    # The late ramp breaches well inside the window (measured: day 48), not on its edge.
    ramp = series.filter(pl.col("family") == "late_ramp")
    assert 30 <= ramp["days_to_true_breach"].item() <= 70
    # The quiet families stay well under 95 over all 180 days (measured: highest peak 81.1).
    quiet = peaks.filter(pl.col("family").is_in(QUIET_FAMILIES))
    assert quiet.height == 4 and quiet["peak"].max() < 90
    assert series.filter(pl.col("family") != "late_ramp")["days_to_true_breach"].null_count() == series.height - 1


def test_quiet_shapes_raise_no_alarm(built: tuple[Path, Path]) -> None:
    database, exports = built
    quiet = _series(exports).filter(pl.col("family").is_in(QUIET_FAMILIES)).select("host_id", "resource")
    risks = _frame(database, "select host_id, resource, days_to_breach from capacity_risks")
    alarms = quiet.join(risks, on=["host_id", "resource"])  # every capacity_risks row is an alarm
    assert alarms.height == 0, _explain(database, exports, alarms.select("host_id", "resource"))
    # Their hosts hold nothing else but calm series: none of them may be RED.
    health = _frame(database, "select host_id, status, status_reason from fleet_health")
    red = quiet.join(health, on="host_id").filter(pl.col("status") == "RED")
    assert red.height == 0, f"{red}\n{_explain(database, exports, red.select('host_id', 'resource'))}"


def test_the_late_ramp_is_flagged(built: tuple[Path, Path]) -> None:
    database, exports = built
    ramp = _series(exports).filter(pl.col("family") == "late_ramp").select("host_id", "resource")
    risks = _frame(database, "select host_id, resource, days_to_breach from capacity_risks")
    # Measured: flagged on day 48, the day it truly crosses (Prophet by the recent-break override, trust LOW).
    flagged = ramp.join(risks, on=["host_id", "resource"])
    assert flagged.height == 1 and flagged["days_to_breach"].item() <= WINDOW, _explain(database, exports, ramp)
    health = _frame(database, "select host_id, status from fleet_health")
    assert ramp.join(health, on="host_id")["status"].item() == "RED"


def test_quiet_point_forecasts_stay_near_their_truth(built: tuple[Path, Path]) -> None:
    """A level shift stays level and a saturated series stays saturated over the whole horizon: the point
    forecast never rises 10 points above anything the truth reached."""
    database, exports = built
    quiet = _series(exports).filter(pl.col("family").is_in(QUIET_FAMILIES)).select("host_id", "resource")
    peaks = _frame(database, "select host_id, resource, max(yhat) as peak_yhat from forecasts group by all")
    truth = _truth(exports).group_by("host_id", "resource").agg(pl.col("y").max().alias("peak_truth"))
    joined = quiet.join(peaks, on=["host_id", "resource"]).join(truth, on=["host_id", "resource"])
    over = joined.filter(pl.col("peak_yhat") > pl.col("peak_truth") + 10)
    assert joined.height == 4 and over.height == 0, _explain(database, exports, over.select("host_id", "resource"))


def _noise(database: Path) -> pl.DataFrame:
    """Day-to-day noise of every series from its own history: std of daily differences / sqrt(2) (for white
    noise of size s, a difference has size s x sqrt(2)); observed days only."""
    return _frame(
        database,
        "select host_id, resource, stddev_samp(y - lag_y) / sqrt(2) as noise from ("
        " select host_id, resource, y, lag(y) over (partition by host_id, resource order by ds) as lag_y"
        " from processed_data where not is_imputed) group by all",
    )


def _calm_bands(database: Path, exports: Path) -> pl.DataFrame:
    """Per calm series: noise, mean golden band width over the 180 days, its ratio, coverage of the truth."""
    forecasts = _frame(database, "select host_id, resource, ds, yhat_lower, yhat_upper from forecasts")
    truth = _truth(exports).filter(pl.col("family") == "calm")
    inside = (pl.col("y") >= pl.col("yhat_lower")) & (pl.col("y") <= pl.col("yhat_upper"))
    per_series = (
        truth.join(forecasts, on=["host_id", "resource", "ds"])
        .group_by("host_id", "resource")
        .agg(
            pl.len().alias("days"),
            (pl.col("yhat_upper") - pl.col("yhat_lower")).mean().alias("width"),
            inside.mean().alias("coverage"),
        )
    )
    return per_series.join(_noise(database), on=["host_id", "resource"]).with_columns(
        (pl.col("width") / pl.col("noise")).alias("width_over_noise")
    )


def test_calm_bands_are_no_wider_than_needed_and_cover_the_truth(built: tuple[Path, Path]) -> None:
    database, exports = built
    bands = _calm_bands(database, exports).sort("width_over_noise")
    assert bands.height == FAMILIES.count("calm") and bands["days"].unique().to_list() == [180]
    # Measured on this seed (19 calm series, noise 0.8-2.4 points): band width 2.2-8.1 x noise (median 4.2,
    # widths 4.1-11.6 points), coverage of the truth 0.82-0.98 (median 0.94). A factor of 113 (the old small-
    # fleet calibration) gives bands of tens of points, 12+ points on 1-3 points of noise fails the median.
    assert bands["width_over_noise"].max() <= 12, str(bands)
    assert bands["width_over_noise"].median() <= 6, str(bands)
    assert bands["coverage"].min() >= 0.6, str(bands)


def test_calibration_factors_stay_sane_on_a_small_fleet(built: tuple[Path, Path]) -> None:
    database, _ = built
    factors = _frame(
        database,
        "select model, calibration_group, min(interval_stretch) as low, max(interval_stretch) as high, "
        "any_value(conformal_stretch) as conformal, any_value(calibration_series) as n from forecast_calibration "
        "group by all order by all",
    )
    assert factors.height > 0 and factors["high"].is_nan().sum() == 0
    assert factors["low"].min() >= 0.5 and factors["high"].max() <= 4, str(factors)
    # [0.5, 4] is the clamp; shrinkage keeps them far inside it (measured before calibration_group_weight, i.e. at
    # weight 1: 0.84-1.14 over every engine's difficulty groups, 32 series per engine, where the groups' conformal
    # quantiles are 0.64-7.7; the weight only pulls each group toward its engine's pooled factor).
    assert factors["low"].min() >= 0.8 and factors["high"].max() <= 1.25, str(factors)


def test_cycling_shapes_take_their_own_range_as_band(built: tuple[Path, Path]) -> None:
    database, exports = built
    cycling = _series(exports).filter(pl.col("family").is_in(CYCLING_FAMILIES)).select("host_id", "resource", "family")
    risks = _frame(database, "select host_id, resource from capacity_risks")
    alarms = cycling.join(risks, on=["host_id", "resource"])
    assert alarms.height == 0, _explain(database, exports, alarms.select("host_id", "resource"))
    bands = (
        _frame(database, "select host_id, resource, ds, yhat_lower, yhat_upper, band_source from forecasts")
        .join(_truth(exports), on=["host_id", "resource", "ds"])
        .join(cycling, on=["host_id", "resource", "family"])
        .group_by("host_id", "resource", "family")
        .agg(
            pl.col("band_source").unique().alias("sources"),
            pl.col("y").is_between(pl.col("yhat_lower"), pl.col("yhat_upper")).mean().alias("coverage"),
            (pl.col("yhat_upper") - pl.col("yhat_lower")).mean().alias("width"),
        )
    )
    assert bands.height == cycling.height and bands["sources"].list.len().max() == 1, str(bands)
    # A leak reset by restarts has a range, not a path: both sawtooth series take it, and it holds their future
    # (measured on this seed: both sawtooth series and the two-level one take it, covering 0.80-0.83 of their 180
    # days with bands 23-34 points wide; the disk with cleanups keeps its engine band).
    sawtooth = bands.filter(pl.col("family") == "restart_sawtooth")
    assert sawtooth["sources"].list.first().to_list() == ["history", "history"], str(bands)
    history = bands.filter(pl.col("sources").list.first() == "history")
    assert history["coverage"].min() >= 0.65 and history["coverage"].max() <= 0.95, str(bands)


def _forecast_days(database: Path, exports: Path) -> pl.DataFrame:
    """Every golden forecast day by days ahead, with its band, both trend-stop flags and the series' family."""
    return _frame(
        database,
        "select host_id, resource, datediff('day', (select history_end from forecast_windows), ds) as day, yhat, "
        "yhat_lower, yhat_upper, is_trend_stop_lower, is_trend_stop_upper from forecasts",
    ).join(_series(exports).select("host_id", "resource", "family"), on=["host_id", "resource"])


def test_the_late_ramps_band_admits_the_rise_may_stop(built: tuple[Path, Path]) -> None:
    """A ramp that began weeks before the end may level off at any time (on the held-out shapes most did): its
    lower bound follows the ramp for trend_stop_days, then holds, while the point forecast and the upper bound
    (the alert's side) climb on. Calm series keep their band (a recent step up may read as a rise: measured,
    sf2-0004's memory level shift qualifies, but its forecast is flat and the hold trims a fraction of a point
    off its lower bound's weekly crests)."""
    database, exports = built
    stop_days = 20  # dbt_project.yml trend_stop_days
    forecasts = _forecast_days(database, exports)
    ramp = forecasts.filter(pl.col("family") == "late_ramp").sort("day")
    held = ramp.filter(pl.col("day") > stop_days)
    lower_at_stop = ramp.filter(pl.col("day") == stop_days)["yhat_lower"].item()
    assert held["is_trend_stop_lower"].any(), _explain(database, exports, ramp.select("host_id", "resource").head(1))
    assert held["yhat_lower"].max() <= lower_at_stop + 1e-9, str(held)
    # The alert's side is untouched: the point forecast climbs well past the held bound (measured: to 100).
    assert held["yhat"].max() > lower_at_stop + 10 and (held["yhat_upper"] >= held["yhat"]).all()
    calm = forecasts.filter((pl.col("family") == "calm") & pl.col("is_trend_stop_lower"))
    assert calm.height == 0, str(calm.select("host_id", "resource").unique())


def test_a_new_falls_band_admits_the_fall_may_stop(built: tuple[Path, Path]) -> None:
    """The mirror of the trend stop: a load that turned after a year of growth and falls (a project wound down)
    may settle at any time, so its upper bound follows the fall for trend_stop_days, then holds, while the point
    forecast and the lower bound fall on. Holding one of its own first days' upper bounds, it raises no alarm.
    Measured on this seed: sf2-0008's cpu holds and its band covers 0.97 of its 180 days (the fall slowed to 49
    where the forecast went on to 43); its disk, forecast flat by its champion, has no new fall to hold."""
    database, exports = built
    stop_days = 20  # dbt_project.yml trend_stop_days
    forecasts = _forecast_days(database, exports)
    falling = forecasts.filter(pl.col("family") == "reversing")
    held = falling.filter(pl.col("is_trend_stop_upper"))
    assert held.height > 0, _explain(database, exports, falling.select("host_id", "resource").unique())
    for key, days in falling.join(held.select("host_id", "resource").unique(), on=["host_id", "resource"]).group_by(
        "host_id", "resource"
    ):
        days = days.sort("day")
        upper_at_stop = days.filter(pl.col("day") == stop_days)["yhat_upper"].item()
        after = days.filter(pl.col("day") > stop_days)
        assert (after["yhat_upper"] >= upper_at_stop - 1e-9).all(), f"{key}: {after}"
        # The point forecast falls on under the held bound.
        assert after["yhat"].min() < upper_at_stop - 2, f"{key}: {after}"
    risks = _frame(database, "select host_id, resource from capacity_risks")
    fall_keys = _series(exports).filter(pl.col("family").is_in(["reversing", "level_shift_down"]))
    alarms = fall_keys.select("host_id", "resource").join(risks, on=["host_id", "resource"])
    assert alarms.height == 0, _explain(database, exports, alarms)
    # Nothing else in the fleet falls: calm series keep their band.
    calm = forecasts.filter((pl.col("family") == "calm") & pl.col("is_trend_stop_upper"))
    assert calm.height == 0, str(calm.select("host_id", "resource").unique())


def test_the_late_ramps_breach_chance_is_its_bands_not_a_certainty(built: tuple[Path, Path]) -> None:
    """The late ramp stays flagged (the upper bound crosses), but its breach chance reads the band's lower half
    on the days its point forecast is over the threshold: with the lower bound held, the band itself says the
    ramp may stay under 95, and the chance says so too instead of a certainty. Checked against the two-piece
    normal worked out here from the forecast rows (scipy), which is a floor: the days' own noise only adds."""
    database, exports = built
    threshold, z = 95.0, norm.ppf(0.9)  # dbt_project.yml breach_threshold and interval_width 0.8
    ramp = _series(exports).filter(pl.col("family") == "late_ramp").select("host_id", "resource")
    days = _frame(
        database,
        "select host_id, resource, yhat, yhat_lower, yhat_upper from forecasts "
        "where datediff('day', (select history_end from forecast_windows), ds) between 1 and 90",
    ).join(ramp, on=["host_id", "resource"])
    yhat = days["yhat"].to_numpy()
    over = yhat > threshold
    lower_sd = (yhat - days["yhat_lower"].to_numpy()) / z
    upper_sd = (days["yhat_upper"].to_numpy() - yhat) / z

    def worst_day(sd: np.ndarray) -> float:  # a zero-width half is certain on its side
        return float(np.max(np.where(sd > 0, norm.sf(threshold, yhat, np.maximum(sd, 1e-12)), over.astype(float))))

    # The point forecast does cross: read through the upper half alone (the former rule) it would be certain.
    assert over.any() and worst_day(upper_sd) >= 0.99, str(days.sort("yhat").tail(3))
    two_piece = worst_day(np.where(over, lower_sd, upper_sd))
    risk = _frame(database, "select host_id, resource, breach_probability from capacity_risks").join(
        ramp, on=["host_id", "resource"]
    )
    assert risk.height == 1, _explain(database, exports, ramp)
    stated = risk["breach_probability"].item()
    assert two_piece < 0.95, f"the held lower bound should leave room under the threshold: {two_piece}"
    assert two_piece - 1e-4 <= stated < 0.99, (stated, two_piece)
