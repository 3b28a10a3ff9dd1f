"""bench.trust's default fleet on the days it goes on to have, for real: a 10-host default fleet is generated,
continued by 90 days (``horizonscale generate --extend-days``) and refined with history_end 90 days later (a real
dbt build of the refinery); the refined days after the default fleet's history_end are its truth. The scoring
itself is the cut fleet's and the stress fleets' (tests/python/test_trust_default_cut.py, test_trust.py)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from support import PROJECT_ROOT

from bench.trust import Fleet, StageError, check_stored_future, parse_args, prepare
from python_engines.synthetic.catalog import load_reference_data
from python_engines.synthetic.fleet import build_fleet

HOSTS, DAYS = 10, 90  # the DNA catalog needs 10 hosts; the days cover the alert's 90
HISTORY_END = date(2025, 12, 31)  # the generator's last day: the default fleet's history_end


def _default_warehouse(path: Path, history_end: date, hosts: list[str]) -> Path:
    """What the continued fleet reads of the default fleet's warehouse: its history_end and its host ids."""
    path.parent.mkdir(parents=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create table int_history_window as select ?::date as history_end", [history_end])
        con.execute("create table processed_data as select unnest(?::varchar[]) as host_id", [hosts])
    return path


def _generated_hosts(hosts: int) -> list[str]:
    """The host ids the generator gives a default fleet of seed 42 with ``hosts`` hosts (the continued fleet is
    generated again with the same seed, so it has the same ones)."""
    fleet = build_fleet(load_reference_data(PROJECT_ROOT / "seeds"), hosts, 42, datetime(2026, 1, 1))
    return fleet["host_id"].to_list()


def test_the_default_fleet_goes_on_and_its_refined_days_are_the_truth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))  # every stage's dbt run, apart from the repo's
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    args = parse_args(["--seeds", "", "--default-hosts", str(HOSTS), "--default-future-days", str(DAYS)])
    default = Fleet("default_s42", "default", HOSTS, 42, tmp_path / "default")
    _default_warehouse(default.warehouse, HISTORY_END, _generated_hosts(HOSTS))
    fleet = Fleet(f"default_s42_future{DAYS}", "default_future", HOSTS, 42, tmp_path / "future", cut_days=DAYS)
    fleet.source = default
    prepare(fleet, args)

    manifest = json.loads((fleet.exports / "manifest.json").read_text())
    assert manifest["history_end"] == HISTORY_END.isoformat()
    assert (manifest["horizon_days"], manifest["oracle"], manifest["truth"]) == (DAYS, False, "continued")
    truth = pl.read_parquet(fleet.exports / "truth.parquet")
    assert truth["ds"].min() == HISTORY_END + timedelta(days=1)
    assert truth["ds"].max() == HISTORY_END + timedelta(days=DAYS)  # the generated days, refined, not rejected
    assert truth.select("host_id", "resource").n_unique() == 4 * HOSTS
    assert truth["family"].null_count() == 0 and "unknown" not in truth["family"].to_list()  # DNA scenarios
    assert truth.height > 0.9 * 4 * HOSTS * DAYS  # the refinery keeps nearly every day (dirt loses a few)
    with duckdb.connect(str(fleet.warehouse), read_only=True) as con:  # its own warehouse: the refinery only
        ((days_before,),) = con.sql(f"select count(*) from processed_data where ds <= '{HISTORY_END}'").fetchall()
        ((forecast_tables,),) = con.sql(
            "select count(*) from information_schema.tables where table_name = 'forecasts'"
        ).fetchall()
    assert days_before > 0 and forecast_tables == 0

    # --skip-build re-scores the stored truth only while it still belongs to the default fleet as built now: not
    # once it is rebuilt at another size, nor at the same size with other hosts (another fleet's series).
    check_stored_future(fleet)
    for number, rebuilt in enumerate((_generated_hosts(HOSTS + 2), [f"other-{i}" for i in range(HOSTS)])):
        default.warehouse.unlink()
        _default_warehouse(tmp_path / f"rebuilt{number}" / "horizonscale.duckdb", HISTORY_END, rebuilt).rename(
            default.warehouse
        )
        with pytest.raises(StageError, match=f"holds {HOSTS} hosts, the default fleet {len(rebuilt)}"):
            check_stored_future(fleet)

    # Without the default fleet built there is nothing to score: said before anything is generated.
    other = Fleet("default_s42_future90", "default_future", HOSTS, 42, tmp_path / "other", cut_days=DAYS)
    other.source = Fleet("default_s42", "default", HOSTS, 42, tmp_path / "never_built")
    with pytest.raises(StageError, match="is not built"):
        prepare(other, args)
    assert not (other.work / "generate.log").exists()
