"""Bring your own fleet, landing step: unreadable files and missing columns stop with one clear line."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from support import horizonscale

from python_engines.ingest import OWN_TELEMETRY_FILE
from python_engines.load_checks import TS_UTC
from python_engines.raw_layer import SYNTHETIC_TELEMETRY_FILE

INVENTORY = "host_id,hostname,department,app_code,app_manager,region,owner_note\nH1,web-1,Retail,RB,Ann,EMEA,x\n"
TELEMETRY = "host_id,resource,ts,value\nH1,cpu,2025-01-01T00:05:00Z,12.5\nH1,mem,not a date,abc\n"


def _write(tmp_path: Path, inventory: str = INVENTORY, telemetry: str = TELEMETRY) -> tuple[Path, Path]:
    inv, tel = tmp_path / "inventory.csv", tmp_path / "telemetry.csv"
    inv.write_text(inventory)
    tel.write_text(telemetry)
    return inv, tel


def test_lands_every_row_as_text(tmp_path: Path) -> None:
    inv, tel = _write(tmp_path)
    data = tmp_path / "data"
    result = horizonscale("load", "--inventory", str(inv), "--telemetry", str(tel), data_dir=data)
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(data / "horizonscale.duckdb"), read_only=True) as con:
        assert con.execute("select host_id, app_manager, environment from raw.inventory").fetchall() == [
            ("H1", "Ann", None)
        ]
        rows = con.execute(
            f"select raw_row_id, value from read_parquet('{data / 'lake' / OWN_TELEMETRY_FILE}') order by 1"
        ).fetchall()
    assert rows == [(1, "12.5"), (2, "abc")]  # bad rows are landed too: the refinery rejects them with a reason


def test_a_hash_is_text_not_a_comment(tmp_path: Path) -> None:
    """Excel writes '#N/A' for a failed lookup: DuckDB's sniffer took '#' for a comment marker, so such a row
    vanished before it had a row id (and a '#N/A' cell came out empty) with nothing in the rejects."""
    inv, tel = _write(
        tmp_path,
        INVENTORY + "#N/A,web-2,Retail,RB,Ann,EMEA,x\n",
        "host_id,resource,ts,value\nH1,cpu,2025-01-01,12.5\n#N/A,cpu,2025-01-01,60\nH1,cpu,2025-01-02,#N/A\n",
    )
    data = tmp_path / "data"
    result = horizonscale("load", "--inventory", str(inv), "--telemetry", str(tel), data_dir=data)
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(data / "horizonscale.duckdb"), read_only=True) as con:
        assert con.execute("select host_id from raw.inventory order by all").fetchall() == [("#N/A",), ("H1",)]
        rows = con.execute(
            f"select host_id, value from read_parquet('{data / 'lake' / OWN_TELEMETRY_FILE}') order by raw_row_id"
        ).fetchall()
    assert rows == [("H1", "12.5"), ("#N/A", "60"), ("H1", "#N/A")]


def test_load_replaces_the_synthetic_raw_layer_with_an_empty_one(tmp_path: Path) -> None:
    """Both fleets' raw tables and lake files always exist, the fleet not loaded empty: dbt reads both."""
    inv, tel = _write(tmp_path)
    data = tmp_path / "data"
    assert horizonscale("generate", "--hosts", "10", "--seed", "1", data_dir=data).returncode == 0
    result = horizonscale("load", "--inventory", str(inv), "--telemetry", str(tel), data_dir=data)
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(data / "horizonscale.duckdb"), read_only=True) as con:
        counts = con.execute(
            "select (select count(*) from raw.hosts), (select count(*) from raw.generation_audit), "
            f"(select count(*) from read_parquet('{data / 'lake' / SYNTHETIC_TELEMETRY_FILE}')), "
            "(select count(*) from raw.inventory), (select value_scale from raw.load_audit)"
        ).fetchone()
    assert counts == (0, 0, 0, 1, "percent")


@pytest.mark.parametrize(
    ("inventory", "telemetry", "needle"),
    [
        ("host_id,hostname,department,app_code,region\nH1,a,b,c,d\n", TELEMETRY, "required column 'app_manager'"),
        (INVENTORY, "host_id,resource,value\nH1,cpu,3\n", "required column 'ts' is missing"),
        ("host_id,hostname,department,app_code,app_manager,region\n", TELEMETRY, "inventory.csv: has no rows"),
        (INVENTORY, "host_id,resource,ts,value\n", "no telemetry rows"),
    ],
)
def test_missing_required_column_names_file_and_column(
    tmp_path: Path, inventory: str, telemetry: str, needle: str
) -> None:
    inv, tel = _write(tmp_path, inventory, telemetry)
    result = horizonscale("load", "--inventory", str(inv), "--telemetry", str(tel), data_dir=tmp_path / "data")
    assert result.returncode == 2
    assert needle in result.stderr and ".csv" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "data").exists()


def test_unreadable_and_missing_files_are_named(tmp_path: Path) -> None:
    inv, _ = _write(tmp_path)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    result = horizonscale("load", "--inventory", str(inv), "--telemetry", str(broken), data_dir=tmp_path / "d")
    assert result.returncode == 2 and "broken.parquet: cannot be read" in result.stderr
    result = horizonscale(
        "load", "--inventory", str(inv), "--telemetry", str(tmp_path / "none*.csv"), data_dir=tmp_path
    )
    assert result.returncode == 2 and "no such file" in result.stderr


def test_a_broken_line_deep_in_a_file_changes_nothing(tmp_path: Path) -> None:
    """The whole file is read before the warehouse is touched: a malformed row at line 40,001 stops the load
    with one line naming the file, and the fleet loaded before stays as it was."""
    data = tmp_path / "data"
    assert horizonscale("generate", "--hosts", "10", "--seed", "1", data_dir=data).returncode == 0
    lines = ["host_id,resource,ts,value"] + [f"H1,cpu,2025-01-01T00:{i % 60:02d}:00Z,{i % 90}" for i in range(40_000)]
    lines.append("H1,cpu,2025-01-02,1,2,3")  # six fields where four belong
    inv, tel = _write(tmp_path, telemetry="\n".join(lines) + "\n")
    result = horizonscale("load", "--inventory", str(inv), "--telemetry", str(tel), data_dir=data)
    assert result.returncode == 2, result.stderr
    assert "telemetry.csv: line 40,002 has 6 fields where the header has 4" in result.stderr
    assert "nothing was changed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    with duckdb.connect(str(data / "horizonscale.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw.hosts").fetchone()[0] == 10
    assert not (data / ".load_staging").exists()


def test_one_inventory_file_only(tmp_path: Path) -> None:
    _, tel = _write(tmp_path)
    (tmp_path / "inventory2.csv").write_text(INVENTORY)
    pattern = str(tmp_path / "inventory*.csv")
    result = horizonscale("load", "--inventory", pattern, "--telemetry", str(tel), data_dir=tmp_path / "data")
    assert result.returncode == 2 and "matches 2 files; give one inventory file" in result.stderr


@pytest.mark.parametrize(
    ("ts", "utc"),
    [
        ("2024-07-01 00:00:00 BST", None),  # DuckDB alone reads BST as Asia/Dhaka (+06)
        ("2024-07-01 00:00:00 IST", None),
        ("2024-07-01T00:00:00 cst", None),
        ("2024-07-01 00:00:00 UTC", "2024-07-01 00:00:00"),
        ("2024-07-01 00:00:00 Europe/London", "2024-06-30 23:00:00"),
        ("2024-07-01T00:00:00+01:00", "2024-06-30 23:00:00"),
        ("2024-07-01", "2024-07-01 00:00:00"),
    ],
)
def test_load_checks_read_timestamps_as_the_refinery_does(ts: str, utc: str | None) -> None:
    """The load's usability check parses timestamps like stg_own_telemetry (whose dbt unit test has the same
    rows): a zone abbreviation other than UTC or GMT is ambiguous and unparsed."""
    with duckdb.connect() as con:
        con.execute("set timezone = 'Pacific/Auckland'")
        (value,) = con.execute(f"select cast(({TS_UTC}) as varchar) from (select ? as ts)", [ts]).fetchone()
    assert value == utc


def test_a_load_sets_aside_another_fleets_forecast_history(tmp_path: Path) -> None:
    """`make run` then `load` into the same data directory: the synthetic fleet's snapshots once made
    NO_FORECAST change alerts for hosts the new fleet never had. History of the same fleet (a host in common) is
    kept: it is the track record of a fleet exported again whole."""
    inv, tel = _write(tmp_path)
    data = tmp_path / "data"
    history = data / "forecast_history"
    for as_of, host in (("2025-12-31", "0b9c-synthetic-uuid"), ("2026-01-07", "0b9c-synthetic-uuid")):
        (history / f"as_of={as_of}").mkdir(parents=True)
        with duckdb.connect() as con:
            con.execute(
                f"copy (select '{host}' as host_id, date '{as_of}' as as_of) "
                f"to '{history / f'as_of={as_of}' / 'forecasts0.parquet'}' (format parquet)"
            )
    result = horizonscale("load", "--inventory", str(inv), "--telemetry", str(tel), data_dir=data)
    assert result.returncode == 0, result.stderr
    assert "another fleet's track record" in result.stderr
    assert not history.exists()
    (moved,) = (data / "forecast_history_replaced").iterdir()
    assert sorted(p.name for p in moved.iterdir()) == ["as_of=2025-12-31", "as_of=2026-01-07"]

    (history / "as_of=2026-02-01").mkdir(parents=True)
    with duckdb.connect() as con:  # the same fleet's history (host H1 is h1 once refined): kept
        con.execute(
            f"copy (select 'h1' as host_id, date '2026-02-01' as as_of) "
            f"to '{history / 'as_of=2026-02-01' / 'forecasts0.parquet'}' (format parquet)"
        )
    again = horizonscale("load", "--inventory", str(inv), "--telemetry", str(tel), data_dir=data)
    assert again.returncode == 0, again.stderr
    assert (history / "as_of=2026-02-01" / "forecasts0.parquet").is_file()


def test_an_append_whose_host_switched_to_fractions_is_refused(tmp_path: Path) -> None:
    """One day's file, mostly percent, with one host's memory as 0-1 fractions: the per-file check cannot see it,
    and the host loaded as idle (its forecast fell from 87% to 7.6%). Its own history says otherwise. An idle
    series (history under 1) appending values under 1 is no problem."""
    inventory = "host_id,hostname,department,app_code,app_manager,region\n" + "".join(
        f"{h},{h}.corp,Retail,RB,Ann,EMEA\n" for h in ("h1", "h2", "h3")
    )
    history = "host_id,resource,ts,value\n" + "".join(
        f"h1,memory,2025-01-{d:02d},{85 + d % 3}\nh2,memory,2025-01-{d:02d},{50 + d % 2}\n"
        f"h3,cpu,2025-01-{d:02d},0.{d % 5 + 1}\n"
        for d in range(1, 21)
    )
    inv, tel = _write(tmp_path, inventory, history)
    data = tmp_path / "data"
    first = horizonscale("load", "--inventory", str(inv), "--telemetry", str(tel), data_dir=data)
    assert first.returncode == 0, first.stderr
    day = tmp_path / "day21.csv"
    day.write_text(
        "host_id,resource,ts,value\nh1,memory,2025-01-21,0.87\nh2,memory,2025-01-21,51\nh3,cpu,2025-01-21,0.4\n"
    )
    refused = horizonscale("load", "--append", "--telemetry", str(day), data_dir=data)
    assert refused.returncode == 2, refused.stderr
    assert "values all within 0-1 for h1 memory (1 values, largest 0.87, its history's median 86.0)" in refused.stderr
    assert "h3" not in refused.stderr.strip().splitlines()[-1]
    kept = horizonscale("load", "--append", "--telemetry", str(day), "--value-scale", "percent", data_dir=data)
    assert kept.returncode == 0, kept.stderr
    assert "(kept as percent, as --value-scale percent says)" in kept.stderr
