"""`horizonscale load --append` / `--undo` on a tiny own fleet, through the real CLI and a real dbt refinery build.

Load 1 is half a year of daily rows for two hosts (one day missing); load 2 brings three new days, the missing
day late, and one day re-sent with another value. The later load wins the re-sent day and the earlier row is
kept in telemetry_rejects as superseded_by_later_load (raw = used + rejected holds: the singular test runs in
the build). The builds after the append and after the undo are incremental (they reprocess from the earliest
day the change touches: the re-sent day); the append's equals a --full-refresh build, and undoing load 2 gives
back the first build's processed_data exactly.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, date, timedelta
from pathlib import Path

import duckdb
import pytest
from support import INCREMENTAL_REFINERY as REFINERY
from support import run_isolated

REFINED_TABLES = ("processed_data", "telemetry_rejects", "quarantine_summary")
FIRST, LAST = date(2025, 1, 1), date(2025, 6, 30)
MISSING = date(2025, 3, 10)  # h1 cpu: not in load 1, arrives late in load 2
RESENT = date(2025, 2, 1)  # h1 cpu: re-sent by load 2 with another value


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"exit {result.returncode}\n{output[-6000:]}"
    return output


def _query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


def _write_exports(directory: Path) -> tuple[Path, Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    inventory = directory / "inventory.csv"
    inventory.write_text(
        "host_id,hostname,department,app_code,app_manager,region\n"
        "h1,h1.corp,Payments,PAY,Ann Lee,EMEA\n"
        "h2,h2.corp,Trading,TRD,Raj Patel,APAC\n"
    )
    base, more = ["host_id,resource,ts,value"], ["host_id,resource,ts,value"]
    day = FIRST
    while day <= LAST:
        for host, resource, level in (("h1", "cpu", 20), ("h2", "memory", 50)):
            if (host, day) != ("h1", MISSING):
                base.append(f"{host},{resource},{day},{level + day.toordinal() % 7}.0")
        day += timedelta(days=1)
    for offset in range(1, 4):
        new_day = LAST + timedelta(days=offset)
        more += [f"h1,cpu,{new_day},30.0", f"h2,memory,{new_day},55.0"]
    more += [f"h1,cpu,{MISSING},77.0", f"h1,cpu,{RESENT},88.0"]
    (directory / "base.csv").write_text("\n".join(base) + "\n")
    (directory / "more.csv").write_text("\n".join(more) + "\n")
    return inventory, directory / "base.csv", directory / "more.csv"


@pytest.fixture(scope="module")
def loads(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("append")
    data, work = root / "data", root / "work"
    inventory, base, more = _write_exports(root / "exports")
    database = data / "horizonscale.duckdb"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_isolated(["horizonscale", *args], data, work)

    def processed() -> list[tuple]:
        return _query(database, "select host_id, resource, ds, y, is_imputed from processed_data order by all")

    def refined() -> dict[str, list[tuple]]:
        return {table: _query(database, f"select * from {table} order by all") for table in REFINED_TABLES}

    _ok(cli("load", "--inventory", str(inventory), "--telemetry", str(base)))
    _ok(run_isolated(REFINERY, data, work))
    first = processed()
    _ok(cli("load", "--append", "--telemetry", str(more)))
    _ok(run_isolated(REFINERY, data, work))
    appended = processed()
    incremental = refined()
    _ok(run_isolated([*REFINERY, "--full-refresh"], data, work))
    full_refresh = refined()
    rejects = _query(database, "select raw_row_id, ts, value, load_id, reason from telemetry_rejects order by all")
    audit = _query(database, "select load_id, load_mode, telemetry_rows, lake_file from raw.load_audit order by 1")
    refused = {"unknown": cli("load", "--undo", "99")}
    _ok(cli("load", "--undo", "2"))
    _ok(run_isolated(REFINERY, data, work))
    undone = processed()
    # A host joins: the whole new inventory comes with its first days, as one more load; undo puts the old
    # inventory back.
    grown = root / "exports" / "inventory_grown.csv"
    grown.write_text(inventory.read_text() + "h3,h3.corp,Trading,TRD,Raj Patel,APAC\n")
    joined = root / "exports" / "h3.csv"
    joined.write_text(
        "host_id,resource,ts,value\n"
        + "".join(f"h3,disk,{LAST - timedelta(days=back)},{40 + back % 3}.0\n" for back in range(30))
    )
    _ok(cli("load", "--append", "--inventory", str(grown), "--telemetry", str(joined)))
    _ok(run_isolated(REFINERY, data, work))
    with_new_host = processed()
    inventory_audit = _query(database, "select load_id, inventory_rows from raw.load_audit where load_id = 3")
    _ok(cli("load", "--undo", "3"))
    _ok(run_isolated(REFINERY, data, work))
    return {
        "first": first,
        "appended": appended,
        "undone": undone,
        "with_new_host": with_new_host,
        "inventory_audit": inventory_audit,
        "after_inventory_undo": processed(),
        "hosts_after_undo": _query(database, "select host_id from raw.inventory order by 1"),
        "rejects": rejects,
        "audit": audit,
        "refused": refused,
        "undo_again": cli("load", "--undo", "2"),
        "lake": sorted(p.name for p in (data / "lake").iterdir()),
        "incremental": incremental,
        "full_refresh": full_refresh,
    }


def test_each_load_is_audited_with_its_own_lake_file(loads: dict) -> None:
    assert loads["audit"] == [
        (1, "replace", 2 * 181 - 1, "own_telemetry.parquet"),
        (2, "append", 8, "own_telemetry.load_0002.parquet"),
    ]


def test_appended_days_late_rows_and_resent_rows_are_used(loads: dict) -> None:
    appended = {(h, r, ds): (y, imputed) for h, r, ds, y, imputed in loads["appended"]}
    assert max(ds for _, _, ds in appended) == LAST + timedelta(days=3)  # history_end moved with the data
    assert appended[("h1", "cpu", MISSING)] == (77.0, False)  # the late row fills its day
    assert appended[("h1", "cpu", RESENT)] == (88.0, False)  # the later load wins the re-sent day
    assert appended[("h1", "cpu", LAST + timedelta(days=2))] == (30.0, False)
    first = {(h, r, ds): (y, imputed) for h, r, ds, y, imputed in loads["first"]}
    assert first[("h1", "cpu", MISSING)][1] is True  # imputed before the late row arrived


def test_the_superseded_row_stays_in_rejects_with_its_load(loads: dict) -> None:
    superseded = [row for row in loads["rejects"] if row[4] == "superseded_by_later_load"]
    assert len(superseded) == 1
    _, ts, value, load_id, _ = superseded[0]
    assert (ts, load_id) == (str(RESENT), 1)
    assert float(value) == 20 + RESENT.toordinal() % 7


def test_undo_gives_back_the_first_build(loads: dict) -> None:
    assert loads["undone"] == loads["first"]
    assert "own_telemetry.load_0002.parquet" not in loads["lake"]


def test_a_host_joins_with_an_appended_inventory_and_undo_puts_the_old_one_back(loads: dict) -> None:
    """Adding a host once meant a whole new load of every export, which reverted corrections sent as later
    loads and ended the load history. `load --append --inventory` brings the new inventory with the host's days."""
    assert loads["inventory_audit"] == [(3, 3)]
    h3 = [row for row in loads["with_new_host"] if row[0] == "h3"]
    assert len(h3) == 30 and {row[1] for row in h3} == {"disk"}
    assert [row for row in loads["with_new_host"] if row[0] != "h3"] == loads["undone"]
    assert loads["after_inventory_undo"] == loads["undone"]
    assert loads["hosts_after_undo"] == [("h1",), ("h2",)]
    assert not any(name.startswith("inventory_before_load") for name in loads["lake"])


def test_bad_requests_change_nothing_and_say_why(loads: dict) -> None:
    unknown = loads["refused"]["unknown"]
    assert unknown.returncode == 2
    assert "no load 99 in this warehouse (live loads: 1, 2" in unknown.stderr
    assert loads["undo_again"].returncode == 2
    assert "load 2 was already undone" in loads["undo_again"].stderr
    for result in (unknown, loads["undo_again"]):
        assert "Traceback" not in result.stderr


def test_incremental_build_after_the_append_equals_a_full_refresh(loads: dict) -> None:
    for table in REFINED_TABLES:
        assert loads["incremental"][table] == loads["full_refresh"][table], table


def test_undo_sets_aside_the_snapshots_built_on_the_undone_load(tmp_path: Path) -> None:
    """A forecast snapshot built after the undone load landed may hold its data: it leaves the history (kept
    aside, not deleted) so forecast_accuracy and risk_changes never score or compare against it."""
    from datetime import datetime

    from python_engines.loads import UNDONE_HISTORY, set_aside_snapshots
    from python_engines.paths import ProjectPaths

    paths = ProjectPaths.discover(tmp_path / "data")
    landed = datetime(2026, 1, 8, 6, 0, tzinfo=UTC)
    with duckdb.connect() as con:
        for as_of, built_at in (("2025-12-31", "2026-01-01 05:00:00"), ("2026-01-07", "2026-01-08 07:00:00")):
            folder = paths.history_dir / f"as_of={as_of}"
            folder.mkdir(parents=True)
            target = folder / "forecasts0.parquet"
            # As the build writes them (write_partition_columns): as_of is in the file too.
            con.execute(
                f"copy (select date '{as_of}' as as_of, timestamp '{built_at}' as built_at) "
                f"to '{target}' (format parquet)"
            )
        placeholder = paths.history_dir / "as_of=__HIVE_DEFAULT_PARTITION__"
        placeholder.mkdir()
        con.execute(
            f"copy (select null::date as as_of, null::timestamp as built_at) to '{placeholder / 'forecasts0.parquet'}' "
            "(format parquet)"
        )
    assert set_aside_snapshots(paths, 2, landed) == ["2026-01-07"]
    assert sorted(p.name for p in paths.history_dir.iterdir()) == [
        "as_of=2025-12-31",
        "as_of=__HIVE_DEFAULT_PARTITION__",
    ]
    assert (paths.data_dir / UNDONE_HISTORY / "load_2" / "as_of=2026-01-07" / "forecasts0.parquet").is_file()
