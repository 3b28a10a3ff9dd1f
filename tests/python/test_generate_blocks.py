"""`generate` in blocks of hosts (bounded memory at any fleet size): with a tiny block size the lake is still one
valid file, the same seed gives the same fleet, and a fleet of one block is exactly the fleet of before blocks."""

from __future__ import annotations

import hashlib
import logging
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from support import PROJECT_ROOT

from python_engines.paths import ProjectPaths
from python_engines.raw_layer import lake_glob
from python_engines.synthetic import GeneratorConfig, generate, generator
from python_engines.synthetic.generator import TELEMETRY_FILE, extended_config

HOSTS = 11
BLOCK = 4  # three blocks: hosts 1-4, 5-8, 9-11
START, END = date(2023, 1, 1), date(2023, 6, 30)
CONFIG = GeneratorConfig(hosts=HOSTS, seed=3, start=START, end=END)

#: Digest of the rows of ``GeneratorConfig(hosts=10, seed=5, end=2024-06-30, extend_days=7)`` (lake rows and
#: planted breaches) as the generator wrote them before it worked in blocks: a fleet of one block is unchanged.
ONE_BLOCK_DIGEST = "b7527a8addd01d3551d75da8e64a48e2b9bd38c952bfa95dd5118fcb6ffd44fd"


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generator, "BLOCK_HOSTS", BLOCK)


def _paths(tmp_path: Path, name: str) -> ProjectPaths:
    return ProjectPaths.discover(tmp_path / name, root=PROJECT_ROOT)


def _rows_digest(paths: ProjectPaths) -> str:
    """Every row of the fleet's lake (all loads, by raw_row_id) and its planted breaches."""
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        lake = con.execute(
            f"select * exclude (load_id) from read_parquet('{lake_glob(paths, 'synthetic')}') order by raw_row_id"
        ).fetchall()
        planted = con.execute("select * from raw.planted_breaches order by all").fetchall()
    return hashlib.sha256(repr((lake, planted)).encode()).hexdigest()


def test_blocks_make_one_valid_lake_file(tmp_path: Path, small_blocks: None, caplog: pytest.LogCaptureFixture) -> None:
    paths = _paths(tmp_path, "blocks")
    with caplog.at_level(logging.INFO, logger=generator.__name__):
        result = generate(CONFIG, paths)
    assert "telemetry: block 2/3 (hosts 5-8) written" in caplog.text
    lake = pl.read_parquet(paths.lake_dir / TELEMETRY_FILE)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        hosts = {host for (host,) in con.execute("select host_id from raw.hosts").fetchall()}
        planted_hosts = con.execute("select count(distinct host_id) from raw.planted_breaches").fetchone()[0]
        breach_hosts = con.execute("select count(*) from raw.hosts where scenario = 'CAPACITY_BREACH'").fetchone()[0]
        audit = con.execute("select telemetry_rows, missing_rows, duplicate_rows from raw.generation_audit").fetchone()
        (loaded,) = con.execute("select telemetry_rows from raw.load_audit").fetchone()
    # One file, ids 1..N in file order, consecutive across blocks.
    assert lake["raw_row_id"].to_list() == list(range(1, lake.height + 1))
    assert result.telemetry_rows == lake.height == audit[0] == loaded
    # Every host, and rows = series x days - missing + re-sent duplicates (as for a fleet of one block).
    assert set(lake["host_id"].str.to_lowercase().unique()) == hosts
    days = (END - START).days + 1
    assert lake.height == HOSTS * 4 * days - audit[1] + audit[2]
    # Sorted as before: each host x resource series is one contiguous run of rows, days ascending within it.
    series = lake.select(
        pl.col("host_id").str.to_lowercase().alias("host"),
        pl.col("resource").str.strip_chars().str.to_lowercase().alias("resource"),
        "ts",
    )
    runs = series.select((pl.struct("host", "resource") != pl.struct("host", "resource").shift()).sum()).item()
    assert runs == HOSTS * 4 - 1
    assert series.group_by("host", "resource").agg(pl.col("ts").diff().min() >= timedelta(0))["ts"].all()
    assert planted_hosts == breach_hosts > 0
    # The partial file is gone once the lake file is complete.
    assert not list(paths.lake_dir.glob("*.partial"))


def test_blocks_are_deterministic_and_part_of_the_fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generator, "BLOCK_HOSTS", BLOCK)
    first, second = _paths(tmp_path, "a"), _paths(tmp_path, "b")
    generate(CONFIG, first)
    generate(CONFIG, second)
    assert (first.lake_dir / TELEMETRY_FILE).read_bytes() == (second.lake_dir / TELEMETRY_FILE).read_bytes()
    # Another block size draws other streams: the block size belongs to a large fleet's identity.
    monkeypatch.setattr(generator, "BLOCK_HOSTS", HOSTS)
    whole = _paths(tmp_path, "whole")
    generate(CONFIG, whole)
    assert _rows_digest(whole) != _rows_digest(first)


def test_blocks_extend_stepwise_as_at_once(tmp_path: Path, small_blocks: None) -> None:
    """`generate --extend-days` on a fleet of several blocks: 3 then 4 days are 7 days at once, row for row
    (raw_row_ids included), and the generated window is untouched."""
    plain, stepwise, at_once = (_paths(tmp_path, name) for name in ("p", "s", "o"))
    generate(CONFIG, plain)
    generate(CONFIG, stepwise)
    generate(extended_config(stepwise, 3), stepwise)
    generate(extended_config(stepwise, 4), stepwise)
    generate(GeneratorConfig(hosts=HOSTS, seed=3, start=START, end=END, extend_days=7), at_once)
    assert _rows_digest(stepwise) == _rows_digest(at_once)
    with duckdb.connect() as con:
        window = con.execute(
            f"select count(*) from (select * exclude (load_id) from read_parquet('{lake_glob(plain, 'synthetic')}') "
            f"except all select * exclude (load_id) from read_parquet('{lake_glob(stepwise, 'synthetic')}'))"
        ).fetchone()[0]
        new_days = con.execute(
            f"select count(distinct ts), count(distinct lower(host_id)) "
            f"from read_parquet('{lake_glob(stepwise, 'synthetic')}') where ts > date '{END}'"
        ).fetchone()
    assert window == 0
    assert new_days == (7, HOSTS)


def test_a_fleet_of_one_block_is_the_fleet_of_before_blocks(tmp_path: Path) -> None:
    paths = _paths(tmp_path, "one")
    generate(GeneratorConfig(hosts=10, seed=5, end=date(2024, 6, 30), extend_days=7), paths)
    assert _rows_digest(paths) == ONE_BLOCK_DIGEST
