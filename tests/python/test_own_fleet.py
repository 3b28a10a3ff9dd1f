"""Bring your own fleet, end to end: `horizonscale load` two exports, then real dbt builds on them.

The fixtures (own_fleets.py) are generated files: a clean fleet (Parquet, 0-1 fractions), one with every kind
of bad row (exact reject counts per reason), raw 5-minute samples across DST changes and a leap day (daily
P95 = DuckDB's quantile_cont over the same UTC day), and hosts that joined mid-history (full DAG with real
Prophet and XGBoost: their short series end as insufficient_history, never a crash; the dashboard reads it).
"""

from __future__ import annotations

import subprocess
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from own_fleets import (
    JOINED,
    JOINED_END,
    SILENT,
    STUCK,
    OwnFleet,
    bad_rows_fleet,
    clean_fleet,
    joiners_fleet,
    sample_fleet,
    short_fleet,
)
from support import run_isolated

from python_engines.serving import serving_file

# The refinery only (sources -> staging -> intermediate -> core), with every test whose parents are built. The
# forecasting layer and intermediate.risk (read from the forecasts) are excluded: `+intermediate` alone reaches back
# through them to both engines (a real Prophet and XGBoost fit per refinery test, about 40 s each).
REFINERY = [
    "dbt",
    "build",
    "--select",
    "+core +intermediate",
    "--exclude",
    "forecasting intermediate.risk",
    "--indirect-selection",
    "cautious",
]
# Its unit tests also run in every full build (conftest.pipeline_build); the Auckland run below keeps them (their
# days must not move with the session time zone), the UTC runs leave them out.
WITHOUT_UNIT_TESTS = ["--exclude-resource-type", "unit_test"]
# model_audit must not repeat its (model, resource) roll-up for hosts without DNA.
MODEL_AUDIT_UNIQUENESS = "unique_combination_of_columns_model_audit_model__resource__scenario__variant"


def _ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"


def _load(fleet: OwnFleet, data: Path, work: Path) -> None:
    _ok(run_isolated(["horizonscale", *fleet.load_args()], data, work))


def _query(database: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _reasons(database: Path, table: str) -> Counter[str]:
    return Counter(dict(_query(database, f"select reason, count(*) from {table} group by reason")))


# --- refinery on the small fleets ------------------------------------------------------------------------------


def test_clean_parquet_fleet_in_fractions_is_refined_without_a_reject(tmp_path: Path) -> None:
    fleet = clean_fleet(tmp_path / "exports")
    data, work = tmp_path / "data", tmp_path
    _load(fleet, data, work)
    _ok(run_isolated([*REFINERY, *WITHOUT_UNIT_TESTS], data, work))
    warehouse = data / "horizonscale.duckdb"

    assert _reasons(warehouse, "telemetry_rejects") == Counter()
    assert _reasons(warehouse, "inventory_rejects") == Counter()
    # Windows derive from the data's own days; every delivered day is used, x100 from the 0-1 fraction.
    assert _query(warehouse, "select history_start, history_end from forecast_windows") == [
        (date(2025, 1, 1), date(2025, 8, 31))
    ]
    delivered = pl.read_parquet(fleet.telemetry)
    used, total = _query(warehouse, "select count(*), sum(y) from processed_data where not is_imputed")[0]
    assert used == delivered.height == 3 * 4 * 243
    assert total == pytest.approx(delivered["value"].sum() * 100, rel=1e-12)
    hosts = _query(
        warehouse,
        "select host_id, region, environment, cpu_cores, memory_gb, department, app_code, app_name, "
        "scenario, variant, primary_resource, fleet_source from hosts order by host_id",
    )
    assert hosts[0] == ("srv-a", "EMEA", "PROD", 8, 32, "Payments", "APP-0", None, None, None, None, "own")
    assert [h[4] for h in hosts] == [32, 33, 33]  # 32.5 GB rounds to 33


def test_every_kind_of_bad_row_is_quarantined_with_its_reason(tmp_path: Path) -> None:
    fleet = bad_rows_fleet(tmp_path / "exports")
    data, work = tmp_path / "data", tmp_path
    _load(fleet, data, work)
    # history_start puts the one valid row of 2023-12-31 outside the window: rejected as out_of_window.
    # (6 of the 8 inventory rows are bad on purpose: far above the default max_reject_share, 5%.)
    vars_ = "{history_start: '2024-01-01', max_reject_share: 0.8}"
    _ok(run_isolated([*REFINERY, *WITHOUT_UNIT_TESTS, "--vars", vars_], data, work))
    warehouse = data / "horizonscale.duckdb"

    assert _reasons(warehouse, "telemetry_rejects") == fleet.telemetry_rejects
    assert _reasons(warehouse, "inventory_rejects") == fleet.inventory_rejects
    # Exactly the bad rows, kept as delivered (text, file); every clean row is used.
    files = _query(warehouse, "select distinct regexp_extract(source_file, '[^/]+$') from telemetry_rejects")
    assert files == [("2_bad.csv",)]
    assert ("abc", "non_numeric_value") in _query(warehouse, "select value, reason from telemetry_rejects")
    assert (" H1 ", "Other", "duplicate_host_id") in _query(
        warehouse, "select host_id, department, reason from inventory_rejects"
    )
    assert _query(warehouse, "select host_id, department from hosts order by 1") == [
        ("h1", "Payments"),  # the first row of a duplicated host_id wins
        ("h2", "Payments"),
    ]
    raw, used = _query(
        warehouse,
        "select (select count(*) from stg_own_telemetry), (select count(*) from processed_data where not is_imputed)",
    )[0]
    assert (raw, used) == (2 * 4 * 182 + sum(fleet.telemetry_rejects.values()), 2 * 4 * 182)
    # Every series ends on the fleet's last day, not on the day of the row whose clock ran ahead.
    assert _query(warehouse, "select max(ds) from processed_data") == [(date(2024, 6, 30),)]
    share = _query(warehouse, "select reject_share from quarantine_summary where rejects_table = 'telemetry_rejects'")
    rejected = sum(fleet.telemetry_rejects.values()) - fleet.telemetry_rejects["out_of_window"]
    assert share[0][0] == pytest.approx(rejected / raw, abs=1e-6)  # out_of_window does not count

    rejects = _query(warehouse, "select * exclude (loaded_at) from telemetry_rejects order by raw_row_id")

    # Above max_reject_share the build fails, and the command says how much, why and what to do, in one line.
    strict = "{history_start: '2024-01-01', max_reject_share: 0.01}"
    failed = run_isolated(["horizonscale", "build", "--select", "+quarantine_summary", "--vars", strict], data, work)
    assert failed.returncode == 1
    message = failed.stderr.strip().splitlines()[-1]
    assert message.startswith("horizonscale: error: dbt build failed")
    assert "telemetry_rejects holds 1.5% of the raw rows, above max_reject_share 1.0%" in message
    assert "select reason, count(*) from telemetry_rejects group by reason" in message
    assert "max_reject_share: 0.02" in message
    assert "inventory_rejects holds 75.0% of the raw rows" in message
    assert "FAIL 2 reject_share_within_max_reject_share" in failed.stdout
    # That rebuild judged every row the same way: deterministic and idempotent.
    assert _query(warehouse, "select * exclude (loaded_at) from telemetry_rejects order by raw_row_id") == rejects


def test_raw_samples_across_dst_and_a_leap_day_become_the_p95_of_each_utc_day(tmp_path: Path) -> None:
    fleet, samples = sample_fleet(tmp_path / "exports")
    data, work = tmp_path / "data", tmp_path
    _load(fleet, data, work)
    # A machine far from UTC: the refinery's days must not move with the session time zone.
    _ok(run_isolated(REFINERY, data, work, TZ="Pacific/Auckland"))
    warehouse = data / "horizonscale.duckdb"

    assert _reasons(warehouse, "telemetry_rejects") == Counter()  # fall-back's repeated local hour is no duplicate
    with duckdb.connect() as con:  # the UTC days come from Python's zoneinfo, not from DuckDB's parsing
        con.register("samples", samples)
        expected = con.execute(
            "select resource, utc_day as ds, quantile_cont(cast(value as double), 0.95) as p95, count(*) as n "
            "from samples group by all order by all"
        ).fetchall()
    refined = _query(
        warehouse,
        "select d.resource, d.ds, p.y, d.raw_rows from int_own_telemetry_daily as d "
        "join processed_data as p using (host_id, resource, ds) where not p.is_imputed order by all",
    )
    assert [(r, ds, n) for r, ds, _, n in refined] == [(r, ds, n) for r, ds, _, n in expected]
    assert all(n == 288 for *_, n in refined)  # every UTC day, including the 23- and 25-hour local days
    assert [y for _, _, y, _ in refined] == pytest.approx([p for _, _, p, _ in expected], abs=1e-9)
    assert ("memory", date(2024, 2, 29)) in [(r, ds) for r, ds, *_ in refined]


# --- the whole DAG on a fleet whose hosts joined at different times ---------------------------------------------


@pytest.fixture(scope="module")
def joined(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("own_fleet")
    data = work / "data"
    _load(joiners_fleet(work / "exports"), data, work)
    _ok(run_isolated(["horizonscale", "build", "--out", str(work / "reports")], data, work))
    return data, work


def test_marts_and_serving_copy_hold_the_own_hosts(joined: tuple[Path, Path]) -> None:
    data, work = joined
    serving = data / "serving" / "horizonscale.duckdb"
    assert serving == serving_file_of(data)
    assert {h for (h,) in _query(serving, "select host_id from hosts")} == set(JOINED)
    assert {h for (h,) in _query(serving, "select host_id from fleet_health")} == set(JOINED)
    assert _query(serving, "select history_end from forecast_windows") == [(JOINED_END,)]
    forecast_hosts = {h for (h,) in _query(serving, "select distinct host_id from forecasts")}
    assert {"app-01", "app-02", "db-01"} <= forecast_hosts
    departments = {d for (d,) in _query(serving, "select department from department_risk_summary")}
    assert departments == {"Payments", "Trading", "Retail"}
    assert (work / "reports" / "fleet_health.csv").is_file()
    assert (data / "serving" / "parquet" / "hosts.parquet").is_file()
    assert _reasons(serving, "telemetry_rejects") == Counter()


def test_short_series_are_insufficient_history_never_a_crash(joined: tuple[Path, Path]) -> None:
    serving = serving_file_of(joined[0])
    runs = dict(
        _query(
            serving,
            "select host_id || '/' || model, string_agg(distinct status, ',') from engine_runs "
            "where model in ('prophet', 'xgboost') and (host_id, resource) <> (?, ?) group by all",
            list(STUCK[:2]),
        )
    )
    for host in ("app-01", "app-02", "db-01"):
        assert runs[f"{host}/prophet"] == runs[f"{host}/xgboost"] == "ok"
    for host in ("late-01", "late-02"):  # 78 and 0 observed days before the backtest (180 needed)
        assert runs[f"{host}/prophet"] == runs[f"{host}/xgboost"] == "insufficient_history"
    # Too young for any engine, not too young for a forecast: a straight line, LOW trust, never excluded.
    assert _query(serving, "select count(*) from forecast_exclusions where host_id like 'late-%'") == [(0,)]
    young = _query(
        serving,
        "select host_id, champion_model, trust_level, count(distinct resource), bool_and(champion_reason like "
        "'young series: % observed days before the backtest (need 180)%') from forecasts "
        "where host_id like 'late-%' group by all order by host_id",
    )
    assert young == [("late-01", "young_trend", "LOW", 4, True), ("late-02", "young_trend", "LOW", 4, True)]


def test_a_series_stuck_near_full_is_forecast_by_the_naive_and_flagged(joined: tuple[Path, Path]) -> None:
    """A constant series has nothing for a model to fit, but it is not without a forecast: stuck at 98% it is a
    breach (it was AMBER 'without a forecast' and never in capacity_risks)."""
    serving = serving_file_of(joined[0])
    host, resource, value = STUCK
    runs = dict(
        _query(serving, "select model, status from engine_runs where host_id = ? and resource = ?", [host, resource])
    )
    assert runs == {"prophet": "insufficient_history", "xgboost": "insufficient_history", "seasonal_naive": "ok"}
    assert _query(
        serving, "select count(*) from forecast_exclusions where host_id = ? and resource = ?", [host, resource]
    ) == [(0,)]
    assert _query(
        serving,
        "select distinct champion_model, yhat from forecasts where host_id = ? and resource = ?",
        [host, resource],
    ) == [("seasonal_naive", value)]
    assert _query(
        serving,
        "select breach_basis, days_to_breach from capacity_risks where host_id = ? and resource = ?",
        [host, resource],
    ) == [("point forecast", 1)]
    assert _query(serving, "select status from fleet_health where host_id = ?", [host]) == [("RED",)]


def test_every_engine_skips_a_series_shorter_than_the_minimum(joined: tuple[Path, Path]) -> None:
    serving = serving_file_of(joined[0])
    statuses = _query(serving, "select distinct status from engine_runs where host_id = 'late-01'")
    assert statuses == [("insufficient_history",)]


def test_model_audit_is_unique_on_a_fleet_without_dna(joined: tuple[Path, Path]) -> None:
    data, work = joined
    _ok(run_isolated(["dbt", "test", "--select", MODEL_AUDIT_UNIQUENESS], data, work))


def test_dashboard_reads_the_own_fleet(joined: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from test_dashboard import chart_specs, metrics, run

    data, _ = joined
    monkeypatch.setenv("HORIZONSCALE_DATA_DIR", str(data))
    for view in ("Fleet health", "Risk heatmap", "Model audit"):
        assert run(view).title[0].value == view
    assert metrics(run("Fleet health"))["Hosts"] == str(len(JOINED))
    app = run("Host deep dive", host="app-01.corp.example", resource="CPU")
    (spec,) = chart_specs(app)
    assert "actual" in {trace.get("name") for trace in spec["data"]}


def serving_file_of(data: Path) -> Path:
    from python_engines.paths import ProjectPaths

    return serving_file(ProjectPaths.discover(data))


def test_a_fleet_shorter_than_the_backtest_completes_with_every_series_explained(tmp_path: Path) -> None:
    """60 days of history cannot be backtested over 4 months: the build still completes, every series is
    insufficient_history in every engine, one line says why, and every series (60 observed days, young_min_days)
    gets the young-series straight line instead of no forecast. An inventory host without a single telemetry row
    does not fail the build either (its rightsizing rows once had a null is_breach_alert, which the model's own
    not_null test stopped the build on): it is listed with why, and raises no alert."""
    data, work = tmp_path / "data", tmp_path
    _load(short_fleet(tmp_path / "exports"), data, work)
    result = run_isolated(["horizonscale", "build", "--out", str(work / "reports")], data, work)
    _ok(result)
    assert "shorter than the backtest" in result.stderr
    serving = serving_file_of(data)
    assert _query(serving, "select distinct status from engine_runs") == [("insufficient_history",)]
    assert _query(serving, "select count(*) from forecast_exclusions") == [(0,)]
    assert _query(serving, "select count(*), string_agg(distinct champion_model) from forecasts") == [
        (8 * 180, "young_trend")
    ]
    sizing = "select distinct is_breach_alert, split_part(reason, ':', 1) from rightsizing where host_id = ?"
    assert _query(serving, sizing, [SILENT]) == [(False, "no telemetry")]
    ((reason,),) = _query(serving, "select status_reason from fleet_health where host_id = ?", [SILENT])
    assert reason.startswith("no telemetry"), reason
