"""The fleet runner: spawn pool isolation (errors, time limits, hangs, crashes), real engines (Dask: elsewhere).

The fake engines below are module-level functions so that spawn workers can import them (pytest puts
tests/python on sys.path and spawn children inherit it).
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Sequence
from datetime import date

import numpy as np
from test_engines import WINDOWS, synthetic

from python_engines.forecasting.fleet import EngineTask, FleetOptions, run_fleet, run_local
from python_engines.forecasting.output import STATUS_FAILED, STATUS_OK, Band, SeriesForecast, forecast_table
from python_engines.forecasting.prophet_engine import ProphetParams, ProphetSettings, prophet_chunk
from python_engines.forecasting.series import Series
from python_engines.forecasting.windows import ForecastWindows

logging.getLogger("cmdstanpy").setLevel(logging.WARNING)


def misbehaving_engine(chunk: Sequence[Series], windows: ForecastWindows, params: object) -> list[SeriesForecast]:
    """Forecasts the last observed value, except for hosts named after a way to fail."""
    results = []
    for s in chunk:
        if s.host_id == "raises":
            raise ValueError("bad input")
        if s.host_id == "sleeps":  # a slow Python-level fit: interrupted by the per-series alarm
            time.sleep(60)
        if s.host_id == "hangs":  # stuck where signals are not delivered: the parent must kill the worker
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(60)
        if s.host_id == "crashes":
            os._exit(3)
        level = np.full(windows.backtest_days, s.y[-1])
        ahead = np.full(windows.horizon_days, s.y[-1])
        results.append(
            SeriesForecast(
                s.host_id,
                s.resource,
                "fake",
                STATUS_OK,
                backtest=Band.bounded(level, level - 1, level + 1),
                forecast=Band.bounded(ahead, ahead - 1, ahead + 1),
            )
        )
    return results


def tiny(host: str) -> Series:
    days = np.arange(np.datetime64("2025-01-01"), np.datetime64("2025-01-15"))
    return Series(host, "cpu", days, np.linspace(10, 20, days.size), np.zeros(days.size, dtype=bool))


def test_one_bad_series_never_stops_or_stalls_the_fleet() -> None:
    names = ["ok1", "raises", "ok2", "sleeps", "ok3", "hangs", "ok4", "crashes", "ok5", "ok6"]
    series = [tiny(n) for n in names]
    task = EngineTask("fake", misbehaving_engine, WINDOWS, None, per_series=True, time_limit=2.0)
    started = time.perf_counter()
    fleet_pass = run_local(task, series, FleetOptions(workers=2, chunk_size=3, grace_seconds=2.0))
    assert time.perf_counter() - started < 40
    by_host = {r.host_id: r for r in fleet_pass.results}
    assert [r.host_id for r in fleet_pass.results] == names  # input order
    for name in names:
        expected = STATUS_OK if name.startswith("ok") else STATUS_FAILED
        assert by_host[name].status == expected, (name, by_host[name].error)
    assert "ValueError: bad input" in by_host["raises"].error
    assert "time limit" in by_host["sleeps"].error
    assert "killed" in by_host["hangs"].error
    assert "died" in by_host["crashes"].error


def test_real_prophet_through_the_pool_equals_direct_calls() -> None:
    series = [synthetic(f"p{i}", seed=i) for i in range(4)]
    params = ProphetParams(ProphetSettings())
    direct = prophet_chunk(series, WINDOWS, params)
    task = EngineTask("prophet", prophet_chunk, WINDOWS, params)
    pooled = run_fleet(task, series, FleetOptions(workers=2, chunk_size=1)).results
    assert _table(pooled).equals(_table(direct))


def _table(results: list[SeriesForecast]):
    return forecast_table(results, WINDOWS)


def test_windows_of_tiny_series_do_not_matter_to_the_runner() -> None:
    # The runner schedules; it must not look at dates (a chunk of series from any window runs).
    other = ForecastWindows(
        date(2024, 1, 1),
        date(2024, 12, 31),
        date(2024, 9, 1),
        date(2024, 8, 31),
        date(2024, 12, 31),
        date(2025, 1, 1),
        date(2025, 1, 10),
    )
    task = EngineTask("fake", misbehaving_engine, other, None)
    results = run_local(task, [tiny("ok")], FleetOptions(workers=1)).results
    assert results[0].forecast is not None and results[0].forecast.yhat.size == 10
