"""A data directory whose path holds a quote, a space and parentheses ("team's data (prod)") works like any other:
real CLI, real dbt build, real DuckDB.

Before: `generate` and `load` worked there, but `build` failed in stg_telemetry, stg_own_telemetry and a singular
test with "Parser Error: unterminated string literal" (the lake path spliced into SQL unquoted by the source's
external_location, the engines' run-log files and the forecast history), and `load --append` / `--undo` stopped
with a DuckDB traceback for the same reason (python_engines/loads.py).
"""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from pathlib import Path

import duckdb
from support import run_isolated

DIR_NAME = "team's data (prod)"


def _ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr, result.stderr[-3000:]


def _query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


def _telemetry(path: Path, hosts: tuple[str, ...], first: date, days: int) -> Path:
    rows = ["host_id,resource,ts,value"]
    rows += [f"{host},cpu,{first + timedelta(days=day)},{20 + day % 7}.0" for host in hosts for day in range(days)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_load_append_and_undo_in_a_quoted_data_directory(tmp_path: Path) -> None:
    data, exports = tmp_path / DIR_NAME, tmp_path / "exports"
    exports.mkdir()
    inventory = exports / "inventory.csv"
    inventory.write_text(
        "host_id,hostname,department,app_code,app_manager,region\nh1,h1.corp,Payments,PAY,Ann Lee,EMEA\n"
    )
    grown = exports / "inventory_grown.csv"
    grown.write_text(inventory.read_text() + "h2,h2.corp,Trading,TRD,Raj Patel,APAC\n")
    base = _telemetry(exports / "base.csv", ("h1",), date(2025, 1, 1), 120)
    more = _telemetry(exports / "more.csv", ("h1", "h2"), date(2025, 5, 1), 10)

    _ok(run_isolated(["horizonscale", "load", "--inventory", str(inventory), "--telemetry", str(base)], data, tmp_path))
    _ok(
        run_isolated(
            ["horizonscale", "load", "--append", "--inventory", str(grown), "--telemetry", str(more)], data, tmp_path
        )
    )
    warehouse = data / "horizonscale.duckdb"
    assert _query(warehouse, "select count(*) from raw.inventory") == [(2,)]

    _ok(run_isolated(["horizonscale", "load", "--undo", "2"], data, tmp_path))

    assert _query(warehouse, "select host_id from raw.inventory") == [("h1",)]
    assert _query(warehouse, "select load_id from raw.load_audit where undone_at is not null") == [(2,)]


def test_a_whole_build_in_a_quoted_data_directory(tmp_path: Path) -> None:
    data = tmp_path / DIR_NAME
    _ok(run_isolated(["horizonscale", "generate", "--hosts", "12", "--end", "2024-06-30"], data, tmp_path))

    _ok(run_isolated(["horizonscale", "build", "--out", str(tmp_path / "reports")], data, tmp_path))

    serving = data / "serving" / "horizonscale.duckdb"
    assert _query(serving, "select count(distinct host_id) from forecasts") == [(12,)]
    assert _query(serving, "select count(*) > 0 from engine_runs where status = 'ok'") == [(True,)]
    assert list((data / "forecast_history").glob("as_of=2024-06-30/*.parquet"))
