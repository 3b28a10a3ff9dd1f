"""The compounding-growth upside (python_engines.forecasting.growth_upside): which series get a curve, and
how the fleet's window is read from a real DuckDB relation."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import polars as pl
import pytest

from python_engines.forecasting.growth_upside import (
    UPSIDE_SCHEMA,
    UpsideSettings,
    edge_rates,
    fit_upsides,
    upside_table,
)

SETTINGS = UpsideSettings()
HISTORY_END = date(2025, 12, 31)
X = np.arange(-251, 1, dtype=np.float64)  # the window's days relative to the last one


def _noise(seed: int, sd: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, sd, X.size)


def _compounding(seed: int = 1, sd: float = 1.0) -> np.ndarray:
    """15 + 10 on the last day, doubling every 100 days: 16.8 at the window's start, 50 after 180 more days."""
    return 15.0 + 10.0 * np.exp(np.log(2.0) / 100.0 * X) + _noise(seed, sd)


def _fit(values: np.ndarray, x: np.ndarray = X) -> tuple[float, ...] | None:
    """The curve's row (floor, scale, rate, evidence, days fitted, long evidence), None without a curve."""
    fit = fit_upsides(np.array([0]), x, values, SETTINGS)[0][:6]
    return None if np.isnan(fit[:4]).all() else tuple(fit)


def test_slow_compounding_growth_is_found_with_its_doubling_time() -> None:
    fit = _fit(_compounding())
    assert fit is not None
    floor, scale, rate, evidence, _, _ = fit
    assert evidence > 0.0  # likelier than a line or a hinge
    assert 60.0 < np.log(2.0) / rate < 170.0
    assert abs(floor + scale - 25.0) < 2.0  # the curve ends where the series does


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("line", 30.0 + 0.05 * X + _noise(2)),
        ("level shift", np.where(X > -100, 45.0, 30.0) + _noise(3)),
        ("flat", 40.0 + _noise(4)),
        ("late ramp (hinge)", 30.0 + np.maximum(X + 60.0, 0.0) * 0.3 + _noise(5)),
    ],
)
def test_shapes_a_line_or_hinge_explains_get_no_likely_curve(name: str, values: np.ndarray) -> None:
    fit = _fit(values)
    assert fit is None or fit[3] < 0.0, f"{name}: evidence {fit}"


def test_a_rate_in_the_grids_outermost_step_is_at_its_edge() -> None:
    # the 25-400-day grid's 48 rates are 6% apart: 25 and 26.52 at the fast end, 377.1 and 400 at the slow
    doubling = np.array([25.0, 26.5, 26.6, 100.0, 377.0, 377.2, 400.0, np.nan])
    assert edge_rates(doubling, (25.0, 400.0)).tolist() == [True, True, False, False, False, True, True, False]


def test_a_flat_series_whose_last_days_rose_reads_at_the_grids_fast_edge() -> None:
    """A calm host whose last week ran a few points high: the best curve doubles as fast as the grid allows,
    a rate the search stopped at, not one it found; compounding growth's rate lies inside the grid."""
    calm = 40.0 + _noise(6, 1.5)
    calm[-6:] += np.linspace(2.0, 7.0, 6)
    rates = [fit_upsides(np.array([0]), X, values, SETTINGS)[0][2] for values in (calm, _compounding())]
    doubling = np.log(2.0) / np.array(rates)
    assert edge_rates(doubling, SETTINGS.doubling_days).tolist() == [True, False]


def test_series_with_too_few_observed_days_are_skipped() -> None:
    values = _compounding()
    short = values[-(SETTINGS.min_observed - 1) :]
    x = np.r_[X[-short.size :], X]
    fits = fit_upsides(np.array([0, short.size]), x, np.r_[short, values], SETTINGS)
    assert np.isnan(fits[0]).all() and np.isfinite(fits[1][:5]).all()  # no long evidence: the window only


def _processed(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    days = [HISTORY_END + timedelta(days=int(x)) for x in X]
    grow, flat = _compounding(6, sd=0.5), 40.0 + _noise(7)
    frame = pl.concat(
        [
            pl.DataFrame({"host_id": "h1", "resource": "disk", "ds": days, "y": grow, "is_imputed": False}),
            pl.DataFrame({"host_id": "h1", "resource": "cpu", "ds": days, "y": flat, "is_imputed": False}),
            # imputed days and days after history_end are not read
            pl.DataFrame(
                {"host_id": "h1", "resource": "disk", "ds": [HISTORY_END + timedelta(days=1)], "y": [99.0]}
            ).with_columns(is_imputed=pl.lit(False)),
            pl.DataFrame({"host_id": "h2", "resource": "disk", "ds": days, "y": grow, "is_imputed": True}),
        ]
    )
    con.register("processed_frame", frame.to_arrow())
    return con.table("processed_frame")


def test_upside_table_reads_observed_window_days_of_a_real_relation() -> None:
    con = duckdb.connect()
    table = pl.from_arrow(upside_table(_processed(con), HISTORY_END, SETTINGS))
    assert table.schema == pl.from_arrow(UPSIDE_SCHEMA.empty_table()).schema
    disk = table.filter((pl.col("host_id") == "h1") & (pl.col("resource") == "disk")).to_dicts()
    assert len(disk) == 1
    assert disk[0]["anchor_date"] == HISTORY_END and disk[0]["observed_days"] == X.size
    assert disk[0]["evidence"] > 0.0 and disk[0]["curve_scale"] > 0.0
    assert disk[0]["is_edge_rate"] is False
    assert table.filter(pl.col("host_id") == "h2").is_empty()  # only imputed days
    cpu = table.filter(pl.col("resource") == "cpu")
    assert cpu.is_empty() or cpu["evidence"][0] < 0.0


def test_upside_table_of_an_empty_window_is_empty_with_its_columns() -> None:
    con = duckdb.connect()
    table = upside_table(_processed(con), date(2020, 1, 1), SETTINGS)
    assert table.num_rows == 0 and table.schema == UPSIDE_SCHEMA


def test_curves_at_the_bar_are_read_over_two_years_and_the_others_over_the_window() -> None:
    """Three years of one host: disk compounds (doubling every 120 days, AR-free noise), cpu is flat. Only the
    disk curve reaches the bar, so only it is read again over two years (730 observed days); with the bar off
    (None) it keeps the window's 252, and its evidence (the window's) is the same either way."""
    x = np.arange(-1094, 1, dtype=np.float64)
    days = [HISTORY_END + timedelta(days=int(d)) for d in x]
    rng = np.random.default_rng(11)
    grow = 12.0 + 40.0 * np.exp(np.log(2.0) / 120.0 * x) + rng.normal(0.0, 1.0, x.size)
    flat = 40.0 + rng.normal(0.0, 1.0, x.size)
    frame = pl.concat(
        pl.DataFrame({"host_id": "h1", "resource": resource, "ds": days, "y": y, "is_imputed": False})
        for resource, y in (("disk", grow), ("cpu", flat))
    )
    con = duckdb.connect()
    con.register("processed_frame", frame.to_arrow())
    tables = {
        bar: pl.from_arrow(upside_table(con.table("processed_frame"), HISTORY_END, UpsideSettings(min_evidence=bar)))
        for bar in (0.0, None)
    }
    disk = {bar: table.filter(pl.col("resource") == "disk").to_dicts()[0] for bar, table in tables.items()}
    assert disk[0.0]["evidence"] > 0.0 and disk[0.0]["evidence"] == disk[None]["evidence"]
    assert disk[0.0]["observed_days"] == 730 and disk[None]["observed_days"] == 252
    assert abs(disk[0.0]["doubling_days"] / 120.0 - 1.0) < abs(disk[None]["doubling_days"] / 120.0 - 1.0)
    cpu = tables[0.0].filter(pl.col("resource") == "cpu")
    assert cpu.is_empty() or (cpu["evidence"][0] < 0.0 and cpu["observed_days"][0] == 252)


TWO_YEARS = np.arange(-729, 1, dtype=np.float64)


def test_growth_too_slow_for_the_window_is_read_over_two_years() -> None:
    """12 points over a floor of 10, doubling every 250 days: over 36 weeks a line is likelier (evidence under
    0), over two years the curve clearly is, and it still fits the weeks; its parameters are the two years'."""
    values = 10.0 + 12.0 * np.exp(np.log(2.0) / 250.0 * TWO_YEARS)
    fit = _fit(values + np.random.default_rng(3).normal(0.0, 1.0, TWO_YEARS.size), TWO_YEARS)
    assert fit is not None
    floor, scale, rate, evidence, days, long_evidence = fit
    assert evidence < 0.0 < long_evidence
    assert days == TWO_YEARS.size
    assert 150.0 < np.log(2.0) / rate < 400.0 and abs(floor + scale - 22.0) < 2.0


@pytest.mark.parametrize(
    ("name", "values"),
    [
        # compounding for most of two years, level for the last 60 or 90 days
        ("growth that stopped 60 days ago", 10.0 + 15.0 * np.exp(np.log(2.0) / 200.0 * np.minimum(TWO_YEARS, -60))),
        ("growth that stopped 90 days ago", 10.0 + 15.0 * np.exp(np.log(2.0) / 200.0 * np.minimum(TWO_YEARS, -90))),
        ("a line over two years", 20.0 + 0.05 * (TWO_YEARS + 730.0)),
        ("a ramp that began 150 days ago", 30.0 + 0.2 * np.maximum(TWO_YEARS + 150.0, 0.0)),
    ],
)
def test_shapes_that_do_not_compound_get_no_two_year_curve(name: str, values: np.ndarray) -> None:
    fit = _fit(values + np.random.default_rng(4).normal(0.0, 1.0, TWO_YEARS.size), TWO_YEARS)
    assert fit is None or (fit[3] < 0.0 and np.isnan(fit[5]) and fit[4] == 252), f"{name}: {fit}"


def test_the_window_bar_of_a_two_year_curve_is_the_band_tail_chance() -> None:
    assert UpsideSettings(interval_width=0.8).window_min_evidence == pytest.approx(-2.0 * np.log(9.0))
    assert UpsideSettings(interval_width=0.9).window_min_evidence < UpsideSettings().window_min_evidence
    with pytest.raises(ValueError, match="interval_width must be between 0 and 1"):
        UpsideSettings(interval_width=80)


def test_hosts_read_in_blocks_give_the_same_curves() -> None:
    """Three hosts, one series each, fitted one host at a time or all at once."""
    rng = np.random.default_rng(12)
    days = [HISTORY_END + timedelta(days=int(d)) for d in TWO_YEARS]
    shapes = {
        "h1": 10.0 + 12.0 * np.exp(np.log(2.0) / 250.0 * TWO_YEARS),
        "h2": 12.0 + 40.0 * np.exp(np.log(2.0) / 120.0 * TWO_YEARS),
        "h3": 40.0 + 0.0 * TWO_YEARS,
    }
    frame = pl.concat(
        pl.DataFrame(
            {
                "host_id": host,
                "resource": "disk",
                "ds": days,
                "y": y + rng.normal(0.0, 1.0, y.size),
                "is_imputed": False,
            }
        )
        for host, y in shapes.items()
    )
    con = duckdb.connect()
    con.register("processed_frame", frame.to_arrow())
    tables = [
        pl.from_arrow(upside_table(con.table("processed_frame"), HISTORY_END, UpsideSettings(block_hosts=hosts))).sort(
            "host_id"
        )
        for hosts in (1, 2000)
    ]
    assert tables[0].equals(tables[1])
    assert set(tables[0]["host_id"]) >= {"h1", "h2"}


def test_a_staircase_gets_no_curve_but_its_steps() -> None:
    """Steps of 7 points every 90 days over two years, the latest 20 days ago: over the 36-week window the
    latest step bends like compounding growth, but the history grew in steps (Prophet's staircase test), so
    no curve lifts its band and the row counts its steps (the leaderboard's hand-over); with the staircase
    test off the curve is found."""
    x = np.arange(-729, 1, dtype=np.float64)
    noise = np.random.default_rng(9).normal(0.0, 0.8, x.size)
    values = 30.0 + 7.0 * sum((x >= -20.0 - 90.0 * k).astype(float) for k in range(8)) + noise
    stairs = fit_upsides(np.array([0]), x, values, SETTINGS)[0]
    assert np.isnan(stairs[[0, 1, 2, 3, 5]]).all()
    assert stairs[6] == 8 and stairs[4] == x.size
    off = fit_upsides(np.array([0]), x, values, UpsideSettings(staircase=False))[0]
    assert not np.isnan(off[3]) and np.isnan(off[6])
