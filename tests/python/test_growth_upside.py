"""The compounding-growth upside (python_engines.forecasting.growth_upside): which series get a curve, and
how the fleet's window is read from a real DuckDB relation."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import polars as pl
import pytest

from python_engines.forecasting.growth_upside import UPSIDE_SCHEMA, UpsideSettings, fit_upsides, upside_table

SETTINGS = UpsideSettings()
HISTORY_END = date(2025, 12, 31)
X = np.arange(-251, 1, dtype=np.float64)  # the window's days relative to the last one


def _noise(seed: int, sd: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, sd, X.size)


def _compounding(seed: int = 1, sd: float = 1.0) -> np.ndarray:
    """15 + 10 on the last day, doubling every 100 days: 16.8 at the window's start, 50 after 180 more days."""
    return 15.0 + 10.0 * np.exp(np.log(2.0) / 100.0 * X) + _noise(seed, sd)


def _fit(values: np.ndarray) -> tuple[float, float, float, float] | None:
    fit = fit_upsides(np.array([0]), X, values, SETTINGS)[0]
    return None if np.isnan(fit).all() else tuple(fit)


def test_slow_compounding_growth_is_found_with_its_doubling_time() -> None:
    fit = _fit(_compounding())
    assert fit is not None
    floor, scale, rate, evidence, _ = fit
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


def test_series_with_too_few_observed_days_are_skipped() -> None:
    values = _compounding()
    short = values[-(SETTINGS.min_observed - 1) :]
    x = np.r_[X[-short.size :], X]
    fits = fit_upsides(np.array([0, short.size]), x, np.r_[short, values], SETTINGS)
    assert np.isnan(fits[0]).all() and np.isfinite(fits[1]).all()


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
        bar: pl.from_arrow(
            upside_table(con.table("processed_frame"), HISTORY_END, UpsideSettings(refit_min_evidence=bar))
        )
        for bar in (0.0, None)
    }
    disk = {bar: table.filter(pl.col("resource") == "disk").to_dicts()[0] for bar, table in tables.items()}
    assert disk[0.0]["evidence"] > 0.0 and disk[0.0]["evidence"] == disk[None]["evidence"]
    assert disk[0.0]["observed_days"] == 730 and disk[None]["observed_days"] == 252
    assert abs(disk[0.0]["doubling_days"] / 120.0 - 1.0) < abs(disk[None]["doubling_days"] / 120.0 - 1.0)
    cpu = tables[0.0].filter(pl.col("resource") == "cpu")
    assert cpu.is_empty() or (cpu["evidence"][0] < 0.0 and cpu["observed_days"][0] == 252)
