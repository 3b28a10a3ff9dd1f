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
