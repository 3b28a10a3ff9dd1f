"""A build that keeps the last build's tournament keeps each series' backtest only when nothing it was made
from changed, and a kept backtest is the one a fresh run would make (real Prophet fits on a 4-series fleet)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from test_engines import END, START, synthetic
from test_streaming import FAST

from python_engines.forecasting.dbt_bridge import run_engine_model
from python_engines.forecasting.runs import FleetConfig
from python_engines.forecasting.series import Series
from python_engines.forecasting.streaming import sample_key
from python_engines.forecasting.windows import ForecastWindows, compute_windows

logging.getLogger("cmdstanpy").setLevel(logging.WARNING)

# Interval calibration on 2 of the 4 series: a correction in one of those changes every band (so every key).
CONFIGS = {"forecast_workers": 1, "calibration_series": 2, "interval_width": 0.8}
FIRST_END = date(2025, 12, 28)  # the first build's last day; the next build has three more days


def _fleet() -> list[Series]:
    return [
        synthetic(f"host-{h}", level=25.0 + 20 * r, slope_per_year=3.0 * (h + 1), seed=10 * h + r, resource=resource)
        for h in range(2)
        for r, resource in enumerate(("cpu", "memory"))
    ]


def _run(
    fleet: list[Series], windows: ForecastWindows, lake: Path, engine: str = "prophet"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The engine model's call on ``fleet``: its forecast rows and run log."""
    frame = pl.concat(
        pl.DataFrame({"host_id": s.host_id, "resource": s.resource, "ds": s.ds, "y": s.y, "is_imputed": s.is_imputed})
        for s in fleet
    )
    row = pl.DataFrame({name: [value] for name, value in windows.__dict__.items()})
    with duckdb.connect() as con:
        con.register("fleet_frame", frame)
        con.register("windows_frame", row)
        configs = {**CONFIGS, "lake_dir": str(lake)}
        fleet_config = FleetConfig(workers=1, calibration_series=2, xgboost=FAST) if engine == "xgboost" else None
        table = run_engine_model(
            engine, con.table("fleet_frame"), con.table("windows_frame"), configs, fleet=fleet_config
        )
    runs = pl.read_parquet(lake / "forecasts" / f"{engine}_runs.parquet")
    return pl.from_arrow(table).sort("host_id", "resource", "segment", "ds"), runs.sort("host_id", "resource")


def _backtest(forecasts: pl.DataFrame) -> pl.DataFrame:
    return forecasts.filter(pl.col("segment") == "backtest")


def _kept(runs: pl.DataFrame) -> list[str]:
    return runs.filter(pl.col("detail").str.contains("backtest=kept"))["host_id"].to_list()


def _calibration_backend(lake: Path, engine: str = "prophet") -> str:
    """How the last run of ``engine`` got its interval calibration: 'kept' from the run before, else fitted."""
    timings = pl.read_parquet(lake / "forecasts" / f"{engine}_timings.parquet")
    return timings.filter(pl.col("phase") == "calibrate")["backend"].item()


@pytest.fixture(scope="module")
def first_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame, ForecastWindows]:
    lake = tmp_path_factory.mktemp("kept_lake")
    windows = compute_windows(START, FIRST_END)
    forecasts, runs = _run([s.until(np.datetime64(FIRST_END)) for s in _fleet()], windows, lake)
    assert runs["status"].to_list() == ["ok"] * 4 and not _kept(runs)
    assert _calibration_backend(lake) == "local"
    return lake, forecasts, windows


def _kept_windows(first: ForecastWindows) -> ForecastWindows:
    """The next build's windows when it keeps the first build's tournament (forecast_windows' rule)."""
    natural = compute_windows(START, END)
    return replace(
        natural, backtest_start=first.backtest_start, train_end=first.train_end, backtest_end=first.backtest_end
    )


def test_a_kept_tournament_refits_only_the_production_forecast(first_build, tmp_path: Path) -> None:
    lake, first, first_windows = first_build
    windows = _kept_windows(first_windows)
    forecasts, runs = _run(_fleet(), windows, lake)
    assert runs["status"].to_list() == ["ok"] * 4 and len(_kept(runs)) == 4
    assert _calibration_backend(lake) == "kept"  # same calibration windows and sample histories
    assert _backtest(forecasts).equals(_backtest(first))  # the stored rows, days up to the first build's end
    production = forecasts.filter(pl.col("segment") == "forecast")
    assert production["ds"].min() == date(2026, 1, 1) and production.height == 4 * 180
    # A fresh run with the same windows and no stored backtests fits every backtest and gets the same rows.
    fresh, fresh_runs = _run(_fleet(), windows, tmp_path / "fresh_lake")
    assert not _kept(fresh_runs) and _calibration_backend(tmp_path / "fresh_lake") == "local"
    assert fresh.equals(forecasts)


def test_a_change_before_the_training_cut_is_backtested_again(first_build) -> None:
    lake, _, first_windows = first_build
    windows = _kept_windows(first_windows)
    fleet = _fleet()
    outside = max(range(len(fleet)), key=lambda i: sample_key(fleet[i]))  # not in the calibration sample
    corrected = fleet[outside].y.copy()
    corrected[100] += 7.0  # a late correction of a day in 2023, long before the backtest
    fleet[outside] = replace(fleet[outside], y=corrected)
    _, runs = _run(fleet, windows, lake)
    kept = runs.filter(pl.col("detail").str.contains("backtest=kept"))
    assert runs["status"].to_list() == ["ok"] * 4
    assert kept.height == 3 and fleet[outside].key not in kept.select("host_id", "resource").rows()
    # Windows that move the backtest (a fresh tournament) keep nothing.
    fresh = compute_windows(START, END)
    assert fresh.train_end == windows.train_end and fresh.backtest_end != windows.backtest_end
    _, fresh_runs = _run(fleet, fresh, lake)
    assert not _kept(fresh_runs)
    # A correction inside the calibration sample changes the calibration, so every band (and backtest key).
    inside = min(range(len(fleet)), key=lambda i: sample_key(fleet[i]))
    corrected = fleet[inside].y.copy()
    corrected[100] += 7.0
    fleet[inside] = replace(fleet[inside], y=corrected)
    _, runs = _run(fleet, fresh, lake)
    assert _calibration_backend(lake) == "local" and not _kept(runs)


def test_xgboost_keeps_the_boosters_and_backtests_of_a_kept_tournament(tmp_path: Path) -> None:
    first_windows = compute_windows(START, FIRST_END)
    lake = tmp_path / "lake"
    first, first_runs = _run([s.until(np.datetime64(FIRST_END)) for s in _fleet()], first_windows, lake, "xgboost")
    assert not _kept(first_runs)
    stored = pl.read_parquet(lake / "forecasts" / "xgboost_boosters.parquet")
    windows = _kept_windows(first_windows)
    forecasts, runs = _run(_fleet(), windows, lake, "xgboost")
    # Same backtest booster, calibration and histories up to train_end: every backtest is the stored one.
    assert runs["status"].to_list() == ["ok"] * 4 and len(_kept(runs)) == 4
    assert _backtest(forecasts).equals(_backtest(first))
    again = pl.read_parquet(lake / "forecasts" / "xgboost_boosters.parquet")
    # All three boosters are the first run's: the production one is trained at the tournament's day
    # (backtest_end), and the new days only move the features it forecasts from.
    assert again["key"].to_list() == stored["key"].to_list()
    assert again["booster"].to_list() == stored["booster"].to_list()
    production = forecasts.filter(pl.col("segment") == "forecast")
    assert production["ds"].min() == date(2026, 1, 1) and production.height == 4 * 180
    assert _calibration_backend(lake, "xgboost") == "kept"  # same calibration booster and sample histories
    fresh, fresh_runs = _run(_fleet(), windows, tmp_path / "fresh_lake", "xgboost")
    assert _calibration_backend(tmp_path / "fresh_lake", "xgboost") == "local" and not _kept(fresh_runs)
    assert fresh.equals(forecasts)


def _with_missing_day(series: Series, day: np.datetime64, carried: bool) -> Series:
    """``series`` with ``day`` imputed as the refinery fills it: carried forward from the day before while it is
    the last day (``carried``), interpolated between its neighbours once the next day has arrived."""
    y, imputed = series.y.copy(), series.is_imputed.copy()
    i = int(np.flatnonzero(series.ds == day)[0])
    y[i] = y[i - 1] if carried else (y[i - 1] + y[i + 1]) / 2
    imputed[i] = True
    return replace(series, y=y, is_imputed=imputed)


def test_xgboost_keeps_its_production_booster_when_a_missing_last_day_is_filled_again(tmp_path: Path) -> None:
    """The first build's last day was missing for one series (carried forward); the next build interpolates it
    towards the new day. No training row reads that tail, so all three boosters are kept, and the forecasts
    are a fresh run's."""
    first_windows = compute_windows(START, FIRST_END)
    last = np.datetime64(FIRST_END, "D")
    gappy = [s.until(last) for s in _fleet()]
    gappy[1] = _with_missing_day(gappy[1], last, carried=True)
    lake = tmp_path / "lake"
    _run(gappy, first_windows, lake, "xgboost")
    stored = pl.read_parquet(lake / "forecasts" / "xgboost_boosters.parquet")
    fleet = _fleet()
    fleet[1] = _with_missing_day(fleet[1], last, carried=False)
    assert not np.array_equal(fleet[1].until(last).y, gappy[1].y)  # the day's value did change
    windows = _kept_windows(first_windows)
    forecasts, runs = _run(fleet, windows, lake, "xgboost")
    assert pl.read_parquet(lake / "forecasts" / "xgboost_boosters.parquet").equals(stored)
    assert len(_kept(runs)) == 4
    fresh, _ = _run(fleet, windows, tmp_path / "fresh_lake", "xgboost")
    assert fresh.equals(forecasts)
