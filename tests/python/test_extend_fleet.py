"""`generate --extend-days`: the synthetic fleet continues itself, and every day it already had stays exact."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
from support import PROJECT_ROOT, horizonscale

from python_engines.paths import ProjectPaths
from python_engines.raw_layer import lake_glob
from python_engines.synthetic import GeneratorConfig, generate
from python_engines.synthetic.generator import extended_config

HOSTS = 10
END = date(2024, 6, 30)


def _telemetry(paths: ProjectPaths) -> str:
    """Every load of the fleet's lake, without load_id (extending by 3 then 4 days is two loads, by 7 one)."""
    return f"(select * exclude (load_id) from read_parquet('{lake_glob(paths, 'synthetic')}'))"


def _one(query: str) -> tuple:
    with duckdb.connect() as con:
        return con.execute(query).fetchone()


def _difference(left: ProjectPaths, right: ProjectPaths, last_day: date) -> int:
    """Rows in either lake up to ``last_day`` that the other lacks."""
    a, b = _telemetry(left), _telemetry(right)
    cut = f"ts <= date '{last_day}'"
    query = (
        f"select count(*) from ((select * from {a} where {cut} except all select * from {b} where {cut}) "
        f"union all (select * from {b} where {cut} except all select * from {a} where {cut}))"
    )
    return _one(query)[0]


def test_extension_keeps_every_day_it_had(tmp_path: Path) -> None:
    plain, stepwise, at_once = (ProjectPaths.discover(tmp_path / n, root=PROJECT_ROOT) for n in ("p", "s", "o"))
    base = GeneratorConfig(hosts=HOSTS, seed=5, start=date(2023, 1, 1), end=END)
    generate(base, plain)
    generate(base, stepwise)
    generate(base, at_once)
    generate(extended_config(stepwise, 3), stepwise)
    generate(extended_config(stepwise, 4), stepwise)
    generate(extended_config(at_once, 7), at_once)

    # The generated window is the fleet without extension, row for row (ids, values, dirt, loaded_at).
    assert _difference(plain, stepwise, END) == 0
    # Extending by 3 then 4 days is extending by 7 at once.
    assert _difference(stepwise, at_once, END + timedelta(days=7)) == 0
    with duckdb.connect(str(stepwise.warehouse), read_only=True) as con:
        assert con.execute("select end_date, extend_days from raw.generation_audit").fetchone() == (
            END + timedelta(days=7),
            7,
        )
        assert con.execute("select count(*) from raw.hosts").fetchone() == (HOSTS,)
        # Each extension landed beside the fleet as a load of its own.
        loads = con.execute("select load_id, load_mode, lake_file from raw.load_audit order by 1").fetchall()
        assert [(i, mode) for i, mode, _ in loads] == [(1, "replace"), (2, "append"), (3, "append")]
        assert all((stepwise.lake_dir / lake_file).is_file() for *_, lake_file in loads)
    days = _one(f"select count(distinct ts) from {_telemetry(stepwise)} where ts > date '{END}'")
    assert days == (7,)
    # The new days continue the series: no level jump from the last generated week to the first new one.
    jump = _one(
        f"select abs(avg(value) filter (where ts > date '{END}') - avg(value) filter (where ts > date '{END}' - 7 "
        f"and ts <= date '{END}')) from {_telemetry(stepwise)} where value between 0 and 100"
    )[0]
    assert jump < 5


def test_extend_needs_a_generated_fleet(tmp_path: Path) -> None:
    completed = horizonscale("generate", "--extend-days", "3", data_dir=tmp_path / "empty")
    assert completed.returncode == 2
    assert "no synthetic fleet to extend" in completed.stderr
    assert "Traceback" not in completed.stderr
    shutil.rmtree(tmp_path / "empty", ignore_errors=True)
