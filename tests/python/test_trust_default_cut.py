"""bench.trust's default fleet on a future it has, for real: a 10-host default fleet is generated, its last 90
days are kept aside as the truth, and the fleet is built from nothing with history_end 90 days earlier (real
dbt builds, Prophet and XGBoost fits, stock Prophet on two series), then scored on the days kept aside."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from bench.trust import GOLDEN, ORACLE, STOCK, Fleet, evaluate_fleet, parse_args, prepare, read_warehouse
from bench.trust_metrics import ALL

HOSTS, CUT_DAYS = 10, 90  # the DNA catalog needs 10 hosts; the kept days cover the alert's 90


def test_the_default_fleet_cut_is_built_without_its_last_days_and_scored_on_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))  # every stage's dbt run, apart from the repo's
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    args = parse_args(
        [
            "--seeds",
            "",
            "--default-hosts",
            str(HOSTS),
            "--default-cut-days",
            str(CUT_DAYS),
            "--stock-sample",
            "2",
            "--vars",
            "{forecast_workers: 1}",
        ]
    )
    fleet = Fleet(f"default_s42_cut{CUT_DAYS}", "default_cut", HOSTS, 42, tmp_path / "cut", cut_days=CUT_DAYS)
    prepare(fleet, args)

    manifest = json.loads((fleet.exports / "manifest.json").read_text())
    cut = date.fromisoformat(manifest["history_end"])
    assert cut == date(2025, 12, 31) - timedelta(days=CUT_DAYS)  # the generator's last day, less the days kept
    assert (manifest["horizon_days"], manifest["hosts"], manifest["oracle"]) == (CUT_DAYS, HOSTS, False)
    truth = pl.read_parquet(fleet.exports / "truth.parquet")
    assert truth["ds"].min() == cut + timedelta(days=1) and truth["ds"].max() == cut + timedelta(days=CUT_DAYS)
    assert truth.select("host_id", "resource").n_unique() == 4 * HOSTS
    assert truth["family"].null_count() == 0 and "unknown" not in truth["family"].to_list()  # DNA scenarios

    warehouse = read_warehouse(fleet.warehouse)
    assert warehouse.windows["history_end"] == cut
    assert warehouse.processed["ds"].max() == cut  # no day kept aside reached the build
    assert warehouse.forecasts["ds"].min() == cut + timedelta(days=1)
    result = evaluate_fleet(fleet, warehouse, args)
    assert result.series == 4 * HOSTS and result.stock_series == 2
    assert "refined, non-imputed actuals" in result.note
    methods = set(result.points["method"].to_list()) | set(result.alerts["method"].to_list())
    assert {GOLDEN, STOCK, "seasonal_naive"} <= methods and ORACLE not in methods
    golden = result.points.filter((pl.col("method") == GOLDEN) & (pl.col("family") == ALL))
    assert golden.height and golden["wape"].is_not_null().all() and (golden["coverage"] > 0).all()
