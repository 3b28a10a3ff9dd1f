"""Forecasting engines on small synthetic series with real fits (Prophet's Stan model, XGBoost)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date
from importlib import metadata
from pathlib import Path
from statistics import NormalDist

import numpy as np
import polars as pl
import pytest

from python_engines.forecasting import prophet_engine
from python_engines.forecasting.frames import series_from_frame
from python_engines.forecasting.intervals import HorizonQuantiles, calibration_windows, fit_quantiles
from python_engines.forecasting.output import STATUS_FAILED, STATUS_INSUFFICIENT, STATUS_OK, Band, forecast_table
from python_engines.forecasting.prophet_check import (
    check_declarations,
    check_known_fit,
    check_model_block,
    check_version,
    verify_prophet_model,
)
from python_engines.forecasting.prophet_engine import ProphetSettings, fit_prophet, prophet_forecast
from python_engines.forecasting.prophet_map import (
    design_matrix,
    lasso_quadratic,
    map_linear,
    negative_log_posterior,
)
from python_engines.forecasting.runs import learn_quantiles
from python_engines.forecasting.series import Series, scale_until
from python_engines.forecasting.stan import StanFitError, StanOptions, prophet_model_binary
from python_engines.forecasting.stan import optimize as stan_optimize
from python_engines.forecasting.windows import ForecastWindows, compute_windows
from python_engines.forecasting.xgboost_engine import (
    Panel,
    XGBoostParams,
    XGBoostSettings,
    feature_matrix,
    train_global,
    training_budget,
    xgboost_chunk,
)

logging.getLogger("cmdstanpy").setLevel(logging.WARNING)

START, END = date(2023, 1, 1), date(2025, 12, 31)
#: How far the exact solver's optimum may sit from stock Prophet's L-BFGS stopping point (points of y).
EXACT_VS_STOCK = 0.5
WINDOWS = compute_windows(START, END)
DAYS = np.arange(np.datetime64(START, "D"), np.datetime64(END, "D") + 1)
FAST_XGBOOST = XGBoostSettings(n_estimators=60, learning_rate=0.15, max_train_rows=50_000)


def synthetic(
    host: str = "h1",
    level: float = 30.0,
    slope_per_year: float = 6.0,
    noise: float = 1.0,
    seed: int = 0,
    resource: str = "cpu",
) -> Series:
    """Trend + yearly + business-day rhythm + white noise, daily over 2023-2025."""
    rng = np.random.default_rng(seed)
    t = np.arange(DAYS.size)
    weekday = (DAYS.astype(np.int64) + 3) % 7
    y = (
        level
        + slope_per_year * t / 365.25
        + 5.0 * np.sin(2 * np.pi * t / 365.25 + seed)
        + np.where(weekday < 5, 1.5, -3.5)
        + rng.normal(0.0, noise, t.size)
    )
    return Series(host, resource, DAYS.copy(), y, np.zeros(DAYS.size, dtype=bool))


def actual_backtest(series: Series) -> np.ndarray:
    return series.y[series.ds >= np.datetime64(WINDOWS.backtest_start, "D")]


def mape(forecast: np.ndarray, actual: np.ndarray) -> float:
    return float(np.mean(np.abs(forecast - actual) / actual) * 100)


def fixture_points(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The observed (days, values) of a real series stored in tests/python/fixtures/<name>.csv."""
    table = pl.read_csv(Path(__file__).parent / "fixtures" / f"{name}.csv", try_parse_dates=True)
    table = table.filter(~pl.col("is_imputed"))
    return table["ds"].to_numpy().astype("datetime64[D]"), table["y"].to_numpy()


def late_joiner() -> Series:
    """A stress-fleet network series that joined 8 months before the end (tests/python/fixtures)."""
    days, values = fixture_points("late_joiner_network")
    return Series("late", "network", days, values, np.zeros(days.size, dtype=bool))


def recent_ramp(host: str = "ramp", slope_per_day: float = 0.3, ramp_days: int = 100, seed: int = 7) -> Series:
    """Flat around 40% for years, then a straight climb over the last ``ramp_days`` days (a capacity breach in
    the making: at 0.3 points a day it reaches 95% about 40 days after the history ends)."""
    base = synthetic(host, level=40.0, slope_per_year=0.0, noise=1.0, seed=seed)
    climb = slope_per_day * np.maximum(np.arange(DAYS.size) - (DAYS.size - ramp_days), 0)
    return replace(base, y=base.y + climb)


def days_to_cross(path: np.ndarray, threshold: float = 95.0) -> int | None:
    above = np.flatnonzero(path > threshold)
    return int(above[0]) + 1 if above.size else None


@pytest.fixture(scope="module")
def fleet() -> list[Series]:
    return [synthetic(f"h{i}", level=20.0 + 8 * i, slope_per_year=2.0 + 2 * i, seed=i) for i in range(6)]


@pytest.fixture(scope="module")
def boosters(fleet: list[Series]) -> dict[date, bytes]:
    cuts = [WINDOWS.train_end, WINDOWS.history_end]
    return train_global(fleet, WINDOWS, cuts, FAST_XGBOOST, nthread=1)


# ----------------------------------------------------------------------------------------------- windows


def test_windows_follow_the_calendar_month_rule() -> None:
    assert (
        ForecastWindows(
            history_start=date(2023, 1, 1),
            history_end=date(2025, 12, 31),
            backtest_start=date(2025, 9, 1),
            train_end=date(2025, 8, 31),
            backtest_end=date(2025, 12, 31),
            forecast_start=date(2026, 1, 1),
            forecast_end=date(2026, 6, 29),
        )
        == WINDOWS
    )
    assert (WINDOWS.backtest_days, WINDOWS.horizon_days) == (122, 180)
    # The month of history_end counts as a backtest month, as in the SQL model forecast_windows.
    assert compute_windows(START, date(2025, 10, 15)).backtest_start == date(2025, 7, 1)
    calibration = calibration_windows(WINDOWS)
    assert calibration.history_end == WINDOWS.train_end
    assert (calibration.history_end - calibration.train_end).days == 180


def test_windows_from_a_dbt_row() -> None:
    row = {name: str(getattr(WINDOWS, name)) for name in ForecastWindows.__dataclass_fields__}
    assert ForecastWindows.from_mapping({**row, "backtest_months": 4}) == WINDOWS


def test_xgboost_features_of_a_batch_equal_each_row_alone() -> None:
    """Origin-only features are computed once per (series, origin) and gathered back to every horizon row:
    a mixed, shuffled batch must give each row exactly the features that row gets on its own."""
    panel = Panel.build([synthetic(host=f"h{i}", seed=i, noise=2.0) for i in range(3)], START, WINDOWS.train_end)
    rng = np.random.default_rng(1)
    rows = rng.integers(0, 3, 60)
    origin = panel.cut_index - rng.integers(0, 3, 60) * 30
    horizon = rng.integers(1, 91, 60)
    batch, margin = feature_matrix(panel, rows, origin, horizon)
    for i in range(rows.size):
        alone, alone_margin = feature_matrix(panel, rows[i : i + 1], origin[i : i + 1], horizon[i : i + 1])
        assert np.array_equal(batch[i], alone[0], equal_nan=True)
        assert np.array_equal(margin[i : i + 1], alone_margin, equal_nan=True)


def test_xgboost_training_set_grows_with_the_fleet_up_to_its_cap() -> None:
    """A handful of series trains on the floor, a mid-sized fleet on 1,000 rows a series, and every fleet of
    400 series or more (the default and trust fleets) on the full 400,000 rows, as before the budget."""
    settings = XGBoostSettings()
    assert training_budget(12, settings) == 50_000
    assert training_budget(120, settings) == 120_000
    assert training_budget(400, settings) == training_budget(8_000, settings) == 400_000
    assert training_budget(120, replace(settings, max_train_rows=20_000)) == 20_000


# ----------------------------------------------------------------------------------------------- prophet


def test_prophet_recovers_trend_and_seasonality() -> None:
    series = synthetic(noise=1.0)
    result = prophet_forecast(series, WINDOWS)
    assert result.status == STATUS_OK, result.error
    assert result.backtest is not None and result.forecast is not None
    assert result.backtest.yhat.size == 122 and result.forecast.yhat.size == 180
    assert mape(result.backtest.yhat, actual_backtest(series)) < 5.0
    # The trend goes on: the production forecast ends higher than the history's last quarter.
    assert result.forecast.yhat[-30:].mean() > series.y[-90:].mean()


def test_seasonal_features_looked_up_are_those_computed() -> None:
    """The per-process table of Fourier rows gives, element for element, the columns computed from the days;
    days outside its span (or a gap-ridden, unsorted set) are still served."""
    inside = np.arange(np.datetime64("2023-01-01"), np.datetime64("2026-06-30"))[::3][::-1]
    outside = np.array(["1985-06-01", "2023-01-02", "2071-02-03"], dtype="datetime64[D]")
    for days in (inside, outside):
        epoch_days = (days - prophet_engine.EPOCH).astype(np.float64)
        for yearly, weekly in ((10, 3), (20, 3), (0, 3), (10, 0)):
            looked_up = prophet_engine.seasonal_features(days, yearly, weekly)
            computed = prophet_engine._fourier_columns(epoch_days, yearly, weekly)
            assert looked_up.shape == (days.size, 2 * (yearly + weekly))
            assert np.array_equal(looked_up, computed)
            looked_up[:] = 0.0  # a copy: the shared table is untouched
    assert np.array_equal(
        prophet_engine.seasonal_features(inside, 10, 3),
        prophet_engine._fourier_columns((inside - prophet_engine.EPOCH).astype(np.float64), 10, 3),
    )


def test_calendar_features_mark_month_and_quarter_closes() -> None:
    """Business days count back from a month's end without weekends, calendar days with them, and the quarter
    columns light only in March, June, September and December; the table lookup equals the computation."""
    days = np.array(
        ["2025-05-28", "2025-05-29", "2025-05-30", "2025-05-31", "2025-06-26", "2025-06-30"], "datetime64[D]"
    )
    columns = prophet_engine.calendar_features(days)
    assert columns.shape == (days.size, prophet_engine.CALENDAR_COLUMNS)
    # 31 May 2025 is a Saturday: Friday the 30th is May's last business day and its second-to-last calendar day.
    business, calendar = columns[:, :3], columns[:, 3:5]
    quarter_business, quarter_calendar = columns[:, 5], columns[:, 6]
    assert business.tolist() == [[0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 0, 0], [0, 0, 1], [1, 0, 0]]
    assert calendar.tolist() == [[0, 0], [0, 0], [0, 1], [1, 0], [0, 0], [1, 0]]
    assert quarter_business.tolist() == [0, 0, 0, 0, 1, 1]  # 26 June: third-to-last business day of a quarter
    assert quarter_calendar.tolist() == [0, 0, 0, 0, 1, 1]  # the quarter's last five calendar days: 26-30 June
    assert np.array_equal(columns, prophet_engine._calendar_columns(days))
    outside = np.array(["1985-03-29", "2075-12-31"], "datetime64[D]")
    assert prophet_engine.calendar_features(outside)[:, 0].tolist() == [1.0, 1.0]


def _with_closes(values: np.ndarray, month_end: float, quarter_end: float) -> np.ndarray:
    """``values`` lifted by ``month_end`` on each month's last two days and ``quarter_end`` more on a quarter's
    last five (the default DNA's SEASONAL EXTREME closes)."""
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(values.size)
    columns = prophet_engine.calendar_features(days)
    return values + month_end * columns[:, 3:5].max(axis=1) + quarter_end * columns[:, 6]


def test_prophet_forecasts_quarter_end_closes_into_a_breach() -> None:
    """A level around 68 with month-end closes (+18) and quarter-end closes (+12 more): the quarter-end days of
    the forecast reach 95 and the days between stay at the level. Without calendar columns the closes are
    smoothed into the yearly and weekly terms and the forecast never crosses."""
    rng = np.random.default_rng(21)
    n = WINDOWS.history_dates().size
    series = _shape(_with_closes(68.0 + rng.normal(0.0, 1.5, n), 18.0, 12.0), "closes")
    result = prophet_forecast(series, WINDOWS, segments=("forecast",))
    assert result.status == STATUS_OK, result.error
    future = WINDOWS.forecast_dates()
    closes = prophet_engine.calendar_features(future)
    quarter_end = closes[:, 3:5].max(axis=1) * closes[:, 6] > 0  # 30-31 March, 29-30 June
    plain_days = closes.max(axis=1) == 0
    assert float(result.forecast.yhat[quarter_end].min()) > 95.0
    assert result.detail[prophet_engine.CALENDAR_KEY] == "true"  # the run log says why those days rise
    assert abs(float(np.median(result.forecast.yhat[plain_days])) - 68.0) < 2.0
    without = prophet_forecast(series, WINDOWS, ProphetSettings(calendar_peaks=False), segments=("forecast",))
    assert days_to_cross(without.forecast.yhat) is None


def test_closes_on_traffic_whose_weekly_swing_grows_are_forecast_on_top_of_it() -> None:
    """Traffic growing from 30 to 60 whose weekday-weekend swing grows with it (a level-scaled weekly cycle),
    plus month-end closes of +25: the cycle scales with the level without the closes, so a close day's forecast
    is the close on top of that day's level and swing, as good as any other day's."""
    rng = np.random.default_rng(5)
    n = WINDOWS.history_dates().size + 180
    level = 30.0 + 30.0 * np.arange(n) / n
    weekday = (np.datetime64(WINDOWS.history_start, "D") + np.arange(n)).astype(np.int64) % 7
    values = _with_closes(level * np.where(weekday < 5, 1.15, 0.7) + rng.normal(0.0, 1.0, n), 25.0, 0.0)
    history, future = values[:-180], values[-180:]
    result = prophet_forecast(_shape(history, "traffic"), WINDOWS, segments=("forecast",))
    assert result.status == STATUS_OK, result.error
    assert result.detail[prophet_engine.CALENDAR_KEY] == "true"
    closes = prophet_engine.calendar_features(WINDOWS.forecast_dates())[:, 3:5].max(axis=1) > 0
    error = np.abs(result.forecast.yhat - future)
    assert float(error[closes].mean()) < 1.5 * float(error[~closes].mean()) + 0.5


def test_calendar_columns_only_where_closes_earn_them() -> None:
    """A series without closes keeps the fit without calendar columns (the same forecast either way); one with
    closes takes them, and its terms add up: trend + yearly + weekly + calendar is the fit's prediction."""
    calm = synthetic(noise=2.0, seed=3)
    train = calm.ds <= np.datetime64(WINDOWS.history_end, "D")
    fit = prophet_engine.with_calendar_peaks(calm.ds[train], calm.y[train], ProphetSettings())
    assert not fit.settings.calendar_peaks
    on = prophet_forecast(calm, WINDOWS, segments=("forecast",))
    off = prophet_forecast(calm, WINDOWS, ProphetSettings(calendar_peaks=False), segments=("forecast",))
    assert np.array_equal(on.forecast.yhat, off.forecast.yhat)
    assert prophet_engine.CALENDAR_KEY not in on.detail
    closes = replace(calm, y=_with_closes(calm.y, 8.0, 6.0))
    fit = prophet_engine.with_calendar_peaks(closes.ds, closes.y, ProphetSettings())
    assert fit.settings.calendar_peaks
    days = WINDOWS.forecast_dates()
    parts = (
        fit.trend(days) * fit.y_scale
        + prophet_engine.yearly_term(fit, days)
        + prophet_engine.weekly_term(fit, days)
        + prophet_engine.calendar_term(fit, days)
        + fit.settings.floor
    )
    assert np.allclose(parts, fit.predict(days))
    month_ends = prophet_engine.calendar_features(days)[:, 3] > 0
    assert 6.0 < float(np.mean(prophet_engine.calendar_term(fit, days)[month_ends])) < 12.0
    # Its band is drawn in the scale left once the closes are taken out: the calm series' own, not the jumps'.
    start, end = closes.ds[0], closes.ds[-1]
    drawn_in = prophet_engine.yardstick(closes, start, end, fit, ProphetSettings())
    assert abs(drawn_in - scale_until(calm, start, end)) < 0.1 * drawn_in < 0.1 * scale_until(closes, start, end)


def test_prophet_matches_stock_prophet() -> None:
    """Same model, same data, same optimizer settings: our numpy setup reproduces prophet.Prophet."""
    import pandas as pd
    from prophet import Prophet

    series = synthetic(noise=0.5, seed=3)
    keep = series.ds <= np.datetime64(WINDOWS.train_end, "D")
    # Stan's default tolerance and Prophet's changepoint prior, as Prophet runs them; no month-end columns
    settings = ProphetSettings(
        solver="stan", changepoint_prior_scale=0.05, stan=StanOptions(tol_rel_grad=1e7), calendar_peaks=False
    )
    ours = fit_prophet(series.ds[keep], series.y[keep], settings).predict(WINDOWS.backtest_dates())
    exact = fit_prophet(series.ds[keep], series.y[keep], replace(settings, solver="exact"))
    stock = Prophet(
        yearly_seasonality=settings.yearly_order,
        weekly_seasonality=settings.weekly_order,
        daily_seasonality=False,
        n_changepoints=settings.n_changepoints,
        changepoint_range=settings.changepoint_range,
        uncertainty_samples=0,
    )
    stock.fit(pd.DataFrame({"ds": pd.to_datetime(series.ds[keep]), "y": series.y[keep]}))
    theirs = stock.predict(pd.DataFrame({"ds": pd.to_datetime(WINDOWS.backtest_dates())}))["yhat"].to_numpy()
    assert np.max(np.abs(ours - theirs)) < 0.05
    # The exact solver finds the optimum Stan's L-BFGS approaches: the same forecast within a few hundredths.
    assert np.max(np.abs(exact.predict(WINDOWS.backtest_dates()) - theirs)) < EXACT_VS_STOCK


def _stan_data(series: Series, settings: ProphetSettings) -> dict[str, object]:
    """The Stan data block fit_prophet writes for ``series`` (captured from a real fit)."""
    captured: dict[str, object] = {}

    def keep_data(data: dict[str, object], init: object, options: object, timeout: object) -> object:
        captured.update(data)
        return stan_optimize(data, init, options, timeout)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(prophet_engine, "optimize", keep_data)
        fit_prophet(series.ds, series.y, replace(settings, solver="stan"))
    return captured


@pytest.mark.parametrize("case", ["trend", "ramp", "noisy", "late_joiner"])
def test_exact_solver_reaches_stans_optimum_or_better(case: str) -> None:
    """The numpy MAP (prophet_map) is the exact optimum of the same posterior Stan's L-BFGS climbs."""
    series = {
        "trend": lambda: synthetic(noise=0.5, seed=3),
        "ramp": recent_ramp,
        "noisy": lambda: synthetic(noise=6.0, seed=8),
        "late_joiner": late_joiner,
    }[case]()
    data = _stan_data(series, ProphetSettings())
    stan_params, _ = stan_optimize(
        data,
        {"k": 0.0, "m": 0.0, "delta": np.zeros(int(data["S"])), "beta": np.zeros(int(data["K"])), "sigma_obs": 1.0},
        StanOptions(tol_rel_grad=1e7),
        60.0,
    )
    exact_params, outcome = map_linear(data)
    assert outcome == "converged"
    assert negative_log_posterior(data, exact_params) <= negative_log_posterior(data, stan_params) + 1e-6
    design = design_matrix(np.asarray(data["t"]), np.asarray(data["t_change"]), np.asarray(data["X"]))
    theta = {
        name: np.concatenate([p["k"], p["m"], p["delta"], p["beta"]])
        for name, p in (("stan", stan_params), ("exact", exact_params))
    }
    assert np.max(np.abs(design @ theta["stan"] - design @ theta["exact"])) < 0.02  # scaled units (max |y| = 1)


def test_lasso_solver_meets_its_optimality_conditions() -> None:
    rng = np.random.default_rng(4)
    zeros = 0
    for _ in range(20):
        basis = rng.normal(size=(40, 8))
        hessian, linear = basis.T @ basis, rng.normal(size=8) * 20.0
        x, done = lasso_quadratic(hessian, linear, 15.0, np.zeros(8))
        gradient = hessian @ x - linear
        assert done
        assert np.allclose(gradient[x != 0], -15.0 * np.sign(x[x != 0]), atol=1e-8)
        assert np.all(np.abs(gradient[x == 0]) <= 15.0 + 1e-8)
        zeros += int(np.count_nonzero(x == 0))
    assert 0 < zeros < 160  # the penalty both keeps and drops coefficients


def test_prophet_extrapolates_a_recent_ramp() -> None:
    """A ramp that began 100 days before the end of history must carry on: the forecast crosses 95% within a
    few weeks of the true crossing (day ~40), not at the flatter slope of the years before."""
    result = prophet_forecast(recent_ramp(), WINDOWS)
    assert result.status == STATUS_OK, result.error
    crossing = days_to_cross(result.forecast.yhat)
    assert crossing is not None and crossing <= 70, crossing


def test_prophet_is_deterministic() -> None:
    series = synthetic(noise=2.0, seed=5)
    first, second = prophet_forecast(series, WINDOWS), prophet_forecast(series, WINDOWS)
    for segment in ("backtest", "forecast"):
        for part in ("yhat", "lower", "upper"):
            assert np.array_equal(getattr(getattr(first, segment), part), getattr(getattr(second, segment), part))


@pytest.mark.parametrize("growth", ["linear", "logistic"])
def test_prophet_stays_physical_near_the_limits(growth: str) -> None:
    rising = synthetic(level=70.0, slope_per_year=18.0, noise=1.0)  # heads through 100
    falling = synthetic(host="h2", level=8.0, slope_per_year=-3.5, noise=0.5)  # heads through 0
    for series in (rising, falling):
        result = prophet_forecast(series, WINDOWS, replace(ProphetSettings(), growth=growth))
        assert result.status == STATUS_OK, result.error
        for band in (result.backtest, result.forecast):
            assert band is not None
            assert band.lower.min() >= 0.0 and band.upper.max() <= 100.0
            assert np.all(band.lower <= band.yhat) and np.all(band.yhat <= band.upper)


@pytest.mark.parametrize("solver", ["stan", "exact"])
def test_prophet_optimizer_failure_is_a_failed_row(monkeypatch: pytest.MonkeyPatch, solver: str) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise StanFitError("Stan optimizer failed (exit 70): boom")

    monkeypatch.setattr(prophet_engine, "optimize" if solver == "stan" else "map_linear", broken)
    result = prophet_forecast(synthetic(), WINDOWS, replace(ProphetSettings(), solver=solver))
    assert result.status == STATUS_FAILED
    assert "boom" in (result.error or "")
    assert result.backtest is None


def test_prophet_time_limit_kills_the_optimizer() -> None:
    series = synthetic()
    keep = series.ds <= np.datetime64(WINDOWS.train_end, "D")
    with pytest.raises(StanFitError, match="did not finish"):
        fit_prophet(series.ds[keep], series.y[keep], replace(ProphetSettings(), solver="stan", time_limit=0.001))


# ---------------------------------------------------------------------------------------- awkward series


def awkward_series() -> dict[str, Series]:
    good = synthetic(host="holed")
    holed_y = good.y.copy()
    holed_y[::3] = np.nan  # every third day missing: still plenty of history
    imputed = np.zeros(DAYS.size, dtype=bool)
    imputed[: int(DAYS.size * 0.8)] = True
    short = synthetic(host="short")
    return {
        "empty": Series("empty", "cpu", DAYS[:0], np.empty(0), np.zeros(0, dtype=bool)),
        "all_missing": Series("all_missing", "cpu", DAYS.copy(), np.full(DAYS.size, np.nan), imputed * False),
        "constant": Series("constant", "cpu", DAYS.copy(), np.full(DAYS.size, 42.0), np.zeros(DAYS.size, bool)),
        "short": Series("short", "cpu", short.ds[-300:], short.y[-300:], short.is_imputed[-300:]),
        "mostly_imputed": Series("mostly_imputed", "cpu", DAYS.copy(), good.y.copy(), imputed),
        "holed": Series("holed", "cpu", DAYS.copy(), holed_y, np.zeros(DAYS.size, dtype=bool)),
    }


EXPECTED_STATUS = {
    "empty": STATUS_INSUFFICIENT,
    "all_missing": STATUS_INSUFFICIENT,
    "constant": STATUS_INSUFFICIENT,
    "short": STATUS_INSUFFICIENT,
    "mostly_imputed": STATUS_INSUFFICIENT,
    "holed": STATUS_OK,
}


def test_prophet_gives_awkward_series_a_clear_status() -> None:
    for name, series in awkward_series().items():
        result = prophet_forecast(series, WINDOWS)
        assert result.status == EXPECTED_STATUS[name], (name, result.error)
        if result.status != STATUS_OK:
            assert result.error, name


def test_xgboost_gives_awkward_series_a_clear_status(fleet: list[Series]) -> None:
    awkward = awkward_series()
    chunk = list(awkward.values())
    boosters = train_global([*fleet, *chunk], WINDOWS, [WINDOWS.train_end, WINDOWS.history_end], FAST_XGBOOST, 1)
    results = xgboost_chunk(chunk, WINDOWS, XGBoostParams(FAST_XGBOOST, boosters))
    for name, result in zip(awkward, results, strict=True):
        assert result.status == EXPECTED_STATUS[name], (name, result.error)
    table = forecast_table(results, WINDOWS)
    assert table.num_rows == 122 + 180  # only the holed series has rows


# ----------------------------------------------------------------------------------------------- xgboost


def test_xgboost_global_recovers_trend_and_seasonality(fleet: list[Series], boosters: dict[date, bytes]) -> None:
    results = xgboost_chunk(fleet, WINDOWS, XGBoostParams(FAST_XGBOOST, boosters))
    for series, result in zip(fleet, results, strict=True):
        assert result.status == STATUS_OK, result.error
        assert result.backtest is not None and result.forecast is not None
        assert (result.backtest.yhat.size, result.forecast.yhat.size) == (122, 180)
        assert mape(result.backtest.yhat, actual_backtest(series)) < 10.0
        for band in (result.backtest, result.forecast):
            assert band.lower.min() >= 0.0 and band.upper.max() <= 100.0
            assert np.all(band.lower <= band.yhat) and np.all(band.yhat <= band.upper)


def test_xgboost_is_deterministic(fleet: list[Series], boosters: dict[date, bytes]) -> None:
    again = train_global(fleet, WINDOWS, [WINDOWS.train_end, WINDOWS.history_end], FAST_XGBOOST, nthread=1)
    assert again == boosters  # byte-identical models
    first = xgboost_chunk(fleet, WINDOWS, XGBoostParams(FAST_XGBOOST, boosters))
    # A chunk of one gives the same numbers as the series inside a bigger chunk.
    alone = xgboost_chunk(fleet[2:3], WINDOWS, XGBoostParams(FAST_XGBOOST, boosters))
    assert np.array_equal(first[2].forecast.yhat, alone[0].forecast.yhat)


def test_xgboost_local_mode_runs_per_series(fleet: list[Series]) -> None:
    local = replace(FAST_XGBOOST, mode="local", local_estimators=30)
    results = xgboost_chunk(fleet[:2], WINDOWS, XGBoostParams(local, segments=("backtest",)))
    assert [r.status for r in results] == [STATUS_OK, STATUS_OK]
    assert results[0].backtest is not None and results[0].forecast is None


def test_xgboost_does_not_start_from_a_last_day_spike(fleet: list[Series]) -> None:
    """A history that ends on a one-day spike (a quarter-end batch, a runaway job): with the change measured from
    the origin day alone (anchor_days 1, before session 31) the whole forecast sat on the spike; measured from
    the last week's mean it stays near the level, lifted only by the spike's share of that mean."""
    base = synthetic("spike", level=40.0, slope_per_year=0.0, seed=9)
    y = base.y.copy()
    y[-1] += 40.0
    spike = Series("spike", "cpu", base.ds, y, base.is_imputed)
    level = float(y[-8:-1].mean())
    first_month = {}
    for days in (1, 7):
        settings = replace(FAST_XGBOOST, anchor_days=days)
        trained = train_global([*fleet, spike], WINDOWS, [WINDOWS.train_end, WINDOWS.history_end], settings, 1)
        result = xgboost_chunk([spike], WINDOWS, XGBoostParams(settings, trained))[0]
        assert result.status == STATUS_OK, result.error
        first_month[days] = float(result.forecast.yhat[:30].mean())
    # Measured: level 42.5; anchor 7 forecasts 47.4 (40 / 7 of the spike is in the mean), anchor 1 73.6.
    assert abs(first_month[7] - level) < 8, first_month
    assert first_month[1] > level + 20, first_month


def test_xgboost_stays_physical_near_the_limits(fleet: list[Series], boosters: dict[date, bytes]) -> None:
    extremes = [synthetic("up", level=75.0, slope_per_year=20.0), synthetic("down", level=6.0, slope_per_year=-4.0)]
    for result in xgboost_chunk(extremes, WINDOWS, XGBoostParams(FAST_XGBOOST, boosters)):
        assert result.status == STATUS_OK
        assert result.forecast.lower.min() >= 0.0 and result.forecast.upper.max() <= 100.0


# --------------------------------------------------------------------------------------- intervals, frames


def test_calibrated_quantiles_cover_and_widen() -> None:
    rng = np.random.default_rng(0)
    horizon = 180
    spread = np.sqrt(np.arange(1, horizon + 1) / 10.0)
    errors = rng.normal(0.0, 1.0, (500, horizon)) * spread
    errors[:, ::7] = np.nan  # unobserved days are skipped
    quantiles = fit_quantiles(errors, 0.8)
    assert np.all(np.diff(quantiles.upper) >= 0) and np.all(np.diff(quantiles.lower) <= 0)
    fresh = rng.normal(0.0, 1.0, (500, horizon)) * spread
    covered = (fresh >= quantiles.lower) & (fresh <= quantiles.upper)
    assert 0.75 <= covered.mean() <= 0.86
    band = quantiles.band(np.full(200, 50.0), scale=2.0)  # longer than calibrated: last width carries on
    assert band.upper[-1] == pytest.approx(50.0 + 2.0 * quantiles.upper[-1])


def test_series_from_frame_sorts_dedupes_and_keeps_holes() -> None:
    frame = pl.DataFrame(
        {
            "host_id": ["b", "a", "a", "a", "a"],
            "resource": ["cpu", "disk", "disk", "disk", "cpu"],
            "ds": [date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 1)],
            "y": [1.0, 2.0, None, 3.0, 4.0],
            "is_imputed": [False, False, True, False, None],
        }
    )
    series = series_from_frame(frame)
    assert [s.key for s in series] == [("a", "cpu"), ("a", "disk"), ("b", "cpu")]
    disk = series[1]
    assert disk.ds.tolist() == [date(2025, 1, 1), date(2025, 1, 2)]
    assert np.isnan(disk.y[0]) and disk.y[1] == 2.0  # one row per day
    assert disk.observed().tolist() == [False, True]
    assert series_from_frame(frame.head(0)) == []


def test_installed_prophet_passes_the_start_up_check() -> None:
    assert verify_prophet_model() == metadata.version("prophet")


def test_prophet_check_names_what_differs() -> None:
    source = prophet_model_binary().with_name("prophet.stan").read_text()
    assert check_declarations(source) is None
    changed = source.replace("int trend_indicator;", "int trend_indicator;\n  vector[T] weights;")
    assert "unexpected ['weights']" in (check_declarations(changed) or "")
    reordered = source.replace("real<lower=0> tau;", "").replace("int S;", "int S;\n  real<lower=0> tau;")
    assert "another order" in (check_declarations(reordered) or "")
    assert check_version("1.5.0") is None
    assert "verified on 1.5.0 <= version < 1.6.0" in (check_version("1.6.1") or "")
    assert check_known_fit() is None
    assert check_model_block(source) is None
    wider = source.replace("k ~ normal(0, 5);", "k ~ normal(0, 10);")
    assert "k~normal(0,10);" in (check_model_block(wider) or "")


def _shape(values: np.ndarray, name: str) -> Series:
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(values.size)
    return Series(name, "cpu", days, values, np.zeros(values.size, bool))


def test_prophet_does_not_read_a_one_off_step_as_a_ramp() -> None:
    """A workload moved onto the host 60 days before the end (+30 points), level since: the forecast stays
    near the new level instead of extrapolating the step (Prophet's last segment alone climbs past 95%)."""
    rng = np.random.default_rng(4)
    n = WINDOWS.history_dates().size
    values = 40.0 + 30.0 * (np.arange(n) >= n - 60) + rng.normal(0.0, 1.0, n)
    series = _shape(values, "step")
    result = prophet_forecast(series, WINDOWS)
    assert result.status == STATUS_OK, result.error
    assert abs(float(result.forecast.yhat[:90].mean()) - 70.0) < 4.0
    assert days_to_cross(result.forecast.yhat) is None
    plain = prophet_forecast(series, WINDOWS, ProphetSettings(extrapolation="prophet"))
    assert float(plain.forecast.yhat[:90].max()) > float(result.forecast.yhat[:90].max()) + 5.0


def _stepped(rng: np.random.Generator, n: int, before: float, after: float, days_after: int) -> np.ndarray:
    """``before`` until ``days_after`` days before the end, ``after`` since; a weekly swing and AR(1) noise."""
    x = np.arange(n) - (n - 1)
    weekly = np.sin(2.0 * np.pi * np.arange(n) / 7.0)
    return np.where(x > -days_after, after, before) + weekly + _ar_noise(rng, n, 1.2)


def test_prophet_continues_the_level_since_an_old_step_down() -> None:
    """A workload moved off 150 days before the end (56 -> 41), flat since: the forecast stays at 41. Prophet's
    last segment had read part of the step as a decline (here 7 points lower by the end of the horizon; on 6 of
    the first 10 seeds of this test 8-15) and the last weeks' slope could not be told from it."""
    n = WINDOWS.history_dates().size
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(n)
    future = days[-1] + np.arange(1, 181)
    values = _stepped(np.random.default_rng(3), n, 56.0, 41.0, 150)
    settings = ProphetSettings()
    assert float(np.max(np.abs(_continued(days, values, future, settings) - 41.0))) < 2.0
    before = _continued(days, values, future, replace(settings, since_step=False))
    assert float(before[-30:].mean()) < 41.0 - 5.0


def _since_step(x: np.ndarray, v: np.ndarray, settings: ProphetSettings) -> tuple[float | None, float | None]:
    reading = _since_step_reading(x, v, settings)
    return (None, None) if reading is None else (reading.level, reading.slope)


def _since_step_reading(x: np.ndarray, v: np.ndarray, settings: ProphetSettings) -> prophet_engine.SinceStep | None:
    whole = prophet_engine.recent_trend(x, v, settings.shape_evidence)
    return prophet_engine.line_since_step(x, v, whole, settings)


def test_line_since_step_is_flat_unless_the_days_since_climb() -> None:
    settings = ProphetSettings()
    n = 700
    x = (np.arange(n) - (n - 1)).astype(float)
    flat = _stepped(np.random.default_rng(1), n, 56.0, 41.0, 150)
    level, slope = _since_step(x, flat, settings)
    assert slope == 0.0 and level == pytest.approx(41.0, abs=1.0)
    climbing = flat + 0.1 * np.maximum(x + 150.0, 0.0)  # +15 points since the step
    level, slope = _since_step(x, climbing, settings)
    assert slope == pytest.approx(0.1, abs=0.02) and level == pytest.approx(41.0 + 15.0, abs=1.5)
    recent = _stepped(np.random.default_rng(2), n, 56.0, 41.0, 30)  # a recent step is the recent window's
    assert _since_step(x, recent, settings) == (None, None)
    line = 30.0 + 0.02 * x + _ar_noise(np.random.default_rng(3), n, 1.2)
    assert _since_step(x, line, settings) == (None, None)


def test_a_level_since_a_step_starts_from_last_weeks_it_does_not_explain() -> None:
    """A disk from read blind seed 2075 (sf2075-0097, tests/python/fixtures) that stepped to a level it wanders
    around, and sat at 95-100 for its last three weeks; the truth stayed at 97-99 for weeks, then fell back to
    about 86 by day 90. The flat level since the step (88) does not explain the last 28 days, so the forecast
    starts from them and drifts back to it at the weekly means' own pace: over 95 on day 1, within a point of
    the truth there, against under 90 at the flat level (``since_step_recent_pull`` off). A level that holds
    since its step keeps its flat level."""
    days, values = fixture_points("wander_after_step_disk")
    future = days[-1] + np.arange(1, 91)
    truth_start, truth_day_90 = 97.1, 85.4
    fitted = prophet_engine.with_calendar_peaks(days, values, ProphetSettings())
    fit = prophet_engine.sharper_season(fitted, days, values)
    flat = replace(fit, settings=replace(fit.settings, since_step_recent_pull=False))
    pulled_yhat = prophet_engine.consensus_forecast(fit, days, values, future)[0]
    flat_yhat = prophet_engine.consensus_forecast(flat, days, values, future)[0]
    assert pulled_yhat[0] > 95.0 > flat_yhat.max() + 5.0
    assert abs(pulled_yhat[0] - truth_start) < 1.0 and abs(pulled_yhat[-1] - truth_day_90) < 6.0
    assert pulled_yhat[-7:].mean() < pulled_yhat[:7].mean() - 3.0  # drifting back
    n = 700
    x = (np.arange(n) - (n - 1)).astype(float)
    held = _since_step_reading(x, _stepped(np.random.default_rng(1), n, 56.0, 41.0, 150), ProphetSettings())
    assert held is not None and held.gap == 0.0
    np.testing.assert_allclose(held.at(np.array([1.0, 90.0])), held.level)


def test_recent_pull_reads_its_band_and_its_pace_from_the_days_since_the_step() -> None:
    """:func:`recent_pull` on 140 days since a step (noise of 2): a level whose last 28 days sit inside its
    one-day band keeps its flat level. Where they sit well above it they start the forecast and the gap closes
    at the weekly means' AR(1) pace: a climb of 12 points that held (weekly means that follow one another, a
    random walk's pace of 1) holds; a bump of 12 that turned back two weeks ago drifts back, at a pace between 0
    and 1. A constant level has nothing to pull."""
    settings = ProphetSettings()
    x = np.arange(-139.0, 1.0)
    noise = np.random.default_rng(5).normal(0.0, 2.0, x.size)
    ahead = np.array([1.0, 14.0, 180.0])

    def pulled(values: np.ndarray) -> prophet_engine.SinceStep:
        return prophet_engine.recent_pull(x, values, prophet_engine.SinceStep(float(values.mean()), 0.0), settings)

    assert pulled(50.0 + noise).gap == 0.0
    held = 50.0 + 12.0 * np.clip((x + 70.0) / 42.0, 0.0, 1.0) + noise  # up 12 over six weeks, held four
    reading = pulled(held)
    assert reading.gap == pytest.approx(float(held[-28:].mean() - held.mean()))
    assert reading.persistence == 1.0
    np.testing.assert_allclose(reading.at(ahead), held[-28:].mean())
    swing = 50.0 + 12.0 * np.exp(-(((x + 14.0) / 14.0) ** 2)) + noise  # a bump, at its top two weeks ago
    reading = pulled(swing)
    assert reading.gap > 0.0 and 0.0 < reading.persistence < 1.0
    path = reading.at(ahead)
    assert path[0] > path[1] > path[2] > reading.level
    steady = prophet_engine.SinceStep(50.0, 0.0)
    assert prophet_engine.recent_pull(x, np.full(x.size, 50.0), steady, settings) == steady


def _staircase(rng: np.random.Generator, n: int, start: float, rise: float, gap: int, noise: float = 1.0) -> np.ndarray:
    """A level that steps up by ``rise`` every ``gap`` days (the last step ``gap // 2`` days before the end), a
    weekly swing and AR(1) noise."""
    since_last = (np.arange(n)[::-1] + gap // 2) // gap  # steps still to come, counted back from the end
    weekly = np.sin(2.0 * np.pi * np.arange(n) / 7.0)
    return start + rise * (since_last.max() - since_last) + weekly + _ar_noise(rng, n, noise)


def test_staircase_growth_reads_steps_not_ramps_curves_moves_or_wandering() -> None:
    """Steps up of 5 points every 90 days: a staircase climbing 5/90 a day from its last level. The same rise
    as a line, as an S-curve, one workload move, or steps that go down as well as up: no staircase."""
    settings = ProphetSettings()
    n = 1095
    x = (np.arange(n) - (n - 1)).astype(float)
    rng = np.random.default_rng(7)
    stairs = prophet_engine.staircase_growth(x, _staircase(rng, n, 30.0, 5.0, 90), settings)
    assert stairs is not None
    assert stairs.climb == pytest.approx(5.0 / 90.0, rel=0.25)
    assert stairs.level == pytest.approx(30.0 + 5.0 * 12, abs=1.0)
    assert np.all(np.diff(stairs.levels) > 0.0) and stairs.starts.size >= settings.staircase_min_steps
    for seed in range(8, 12):  # several draws: only the ramps test stands between these and a staircase
        noise = _ar_noise(np.random.default_rng(seed), n, 1.0)
        line = 30.0 + (5.0 / 90.0) * (x + n) + noise
        s_curve = 30.0 + 40.0 / (1.0 + np.exp(-(x + 400.0) / 60.0)) + noise
        move = 40.0 + 20.0 * (x > -200.0) + noise
        up_and_down = 50.0 + 5.0 * np.where((x // 120) % 2 == 0, 1.0, 0.0) + 0.005 * x + noise
        ramp_in = 40.0 + 20.0 * np.clip((x + 200.0) / 45.0, 0.0, 1.0) + noise  # a move that took 45 days
        for values in (line, s_curve, move, up_and_down, ramp_in):
            assert prophet_engine.staircase_growth(x, values, settings) is None, seed


def test_a_staircase_of_many_small_steps_is_read_though_a_line_fits_it_as_well() -> None:
    """Steps up of 3 points every 52 days (14 in the last two years), in AR(1) noise of 1: the levels beat ramps
    through the same breaks, but at two parameters a step they do not beat the best line by shape_evidence, so
    with that test (``staircase_many_steps`` off) no staircase is read on any of six draws and the last step
    goes on as a one-off move. Read as a staircase it climbs 3/52 a day, as the line would."""
    x = np.arange(-1094, 1, dtype=np.float64)
    steps = -1074.0 + np.arange(52.0, 1094.0, 52.0)
    level = 20.0 + 3.0 * (x[:, None] >= steps[None, :]).sum(axis=1)
    settings = ProphetSettings()
    line_checked = replace(settings, staircase_many_steps=False)
    for seed in range(6):
        values = level + _ar_noise(np.random.default_rng(seed), x.size, 1.0)
        stairs = prophet_engine.staircase_growth(x, values, settings)
        assert stairs is not None and stairs.climb == pytest.approx(3.0 / 52.0, rel=0.1), seed
        assert prophet_engine.staircase_growth(x, values, line_checked) is None, seed


def test_a_short_level_split_off_by_noise_does_not_hide_a_staircase() -> None:
    """Steps of 7 points every 100 days, one of them followed 20 days later by a shift of 2 points more (a
    noisy step read as two): the 20-day level joins its nearer neighbour, and the staircase is read, climbing
    about 7/100 a day. Before, that one short level made the whole series no staircase."""
    settings = ProphetSettings()
    n = 1095
    x = (np.arange(n) - (n - 1)).astype(float)
    values = _staircase(np.random.default_rng(21), n, 30.0, 7.0, 100, noise=0.6)
    values = values + 2.0 * (x >= -230.0)  # the step at day -250 comes in two parts
    window = x > -settings.staircase_window
    cuts = prophet_engine.level_segments(values[window])
    assert float(np.diff(x[window][cuts]).min()) < settings.past_window  # the short level is there to merge
    stairs = prophet_engine.staircase_growth(x, values, settings)
    assert stairs is not None
    assert float(np.diff(stairs.starts).min()) >= settings.past_window
    assert stairs.climb == pytest.approx(7.0 / 100.0, rel=0.25)


def test_a_level_split_in_two_by_a_weak_fall_does_not_hide_a_staircase() -> None:
    """Steps of 8 points every 120 days; in the level from day -419 to day -300, days -360 to -301 sit 1.5
    points lower (noise drifting within a level). On each of ten noise draws, where level_segments reads that as
    two levels and a fall too weak to beat shape_evidence, the two join and the staircase is read, climbing
    about 8/120 a day; where the fall beats the bar it is a real one, and there is no staircase. Both happen
    among the ten. Before, any fall made the whole series no staircase. A fall of 5 points inside the same
    level beats the bar and voids it."""
    settings = ProphetSettings()
    n = 1095
    x = (np.arange(n) - (n - 1)).astype(float)
    inside = (x >= -360.0) & (x < -300.0)
    window = x > -settings.staircase_window
    seen = set()
    for seed in range(20, 30):
        steps = _staircase(np.random.default_rng(seed), n, 30.0, 8.0, 120, noise=0.6)
        drifted = steps - 1.5 * inside
        v = drifted[window]
        cuts = prophet_engine._merged_short_levels(x[window], v, prophet_engine.level_segments(v), settings.past_window)
        edges = [0, *cuts, v.size]
        levels = np.add.reduceat(v, edges[:-1]) / np.diff(edges)
        falls = [i for i in range(cuts.size) if levels[i + 1] <= levels[i]]
        if len(falls) != 1:
            continue  # the drift did not come out as one fall on this draw
        (fall,) = falls
        evidence = prophet_engine._split_evidence(v, edges[fall], edges[fall + 1], edges[fall + 2])
        weak = evidence <= settings.shape_evidence
        seen.add(weak)
        stairs = prophet_engine.staircase_growth(x, drifted, settings)
        if weak:
            assert stairs is not None, seed
            assert bool(np.all(np.diff(stairs.levels) > 0.0)), seed
            assert stairs.climb == pytest.approx(8.0 / 120.0, rel=0.25), seed
        else:
            assert stairs is None, seed
        if seed == 20:
            assert prophet_engine.staircase_growth(x, steps - 5.0 * inside, settings) is None
    assert seen == {True, False}


def test_weak_falls_merge_weakest_first_and_strong_falls_and_rises_stay() -> None:
    """Levels of 100 days each, iid noise of 1 point: 30, 29.8, 29.6 (two weak falls: the first merge leaves a
    fall of about 0.3 from the joined level, weak too, so all three join), 40, 36 (a 4-point fall, far past
    the bar: kept), 36.3 (a weak rise: kept)."""
    rng = np.random.default_rng(3)
    means = [30.0, 29.8, 29.6, 40.0, 36.0, 36.3]
    v = np.repeat(means, 100) + rng.standard_normal(600)
    cuts = np.arange(100, 600, 100)
    kept = prophet_engine._merged_weak_falls(v, cuts, ProphetSettings().shape_evidence)
    assert kept.tolist() == [300, 400, 500]


def test_a_staircase_whose_steps_stopped_is_not_continued() -> None:
    """Three steps of 7 points 40 days apart: the last 60 days ago is a staircase under way; the same steps
    ending 240 days ago (six gaps without one) have stopped, and are not climbed on."""
    settings = ProphetSettings()
    n = 1095
    x = (np.arange(n) - (n - 1)).astype(float)
    noise = _ar_noise(np.random.default_rng(12), n, 1.0)

    def steps(last: float) -> np.ndarray:
        return 30.0 + 7.0 * sum((x >= last - 40.0 * k).astype(float) for k in range(3)) + noise

    assert prophet_engine.staircase_growth(x, steps(-60.0), settings) is not None
    assert prophet_engine.staircase_growth(x, steps(-240.0), settings) is None


def test_prophet_continues_a_staircase_by_the_steps_its_cadence_brings() -> None:
    """Load onboarded in steps of 6 points every 80 days, the last 40 days before the end: the forecast stays at
    the last level while the next step is not due, takes it about 40 days on and the one after about 120 days
    on (staircase_renewal). At the average climb it rose about 6/80 a day from the first day instead; read as a
    one-off move, it stayed flat at the last level."""
    n = WINDOWS.history_dates().size
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(n)
    future = days[-1] + np.arange(1, 181)
    values = _staircase(np.random.default_rng(5), n, 20.0, 6.0, 80)
    last = float(values[-30:].mean())
    settings = ProphetSettings()
    assert settings.staircase_renewal
    forecast = _continued(days, values, future, settings)
    assert float(forecast[:7].mean()) == pytest.approx(last, abs=2.0)
    assert float(forecast[20:30].mean() - forecast[:7].mean()) < 1.0  # the next step is not due yet
    assert float(forecast[55:65].mean() - forecast[:7].mean()) == pytest.approx(6.0, abs=1.5)  # one step on
    assert float(forecast[-7:].mean() - forecast[:7].mean()) == pytest.approx(12.0, abs=2.0)  # two steps on
    climb = _continued(days, values, future, replace(settings, staircase_renewal=False))
    assert float(climb[20:30].mean() - climb[:7].mean()) == pytest.approx(6.0 / 80.0 * 23, abs=1.0)
    assert float(climb[-1] - climb[0]) == pytest.approx(6.0 / 80.0 * 179, rel=0.3)
    flat = _continued(days, values, future, replace(settings, staircase=False))
    assert float(flat[-1] - flat[0]) < 3.0
    # At the average climb the steps to come widen the band: the next is due 40 days on, so above the line
    # from then. Around the steps' own mean the band stays narrow: every gap seen was about 80 days.
    climbing = replace(settings, staircase_renewal=False)
    fit = prophet_engine.with_calendar_peaks(days, values, climbing)
    _, widen = prophet_engine.consensus_forecast(fit, days, values, future)
    assert float(widen[1, :30].max()) < 1.0 < float(widen[1, 45:75].min())
    assert float(widen[1].max()) > 3.0
    _, around_mean = prophet_engine.consensus_forecast(
        prophet_engine.with_calendar_peaks(days, values, settings), days, values, future
    )
    assert float(np.abs(around_mean).max()) < 1.5


def test_a_staircase_on_its_last_level_is_not_read_as_growth_levelling_off() -> None:
    """Steps of 10 points every 200 days, the last 114 days ago: the 36-week growth window holds one step and
    the level since, which fits growth that slowed toward a ceiling (an S-curve, forecast flat), but the two
    years are steps and the next is due. The staircase is read first, so the forecast takes the next step about
    86 days on (at the average climb: about half a step by day 90); read after the curves, it stayed flat."""
    n = WINDOWS.history_dates().size
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(n)
    future = days[-1] + np.arange(1, 181)
    x = (np.arange(n) - (n - 1)).astype(float)
    noise = _ar_noise(np.random.default_rng(21), n, 0.8)
    values = 40.0 + 10.0 * sum((x >= -114.0 - 200.0 * k).astype(float) for k in range(5)) + noise
    settings = ProphetSettings()
    forecast = _continued(days, values, future, settings)
    assert float(forecast[60] - forecast[0]) < 2.0
    assert float(forecast[99] - forecast[0]) == pytest.approx(10.0, abs=2.0)
    climb = _continued(days, values, future, replace(settings, staircase_renewal=False))
    assert float(climb[89] - climb[0]) == pytest.approx(10.0 / 200.0 * 89, rel=0.3)
    flat = _continued(days, values, future, replace(settings, staircase=False))
    assert abs(float(flat[89] - flat[0])) < 2.0


def test_a_wandering_level_s_latest_rise_is_damped_a_new_ramp_is_not() -> None:
    """A level that rose 18 points, fell them back at 0.15 a day, and has risen 18 again over the last 150
    days: Prophet's last segment carried that rise on for months (about 11 points in 90 days); the series has
    fallen as fast before, so the rise goes on damped. The same last 150 days after a flat history are a new
    ramp, and go on."""
    n = WINDOWS.history_dates().size
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(n)
    future = days[-1] + np.arange(1, 181)
    x = (np.arange(n) - (n - 1)).astype(float)
    noise = _ar_noise(np.random.default_rng(41), n, 1.0)
    wander = np.interp(x, [-n, -700, -550, -430, -150, 0], [60, 60, 78, 60, 60, 78]) + noise
    ramp = np.interp(x, [-n, -150, 0], [60, 60, 78]) + noise
    settings = ProphetSettings()

    def rise(values: np.ndarray, chosen: ProphetSettings) -> float:
        forecast = _continued(days, values, future, chosen)
        return float(forecast[89] - forecast[0])

    assert rise(wander, settings) < 4.0
    assert rise(wander, replace(settings, wander_damping=False)) > 9.0
    assert rise(ramp, settings) > 9.0
    # One earlier fall is no wander: a step down taken over 3 days (which a 90-day line reads as a fall as fast
    # as the ramp) and nothing that rose and was taken back. The ramp goes on.
    stepped = np.interp(x, [-n, -503, -500, -120, 0], [62, 62, 50, 50, 62]) + noise
    assert rise(stepped, settings) > 6.0


def test_a_wandering_level_is_forecast_from_its_level_with_a_band_its_wander_widens() -> None:
    """A level that wanders around 60 (an AR(1) of 0.99 a day, spread 6) under day-to-day noise: its weekly
    means spread over a quarter like a random walk's and its two-month trends were taken back, so it is read as
    a wandering level. The forecast starts from its last week's level and the band widens as its own
    past wanders did (13 weeks on by more than one week on). Noise around a level, a line, one level shift, a
    staircase, an S-curve: no wander."""
    settings = ProphetSettings()
    n = WINDOWS.history_dates().size
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(n)
    future = days[-1] + np.arange(1, 181)
    x = (np.arange(n) - (n - 1)).astype(float)
    rng = np.random.default_rng(7)
    wander = 60.0 + _ar_noise(rng, n, 6.0, 0.99) + _ar_noise(rng, n, 1.0)
    level = prophet_engine.wandering_level(x, wander, settings)
    assert level is not None
    assert level.level == pytest.approx(float(wander[-7:].mean()))
    widen = level.widening(np.arange(1.0, 181.0))
    assert float(widen[1, 90]) > float(widen[1, 6]) + 3.0 and float(widen[0, 90]) > float(widen[0, 6]) + 3.0
    fit = prophet_engine.with_calendar_peaks(days, wander, settings)
    forecast, band = prophet_engine.consensus_forecast(fit, days, wander, future)
    assert abs(float(forecast[60:120].mean()) - level.at(np.array([90.0]))[0]) < 1.5  # the level, not a leg
    np.testing.assert_allclose(band, widen, atol=0.2)  # the same misses, read off the deseasonalised days
    noise = _ar_noise(np.random.default_rng(8), n, 1.0)
    others = {
        "calm": 50.0 + noise,
        "line": 30.0 + 0.02 * (x + n) + noise,
        "one step": 40.0 + 15.0 * (x > -300.0) + noise,
        "a workload on, then off": 70.0 + 15.0 * ((x > -500.0) & (x < -300.0)) + noise,
        "a drain, then back": 70.0 - 15.0 * ((x > -600.0) & (x < -250.0)) + noise,
        "staircase": _staircase(np.random.default_rng(7), n, 30.0, 5.0, 90),
        "S-curve": 30.0 + 40.0 / (1.0 + np.exp(-(x + 400.0) / 60.0)) + noise,
    }
    for name, values in others.items():
        assert prophet_engine.wandering_level(x, values, settings) is None, name


def test_a_wandering_level_starts_from_its_last_week_not_a_month_behind() -> None:
    """Twenty draws of a level that wanders (an AR(1) of 0.99 a day under day-to-day noise), fifteen of them
    read as wandering: the forecast starts from the last week's mean (``wander_level_weeks`` 1), which a
    month's mean lags by half a month, and the band's past misses are read from the same level. On every
    draw the band over the next 30 days is narrower than from four weeks' mean (a week ahead, nowhere wider),
    and over the draws the forecast misses less."""
    settings = ProphetSettings()
    month = replace(settings, wander_level_weeks=4)
    n = WINDOWS.history_dates().size
    x = (np.arange(n) - (n - 1)).astype(float)
    ahead = np.arange(1.0, 31.0)
    misses: dict[int, list[float]] = {1: [], 4: []}
    for seed in range(40, 60):
        rng = np.random.default_rng(seed)
        path = 60.0 + _ar_noise(rng, n + 30, 6.0, 0.99) + _ar_noise(rng, n + 30, 1.0)
        history, future = path[:n], path[n:]
        week, four = (prophet_engine.wandering_level(x, history, chosen) for chosen in (settings, month))
        if week is None:
            assert four is None  # the wander tests do not read the level
            continue
        assert four is not None
        assert week.level == pytest.approx(float(history[-7:].mean()))
        assert four.level == pytest.approx(float(history[-28:].mean()))
        assert week.widening(ahead).sum() < four.widening(ahead).sum()
        assert np.all(week.widening(ahead)[:, :7] <= four.widening(ahead)[:, :7] + 1e-9)
        misses[1].append(float(np.abs(week.at(ahead) - future).mean()))
        misses[4].append(float(np.abs(four.at(ahead) - future).mean()))
    assert len(misses[1]) == 15
    assert np.mean(misses[1]) < np.mean(misses[4]) - 0.1


def test_a_wandering_levels_band_is_at_least_its_ar1_spread() -> None:
    """The AR(1)'s spread k weeks ahead is its weekly shock times the root of the summed squared persistences
    (a random walk's root of k; no persistence, the shock alone). The wander band's past misses are floored
    there (``wander_model_floor``): never narrower than the misses alone, and wider far ahead where the three
    years happened to wander little over a quarter (this draw: more than 2 points on day 90)."""
    np.testing.assert_allclose(prophet_engine._ar1_spread(2.0, 1.0, 4), 2.0 * np.sqrt([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_allclose(prophet_engine._ar1_spread(2.0, 0.0, 3), [2.0, 2.0, 2.0])
    np.testing.assert_allclose(prophet_engine._ar1_spread(1.0, 0.5, 2), [1.0, np.sqrt(1.25)])
    settings = ProphetSettings()
    n = WINDOWS.history_dates().size
    x = (np.arange(n) - (n - 1)).astype(float)
    rng = np.random.default_rng(8)
    wander = 60.0 + _ar_noise(rng, n, 6.0, 0.99) + _ar_noise(rng, n, 1.0)
    floored = prophet_engine.wandering_level(x, wander, settings)
    alone = prophet_engine.wandering_level(x, wander, replace(settings, wander_model_floor=False))
    assert floored is not None and alone is not None
    ahead = np.arange(1.0, 181.0)
    weeks = prophet_engine.weekly_means(x, wander)
    design = np.column_stack([np.ones(weeks.size - 1), weeks[:-1]])
    shocks = weeks[1:] - design @ np.linalg.lstsq(design, weeks[1:], rcond=None)[0]
    sigma = float(np.sqrt(shocks @ shocks / (weeks.size - 3)))
    reach = NormalDist().inv_cdf(0.9) * prophet_engine._ar1_spread(sigma, floored.persistence, 26)
    week = np.minimum(np.ceil(ahead / 7.0).astype(int), 26) - 1
    assert np.all(floored.widening(ahead) >= reach[week] - 1e-9)  # both sides, every day
    assert float(floored.widening(ahead)[1, 89]) > float(alone.widening(ahead)[1, 89]) + 2.0
    np.testing.assert_allclose(floored.at(ahead), alone.at(ahead))  # the point forecast is the same


def test_a_wandering_level_drifts_back_only_where_its_history_shows_it_does() -> None:
    """The weekly means' AR(1) sets the pace back to their own level where Dickey-Fuller tells the coefficient
    from 1: a level pulled back hard (0.97 a day) drifts back to about its mean; a random walk (its coefficient
    cannot be told from 1) holds its last level. The wander tests are opened wide here to reach the AR(1)."""
    settings = replace(
        ProphetSettings(), wander_min_variance_ratio=0.0, wander_min_step_free_ratio=0.0, wander_min_line_loss=0.0
    )
    n = 1096
    x = (np.arange(n) - (n - 1)).astype(float)
    rng = np.random.default_rng(3)
    pulled = 60.0 + _ar_noise(rng, n, 6.0, 0.97) + _ar_noise(rng, n, 1.0)
    level = prophet_engine.wandering_level(x, pulled, settings)
    assert level is not None and 0.5 < level.persistence < 0.95
    assert level.centre == pytest.approx(float(pulled.mean()), abs=1.5)
    ahead = np.array([0.0, 70.0, 180.0])
    path = level.at(ahead)
    assert path[0] == pytest.approx(level.level)
    gaps = np.abs(path - level.centre)
    assert gaps[0] > gaps[1] > gaps[2]  # nearer its own level the further ahead
    walk = 60.0 + np.cumsum(rng.normal(0.0, 0.6, n))
    held = prophet_engine.wandering_level(x, walk, settings)
    assert held is not None and held.persistence == 1.0
    np.testing.assert_allclose(held.at(ahead), held.level)


def test_a_season_that_ends_at_the_year_end_is_not_read_as_a_new_ramp() -> None:
    """A December busy season of +24 that stops on 1 January: the yearly term's Fourier series already falls
    through the last weeks of December while the data stays high, so the last two weeks less the season read
    as a ramp steeper than anything before, carried on to over 100%. The yearly term moves more over those days
    than the rise, so Prophet's own trend goes on. A ramp as steep over a mild swell is still carried on."""
    n = WINDOWS.history_dates().size
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(n)
    future = days[-1] + np.arange(1, 181)
    day_of_year = (days - days.astype("datetime64[Y]")).astype(float)
    noise = _ar_noise(np.random.default_rng(0), n, 1.0)
    december = 50.0 + 24.0 * np.exp(-0.5 * ((day_of_year - 340.0) / 20.0) ** 2) + noise
    settings = ProphetSettings()

    def top(values: np.ndarray, chosen: ProphetSettings) -> float:
        fit = prophet_engine.sharper_season(prophet_engine.with_calendar_peaks(days, values, chosen), days, values)
        return float(prophet_engine.consensus_forecast(fit, days, values, future)[0][:90].max())

    assert top(december, settings) < 70.0
    assert top(december, replace(settings, young_ramp_check=False)) < 70.0  # the season check alone
    # Its last two weeks are also a young rise no steeper than the Decembers before (young_ramp_check).
    assert top(december, replace(settings, season_ramp_check=False, young_ramp_check=False)) > 100.0
    x = (np.arange(n) - (n - 1)).astype(float)
    # 40 days old: a ramp under 28 days is a young rise, judged by young_ramp_check as well.
    ramp = 40.0 + 3.0 * np.sin(2.0 * np.pi * day_of_year / 365.25) + 0.3 * np.maximum(x + 40.0, 0.0) + noise
    assert top(ramp, settings) > 70.0


def test_a_staircase_widens_the_band_by_the_steps_its_own_cadence_brings() -> None:
    """Steps of 6 every 80 days, the last 40 days ago: every simulated future steps on day 40 and 120, so the
    band leaves the climb's line below it before day 40 (no step yet) and above it after (a whole step). An
    overdue step (the last 100 days ago) may come any day of the next 80: the band widens both ways at once."""
    levels = np.array([10.0, 16.0, 22.0, 28.0])
    ahead = np.arange(1.0, 181.0)
    due = prophet_engine.Staircase(starts=np.array([-200.0, -120.0, -40.0]), levels=levels, climb=6.0 / 80.0)
    below, above = due.widening(ahead, 0.8, seed=0)
    line = 6.0 / 80.0 * ahead
    np.testing.assert_allclose(below[:39], line[:39])  # no step before day 40: the truth sits on the old level
    np.testing.assert_allclose(above[:39], 0.0)
    np.testing.assert_allclose(above[39:119], np.maximum(6.0 - line[39:119], 0.0), atol=1e-9)  # a whole step
    overdue = prophet_engine.Staircase(starts=np.array([-260.0, -180.0, -100.0]), levels=levels, climb=6.0 / 80.0)
    below, above = overdue.widening(ahead, 0.8, seed=0)
    assert float(above[20]) > 2.0 and float(below[60]) > 2.0


def test_a_staircase_outlook_counts_the_days_since_its_last_step() -> None:
    """Steps of 6 every 80 days. The last 40 days ago: every simulated future steps on days 40 and 120, so the
    mean stays on the last level to day 39, is one step up from day 40 and two from day 120, with no spread
    around it. The last 100 days ago (overdue): the next step comes on a day drawn evenly within the next 80,
    so the mean rises about 6/80 a day from the first day and the band spreads both ways. Without renewal the
    centre is the average climb's line (its band is Staircase.widening's, tested below)."""
    levels = np.array([10.0, 16.0, 22.0, 28.0])
    ahead = np.arange(1.0, 181.0)
    due = prophet_engine.Staircase(starts=np.array([-200.0, -120.0, -40.0]), levels=levels, climb=6.0 / 80.0)
    centre, widen = due.outlook(ahead, 0.8, seed=0)
    expected = 6.0 * (ahead >= 40.0) + 6.0 * (ahead >= 120.0)
    np.testing.assert_allclose(centre, expected, atol=1e-9)
    np.testing.assert_allclose(widen, 0.0, atol=1e-9)
    overdue = prophet_engine.Staircase(starts=np.array([-260.0, -180.0, -100.0]), levels=levels, climb=6.0 / 80.0)
    centre, widen = overdue.outlook(ahead, 0.8, seed=0)
    assert float(centre[39]) == pytest.approx(3.0, abs=0.7)  # half the futures have stepped by day 40
    assert float(centre[79]) == pytest.approx(6.0, abs=0.1) and float(centre[179]) > 12.0 - 0.1
    assert float(widen[0, 39]) > 2.0 and float(widen[1, 39]) > 2.0
    line, _ = overdue.outlook(ahead, 0.8, seed=0, renewal=False)
    np.testing.assert_allclose(line, 6.0 / 80.0 * ahead)


def test_uneven_gaps_are_smoothed_before_the_next_step_is_timed() -> None:
    """Gaps of 60, 80 and 100 days: Silverman's bandwidth 0.9 x min(sd 20, IQR 20 / 1.34) x 3^-0.2, about 10.8
    days; equal gaps, or a single one, are not smoothed. The last step 40 days ago: a drawn gap of 60 ends 20 days
    on, 80 ends 40 on, 100 ends 60 on. Unsmoothed, the mean rises in three jumps of a third of a step on those
    days and not between them; smoothed, it also rises between them."""
    assert prophet_engine.gap_bandwidth(np.array([60.0, 80.0, 100.0])) == pytest.approx(0.9 * (20.0 / 1.34) * 3.0**-0.2)
    assert prophet_engine.gap_bandwidth(np.array([80.0, 80.0])) == 0.0
    assert prophet_engine.gap_bandwidth(np.array([80.0])) == 0.0
    stairs = prophet_engine.Staircase(
        starts=np.array([-280.0, -220.0, -140.0, -40.0]), levels=np.array([10.0, 16.0, 22.0, 28.0, 34.0]), climb=0.075
    )
    ahead = np.arange(1.0, 181.0)
    raw = stairs.simulated_rises(ahead, seed=0).mean(axis=0)
    smooth = stairs.simulated_rises(ahead, seed=0, smooth=True).mean(axis=0)
    assert float(raw[28] - raw[21]) == 0.0 and float(smooth[28] - smooth[21]) > 0.3
    assert float(raw[60] - raw[58]) > 1.0 and float(smooth[60] - smooth[58]) < float(raw[60] - raw[58])


def _traffic(rng: np.random.Generator, n: int, growth: float, multiplicative: bool) -> np.ndarray:
    """A level of 30 growing ``growth`` a year (compounding), a weekday-weekend cycle (25% of the level, or of
    the first day's level when not ``multiplicative``) and AR(1) noise."""
    level = 30.0 * np.exp(np.log1p(growth) * np.arange(n) / 365.0)
    weekend = (np.arange(n) % 7 >= 5).astype(float) - 2.0 / 7.0  # weekend days low, mean 0
    swing = -0.25 * (level if multiplicative else level[0])
    return level + swing * weekend + _ar_noise(rng, n, 0.8)


def test_level_cycle_is_read_only_where_the_swing_grows_with_the_level() -> None:
    """Traffic growing 40% a year whose weekend dip scales with it: a level cycle. The same growth with a fixed
    dip, or a flat series with a multiplicative one (no level change to tell them apart): additive."""
    n = WINDOWS.history_dates().size
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(n)
    settings = ProphetSettings()

    def cycle(values: np.ndarray) -> prophet_engine.LevelCycle | None:
        fit = prophet_engine.with_calendar_peaks(days, values, settings)
        return prophet_engine.level_cycle(fit, days, values, settings.shape_evidence)

    assert cycle(_traffic(np.random.default_rng(1), n, 0.4, multiplicative=True)) is not None
    assert cycle(_traffic(np.random.default_rng(2), n, 0.4, multiplicative=False)) is None
    assert cycle(_traffic(np.random.default_rng(3), n, 0.0, multiplicative=True)) is None


def test_prophet_forecasts_a_growing_weekly_swing_at_the_forecast_level() -> None:
    """Traffic growing 40% a year with a weekend dip of a quarter of its level: half a year ahead the forecast
    dips by a quarter of the level it forecasts, not by the three years' average dip (about a fifth of it)."""
    n = WINDOWS.history_dates().size
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(n)
    future = days[-1] + np.arange(1, 181)
    values = _traffic(np.random.default_rng(4), n, 0.4, multiplicative=True)
    settings = ProphetSettings()

    def weekend_dip(forecast: np.ndarray) -> float:
        weekend = (np.arange(n, n + 180) % 7 >= 5)[-28:]
        last = forecast[-28:]
        return float(last[~weekend].mean() - last[weekend].mean()) / float(last.mean())

    true_dip = 0.25 / (1.0 - 0.25 * 2.0 / 7.0)  # the dip over the weekly mean level
    assert weekend_dip(_continued(days, values, future, settings)) == pytest.approx(true_dip, rel=0.1)
    additive = weekend_dip(_continued(days, values, future, replace(settings, level_cycle=False)))
    assert additive < 0.85 * true_dip


def test_slowly_compounding_traffic_is_forecast_on_its_curve() -> None:
    """Traffic growing 35% a year (doubling every 2.3 years) with a weekend dip of a quarter of its level: over
    36 weeks its growth is a line, so Prophet's last segment fell 1.3-1.9 points behind by months 4-6. Read
    with the level's own cycle taken out and searched as a slow curve over two years, the forecast follows the
    curve: on four draws its mean miss over 180 days is under half of what it is with either part off, and no
    draw's is worse than without the slow curve."""
    n = WINDOWS.history_dates().size
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(n)
    future = days[-1] + np.arange(1, 181)
    ahead = np.arange(n, n + 180)
    level = 30.0 * np.exp(np.log1p(0.35) * ahead / 365.0)
    truth = level * (1.0 - 0.25 * ((ahead % 7 >= 5) - 2.0 / 7.0))
    shipped = ProphetSettings()
    errors: dict[str, list[float]] = {"shipped": [], "additive cycle": [], "no slow curve": []}
    for seed in range(4):
        values = _traffic(np.random.default_rng(seed), n, 0.35, multiplicative=True)
        for name, settings in (
            ("shipped", shipped),
            ("additive cycle", replace(shipped, cycle_in_trend=False)),
            ("no slow curve", replace(shipped, slow_compounding=False)),
        ):
            errors[name].append(float(np.abs(_continued(days, values, future, settings) - truth).mean()))
    assert np.mean(errors["shipped"]) < 0.5 * min(np.mean(errors["additive cycle"]), np.mean(errors["no slow curve"]))
    pairs = zip(errors["shipped"], errors["no slow curve"], strict=True)
    assert all(on <= off + 1e-9 for on, off in pairs), errors


def test_a_line_is_not_read_as_slow_compounding() -> None:
    """Three years of a line (30 rising to 52, 0.02 a day) with a fixed weekend dip and AR(1) noise: a slow
    curve fits it no better than the line, so no curve is continued on any of 10 draws."""
    x = np.arange(-1095, 1, dtype=np.float64)
    weekend = ((x.astype(np.int64) % 7) >= 5) - 2.0 / 7.0
    settings = ProphetSettings()
    for seed in range(10):
        values = 52.0 + 0.02 * x - 6.0 * weekend + _ar_noise(np.random.default_rng(seed), x.size, 1.2)
        assert prophet_engine.compounding_growth(x, values, settings) is None, seed


def test_a_slope_that_stepped_up_is_not_read_as_slow_compounding() -> None:
    """Three years of a line whose slope doubled (0.015 -> 0.03 a day) 300 days before the end, in AR(1)
    noise: over two years it bends like a slow curve, which beats a line and a hinge there and fits the last 36
    weeks within the tolerance on most draws, but a line whose slope changed once explains it at least as
    well, so no curve is continued on any of 8 draws (a helper review's case: read as a curve, it ran 1.2-1.35
    points high over days 91-180)."""
    x = np.arange(-1095, 1, dtype=np.float64)
    settings = ProphetSettings()
    without_guard = 0
    for seed in range(8):
        values = 81.5 + 0.015 * x + 0.015 * np.maximum(x + 300.0, 0.0)
        values = values + _ar_noise(np.random.default_rng(seed), x.size, 0.8)
        assert prophet_engine.compounding_growth(x, values, settings) is None, seed
        slack = settings.growth_fit_tolerance
        found = prophet_engine.young_curve(x, values, settings, None, settings.slow_doubling_days, slack)
        without_guard += found is not None
    assert without_guard >= 4, without_guard


def _busy_season(rng: np.random.Generator, days: np.ndarray, top: float) -> np.ndarray:
    """A level of 50 with a busy season each year: a bell of ``top`` points, 10 days wide (one standard
    deviation), centred on 1 March; AR(1) noise."""
    day_of_year = (days - days.astype("datetime64[Y]")).astype(float)
    return 50.0 + top * np.exp(-0.5 * ((day_of_year - 59.0) / 10.0) ** 2) + _ar_noise(rng, days.size, 1.0)


def _season_calendar() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The history's days, the 180 days after, and over both: years since the first day and the day of year."""
    n = WINDOWS.history_dates().size
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(n)
    future = days[-1] + np.arange(1, 181)
    every = np.concatenate([days, future])
    return (
        days,
        future,
        (every - every[0]).astype(float) / 365.25,
        (every - every.astype("datetime64[Y]")).astype(float),
    )


def _forecast_top(days: np.ndarray, history: np.ndarray, future: np.ndarray, settings: ProphetSettings) -> float:
    """The top of Prophet's forecast of ``history`` over ``future``, its season sharpened as the engine does."""
    fit = prophet_engine.sharper_season(prophet_engine.with_calendar_peaks(days, history, settings), days, history)
    return float(prophet_engine.consensus_forecast(fit, days, history, future)[0].max())


def test_a_season_that_grows_every_year_is_forecast_at_its_next_size() -> None:
    """A busy season whose top grows 6 points a year on a flat base: Prophet's yearly term is the years'
    average season, so its next top was forecast some 12 points under the truth's; read as a season whose
    size grows, the top is forecast within 3 points. A season of one size is not read as growing, whether its
    base is flat or bends."""
    days, future, years, day_of_year = _season_calendar()
    n = days.size
    bell = np.exp(-0.5 * ((day_of_year - 59.0) / 20.0) ** 2)
    noise = _ar_noise(np.random.default_rng(31), years.size, 1.0)
    growing = 50.0 + (24.0 + 6.0 * years) * bell
    truth_top = float(growing[n:].max())
    history = (growing + noise)[:n]
    settings = ProphetSettings()
    assert _forecast_top(days, history, future, settings) == pytest.approx(truth_top, abs=3.0)
    assert _forecast_top(days, history, future, replace(settings, growing_seasons=False)) < truth_top - 8.0
    # A season of one size is not read as growing, on a flat base nor on one that bends: a ramp that began 300
    # days ago or a step 200 days ago, read against one line, had left an error a shrinking season took up.
    x = (days - days[-1]).astype(float)
    swell = 10.0 * np.sin(2.0 * np.pi * day_of_year[:n] / 365.25)
    for base, season in (
        (np.full(n, 50.0), 30.0 * bell[:n]),
        (40.0 + 0.08 * np.maximum(x + 300.0, 0.0), swell),
        (40.0 + 15.0 * (x > -200.0), swell),
    ):
        steady = base + season + noise[:n]
        fit = prophet_engine.sharper_season(prophet_engine.with_calendar_peaks(days, steady, settings), days, steady)
        assert prophet_engine.growing_season(fit, days, steady) is None


def test_a_season_growing_a_point_a_year_is_read_at_the_bar_of_one_size() -> None:
    """A busy season of 30 points growing 1 point a year: three seasons' size line is at least as likely as
    one size (BIC, ``growing_season_evidence`` 0) but not by shape_evidence (10, the bar until session 42) on
    the base the bar was chosen on (Prophet's trend in it: ``season_size_own_base`` off). At the bar of 0 its
    next top is forecast within a point of the truth's; at shape_evidence on that base, 2 points under."""
    days, future, years, day_of_year = _season_calendar()
    growing = 50.0 + (30.0 + years) * np.exp(-0.5 * ((day_of_year - 59.0) / 20.0) ** 2)
    truth_top = float(growing[days.size :].max())
    history = (growing + _ar_noise(np.random.default_rng(31), years.size, 1.0))[: days.size]
    assert _forecast_top(days, history, future, ProphetSettings()) == pytest.approx(truth_top, abs=1.0)
    old_bar = ProphetSettings(growing_season_evidence=None, season_size_own_base=False)
    assert _forecast_top(days, history, future, old_bar) < truth_top - 1.5


def test_a_growing_seasons_size_is_not_shared_with_prophets_trend() -> None:
    """A busy season from read blind seed 2062 (sf2062-0163 cpu, tests/python/fixtures) whose tops grew from 83
    to 86 to 90 (two-week means) on a flat base of 50; the truth's next top crossed 95 on day 20 (the oracle's
    median top 94.9). Prophet's trend, fitted beside a season of one size, rose into the last top, and as part
    of the base of the size regression it took up a third of the growth: the next top was forecast at 92.3.
    The trend does not lower that regression's BIC by shape_evidence, so on the years' own base the top is
    forecast within a point of the oracle's; a trend that does earns its place (a step inside a year) stays
    in the base."""
    days, values = fixture_points("annual_peak_growing_cpu")
    future = days[-1] + np.arange(1, 91)
    settings = ProphetSettings()
    # One fit serves both readings: the base is read after the fit, from the fit's own settings.
    fit = prophet_engine.sharper_season(prophet_engine.with_calendar_peaks(days, values, settings), days, values)
    shared_fit = replace(fit, settings=replace(fit.settings, season_size_own_base=False))
    assert prophet_engine.consensus_forecast(fit, days, values, future)[0].max() == pytest.approx(94.9, abs=1.0)
    assert prophet_engine.consensus_forecast(shared_fit, days, values, future)[0].max() < 94.9 - 2.0
    season, trend = prophet_engine.yearly_term(fit, days), fit.trend(days) * fit.y_scale
    own = prophet_engine.sizes_on_base(trend, season, days, values, settings)
    shared = prophet_engine.sizes_on_base(trend, season, days, values, replace(settings, season_size_own_base=False))
    assert own.columns == shared.columns - 1 and own.coefficients[1] > 1.5 * shared.coefficients[1]
    stepped = values + 15.0 * ((days[-1] - days).astype(int) < 200)
    step = 50.0 + 15.0 * ((days[-1] - days).astype(int) < 200)
    assert prophet_engine.sizes_on_base(step, season, days, stepped, settings).columns == shared.columns


def test_a_small_seasons_size_keeps_prophets_trend_in_its_base() -> None:
    """A default-fleet cpu series (seed 42, tests/python/fixtures) whose yearly term spans 10.6 points over
    noise of about 2.3, fitted up to the backtest cut: on the years' own base its season read as shrinking 41%
    a year and cleared the growth bar, and the backtest's WAPE (September-December) was 18.7%, twice the 9.9%
    with Prophet's trend in the base, where the season is one size. Its range is under
    ``season_own_base_min_ratio`` times its noise, so the trend stays in the base."""
    days, values = fixture_points("dna_small_season_cpu")
    train = days <= np.datetime64("2025-08-31")
    history, fitted_days, ahead, actual = values[train], days[train], days[~train], values[~train]
    fit = prophet_engine.sharper_season(
        prophet_engine.with_calendar_peaks(fitted_days, history, ProphetSettings()), fitted_days, history
    )

    def wape(settings: ProphetSettings) -> float:
        chosen = replace(fit, settings=settings)
        yhat = prophet_engine.consensus_forecast(chosen, fitted_days, history, ahead)[0]
        return float(np.abs(yhat - actual).sum() / actual.sum())

    season = prophet_engine.yearly_term(fit, fitted_days)
    values = history - prophet_engine.weekly_term(fit, fitted_days)
    trend = fit.trend(fitted_days) * fit.y_scale
    shared = replace(fit.settings, season_size_own_base=False)
    with_trend = prophet_engine.sizes_on_base(trend, season, fitted_days, values, shared)
    ratio = float(np.ptp(season)) / np.sqrt(with_trend.grown_sse / values.size)
    assert ratio < fit.settings.season_own_base_min_ratio / 1.5  # about 4.7
    own = replace(fit.settings, season_own_base_min_ratio=0.0)
    grown = prophet_engine.season_sizes(replace(fit, settings=own), fitted_days, history).growth(own)
    assert grown is not None and grown.growth < -0.3
    assert prophet_engine.season_sizes(fit, fitted_days, history).growth(fit.settings) is None
    assert wape(fit.settings) == pytest.approx(wape(replace(fit.settings, season_size_own_base=False)))
    assert wape(fit.settings) < 0.11 and wape(own) > 1.5 * wape(fit.settings)


def test_a_season_every_year_agrees_on_is_fitted_sharp() -> None:
    """A busy season of +40 points at its top, every year: fitted with 10 yearly terms or more its forecast top
    is within 4 points of the truth's; five terms round it 6 or more points lower. A one-off ramp (no two years
    alike) and a mild swell the years agree on keep five."""
    n = WINDOWS.history_dates().size
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(n)
    future = days[-1] + np.arange(1, 181)
    values = _busy_season(np.random.default_rng(9), days, 40.0)
    settings = ProphetSettings()

    def sharpened(chosen: ProphetSettings, series: np.ndarray) -> prophet_engine.ProphetFit:
        return prophet_engine.sharper_season(prophet_engine.with_calendar_peaks(days, series, chosen), days, series)

    assert sharpened(settings, values).settings.yearly_order >= prophet_engine.STOCK_YEARLY_ORDER
    truth_top = 50.0 + 40.0

    def forecast_top(chosen: ProphetSettings) -> float:
        return float(prophet_engine.consensus_forecast(sharpened(chosen, values), days, values, future)[0].max())

    assert forecast_top(settings) == pytest.approx(truth_top, abs=4.0)
    assert forecast_top(replace(settings, sharp_seasons=False)) < truth_top - 6.0
    x = np.arange(n, dtype=float)
    ramp = 30.0 + 0.2 * np.maximum(x - (n - 150), 0.0) + _ar_noise(np.random.default_rng(10), n, 1.0)
    swell = 40.0 + 3.0 * np.sin(2.0 * np.pi * x / 365.25) + _ar_noise(np.random.default_rng(11), n, 1.5)
    assert prophet_engine.yearly_agreement(days, swell, settings.yearly_check_order) >= settings.yearly_strong_agreement
    for series in (ramp, swell):
        assert sharpened(settings, series).settings.yearly_order == settings.yearly_order
    assert sharpened(replace(settings, yearly_order=0), values).settings.yearly_order == 0  # asked for none


@pytest.mark.parametrize("seed", [9, 12])
def test_a_season_a_week_wide_climbs_to_twenty_yearly_terms(seed: int) -> None:
    """A busy season whose bell is 8 days wide (one standard deviation), +40 points at its top: ten yearly
    terms resolve about 18 days and round its top off by 5 points or more; twenty earn their place by the BIC
    and forecast it within 1.5 points. A season 14 days wide stops at ten: twenty do not earn theirs."""
    n = WINDOWS.history_dates().size
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(n)
    future = days[-1] + np.arange(1, 181)

    def bell(on: np.ndarray, width: float) -> np.ndarray:
        day_of_year = (on - on.astype("datetime64[Y]")).astype(float)
        return 50.0 + 40.0 * np.exp(-0.5 * ((day_of_year - 59.0) / width) ** 2)

    def fitted(width: float, sharpest: int) -> tuple[int, float]:
        values = bell(days, width) + _ar_noise(np.random.default_rng(seed), n, 1.0)
        settings = replace(ProphetSettings(), sharpest_yearly_order=sharpest)
        fit = prophet_engine.sharper_season(prophet_engine.with_calendar_peaks(days, values, settings), days, values)
        top = float(prophet_engine.consensus_forecast(fit, days, values, future)[0].max())
        return fit.settings.yearly_order, top - float(bell(future, width).max())

    assert ProphetSettings().sharpest_yearly_order == 20
    order, miss = fitted(8.0, 20)
    assert order == 20
    assert abs(miss) < 1.5
    order, miss = fitted(8.0, prophet_engine.STOCK_YEARLY_ORDER)
    assert order == prophet_engine.STOCK_YEARLY_ORDER
    assert miss < -5.0
    assert fitted(14.0, 20)[0] == prophet_engine.STOCK_YEARLY_ORDER


def test_the_run_log_records_the_yearly_terms_of_the_production_fit() -> None:
    """Prophet's run-log detail names the yearly Fourier order of each series' production fit
    (``yearly_terms``), which model_leaderboard's sharp-season handover reads: 20 for a busy season a week wide
    that every year repeats, 5 for a calm series."""
    n = WINDOWS.history_dates().size
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(n)
    day_of_year = (days - days.astype("datetime64[Y]")).astype(float)
    noise = _ar_noise(np.random.default_rng(9), n, 1.0)
    busy = 50.0 + 40.0 * np.exp(-0.5 * ((day_of_year - 59.0) / 8.0) ** 2) + noise
    for values, terms in ((busy, 20), (50.0 + noise, ProphetSettings().yearly_order)):
        series = Series.from_arrays("h", "cpu", days, values)
        result = prophet_forecast(series, WINDOWS, segments=(prophet_engine.SEGMENT_FORECAST,))
        assert result.status == STATUS_OK
        assert result.detail[prophet_engine.YEARLY_TERMS_KEY] == terms
        assert f"yearly_terms={terms}" in str(result.run_row()["detail"])


def test_a_sharp_season_band_is_drawn_in_the_change_the_season_leaves() -> None:
    """Where the fit climbs to a sharp season, the calibrated band's yardstick is the history's week-on-week
    change less the fitted yearly term: a busy season a week wide inflates the whole history's by half or more,
    and the band, drawn in the season-free one, is narrower by as much. A calm series, and the switch off, keep
    the whole history's. The calibration reads each miss in the yardstick its band was drawn in."""
    n = WINDOWS.history_dates().size
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(n)
    day_of_year = (days - days.astype("datetime64[Y]")).astype(float)
    noise = _ar_noise(np.random.default_rng(9), n, 1.0)
    busy = Series.from_arrays("h", "cpu", days, 50.0 + 40.0 * np.exp(-0.5 * ((day_of_year - 59.0) / 8.0) ** 2) + noise)
    calm = Series.from_arrays("h", "mem", days, 50.0 + noise)
    fixed = HorizonQuantiles(lower=np.full(180, -1.0), upper=np.full(180, 1.0), width=0.8, series=1)
    start, cut = np.datetime64(WINDOWS.history_start, "D"), np.datetime64(WINDOWS.history_end, "D")

    def production(series: Series, settings: ProphetSettings) -> Band:
        result = prophet_forecast(series, WINDOWS, settings, fixed, segments=(prophet_engine.SEGMENT_FORECAST,))
        assert result.status == STATUS_OK, result.error
        return result.forecast

    whole, noise_only = scale_until(busy, start, cut), scale_until(calm, start, cut)
    sharp = production(busy, ProphetSettings())
    assert sharp.scale is not None
    assert sharp.scale < 0.75 * whole
    assert sharp.scale == pytest.approx(noise_only, rel=0.2)
    switched_off = production(busy, ProphetSettings(season_free_yardstick=False))
    assert switched_off.scale == whole
    half_width = (sharp.upper - sharp.lower)[120:].mean() / 2.0  # past the season (its size's widening)
    assert half_width == pytest.approx(sharp.scale, rel=0.05)
    assert (switched_off.upper - switched_off.lower)[120:].mean() / 2.0 == pytest.approx(whole, rel=0.05)
    assert production(calm, ProphetSettings()).scale == noise_only

    windows = calibration_windows(WINDOWS)
    result = prophet_forecast(busy, windows, segments=(prophet_engine.SEGMENT_BACKTEST,))
    learned = learn_quantiles([busy], [result], windows, 0.8)
    drawn_in_whole = learn_quantiles(
        [busy], [replace(result, backtest=replace(result.backtest, scale=None))], windows, 0.8
    )
    assert learned is not None and drawn_in_whole is not None
    ratio = scale_until(busy, start, np.datetime64(windows.train_end, "D")) / result.backtest.scale
    assert ratio > 1.3
    assert learned.upper[-1] == pytest.approx(drawn_in_whole.upper[-1] * ratio, rel=1e-9)


def test_a_season_widens_its_band_at_its_top_by_how_well_its_next_size_is_known() -> None:
    """A busy season the three years repeat: its next size is estimated from a few looks through the day noise,
    and the band widens by that estimate's standard error times the season, at the season's top (about a point
    for a +40 season in noise of 1) and hardly at all a quarter away from it; twice the noise, at least half as
    much widening again. A calm series and the switch off do not widen."""
    n = WINDOWS.history_dates().size
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(n)
    future = days[-1] + np.arange(1, 181)
    day_of_year = (days - days.astype("datetime64[Y]")).astype(float)
    season = 40.0 * np.exp(-0.5 * ((day_of_year - 59.0) / 12.0) ** 2)
    noise = _ar_noise(np.random.default_rng(21), n, 1.0)
    settings = ProphetSettings()
    top = int(np.argmin(np.abs((future - future.astype("datetime64[Y]")).astype(int) - 59)))

    def widening(values: np.ndarray, chosen: ProphetSettings) -> np.ndarray:
        fit = prophet_engine.sharper_season(prophet_engine.with_calendar_peaks(days, values, chosen), days, values)
        return prophet_engine.consensus_reading(fit, days, values, future)[1]

    wide = widening(50.0 + season + noise, settings)
    assert 0.5 < wide[1, top] < 2.0
    assert wide[1, 150:].max() < 0.2 * wide[1, top]
    assert wide[0, top] == pytest.approx(wide[1, top])
    assert widening(50.0 + season + 2.0 * noise, settings)[1, top] > 1.5 * wide[1, top]
    assert not widening(50.0 + season + noise, replace(settings, season_size_uncertainty=False)).any()
    assert not widening(50.0 + noise, settings).any()


def test_the_run_log_records_a_wandering_level_reading() -> None:
    """The production fit's reading of a wandering level goes in the run-log detail
    (``reading=wandering_level``), which model_leaderboard reads for the golden band (has_wandering_level); the
    calm series and the line of the wander test's others carry no reading."""
    n = WINDOWS.history_dates().size
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(n)
    x = (np.arange(n) - (n - 1)).astype(float)
    rng = np.random.default_rng(7)
    wander = 60.0 + _ar_noise(rng, n, 6.0, 0.99) + _ar_noise(rng, n, 1.0)
    noise = _ar_noise(np.random.default_rng(8), n, 1.0)
    for values, reading in ((wander, "wandering_level"), (50.0 + noise, None), (30.0 + 0.02 * (x + n) + noise, None)):
        series = Series.from_arrays("h", "cpu", days, values)
        result = prophet_forecast(series, WINDOWS, segments=(prophet_engine.SEGMENT_FORECAST,))
        assert result.status == STATUS_OK
        assert result.detail.get(prophet_engine.READING_KEY) == reading
        assert ("reading=wandering_level" in str(result.run_row()["detail"])) == (reading is not None)


def _moved_on(days_before_end: int, seed: int) -> tuple[Series, np.ndarray]:
    """A workload moved on ``days_before_end`` days before the end (40 -> 70, noise 1.5): the series and the
    engine's forecast of it."""
    n = WINDOWS.history_dates().size
    values = 40.0 + 30.0 * (np.arange(n) >= n - days_before_end) + np.random.default_rng(seed).normal(0.0, 1.5, n)
    series = _shape(values, "step")
    result = prophet_forecast(series, WINDOWS, segments=("forecast",))
    assert result.status == STATUS_OK, result.error
    return series, result.forecast.yhat


def test_prophet_reads_a_step_early_in_its_recent_window_as_a_level() -> None:
    """A workload moved on 48 days before the end (+30 points): only 8 days of the old level are left in the
    56-day recent window. Read as a line, the window carried Prophet's ramp through the step on (it crossed
    95% within 40 days); read as a step, the forecast stays at the new level."""
    series, yhat = _moved_on(48, seed=48)
    assert abs(float(yhat[:90].mean()) - 70.0) < 4.0
    assert days_to_cross(yhat) is None
    needs_two_weeks = ProphetSettings(step_min_before=14, slowing_ratio=None)  # the rule before: 14 days
    assert days_to_cross(prophet_forecast(series, WINDOWS, needs_two_weeks, segments=("forecast",)).forecast.yhat)


def test_prophet_reads_a_step_in_the_last_two_weeks_as_a_level() -> None:
    """A workload moved on 10 days before the end (+30 points): under the 14 days of the new level a step used to
    need, the recent window read as a line or hinge through the step, and the forecast went on up, crossing 95%
    within 10 days. With step_min_after 7 it is a step: the forecast stays at the new level. A ramp of +1 or +2 a
    day that began as recently is not a step: forecast as before either way."""
    series, yhat = _moved_on(10, seed=10)
    assert abs(float(yhat[:90].mean()) - 70.0) < 2.0
    assert days_to_cross(yhat) is None
    two_weeks = ProphetSettings(step_min_after=14)  # the rule before
    before = prophet_forecast(series, WINDOWS, two_weeks, segments=("forecast",)).forecast.yhat
    assert days_to_cross(before) is not None and days_to_cross(before) <= 10
    n = WINDOWS.history_dates().size
    for slope in (1.0, 2.0):
        ramp = 40.0 + slope * np.clip(np.arange(n) - (n - 13), 0, None) + np.random.default_rng(3).normal(0.0, 1.5, n)
        now = prophet_forecast(_shape(ramp, "ramp"), WINDOWS, segments=("forecast",)).forecast.yhat
        then = prophet_forecast(_shape(ramp, "ramp"), WINDOWS, two_weeks, segments=("forecast",)).forecast.yhat
        assert np.allclose(now, then)
        assert days_to_cross(now) is not None  # both go on up


def test_a_yearly_holiday_dip_in_the_last_days_is_not_read_as_a_step() -> None:
    """A calm host lower from 20 December to 3 January every year (the held-out holiday_dip family): 15% in the
    earlier years, 40% this time. Its history ends 12 days into the dip, inside the 7-13 days a step up is read
    from. The yearly term explains only part of this year's dip, so the days less the season fall at the end: read
    as a new level (a fall from 7 days, as tried in session 51), it was forecast at about 38 for January's last
    weeks; a fall needs 14 days, and the forecast recovers."""
    n = WINDOWS.history_dates().size
    days = WINDOWS.history_dates().astype("datetime64[D]")
    month = days.astype("datetime64[M]").astype(int) % 12 + 1
    day = (days - days.astype("datetime64[M]")).astype(int) + 1
    year = days.astype("datetime64[Y]").astype(int) + 1970
    dip = ((month == 12) & (day >= 20)) | ((month == 1) & (day <= 3))
    depth = np.where(year == 2025, 0.4, 0.15)
    values = 50.0 * (1.0 - depth * dip) + np.random.default_rng(5).normal(0.0, 1.5, n)
    yhat = prophet_forecast(_shape(values, "dip"), WINDOWS, segments=("forecast",)).forecast.yhat
    assert float(values[-5:].mean()) < 32.0  # the history ends in the dip
    assert float(yhat[9:40].mean()) > 45.0  # back near its level of 50 after it


def test_recent_trend_step_needs_min_before_days_of_the_old_level() -> None:
    x = np.arange(-55.0, 1.0)
    v = np.where(x >= -50.0, 60.0, 30.0) + np.random.default_rng(1).normal(0.0, 1.0, x.size)  # 5 days at 30
    assert prophet_engine.recent_trend(x, v).shape == "line"  # 14 days of each level by default
    step = prophet_engine.recent_trend(x, v, min_before=3)
    assert step.shape == "step" and step.level == pytest.approx(60.0, abs=0.5) and step.jump > 25.0


def test_recent_trend_step_up_needs_min_after_days_of_the_new_level_and_a_fall_the_full_segment() -> None:
    x = np.arange(-55.0, 1.0)
    v = np.where(x >= -9.0, 60.0, 30.0) + np.random.default_rng(1).normal(0.0, 1.0, x.size)  # 10 days at 60
    assert prophet_engine.recent_trend(x, v).shape != "step"  # 14 days of each level by default
    step = prophet_engine.recent_trend(x, v, min_after=7)
    assert step.shape == "step" and step.level == pytest.approx(60.0, abs=0.7) and step.since == -9.0
    fall = 90.0 - v  # the same days upside down: a fall of the last 10 days still needs 14
    assert prophet_engine.recent_trend(x, fall, min_after=7).shape != "step"


def test_consensus_slope_needs_every_window_to_agree() -> None:
    assert prophet_engine.consensus_slope([0.3, 0.2, 0.25]) == pytest.approx(0.2)
    assert prophet_engine.consensus_slope([-0.3, -0.1]) == pytest.approx(-0.1)
    assert prophet_engine.consensus_slope([0.3, -0.01, 0.2]) == 0.0


def test_a_young_ramp_is_carried_on_only_where_the_series_never_rose_as_fast_over_as_many_days() -> None:
    """A level at 50 that rises +0.5 a day for its last 20 days: never before, the ramp is carried on through
    95 (as when the check is off). The same last 20 days on a series that moved as fast over 20 days three times
    before (rose +0.5 a day, then was cleaned up at once: three resets, fewer than max_resets; its steepest
    20-day stretches are those cleanups) are a move it has made before: judged against its 20-day stretches, not
    its 28-day ones (about 0.4 a day), the ramp is not steeper, and Prophet's trend goes on; with
    young_ramp_check off it is carried on through 95. The same shapes upside down are forecast alike either way.
    The margin itself: test_a_young_rise_must_beat_the_steepest_stretch_as_long_by_two_standard_errors."""
    n = WINDOWS.history_dates().size
    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(n)
    future = days[-1] + np.arange(1, 181)
    x = (np.arange(n) - (n - 1)).astype(float)
    noise = _ar_noise(np.random.default_rng(3), n, 1.0)
    settings = ProphetSettings()
    assert settings.young_ramp_check and settings.past_window == 28

    def burst(start: float) -> np.ndarray:  # up 0.5 a day for 20 days, then back down at once
        t = x - start
        return np.where((t >= 0.0) & (t < 20.0), 0.5 * t, 0.0)

    def forecast(values: np.ndarray, chosen: ProphetSettings) -> np.ndarray:
        fit = prophet_engine.with_calendar_peaks(days, values, chosen)
        return prophet_engine.consensus_reading(fit, days, values, future, None)[0]

    last = 50.0 + 0.5 * np.maximum(x + 20.0, 0.0) + noise
    for chosen in (settings, replace(settings, young_ramp_check=False)):
        crossing = days_to_cross(forecast(last, chosen))
        assert crossing is not None and crossing <= 80, crossing
    seen_before = last + burst(-700.0) + burst(-500.0) + burst(-300.0)
    assert forecast(seen_before, settings)[:90].max() < 80.0
    crossing = days_to_cross(forecast(seen_before, replace(settings, young_ramp_check=False)))
    assert crossing is not None and crossing <= 80, crossing
    # A fall is left as it was (no breach alarm rides on it; a decommissioned host falls once).
    fall = 140.0 - seen_before
    np.testing.assert_array_equal(forecast(fall, settings), forecast(fall, replace(settings, young_ramp_check=False)))


def test_a_young_rise_must_beat_the_steepest_stretch_as_long_by_two_standard_errors() -> None:
    """A rising hinge under 28 days old is a young rise (a fall, an older ramp or the switch off is not); its
    past is every stretch as long as it (at least 14 days), every day, where an older ramp's is every 7th 28-day
    stretch; and it is carried on only where it beats the steepest by consensus_z standard errors of the
    difference (sqrt(2) x its slope's, inflated for autocorrelation), an older ramp where it is steeper at all."""
    settings = ProphetSettings()

    def hinge(since: float, slope: float) -> prophet_engine.RecentTrend:
        return prophet_engine.RecentTrend("hinge", slope, 70.0, 0.05, since=since)

    young, old = hinge(-20.0, 0.5), hinge(-28.0, 0.5)
    assert prophet_engine.young_rise(young, settings) and not prophet_engine.young_rise(old, settings)
    assert not prophet_engine.young_rise(hinge(-20.0, -0.5), settings)
    assert not prophet_engine.young_rise(young, replace(settings, young_ramp_check=False))
    margin = settings.consensus_z * np.sqrt(2.0) * 0.05 * prophet_engine.AUTOCORRELATION_INFLATION

    def plan(shape: prophet_engine.RecentTrend, steepest: float) -> tuple[float, float, float] | None:
        return prophet_engine.extrapolation_plan(0.05, shape, np.array([-0.1, steepest]), settings)

    assert plan(young, 0.5 - margin - 0.01) == (70.0, 0.5, 1.0)
    assert plan(young, 0.5 - margin + 0.01) is None
    assert plan(old, 0.49) == (70.0, 0.5, 1.0)
    x = np.arange(-400.0, -56.0)
    v = np.random.default_rng(0).normal(50.0, 1.0, x.size)
    assert prophet_engine.ramp_past(x, v, young, settings).size == x.size - 20 + 1
    assert prophet_engine.ramp_past(x, v, hinge(-10.0, 0.5), settings).size == x.size - 14 + 1
    assert prophet_engine.ramp_past(x, v, old, settings).size == len(range(0, x.size - 28 + 1, 7))


def test_prophet_follows_a_ramp_that_began_after_its_last_changepoint() -> None:
    """Flat for years, then +0.6 points a day for the last 40 days (95% is 43 days past the end): the forecast
    goes on climbing and crosses within a week or so of that, where Prophet's last segment alone is late."""
    rng = np.random.default_rng(8)
    n = WINDOWS.history_dates().size
    values = 45.0 + 0.6 * np.maximum(np.arange(n) - (n - 40), 0) + rng.normal(0.0, 1.0, n)
    series = _shape(values, "late-ramp")
    crossing = days_to_cross(prophet_forecast(series, WINDOWS).forecast.yhat)
    assert crossing is not None and crossing <= 52, crossing
    plain = days_to_cross(prophet_forecast(series, WINDOWS, ProphetSettings(extrapolation="prophet")).forecast.yhat)
    assert plain is None or plain > crossing + 10, (plain, crossing)


def _recent_slope(values: np.ndarray, settings: ProphetSettings) -> float:
    """Slope per day of the consensus forecast between days 15 and 29 after the last of ``values``."""
    days = np.datetime64("2023-01-01") + np.arange(values.size)
    fit = prophet_engine.with_calendar_peaks(days, values, settings)
    yhat, _ = prophet_engine.consensus_forecast(fit, days, values, days[-1] + np.arange(1, 31))
    return float(yhat[28] - yhat[14]) / 14.0


def test_a_ramp_that_began_near_the_start_of_the_last_weeks_is_read_from_the_ramp_alone() -> None:
    """Flat at 40, then +0.6 a day for the last 46 days: the last 8 weeks hold 10 flat days, too few for a
    hinge there, and read as one line whose slope comes out low. Looking back 84 days finds the hinge, and the
    forecast climbs at the ramp's own slope (20 noise draws). Breaks the 8 weeks could hold are left to them:
    a faint ramp (0.15 a day) that began 30 days out, which the 8 weeks read as a line, is forecast the same
    either way, although the 84 days alone find a hinge in some draws, once at twice the true slope."""
    n = 3 * 365
    x = np.arange(n) - (n - 1)
    on, off = ProphetSettings(), ProphetSettings(hinge_lookback=None)
    assert on.hinge_lookback == 84
    slopes: dict[bool, list[float]] = {True: [], False: []}
    for draw in range(20):
        noise = np.random.default_rng(100 + draw).normal(0.0, 1.0, n) + 1.5 * np.sin(2 * np.pi * x / 7)
        values = 40.0 + 0.6 * np.maximum(x + 46, 0) + noise
        for looked_back, settings in ((True, on), (False, off)):
            slopes[looked_back].append(_recent_slope(values, settings))
        if draw < 6:
            faint = 40.0 + 0.15 * np.maximum(x + 30, 0) + np.random.default_rng(draw).normal(0.0, 1.0, n)
            assert _recent_slope(faint, on) == _recent_slope(faint, off)
    assert abs(float(np.mean(slopes[True])) - 0.6) < 0.015, np.mean(slopes[True])  # measured: 0.603
    assert float(np.mean(slopes[False])) < 0.58, np.mean(slopes[False])  # measured: 0.557


def test_a_lookback_within_the_recent_window_reads_the_window_alone() -> None:
    """hinge_lookback no longer than recent_window (or too few days) cannot look further back: the line stays."""
    n = 3 * 365
    x = np.arange(n) - (n - 1)
    values = 40.0 + 0.6 * np.maximum(x + 46, 0) + np.random.default_rng(7).normal(0.0, 1.0, n)
    off = _recent_slope(values, ProphetSettings(hinge_lookback=None))
    for days in (1, 14, 56):
        assert _recent_slope(values, ProphetSettings(hinge_lookback=days)) == off


def test_prophet_keeps_the_long_run_trend_of_a_series_that_resets() -> None:
    """A disk that fills and is cleaned up every 60 days is ramping at the end, as it always has: the
    forecast is Prophet's own, not the latest fill carried on. (The yearly check is off here: a 60-day cycle
    gives the years nothing to agree on, and dropping the yearly term is tested on its own.)"""
    n = WINDOWS.history_dates().size
    values = 30.0 + 0.5 * (np.arange(n) % 60) + np.random.default_rng(9).normal(0.0, 0.5, n)
    series = _shape(values, "fill")
    settings = ProphetSettings(yearly_min_agreement=None)
    result = prophet_forecast(series, WINDOWS, settings)
    plain = prophet_forecast(series, WINDOWS, replace(settings, extrapolation="prophet"))
    assert np.allclose(result.forecast.yhat, plain.forecast.yhat)
    assert prophet_engine.resets(values) >= settings.max_resets


def test_a_series_that_resets_and_stepped_once_continues_from_its_new_level() -> None:
    """A memory that leaks and restarts every 45 days took on a workload 120 days before the end (+25 points)
    and has cycled at the new level since: the forecast is the line since the step, within a few points of the
    new level for 180 days. Prophet's last segment read the step as growth, and the resets rule kept it
    (``reset_steps`` off): 15 points and more above by the end of the horizon. With no step, the long-run trend
    stays Prophet's (``test_prophet_keeps_the_long_run_trend_of_a_series_that_resets``)."""
    n = WINDOWS.history_dates().size
    x = np.arange(n) - (n - 1)
    rng = np.random.default_rng(5)
    values = 45.0 + 0.3 * (np.arange(n) % 45) + 25.0 * (x > -120) + rng.normal(0.0, 0.7, n)
    series = _shape(values, "leak")
    settings = ProphetSettings(yearly_min_agreement=None)
    assert prophet_engine.resets(values[:-56]) >= settings.max_resets
    new_level = float(values[x > -120].mean())
    result = prophet_forecast(series, WINDOWS, settings)
    assert float(np.max(np.abs(result.forecast.yhat - new_level))) < 8.0
    kept = prophet_forecast(series, WINDOWS, replace(settings, reset_steps=False))
    assert float(kept.forecast.yhat[-30:].mean()) > new_level + 15.0
    # Only where Prophet's last segment climbs by enough to matter (5 points over 90 days): an autoscaled pool's
    # member whose first weeks sat at another level reads as one old step, and its flat trend stays Prophet's.
    xs = x.astype(float)
    assert prophet_engine.step_under_resets(xs, values, 0.2, settings) is not None
    assert prophet_engine.step_under_resets(xs, values, 0.05, settings) is None
    assert prophet_engine.step_under_resets(xs, values, -0.2, settings) is None  # a step up, a falling segment
    assert prophet_engine.step_under_resets(xs, values, 0.2, replace(settings, since_step=False)) is None
    # A step 30 days old (under since_step_min_days): the level since it, flat, within a cycle's swing of it.
    young = 45.0 + 0.3 * (np.arange(n) % 45) + 25.0 * (x > -30) + rng.normal(0.0, 0.7, n)
    level = prophet_engine.step_under_resets(xs, young, 0.2, settings)
    assert level is not None and level.slope == 0.0 and abs(level.level - float(young[x > -30].mean())) < 1.0


def test_prophet_continues_compounding_growth_as_a_curve() -> None:
    """Users doubling every 80 days over a floor of 15: 95% is 40 days past the end. The curve is read over
    the last 36 weeks and continued, so the crossing is forecast within days of the truth; a line through the
    last weeks would see it weeks late. A straight line of the same recent slope stays a line."""
    rng = np.random.default_rng(12)
    n = WINDOWS.history_dates().size
    rate = np.log(2.0) / 80.0
    x = np.arange(n) - (n - 1)
    values = 15.0 + 80.0 * np.exp(rate * (x - 40)) + rng.normal(0.0, 1.0, n)
    result = prophet_forecast(_shape(values, "compounding"), WINDOWS)
    crossing = days_to_cross(result.forecast.yhat)
    assert crossing is not None and abs(crossing - 40) <= 6, crossing
    recent = x[-252:].astype(float)
    assert prophet_engine.compounding_growth(recent, values[-252:], ProphetSettings()) is not None
    slope = 80.0 * rate * np.exp(-40 * rate)  # the curve's slope on the last day
    line = 60.0 + slope * recent + rng.normal(0.0, 1.0, recent.size)
    assert prophet_engine.compounding_growth(recent, line, ProphetSettings()) is None


def _continued(days: np.ndarray, values: np.ndarray, future: np.ndarray, settings: ProphetSettings) -> np.ndarray:
    """Prophet fitted with ``settings``, its trend continued from the last weeks (the point forecast only)."""
    fit = prophet_engine.with_calendar_peaks(days, values, settings)
    return prophet_engine.consensus_forecast(fit, days, values, future)[0]


def _ar_noise(rng: np.random.Generator, n: int, sd: float, phi: float = 0.6) -> np.ndarray:
    shocks = rng.normal(0.0, sd * np.sqrt(1.0 - phi * phi), n)
    noise = np.empty(n)
    noise[0] = rng.normal(0.0, sd)
    for i in range(1, n):  # a few hundred days of a test series
        noise[i] = phi * noise[i - 1] + shocks[i]
    return noise


def test_a_compounding_curve_is_read_over_two_years_once_found() -> None:
    """Three years of growth doubling every 120 days over a floor of 12, in AR(1) noise: the curve's rate read
    over two years misses the true rate by less than half as much as the rate read over the last 36 weeks,
    where the floor and the rate trade off (20 series; the median of the absolute errors)."""
    settings, rate = ProphetSettings(), np.log(2.0) / 120.0
    x = np.arange(-1095, 1, dtype=np.float64)
    window_errors, longer_errors = [], []
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        values = 12.0 + 55.0 * np.exp(rate * x) + _ar_noise(rng, x.size, 1.5)
        recent = x > -settings.growth_window
        window, _ = prophet_engine.compounding_fit(x[recent], values[recent], settings.doubling_days)
        longer = prophet_engine.compounding_growth(x, values, settings)
        assert longer is not None
        window_errors.append(abs(window.rate / rate - 1.0))
        longer_errors.append(abs(longer.rate / rate - 1.0))
    assert np.median(longer_errors) < 0.5 * np.median(window_errors), (longer_errors, window_errors)


def test_growth_that_began_differently_keeps_its_recent_curve() -> None:
    """A host that declined from 70 to 20 for two years, then compounded over its last 36 weeks: the two
    years' best curve does not fit those weeks, so the curve stays the one found over them."""
    rng = np.random.default_rng(7)
    settings = ProphetSettings()
    x = np.arange(-1095, 1, dtype=np.float64)
    decline = np.interp(x, [-1095.0, -252.0], [70.0, 20.0])
    growth = 20.0 + 8.0 * (np.exp(np.log(2.0) / 60.0 * (x + 252.0)) - 1.0)
    values = np.where(x <= -252, decline, growth) + _ar_noise(rng, x.size, 1.0)
    recent = x > -settings.growth_window
    window, _ = prophet_engine.compounding_fit(x[recent], values[recent], settings.doubling_days)
    assert prophet_engine.longer_curve(x, values, window, settings) is window


def _young_curve(seed: int, stopped: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Three years over a floor of 15 of growth doubling every 150 days, 25 points over it on the last day (40),
    in AR(1) noise of 1.5; ``stopped``: the growth stopped that many days before the end, the load level since."""
    x = np.arange(-1095, 1, dtype=np.float64)
    grown = x if stopped is None else np.minimum(x, -float(stopped))
    return x, 15.0 + 25.0 * np.exp(np.log(2.0) / 150.0 * grown) + _ar_noise(np.random.default_rng(seed), x.size, 1.5)


def test_a_curve_too_young_for_the_window_is_found_over_two_years() -> None:
    """Growth doubling every 150 days, 25 points over its floor at the end: over the last 36 weeks it bends too
    little to beat a line by growth_evidence, over two years it does. Found at its own rate (median miss under
    10%) on at least 6 of 8 draws (the others' last 36 weeks fit their own line as well as the curve).
    Prophet's forecast then follows the curve: its mean miss over the next 180 days falls to under half of the
    line's (the search off), and no draw's forecast gets worse."""
    settings, rate = ProphetSettings(), np.log(2.0) / 150.0
    off = ProphetSettings(growth_search_window=None)
    misses, on_errors, off_errors = [], [], []
    for seed in range(8):
        x, values = _young_curve(seed)
        recent = x > -settings.growth_window
        assert prophet_engine.compounding_fit(x[recent], values[recent], settings.doubling_days)[1] <= 10.0
        curve = prophet_engine.compounding_growth(x, values, settings)
        if curve is not None:
            misses.append(abs(curve.rate / rate - 1.0))
        days = np.datetime64("2025-12-31") + x.astype(np.int64)
        future = days[-1] + np.arange(1, 181)
        truth = 15.0 + 25.0 * np.exp(rate * np.arange(1.0, 181.0))
        on_errors.append(np.abs(_continued(days, values, future, settings) - truth).mean())
        off_errors.append(np.abs(_continued(days, values, future, off) - truth).mean())
    assert len(misses) >= 6 and np.median(misses) < 0.1, misses
    assert np.mean(on_errors) < 0.5 * np.mean(off_errors), (on_errors, off_errors)
    assert all(a <= b + 1e-9 for a, b in zip(on_errors, off_errors, strict=True)), (on_errors, off_errors)


def test_growth_that_stopped_is_not_read_as_a_young_curve() -> None:
    """The same growth, stopped 45 days before the end (the load level since): over two years the curve still
    beats a line and a hinge by growth_evidence on most draws, but it explains the last 36 weeks worse than their
    own line or hinge, so no curve is continued on any of 10 draws."""
    settings = ProphetSettings()
    longer_evidence = []
    for seed in range(10):
        x, values = _young_curve(seed, stopped=45)
        longer = x > -settings.growth_search_window
        days = settings.young_doubling_days
        _, sse = prophet_engine._best_compounding(x[longer], values[longer], days, refine=True)
        longer_evidence.append(prophet_engine._evidence_over_line_and_hinge(x[longer], values[longer], sse))
        assert prophet_engine.compounding_growth(x, values, settings) is None, seed
    assert sum(e > settings.growth_evidence for e in longer_evidence) >= 7, longer_evidence


def test_a_ramp_beginning_is_not_read_as_a_young_curve() -> None:
    """A planted capacity-breach ramp of the default fleet (tests/python/fixtures), cut 4 months into its
    accelerating start (the fleet's backtest cut): two years fit a curve doubling every 54 days better than a
    line or a hinge, and the last 36 weeks do not refuse it. Searched from 25 days, that curve ran the
    forecast to 100 (WAPE 0.35 over the next 122 days); the young-curve search keeps to curves doubling every
    100 days or slower, so the forecast is the one without the search (WAPE 0.034) and follows the ramp."""
    days, values = fixture_points("planted_ramp_accelerating_cpu")
    train = days <= np.datetime64("2025-08-31")
    future, actual = days[~train], values[~train]

    def wape(settings: ProphetSettings) -> float:
        forecast = np.clip(_continued(days[train], values[train], future, settings), 0.0, 100.0)
        return float(np.abs(forecast - actual).sum() / actual.sum())

    shipped = wape(ProphetSettings())
    assert shipped == wape(ProphetSettings(growth_search_window=None))
    assert shipped < 0.06, shipped
    assert wape(ProphetSettings(young_doubling_days=(25.0, 400.0))) > 0.2


def test_prophet_continues_yearly_seasonality_only_where_the_years_agree() -> None:
    """A load that rose from 13 to 76 a year before the end (a logistic ramp) and has been level for 8 months:
    Prophet's yearly term learns the ramp as "seasonality" and, a year on, forecasts it again (measured on a
    stress fleet: +15 points on a flat host, a false breach alarm). The years disagree on the shape, so the
    yearly term is dropped and the forecast stays at the plateau. A real annual swell of 8 points, the same
    every year, agrees and is kept: the forecast still rises and falls with the season."""
    rng = np.random.default_rng(21)
    n = WINDOWS.history_dates().size
    x = np.arange(n) - (n - 1)
    ramp = 13.0 + 63.0 / (1.0 + np.exp(-(x + 330.0) / 20.0)) + rng.normal(0.0, 1.0, n)
    assert prophet_engine.yearly_agreement(_shape(ramp, "ramp").ds, ramp) < 0.3
    result = prophet_forecast(_shape(ramp, "ramp"), WINDOWS)
    assert np.abs(result.forecast.yhat - 76.0).max() < 4.0, result.forecast.yhat.max()

    days = np.datetime64(WINDOWS.history_start, "D") + np.arange(n)
    season = 8.0 * np.sin(2 * np.pi * (days - np.datetime64("2020-01-01")).astype(float) / 365.25)
    seasonal = 50.0 + season + rng.normal(0.0, 1.0, n)
    assert prophet_engine.yearly_agreement(days, seasonal) > 0.8
    forecast = prophet_forecast(_shape(seasonal, "seasonal"), WINDOWS).forecast.yhat
    # January to June of a sine peaking in April: 0 -> +8 -> 0, a range of 8 points (without it, noise only).
    assert forecast.max() - forecast.min() > 6.0, (forecast.min(), forecast.max())


def test_years_must_repeat_their_swing_at_a_comparable_size() -> None:
    """Three years of the same seasonal shape whose swing grows from 1 to 1.5 to 12 points (a workload grew):
    the shapes agree strongly, so the years agree whatever their sizes. A last year with a 20-point swing
    against a 1.8-point one the year before, of a shape that matches it only loosely (cosine 0.55): a
    one-off event against noise, not a season, unless the size check is off."""
    days = np.datetime64("2023-01-01", "D") + np.arange(3 * 365)
    block = (days[-1] - days).astype(np.int64) // 365
    angle = 2 * np.pi * (days - np.datetime64("2020-01-01")).astype(float) / 365.25
    swing = np.choose(block, [12.0, 1.5, 1.0])
    growing = 50.0 + swing * np.sin(angle)
    assert prophet_engine.yearly_agreement(days, growing, min_size_ratio=0.2, strong=0.7) > 0.99
    loose = np.where(block == 0, 20.0 * np.sin(angle), 1.0 * np.sin(angle) + 1.5 * np.cos(angle)) + 50.0
    assert prophet_engine.yearly_agreement(days, loose) == pytest.approx(1 / np.sqrt(3.25), abs=0.02)
    assert prophet_engine.yearly_agreement(days, loose, min_size_ratio=0.2, strong=0.7) == 0.0


def test_a_one_off_climb_whose_shape_the_year_before_matches_by_chance_is_not_a_season() -> None:
    """A stress-fleet memory series (seed 64) that climbed from 27 to 83 in the first months of its last year
    and has been flat at 85 for eight months. The noise of the year before happens to match the climb's
    yearly shape (cosine 0.34, over the 0.3 bar) at a twentieth of its size, so the yearly term was kept,
    brought the climb back as "season" and forecast 100 within 90 days (a HIGH-trust false alarm). Swings
    that differ that much are not one season: the term goes and the forecast stays at the plateau."""
    days, values = fixture_points("saturating_memory_s64")
    future = days[-1] + np.arange(1, 91)
    settings = ProphetSettings()
    assert prophet_engine.yearly_agreement(days, values) > settings.yearly_min_agreement
    size_checked = prophet_engine.yearly_agreement(
        days, values, min_size_ratio=settings.yearly_min_size_ratio, strong=settings.yearly_strong_agreement
    )
    assert size_checked < settings.yearly_min_agreement
    unchecked = replace(settings, yearly_min_size_ratio=None)
    before = _continued(days, values, future, unchecked)
    assert before.max() > 95.0, before.max()
    after = _continued(days, values, future, settings)
    assert after.max() < 90.0 and abs(after[:14].mean() - values[-28:].mean()) < 3.0, (after.max(), after[:14].mean())


def test_prophet_continues_from_the_last_weeks_once_the_yearly_term_is_dropped() -> None:
    """A host that joined 8 months before the end (a stress-fleet network series, stored as it came out of
    the refinery) rose from 42 to 55. With less than a year of history the yearly Fourier terms soak up the
    rise, so the fit without them sits 15-20 points low; the forecast is re-anchored on the last weeks."""
    days, values = fixture_points("late_joiner_network")
    future = WINDOWS.forecast_dates()
    last_weeks = values[-28:].mean()
    assert prophet_engine.yearly_agreement(days, values) is None  # no second year to agree with
    for solver in ("exact", "stan"):
        fit = prophet_engine.with_calendar_peaks(days, values, replace(ProphetSettings(), solver=solver))
        anchored = prophet_engine.consensus_forecast(fit, days, values, future)[0]
        assert abs(anchored[:14].mean() - last_weeks) < 3.0, (solver, anchored[:14].mean(), last_weeks)
    # Stan's L-BFGS at Prophet's changepoint prior, stopped at its tolerance, is where the gap was seen (the
    # exact optimum at 0.03 happens to sit near the last weeks for this series even without the anchor).
    settings = replace(ProphetSettings(), solver="stan", changepoint_prior_scale=0.05)
    fit = prophet_engine.with_calendar_peaks(days, values, settings)
    unanchored = replace(
        fit,
        settings=replace(
            fit.settings, anchor_without_yearly=False, anchor_min_gap=None, yearly_refit_min_gap=None, long_line=False
        ),
    )
    plain = prophet_engine.consensus_forecast(unanchored, days, values, future)[0]
    assert abs(plain[:14].mean() - last_weeks) > 10.0, (plain[:14].mean(), last_weeks)


def test_a_one_off_rise_that_took_the_yearly_term_with_it_is_forecast_from_the_data() -> None:
    """Flat at 12 for two years, then a rise to 82 in the first months of the last year and level since (a
    stress-fleet saturating host looked like this). The years disagree, so the yearly term goes; it had
    soaked up part of the rise and the trend had made up for it, so the fit without it starts about 10 points
    over the last weeks and climbs through 95 (a false breach). Missing the last weeks by 5 points or more,
    it is re-anchored on them: no breach within 90 days."""
    base = synthetic("rise", level=12.0, slope_per_year=0.0, noise=1.0, seed=1)
    t = np.arange(DAYS.size)
    values = base.y - 5.0 * np.sin(2 * np.pi * t / 365.25 + 1) + 70.0 / (1.0 + np.exp(-(t - 760) / 25.0))
    series = replace(base, y=values)
    last_weeks = values[-28:].mean()
    assert prophet_engine.yearly_agreement(series.ds, values) < ProphetSettings().yearly_min_agreement
    unanchored = replace(ProphetSettings(), anchor_min_gap=None, yearly_refit_min_gap=None)
    before = prophet_forecast(series, WINDOWS, unanchored, segments=("forecast",)).forecast.yhat
    assert before[0] - last_weeks > 8.0 and before[:90].max() > 95.0, (before[0], last_weeks, before[:90].max())
    after = prophet_forecast(series, WINDOWS, segments=("forecast",)).forecast.yhat
    assert abs(after[0] - last_weeks) < 4.0 and after[:90].max() < 92.0, (after[0], last_weeks, after[:90].max())


def test_a_trend_that_leaned_on_the_dropped_yearly_term_is_fitted_again() -> None:
    """A stress-fleet memory series (seed 2) that rose from 12 to 83 over a year and still creeps up at 86:
    the years disagree, so the yearly term goes. Zeroing it in the joint fit leaves a trend that had leaned
    on it: the forecast starts 4 points over the last weeks (under the 5-point re-anchoring) and runs through
    95 within 90 days, a false alarm (the series levels off). Fitted again without the term, the forecast
    starts at the data and stays under 92 for the next 90 days."""
    days, values = fixture_points("saturating_memory")
    future = days[-1] + np.arange(1, 181)
    last_weeks = values[-28:].mean()
    assert prophet_engine.yearly_agreement(days, values) < ProphetSettings().yearly_min_agreement
    kept = replace(ProphetSettings(), yearly_refit_min_gap=None, slowing_ratio=None)
    before = _continued(days, values, future, kept)
    assert 3.0 < before[0] - last_weeks < kept.anchor_min_gap and before[:90].max() > 95.0, (before[0], last_weeks)
    after = _continued(days, values, future, ProphetSettings())
    assert abs(after[0] - last_weeks) < 1.5 and after[:90].max() < 92.0, (after[0], last_weeks, after[:90].max())


def test_growth_still_climbing_while_it_slows_is_continued_damped() -> None:
    """A stress-fleet memory series (seed 2) that climbed from 20 to 86 in 2025 and slowed every month (+11,
    +9, +5, +3, +2, +2 points): its window is an S-curve by far, but its last weeks still climb 0.07 a day,
    faster than the curve says. Carried on as a line they ran into 95 by day 89 (a false alarm; the host
    stayed at 86-87). Damped, the forecast stays within 4 points of the last four weeks (weekly cycle included)."""
    days, values = fixture_points("saturating_memory_s2_slowing")
    future = days[-1] + np.arange(1, 91)
    settings = ProphetSettings()
    x = (days - days[-1]).astype(np.float64)
    window, recent = x > -settings.growth_window, x > -settings.recent_window
    curve = prophet_engine.saturating_growth(x[window], values[window], settings)
    shape = prophet_engine.recent_trend(x[recent], values[recent], settings.shape_evidence)
    assert curve is not None and shape.shape == "line" and shape.slope > 3 * curve.slope_at(0.0), (shape, curve)
    damped = _continued(days, values, future, settings)
    assert damped.max() < values[-28:].mean() + 4.0, damped.max()
    line = replace(settings, slowing_ratio=None)
    before = _continued(days, values, future, line)
    assert before.max() > 92.0, before.max()


def test_a_ramp_as_steep_as_ever_is_not_damped() -> None:
    """A planted breach of the default fleet (cpu, flat at 32-35 until mid-2025, then a ramp of 9-10 points a
    month reaching 95 about 55 days after the end): an S-curve fits its smooth knee by far, and its last weeks
    climb faster than that curve, but as fast as its steepest stretch before them: not slowing, so the ramp
    goes on and crosses 95 within 90 days."""
    days, values = fixture_points("planted_ramp_cpu")
    future = days[-1] + np.arange(1, 91)
    settings = ProphetSettings()
    x = (days - days[-1]).astype(np.float64)
    window = x > -settings.growth_window
    assert prophet_engine.saturating_growth(x[window], values[window], settings) is not None
    forecast = _continued(days, values, future, settings)
    crossing = days_to_cross(forecast)
    assert crossing is not None and 40 <= crossing <= 75, crossing
    always = replace(settings, slowing_ratio=10.0)  # every S-curve with steeper last weeks damped
    damped = _continued(days, values, future, always)
    assert days_to_cross(damped) is None, days_to_cross(damped)


def test_prophet_levels_off_growth_that_is_slowing_toward_a_ceiling() -> None:
    """An S-curve from 20 to 87 whose knee was 90 days before the end, still rising a little in its last
    weeks: the forecast levels off near 87, where a trend that carries the last months' slope on runs into
    a false breach of 95 within the horizon. A straight line, and a rise that has turned down, are not
    read as slowing growth."""
    rng = np.random.default_rng(3)
    n = WINDOWS.history_dates().size
    x = np.arange(n) - (n - 1)
    values = 20.0 + 67.0 / (1.0 + np.exp(-(x + 190.0) / 40.0)) + rng.normal(0.0, 1.0, n)
    series = _shape(values, "saturating")
    forecast = prophet_forecast(series, WINDOWS).forecast.yhat
    assert forecast.max() < 91.0 and abs(forecast[-30:].mean() - 87.0) < 3.0, (forecast.max(), forecast[-30:].mean())
    # Without the rule the trend runs on: to 93 at the exact optimum, through 95 as Stan's L-BFGS stops at
    # Prophet's changepoint prior.
    unchecked = prophet_forecast(series, WINDOWS, ProphetSettings(saturation_evidence=None)).forecast.yhat
    assert unchecked.max() > forecast.max() + 2.0, (unchecked.max(), forecast.max())
    stan = ProphetSettings(saturation_evidence=None, solver="stan", changepoint_prior_scale=0.05)
    assert prophet_forecast(series, WINDOWS, stan).forecast.yhat.max() > 95.0
    window = x[-252:].astype(float)
    curve = prophet_engine.saturating_growth(window, values[-252:], ProphetSettings())
    assert curve is not None and abs(curve.ceiling - 87.0) < 2.0, curve
    line = 40.0 + 0.08 * window + rng.normal(0.0, 1.0, window.size)
    assert prophet_engine.saturating_growth(window, line, ProphetSettings()) is None


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    innovations = rng.normal(0.0, sd * np.sqrt(1.0 - phi**2), n)
    noise = np.empty(n)
    noise[0] = rng.normal(0.0, sd)
    for day in range(1, n):
        noise[day] = phi * noise[day - 1] + innovations[day]
    return noise


def test_a_whole_history_on_one_line_is_continued_at_that_lines_slope() -> None:
    """Three years of steady growth (0.06 points a day) under persistent noise: Prophet's last trend segment
    reads its slope from the last weeks, which the noise bends by 5-10% (5-9 days of error on the day a ramp
    90 days from 95 gets there). With no break and no bend anywhere in the history, the slope is the whole
    history's (this seed: 7% too steep and 1.8 points off by day 180 without it)."""
    rng = np.random.default_rng(5)
    n = WINDOWS.history_dates().size
    t = np.arange(n)
    trend = 20.0 + 0.06 * t
    forecast = prophet_forecast(_shape(trend + _ar1(rng, n, 0.85, 1.2), "line"), WINDOWS).forecast.yhat
    slope = np.polyfit(np.arange(forecast.size), forecast, 1)[0]
    assert abs(slope / 0.06 - 1.0) < 0.03, slope
    ahead = 20.0 + 0.06 * (n - 1 + np.arange(1, forecast.size + 1))
    assert np.abs(forecast - ahead).max() < 1.5, np.abs(forecast - ahead).max()


def test_a_decline_that_slows_down_is_not_continued_as_a_line() -> None:
    """A load decaying toward a floor of 10 over three years is bent, not straight: the whole history's line
    would run it through the floor; the forecast stays above it."""
    rng = np.random.default_rng(6)
    n = WINDOWS.history_dates().size
    t = np.arange(n)
    values = 10.0 + 60.0 * np.exp(-t / 400.0) + rng.normal(0.0, 1.0, n)
    assert prophet_engine._bends(t - (n - 1.0), values, ProphetSettings().shape_evidence)
    forecast = prophet_forecast(_shape(values, "decay"), WINDOWS).forecast.yhat
    assert forecast.min() > 9.0, forecast.min()
