"""The streaming path: a fleet read from DuckDB in chunks of hosts, results through Parquet parts, gives the
same forecasts and run log as the unchunked in-memory path, for every engine (real Prophet and XGBoost fits)."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from test_engines import WINDOWS, synthetic

from python_engines.forecasting.dbt_bridge import run_engine_model
from python_engines.forecasting.frames import series_from_frame
from python_engines.forecasting.output import forecast_table
from python_engines.forecasting.runs import ENGINES, FleetConfig
from python_engines.forecasting.series import Series
from python_engines.forecasting.streaming import MemorySource, RelationSource, SmallestK, scan_samples
from python_engines.forecasting.xgboost_engine import XGBoostSettings

logging.getLogger("cmdstanpy").setLevel(logging.WARNING)

HOSTS = 4
RESOURCES = ("cpu", "memory")
FAST = XGBoostSettings(n_estimators=40, learning_rate=0.2, max_train_rows=20_000)
CONFIGS = {
    "forecast_workers": 2,
    "calibration_series": 5,
    "interval_width": 0.8,
}


def _fleet() -> list[Series]:
    """Hosts in id order, each with two resources; host-02's memory too short to forecast."""
    fleet = []
    for h in range(HOSTS):
        for r, resource in enumerate(RESOURCES):
            s = synthetic(f"host-{h:02d}", level=20.0 + 10 * r, slope_per_year=2.0 * h, seed=10 * h + r)
            s = replace(s, resource=resource)
            if h == 2 and resource == "memory":
                s = s.until(s.ds[0] + 60)
            fleet.append(s)
    return fleet


def _write_fleet(path: Path, fleet: list[Series]) -> None:
    frame = pl.concat(
        pl.DataFrame({"host_id": s.host_id, "resource": s.resource, "ds": s.ds, "y": s.y, "is_imputed": s.is_imputed})
        for s in reversed(fleet)  # stored out of order: the source must sort
    )
    windows = pl.DataFrame({k: [v] for k, v in WINDOWS.__dict__.items()})
    with duckdb.connect(str(path)) as con:
        con.register("fleet_frame", frame)
        con.register("windows_frame", windows)
        con.execute("create table processed_data as select * from fleet_frame")
        con.execute("create table forecast_windows as select * from windows_frame")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("streaming") / "fleet.duckdb"
    _write_fleet(path, _fleet())
    return path


def _sorted(table) -> pl.DataFrame:
    return pl.from_arrow(table).sort("host_id", "resource", "segment", "ds")


def test_memory_source_keeps_hosts_whole_and_in_order() -> None:
    fleet = _fleet()
    chunks = list(MemorySource(fleet, chunk_hosts=3).chunks())
    assert [len(c) for c in chunks] == [6, 2]
    assert [s for c in chunks for s in c] == fleet


def test_smallest_k_is_the_sorted_prefix() -> None:
    ranks = np.random.default_rng(3).integers(0, 50, 200)  # many ties: input position breaks them
    fleet = [synthetic(f"h{i:03d}") for i in range(200)]
    keep = SmallestK(17)
    for at, (rank, s) in enumerate(zip(ranks, fleet, strict=True)):
        keep.offer(int(rank), at, s)
    order = sorted(range(200), key=lambda i: (ranks[i], i))[:17]
    assert [s.host_id for s in keep.by_rank()] == [fleet[i].host_id for i in order]
    assert [s.host_id for s in keep.by_position()] == [fleet[i].host_id for i in sorted(order)]


def test_a_kept_sample_does_not_hold_its_chunk() -> None:
    """A series read from a chunk is a view of the chunk's arrays: kept as it is, a small sample held every chunk
    of the fleet in memory. What SmallestK keeps owns its arrays, with the same values."""
    fleet = _fleet()
    frame = pl.concat(
        pl.DataFrame({"host_id": s.host_id, "resource": s.resource, "ds": s.ds, "y": s.y, "is_imputed": s.is_imputed})
        for s in fleet
    )
    chunk = series_from_frame(frame)
    assert chunk[0].y.base is not None  # a view
    keep = SmallestK(2)
    for at, s in enumerate(chunk):
        keep.offer(at, at, s)
    for kept, original in zip(keep.by_rank(), chunk[:2], strict=True):
        assert not np.shares_memory(kept.y, original.y) and not np.shares_memory(kept.ds, original.ds)
        assert not np.shares_memory(kept.is_imputed, original.is_imputed)
        assert np.array_equal(kept.y, original.y, equal_nan=True) and np.array_equal(kept.ds, original.ds)


def test_the_training_cap_takes_a_fixed_sample_in_input_order() -> None:
    fleet = _fleet()
    full = scan_samples(MemorySource(fleet), WINDOWS, WINDOWS, FleetConfig().xgboost.history, 3, training_cap=100)
    capped = scan_samples(MemorySource(fleet, 1), WINDOWS, WINDOWS, FleetConfig().xgboost.history, 3, training_cap=4)
    assert full.eligible_for_training == capped.eligible_for_training == len(fleet) - 1
    assert [s.key for s in full.training] == [s.key for s in fleet if s.y.size > 100]
    positions = [[s.key for s in fleet].index(s.key) for s in capped.training]
    assert len(positions) == 4 and positions == sorted(positions)
    assert [s.key for s in full.calibration] == [s.key for s in capped.calibration]


def test_relation_source_reads_hosts_in_chunks(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        source = RelationSource(con.table("processed_data"), chunk_hosts=3, host_limit=None)
        chunks = list(source.chunks())
        limited = RelationSource(con.table("processed_data"), chunk_hosts=1, host_limit=2)
        assert [len({s.host_id for s in c}) for c in limited.chunks()] == [1, 1]
    assert [len(c) for c in chunks] == [6, 2] and source.chunk_count == 2
    expected = _fleet()
    streamed = [s for c in chunks for s in c]
    assert [s.key for s in streamed] == [s.key for s in expected]
    assert all(np.array_equal(a.y, b.y) and np.array_equal(a.ds, b.ds) for a, b in zip(streamed, expected, strict=True))


@pytest.mark.parametrize(("engine", "chunk_hosts"), [("prophet", 1), ("xgboost", 3)])
def test_chunked_equals_unchunked(engine: str, chunk_hosts: int, warehouse: Path, tmp_path: Path) -> None:
    assert set(ENGINES) == {"prophet", "xgboost"}  # a new engine gets a case here
    # XGBoost trains in-process on `workers` threads: one keeps it fast on a busy machine
    config = FleetConfig(workers=2 if engine == "prophet" else 1, calibration_series=5, xgboost=FAST)
    whole = ENGINES[engine](_fleet(), WINDOWS, config)
    expected = _sorted(forecast_table(whole.results, WINDOWS))
    configs = {**CONFIGS, "lake_dir": str(tmp_path / "lake"), "forecast_chunk_hosts": chunk_hosts}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        # the dbt model's call: relations in, a relation of the session over the lake file out
        relation = run_engine_model(
            engine, con.table("processed_data"), con.table("forecast_windows"), configs, session=con, fleet=config
        )
        streamed = _sorted(relation.arrow())
    assert streamed.height == expected.height > 0
    assert streamed.equals(expected)
    lake = tmp_path / "lake" / "forecasts"
    # boosters: global XGBoost only; quantiles: the interval calibration, kept for the next run
    stored = ("", "_backtest_keys", "_boosters", "_quantiles", "_runs", "_timings")
    files = [f"{engine}{s}.parquet" for s in stored if s != "_boosters" or engine == "xgboost"]
    assert sorted(p.name for p in lake.iterdir()) == files
    runs = pl.read_parquet(lake / f"{engine}_runs.parquet")
    assert runs.select("host_id", "resource", "status").rows() == [
        (r.host_id, r.resource, r.status) for r in whole.results
    ]
    timings = pl.read_parquet(lake / f"{engine}_timings.parquet")
    forecast_phase = timings.filter(pl.col("phase") == "forecast")
    assert forecast_phase["series"].to_list() == [HOSTS * len(RESOURCES)]
