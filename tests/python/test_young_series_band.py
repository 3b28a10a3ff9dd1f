"""int_young_series_forecasts' band against the textbook prediction intervals (numpy, scipy's Student t): the
regression's for a line, the level's own for a level whose slope was set aside.

The model's SQL is compiled by dbt with the vars of each case and run on an in-memory DuckDB holding only its
three inputs, so the check is the arithmetic itself: slope, intercept, residual sd with n - 2, lag-1
inflation of the slope term, and the quantile, which is Student's t with n - 2 degrees of freedom (the normal
z made the band of a line read from few days far too narrow).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pytest
from scipy.stats import t as student_t
from support import PROJECT_ROOT

HISTORY_END = "2025-12-31"


def _compiled(tmp_path: Path, variables: dict[str, object]) -> str:
    env = {
        **os.environ,
        "HORIZONSCALE_DATA_DIR": str(tmp_path / "data"),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    (tmp_path / "data").mkdir(exist_ok=True)
    dbt = Path(sys.executable).with_name("dbt")
    result = subprocess.run(
        [str(dbt), "compile", "--select", "int_young_series_forecasts", "--vars", json.dumps(variables)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    compiled = tmp_path / "target" / "compiled" / "horizonscale" / "models" / "forecasting"
    return (compiled / "int_young_series_forecasts.sql").read_text()


def _run(sql: str, values: np.ndarray) -> np.ndarray:
    """The model on one young series whose last value is on history_end: (yhat, yhat_upper) per horizon day."""
    con = duckdb.connect()
    con.execute("attach ':memory:' as horizonscale")
    con.execute(
        f"create table horizonscale.main.forecast_windows as select date '{HISTORY_END}' as history_end, "
        "date '2025-08-31' as train_end, date '2025-09-01' as backtest_start"
    )
    con.execute(
        "create table horizonscale.main.processed_data "
        "(host_id varchar, resource varchar, ds date, y double, is_imputed boolean)"
    )
    n = len(values)
    con.executemany(
        "insert into horizonscale.main.processed_data "
        f"values ('h', 'cpu', date '{HISTORY_END}' - ?::integer, ?, false)",
        [(n - 1 - i, float(v)) for i, v in enumerate(values)],
    )
    con.execute(
        "create table horizonscale.main.int_series_eligibility as select 'h' as host_id, 'cpu' as resource, "
        f"0 as observed_days, {n} as history_observed_days, date '{HISTORY_END}' - {n - 1} as first_observed_day"
    )
    con.execute("use horizonscale")
    return np.array(con.execute(f"select yhat, yhat_upper from ({sql}) order by ds").fetchall())


@dataclass(frozen=True)
class _LineFit:
    """The least-squares line through ``values`` (x counts days up to 0 on the last), as the model fits it."""

    x: np.ndarray
    slope: float
    intercept: float
    sd: float  # the residuals' standard deviation, n - 2 degrees of freedom
    r: float  # their lag-1 correlation, clipped to 0..0.9

    @property
    def k(self) -> float:
        """The variance inflation of a slope or a mean under that lag-1 correlation."""
        return (1 + self.r) / (1 - self.r)

    def t(self, width: float) -> float:
        return float(student_t.ppf((1 + width) / 2, self.x.size - 2))


def _line_fit(values: np.ndarray) -> _LineFit:
    n = len(values)
    x = np.arange(-(n - 1), 1, dtype=float)
    slope, intercept = np.polyfit(x, values, 1)
    residuals = values - (intercept + slope * x)
    r = float(np.clip(np.corrcoef(residuals[1:], residuals[:-1])[0, 1], 0.0, 0.9))
    return _LineFit(x, float(slope), float(intercept), float(np.sqrt(residuals @ residuals / (n - 2))), r)


def _textbook(values: np.ndarray, horizon: int, width: float) -> tuple[np.ndarray, np.ndarray]:
    fit = _line_fit(values)
    h = np.arange(1, horizon + 1, dtype=float)
    sxx = ((fit.x - fit.x.mean()) ** 2).sum()
    half = fit.t(width) * fit.sd * np.sqrt(1 + 1 / fit.x.size + (h - fit.x.mean()) ** 2 / sxx * fit.k)
    line = fit.intercept + fit.slope * h
    return line, line + half


YOUNG_VARS: dict[str, object] = {
    "forecast_horizon_days": 30,
    "min_history_days": 180,
    "young_min_days": 3,
    "young_trend_days": 90,
    "young_min_recent_days": 0,
    "interval_width": 0.8,
    "forecast_host_limit": None,
    "young_weekly_cycle": False,
}


def _slope_z(values: np.ndarray) -> float:
    """The least-squares slope of ``values`` in standard errors, inflated for the residuals' lag-1
    autocorrelation (clipped to 0..0.9) as the model does."""
    fit = _line_fit(values)
    return abs(fit.slope) / (fit.sd / np.sqrt(((fit.x - fit.x.mean()) ** 2).sum()) * np.sqrt(fit.k))


@pytest.fixture(scope="module")
def compiled_sql(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The model compiled once (a dbt process) with vars that let a 5-day series through, the line always
    continued (young_trend_min_z null): the line's own arithmetic."""
    return _compiled(tmp_path_factory.mktemp("young_band"), {**YOUNG_VARS, "young_trend_min_z": None})


@pytest.fixture(scope="module")
def gated_sql(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The same with the default young_trend_min_z (2): a slope within 2 standard errors of 0 does not go on."""
    return _compiled(tmp_path_factory.mktemp("young_gated"), YOUNG_VARS)


@pytest.mark.parametrize("days", [5, 14, 90])
def test_the_band_is_the_regressions_prediction_interval_with_students_t(compiled_sql: str, days: int) -> None:
    """5 days (young_min_recent_days lowered to 0), 14 (the fewest the default allows) and 90: the upper
    bound is the textbook interval with t of n - 2 degrees of freedom, within 0.1% of its half-width."""
    sql = compiled_sql
    rng = np.random.default_rng(days)
    values = 40.0 + 0.2 * np.arange(days) + rng.normal(0.0, 1.5, days)
    got = _run(sql, values)
    yhat, upper = _textbook(values, 30, 0.8)
    assert np.allclose(got[:, 0], yhat, atol=1e-9)
    assert np.allclose(got[:, 1] - got[:, 0], upper - yhat, rtol=1e-3), (got[:3, 1] - got[:3, 0], (upper - yhat)[:3])


def test_a_cut_over_is_left_out_of_the_line(compiled_sql: str) -> None:
    """A migrated host: a 5-day cut-over from about 12 to 64, then 60 level days at 80 with noise. The
    cut-over days are far off the Theil-Sen line and left out: the forecast is the textbook line of the level
    days alone, near 80 and flat, where least squares over all 65 days climbed about 0.27 points a day."""
    rng = np.random.default_rng(7)
    level = 80.0 + rng.normal(0.0, 1.0, 60)
    values = np.concatenate([[12.0, 28.0, 41.0, 55.0, 64.0], level])
    got = _run(compiled_sql, values)
    yhat, upper = _textbook(level, 30, 0.8)
    assert np.allclose(got[:, 0], yhat, atol=1e-9)
    assert np.allclose(got[:, 1], upper, rtol=1e-6)
    assert abs(got[-1, 0] - got[0, 0]) < 2.0 and got[:, 1].max() < 90.0
    everything, _ = _textbook(values, 30, 0.8)
    assert everything[0] > 85.0 and everything[-1] - everything[0] > 7.0  # the line over every day


@pytest.mark.parametrize("shape", ["step", "ramp", "constant_then_step"])
def test_news_in_the_last_weeks_stays_in_the_line(compiled_sql: str, shape: str) -> None:
    """Only a leading run of days off the robust line is left out: a shift or a ramp in the last 20 of 90 days,
    which the Theil-Sen line (following the majority) does not follow, stays in, so the forecast is the least
    squares line over every day, as before the robust pass (it had forecast such a host flat at the old level)."""
    rng = np.random.default_rng(11)
    days = np.arange(90)
    recent = days >= 70
    if shape == "step":
        values = np.where(recent, 75.0, 50.0) + rng.normal(0.0, 1.0, 90)
    elif shape == "ramp":
        values = 60.0 + np.where(recent, 1.5 * (days - 69), 0.0) + rng.normal(0.0, 1.0, 90)
    else:
        values = np.where(recent, 47.0, 42.0)
    got = _run(compiled_sql, values)
    yhat, upper = _textbook(values, 30, 0.8)
    assert np.allclose(got[:, 0], yhat, atol=1e-9)
    assert np.allclose(got[:, 1], upper, rtol=1e-6)


def _level_band(values: np.ndarray, width: float) -> float:
    """The textbook half-width of a level's forecast: t (n - 2 degrees of freedom, as the line's) times the
    residual sd about the least-squares line times sqrt(1 + k / n), k = (1 + r) / (1 - r) the variance
    inflation of a mean of n days under lag-1 autocorrelation r (clipped to 0..0.9)."""
    fit = _line_fit(values)
    return fit.t(width) * fit.sd * float(np.sqrt(1 + fit.k / fit.x.size))


def test_a_young_slope_goes_on_only_where_it_is_two_standard_errors_from_zero(gated_sql: str) -> None:
    """The migrated host above (60 level days at 80 after a cut-over): its line's slope is within 2 standard
    errors (inflated for autocorrelation) of 0, so it is forecast at the level days' mean, every day, in the
    level's own band: as wide on day 30 as on day 1, and narrower than the line's, which the set-aside slope's
    uncertainty widens with the horizon. A ramp of 0.2 a day over 90 days is 20 or more: its
    line goes on, as with the check off. So does a ramp of the last 20 of 90 days (1.5 a day after 70 level days):
    the line fits it so badly that its residuals' persistence puts the slope under 2 standard errors, but the
    last 28 days' mean lies far outside the level's one-day band, so the level would not explain them."""
    rng = np.random.default_rng(7)
    level = 80.0 + rng.normal(0.0, 1.0, 60)
    got = _run(gated_sql, np.concatenate([[12.0, 28.0, 41.0, 55.0, 64.0], level]))
    line, upper = _textbook(level, 30, 0.8)
    assert _slope_z(level) < 2.0
    assert np.allclose(got[:, 0], level.mean(), atol=1e-9)
    assert np.allclose(got[:, 1] - got[:, 0], _level_band(level, 0.8), rtol=1e-3)
    assert got[-1, 1] - got[-1, 0] < (upper - line)[-1]  # narrower than the line's band by day 30
    # Persistent noise (an AR(1) of 0.6 a day): the mean of the level days is that much less certain, and the
    # band counts it, k = (1 + r) / (1 - r) of the residuals' lag-1 correlation r.
    persistent = np.empty(60)
    persistent[0] = 0.0
    shocks = np.random.default_rng(3).normal(0.0, 1.0, 60)
    for day in range(1, 60):
        persistent[day] = 0.6 * persistent[day - 1] + shocks[day]
    level = 70.0 + persistent
    assert _slope_z(level) < 2.0
    got = _run(gated_sql, level)
    assert np.allclose(got[:, 0], level.mean(), atol=1e-9)
    assert np.allclose(got[:, 1] - got[:, 0], _level_band(level, 0.8), rtol=1e-3)
    fit = _line_fit(level)
    assert fit.k > 2.0 and got[0, 1] - got[0, 0] > 1.01 * fit.t(0.8) * fit.sd * np.sqrt(1 + 1 / 60)  # k, not 1
    assert not np.allclose(line, level.mean(), atol=1e-3)  # the line would have moved off the level
    ramp = 40.0 + 0.2 * np.arange(90) + np.random.default_rng(90).normal(0.0, 1.5, 90)
    got = _run(gated_sql, ramp)
    line, upper = _textbook(ramp, 30, 0.8)
    assert np.allclose(got[:, 0], line, atol=1e-9)
    assert np.allclose(got[:, 1], upper, rtol=1e-6)
    days = np.arange(90)
    late = 60.0 + np.where(days >= 70, 1.5 * (days - 69), 0.0) + np.random.default_rng(11).normal(0.0, 1.0, 90)
    assert _slope_z(late) < 2.0  # the slope alone would not go on
    got = _run(gated_sql, late)
    line, upper = _textbook(late, 30, 0.8)
    assert np.allclose(got[:, 0], line, atol=1e-9) and got[0, 0] > late.mean() + 5.0


def test_the_level_keeps_the_lines_band_with_young_level_slope_band(tmp_path: Path) -> None:
    """young_level_slope_band true (the band before session 50): the migrated host's level is forecast in the
    line's own band, the slope's uncertainty widening it day by day."""
    sql = _compiled(tmp_path, {**YOUNG_VARS, "young_level_slope_band": True})
    rng = np.random.default_rng(7)
    level = 80.0 + rng.normal(0.0, 1.0, 60)
    got = _run(sql, np.concatenate([[12.0, 28.0, 41.0, 55.0, 64.0], level]))
    line, upper = _textbook(level, 30, 0.8)
    assert np.allclose(got[:, 0], level.mean(), atol=1e-9)
    assert np.allclose(got[:, 1] - got[:, 0], upper - line, rtol=1e-6)


def test_a_young_level_carries_its_weekly_cycle(tmp_path: Path) -> None:
    """young_weekly_cycle on: a level of 59 days at 50 with a weekly cycle (weekends 4.2 under weekdays) and noise of
    0.5 is forecast at the level plus each weekday's mean residual, centred, so the forecast repeats the week;
    its band reads the noise left (about 0.5) instead of a spread the cycle dominated. A fit under
    young_cycle_min_days days keeps a flat forecast."""
    sql = _compiled(tmp_path, {**YOUNG_VARS, "young_weekly_cycle": True})
    n = 59  # from a Monday: a leading quiet weekend lies far off the robust line and is left out as a cut-over
    weekday = (np.datetime64(HISTORY_END, "D") - np.arange(n - 1, -1, -1)).astype("datetime64[D]")
    dow = (weekday.astype(np.int64) + 4) % 7  # 0 = Sunday, as DuckDB's dayofweek
    cycle = np.where((dow == 0) | (dow == 6), -3.0, 1.2)
    values = 50.0 + cycle + np.random.default_rng(4).normal(0.0, 0.5, n)
    got = _run(sql, values)
    future = (np.datetime64(HISTORY_END, "D") + np.arange(1, 31)).astype(np.int64)
    expected_cycle = np.where(((future + 4) % 7 == 0) | ((future + 4) % 7 == 6), -3.0, 1.2)
    expected_cycle = expected_cycle - np.mean([-3.0, -3.0, 1.2, 1.2, 1.2, 1.2, 1.2])
    assert _slope_z(values) < 2.0
    np.testing.assert_allclose(got[:, 0], values.mean() + expected_cycle, atol=0.5)
    (tmp_path / "flat").mkdir()
    flat = _run(_compiled(tmp_path / "flat", YOUNG_VARS), values)
    assert np.ptp(flat[:, 0]) < 1e-9 and np.ptp(got[:, 0]) > 3.5
    assert float(np.mean(got[:, 1] - got[:, 0])) < 0.5 * float(np.mean(flat[:, 1] - flat[:, 0]))
    # The band: t (n - 2) times the sd of the residuals less each weekday's (centred) mean, 8 degrees of freedom
    # spent, times sqrt(1 + k / n), k read from the lag-1 correlation of the same residuals.
    residuals = values - values.mean()
    means = np.array([residuals[dow == day].mean() for day in range(7)])
    left = residuals - (means - means.mean())[dow]
    r = float(np.clip(np.corrcoef(left[1:], left[:-1])[0, 1], 0.0, 0.9))
    half = student_t.ppf(0.9, n - 2) * np.sqrt(left @ left / (n - 8)) * np.sqrt(1 + (1 + r) / (1 - r) / n)
    np.testing.assert_allclose(got[:, 1] - got[:, 0], half, rtol=1e-3)
    np.testing.assert_allclose(got[:, 0], values.mean() + (means - means.mean())[(future + 4) % 7], atol=1e-9)
    short = _run(sql, values[-27:])
    assert np.ptp(short[:, 0]) < 1e-9  # 27 days: under young_cycle_min_days
