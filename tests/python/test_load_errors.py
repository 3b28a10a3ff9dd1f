"""`horizonscale load` on exports that would get every or most telemetry rows rejected, or that are malformed.

Tiny own fleets (three hosts, three weeks of daily rows), the real CLI in a subprocess, no dbt: `load` refuses
in one line (exit 2, nothing written) when no row would be usable or the values look like fractions without
--value-scale, warns in one line per problem (with an example and the fix) when many rows would be rejected,
and names the file and line of a malformed CSV.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from own_fleets import daily_telemetry, inventory_frame, write_csv
from support import horizonscale

from python_engines.ingest import INVENTORY_OPTIONAL, INVENTORY_REQUIRED, TELEMETRY_REQUIRED, describe_last_load
from python_engines.raw_layer import OWN_TELEMETRY_FILE

HOSTS = {"h0": date(2025, 3, 1), "h1": date(2025, 3, 1), "h2": date(2025, 3, 1)}
END = date(2025, 3, 21)
ROWS = 3 * 4 * 21  # hosts x resources x days


def _telemetry() -> pl.DataFrame:
    """Dates as plain ISO dates for every host, values in percent."""
    return daily_telemetry(HOSTS, END).with_columns(pl.col("ts").str.slice(0, 10))


def _fleet(
    tmp_path: Path,
    telemetry: pl.DataFrame | None = None,
    host_ids: list[str] | None = None,
    separator: str = ",",
) -> tuple[Path, Path]:
    inventory = write_csv(inventory_frame(host_ids or list(HOSTS)), tmp_path / "inventory.csv")
    target = tmp_path / "telemetry.csv"
    (telemetry if telemetry is not None else _telemetry()).write_csv(target, separator=separator)
    return inventory, target


def _load(tmp_path: Path, inventory: Path, telemetry: Path | str, *extra: str):
    return horizonscale(
        "load", "--inventory", str(inventory), "--telemetry", str(telemetry), *extra, data_dir=tmp_path / "data"
    )


def _refused(tmp_path: Path, result, *needles: str) -> str:
    """Exit 2, exactly one line on stderr holding every needle, and no data directory left behind."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "nothing was changed" in lines[0] or "directory" in lines[0]
    assert not (tmp_path / "data").exists()
    return lines[0]


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " WARNING " in line]


def _landed(tmp_path: Path) -> tuple[int, str]:
    """(telemetry rows in the lake, value_scale in the load audit)."""
    data = tmp_path / "data"
    with duckdb.connect(str(data / "horizonscale.duckdb"), read_only=True) as con:
        scale = con.execute("select value_scale from raw.load_audit").fetchone()[0]
        rows = con.execute(f"select count(*) from read_parquet('{data / 'lake' / OWN_TELEMETRY_FILE}')").fetchone()[0]
    return rows, scale


# --- nothing usable: refuse ------------------------------------------------------------------------------------


def test_fqdn_inventory_and_short_telemetry_names_both_and_the_fix(tmp_path: Path) -> None:
    inventory, telemetry = _fleet(tmp_path, host_ids=[f"{h}.corp" for h in HOSTS])
    line = _refused(
        tmp_path,
        _load(tmp_path, inventory, telemetry),
        "telemetry.csv: no telemetry row would be usable",
        "no telemetry host_id matches the inventory",
        "telemetry 'h0', inventory 'h0.corp'",
        "short name",
    )
    assert "Traceback" not in line


def _epoch(ts: pl.Expr, scale: int) -> pl.Expr:
    seconds = ts.str.to_date().cast(pl.Datetime("ms", "UTC")).dt.epoch("s")
    return (seconds * scale).cast(pl.String)


@pytest.mark.parametrize(
    ("telemetry", "needles"),
    [
        (
            _telemetry().with_columns(_epoch(pl.col("ts"), 1).alias("ts")),
            ["have ts as epoch seconds", "(e.g. '1740787200' = 2025-03-01T00:00:00Z)", "ISO 8601"],
        ),
        (
            _telemetry().with_columns(_epoch(pl.col("ts"), 1000).alias("ts")),
            ["have ts as epoch milliseconds", "'1740787200000' = 2025-03-01T00:00:00Z", "ISO 8601"],
        ),
        (
            _telemetry().with_columns(pl.col("ts").str.to_date().dt.strftime("%d/%m/%Y").alias("ts")),
            ["no ts is parseable as ISO 8601 (e.g. '01/03/2025')", "2024-06-01T13:05:00Z"],
        ),
        (
            _telemetry().with_columns(pl.col("value").str.replace(".", ",", literal=True)),
            ["have a value with a decimal comma (e.g. '", "export values with a decimal point"],
        ),
    ],
    ids=["epoch-seconds", "epoch-milliseconds", "day-first", "decimal-comma"],
)
def test_every_row_unusable_is_refused_with_the_cause(
    tmp_path: Path, telemetry: pl.DataFrame, needles: list[str]
) -> None:
    inventory, target = _fleet(tmp_path, telemetry, separator=";")  # decimal commas come in semicolon files
    line = _refused(tmp_path, _load(tmp_path, inventory, target), "no telemetry row would be usable", *needles)
    assert f"{ROWS} of {ROWS} rows (100.0%)" in line or "no ts is parseable" in line


# --- most rows unusable: warn, one line each, and load -------------------------------------------------------


def test_some_unknown_hosts_and_epoch_rows_warn_and_load_every_row(tmp_path: Path) -> None:
    """h2 is an FQDN in the inventory and half of h0's rows have epoch timestamps: a warning each, one line each,
    each with an example, and a third naming h2.corp as an inventory host without telemetry; every row is landed
    (raw = the rows used + the rows the build will reject)."""
    telemetry = _telemetry()
    epoch_rows = (pl.col("host_id") == "h0") & (pl.col("resource") == "CPU")
    telemetry = telemetry.with_columns(
        pl.when(epoch_rows).then(_epoch(pl.col("ts"), 1)).otherwise(pl.col("ts")).alias("ts")
    )
    inventory, target = _fleet(tmp_path, telemetry, host_ids=["h0", "h1", "h2.corp"])
    result = _load(tmp_path, inventory, target)
    assert result.returncode == 0, result.stderr
    warnings = _warnings(result.stderr)
    assert len(warnings) == 3, result.stderr
    (silent,) = [w for w in warnings if "no telemetry row" in w]
    assert "1 of 3 inventory hosts have no telemetry row (h2.corp)" in silent
    unknown, epoch = sorted((w for w in warnings if w != silent), key=lambda w: "epoch" in w)
    host_rows, epoch_count = 4 * 21, 21
    assert f"{host_rows} of {ROWS} rows" in unknown and "telemetry 'h2', inventory 'h2.corp'" in unknown
    assert "short name" in unknown
    assert f"{epoch_count} of {ROWS} rows" in epoch and "epoch seconds" in epoch
    assert _landed(tmp_path) == (ROWS, "percent")  # every row landed: the build keeps the bad ones as rejects


def test_unknown_resources_and_values_out_of_range_warn_at_load(tmp_path: Path) -> None:
    """Problems the build's reject gate would stop on a build later: said by `load`, one line each."""
    telemetry = _telemetry().with_columns(
        pl.when(pl.col("resource") == "CPU").then(pl.lit("cpu_pct")).otherwise(pl.col("resource")).alias("resource"),
        pl.when((pl.col("resource") == "mem") & (pl.col("host_id") == "h1"))
        .then(pl.lit("140.5"))
        .otherwise(pl.col("value"))
        .alias("value"),
    )
    inventory, target = _fleet(tmp_path, telemetry)
    result = _load(tmp_path, inventory, target)
    assert result.returncode == 0, result.stderr
    resource, value = sorted(_warnings(result.stderr), key=lambda w: "outside 0-100" in w)
    assert (
        f"{3 * 21} of {ROWS} rows" in resource
        and "resource this project does not forecast (e.g. 'cpu_pct')" in resource
    )
    assert "seeds/resource_aliases.csv" in resource
    assert f"{21} of {ROWS} rows" in value and "value outside 0-100 (e.g. '140.5')" in value


def test_a_clean_fleet_loads_without_warnings(tmp_path: Path) -> None:
    inventory, target = _fleet(tmp_path)
    result = _load(tmp_path, inventory, target)
    assert result.returncode == 0, result.stderr
    assert _warnings(result.stderr) == []
    assert "values loaded as percent (the default" in result.stderr
    assert _landed(tmp_path) == (ROWS, "percent")


def test_telemetry_keyed_by_the_inventory_hostname_says_so(tmp_path: Path) -> None:
    telemetry = _telemetry().with_columns((pl.col("host_id") + ".corp.example").alias("host_id"))
    inventory, target = _fleet(tmp_path, telemetry)
    _refused(tmp_path, _load(tmp_path, inventory, target), "match the inventory's hostname column")


def test_inventory_hosts_without_telemetry_are_named_at_load(tmp_path: Path) -> None:
    """They load (an inventory may list hosts before their collector runs), but nothing goes unsaid."""
    inventory, target = _fleet(tmp_path, host_ids=[*HOSTS, "spare-01"])
    result = _load(tmp_path, inventory, target)
    assert result.returncode == 0, result.stderr
    (warning,) = _warnings(result.stderr)
    assert "1 of 4 inventory hosts have no telemetry row (spare-01)" in warning
    assert "AMBER 'no telemetry'" in warning


def test_a_region_or_app_code_named_like_a_roll_up_is_refused_with_the_hosts_and_the_fix(tmp_path: Path) -> None:
    """department_risk_summary labels its roll-up over regions 'ALL', rightsizing_summary its roll-up over
    app_codes: a real region 'all' (upper-cased by the refinery) shared the roll-up's key and the whole build
    failed on a unique test. The load now refuses it, names the hosts and the fix, and changes nothing."""
    # A row without a host_id (the refinery rejects it as missing_host_id) is no host to name.
    inventory = inventory_frame([*HOSTS, ""]).with_columns(
        pl.Series("region", ["all", "emea", " All ", "all"]), pl.Series("app_code", ["app-0", "ALL", "app-1", "x"])
    )
    target = tmp_path / "telemetry.csv"
    _telemetry().write_csv(target)
    line = _refused(
        tmp_path,
        _load(tmp_path, write_csv(inventory, tmp_path / "inventory.csv"), target),
        "region 'ALL' (2 hosts: h0, h2)",
        "app_code 'ALL' (1 host: h1)",
        "rename it in the inventory",
    )
    assert "department_risk_summary" in line and "rightsizing_summary" in line
    # Renamed, the same fleet loads.
    renamed = inventory.head(3).with_columns(
        pl.Series("region", ["global", "emea", "global"]), pl.col("app_code").str.replace("ALL", "app-2")
    )
    result = _load(tmp_path, write_csv(renamed, tmp_path / "inventory.csv"), target)
    assert result.returncode == 0, result.stderr
    # An append that brings the old inventory back is refused as well, and the loaded fleet stays as it was.
    again = write_csv(inventory, tmp_path / "inventory_again.csv")
    result = _load(tmp_path, again, target, "--append")
    assert result.returncode == 2 and "region 'ALL' (2 hosts: h0, h2)" in result.stderr, result.stderr
    with duckdb.connect(str(tmp_path / "data" / "horizonscale.duckdb"), read_only=True) as con:
        regions = con.execute("select list(distinct region order by region) from raw.inventory").fetchone()[0]
    assert regions == ["emea", "global"]


# --- value scale ----------------------------------------------------------------------------------------------


def _fractions() -> pl.DataFrame:
    return _telemetry().with_columns((pl.col("value").cast(pl.Float64) / 100).cast(pl.String))


def test_fractions_without_value_scale_are_refused(tmp_path: Path) -> None:
    inventory, target = _fleet(tmp_path, _fractions())
    _refused(
        tmp_path,
        _load(tmp_path, inventory, target),
        f"{ROWS} of {ROWS} numeric values are within 0-1",
        "look like fractions",
        "pass --value-scale fraction",
        "--value-scale percent if they really are percent",
    )


@pytest.mark.parametrize("scale", ["fraction", "percent"])
def test_an_explicit_value_scale_is_obeyed_and_recorded(tmp_path: Path, scale: str) -> None:
    inventory, target = _fleet(tmp_path, _fractions())
    result = _load(tmp_path, inventory, target, "--value-scale", scale)
    assert result.returncode == 0, result.stderr
    assert f"values loaded as {scale} (as given by --value-scale" in result.stderr
    assert _landed(tmp_path) == (ROWS, scale)


def _mixed_exports(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Inventory, a percent export of cpu, disk and network, and a 0-1 export of memory ('mem')."""
    telemetry = _telemetry()
    memory = pl.col("resource") == "mem"
    inventory, percent = _fleet(tmp_path, telemetry.filter(~memory))
    fractions = tmp_path / "memory_ratio.csv"
    telemetry.filter(memory).with_columns((pl.col("value").cast(pl.Float64) / 100).cast(pl.String)).write_csv(fractions)
    return inventory, percent, fractions


def test_a_fraction_export_mixed_into_a_percent_load_is_refused_and_can_be_appended(tmp_path: Path) -> None:
    """Most values are percent, so the whole load is: the 0-1 memory export would read as under 1% busy."""
    inventory, percent, fractions = _mixed_exports(tmp_path)
    both = str(tmp_path / "[mt]e*.csv")  # telemetry.csv and memory_ratio.csv, not inventory.csv
    _refused(
        tmp_path,
        _load(tmp_path, inventory, both),
        f"values all within 0-1 for mem in {fractions}",
        "the rest of the load is percent",
        "look like fractions",
        "--append --telemetry <file> --value-scale fraction",
    )
    # The fix it names: the percent export first, then the fractions appended with their own scale.
    assert _load(tmp_path, inventory, percent).returncode == 0
    appended = horizonscale(
        "load", "--append", "--telemetry", str(fractions), "--value-scale", "fraction", data_dir=tmp_path / "data"
    )
    assert appended.returncode == 0, appended.stderr
    with duckdb.connect(str(tmp_path / "data" / "horizonscale.duckdb"), read_only=True) as con:
        scales = con.execute("select load_mode, value_scale from raw.load_audit order by load_id").fetchall()
    assert scales == [("replace", "percent"), ("append", "fraction")]


def test_a_mixed_load_said_to_be_percent_loads_with_a_warning(tmp_path: Path) -> None:
    inventory, _, fractions = _mixed_exports(tmp_path)
    result = _load(tmp_path, inventory, str(tmp_path / "[mt]e*.csv"), "--value-scale", "percent")
    assert result.returncode == 0, result.stderr
    (warning,) = _warnings(result.stderr)
    assert f"mem in {fractions}" in warning and "kept as percent, as --value-scale percent says" in warning


def test_fractions_with_a_few_values_over_one_are_still_fractions(tmp_path: Path) -> None:
    """CPU over its limit: 1.0-1.3 on a few days; without the loose rule the fleet loaded as under 1.3% busy."""
    over = pl.int_range(pl.len()) % 25 == 0  # 4% of the rows
    telemetry = _fractions().with_columns(pl.when(over).then(pl.lit("1.25")).otherwise(pl.col("value")).alias("value"))
    inventory, target = _fleet(tmp_path, telemetry)
    _refused(tmp_path, _load(tmp_path, inventory, target), "look like fractions", "largest 1.25")


def test_fraction_scale_on_percent_values_is_refused(tmp_path: Path) -> None:
    inventory, target = _fleet(tmp_path)
    _refused(
        tmp_path,
        _load(tmp_path, inventory, target, "--value-scale", "fraction"),
        "have a value above 1",
        "drop --value-scale fraction",
    )


# --- malformed files ------------------------------------------------------------------------------------------


def test_one_row_with_an_extra_field_names_file_and_line(tmp_path: Path) -> None:
    inventory, target = _fleet(tmp_path)
    lines = target.read_text().splitlines()
    lines[5] += ",7"  # line 6 of the file
    target.write_text("\n".join(lines) + "\n")
    _refused(tmp_path, _load(tmp_path, inventory, target), "telemetry.csv: line 6 has 5 fields where the header has 4")


def test_a_short_row_deep_in_the_inventory_names_the_line(tmp_path: Path) -> None:
    inventory, target = _fleet(tmp_path)
    frame = inventory_frame([f"h{i}" for i in range(3000)])
    write_csv(frame, inventory)
    lines = inventory.read_text().splitlines()
    lines[2500] = "h2499,h2499.corp.example,Retail"
    inventory.write_text("\n".join(lines) + "\n")
    _refused(tmp_path, _load(tmp_path, inventory, target), "inventory.csv: line 2,501 has 3 fields where the header")


@pytest.mark.parametrize(
    ("which", "encoding", "needle"),
    [
        ("inventory", "cp1252", "is not UTF-8: line 4 has the byte 0xE9 ('é' in Windows-1252"),
        ("inventory", "utf-16", "is UTF-16"),
        ("telemetry", "utf-16", "is UTF-16"),
    ],
)
def test_a_file_not_in_utf8_says_so_and_where(tmp_path: Path, which: str, encoding: str, needle: str) -> None:
    """Excel's 'CSV (Comma delimited)' (Windows-1252) and 'Unicode text' (UTF-16) exports: DuckDB's own error
    named a line without the cause, or a bogus one (UTF-16 reads as a one-column header)."""
    inventory, target = _fleet(tmp_path)
    frame = inventory_frame(list(HOSTS)).with_columns(
        pl.when(pl.col("host_id") == "h2")
        .then(pl.lit("José Núñez"))
        .otherwise(pl.col("app_manager"))
        .alias("app_manager")
    )
    if which == "inventory":
        inventory.write_bytes(frame.write_csv().encode(encoding))
    else:
        target.write_bytes(target.read_text().encode(encoding))
    bad = inventory if which == "inventory" else target
    _refused(tmp_path, _load(tmp_path, inventory, target), f"{bad}: {needle}", "save it as UTF-8")


@pytest.mark.parametrize("which", ["inventory", "telemetry"])
def test_an_empty_file_is_called_empty(tmp_path: Path, which: str) -> None:
    inventory, target = _fleet(tmp_path)
    empty = inventory if which == "inventory" else target
    empty.write_bytes(b"")
    _refused(tmp_path, _load(tmp_path, inventory, target), f"{empty}: is empty (0 bytes)")


def test_a_data_directory_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    inventory, target = _fleet(tmp_path)
    afile = tmp_path / "afile"
    afile.write_text("not a directory")
    result = horizonscale("load", "--inventory", str(inventory), "--telemetry", str(target), data_dir=afile)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"the data directory {afile} (--data-dir or HORIZONSCALE_DATA_DIR) is a file" in result.stderr


def test_headers_with_spaces_or_hyphens_as_a_cmdb_writes_them_load(tmp_path: Path) -> None:
    frame = inventory_frame(list(HOSTS)).rename({"host_id": "Host ID", "app_manager": "App-Manager"})
    inventory, target = _fleet(tmp_path)
    write_csv(frame, inventory)
    result = _load(tmp_path, inventory, target)
    assert result.returncode == 0, result.stderr
    assert _landed(tmp_path) == (ROWS, "percent")


def test_a_directory_is_called_a_directory(tmp_path: Path) -> None:
    inventory, _ = _fleet(tmp_path)
    (tmp_path / "exports").mkdir()
    line = _refused(tmp_path, _load(tmp_path, inventory, tmp_path / "exports"), "exports: is a directory")
    assert "exports/*.csv" in line


def test_load_help_lists_the_columns_and_the_timestamp_rule(tmp_path: Path) -> None:
    result = horizonscale("load", "-h", data_dir=tmp_path)
    assert result.returncode == 0
    text = re.sub(r"\s+", " ", result.stdout)
    assert "required: " + ", ".join(INVENTORY_REQUIRED) in text
    assert "optional: " + ", ".join(INVENTORY_OPTIONAL) in text
    assert all(column in text for column in TELEMETRY_REQUIRED)
    assert "ISO 8601" in text and "taken as UTC" in text and "--value-scale fraction" in text


def test_the_build_can_say_which_value_scale_the_load_decided(tmp_path: Path) -> None:
    inventory, target = _fleet(tmp_path, _fractions())
    assert _load(tmp_path, inventory, target, "--value-scale", "fraction").returncode == 0
    line = describe_last_load(tmp_path / "data" / "horizonscale.duckdb")
    assert line is not None and line.endswith("values as fraction (0-1 fractions, multiplied by 100)")
    assert f"{ROWS:,} telemetry rows" in line and "telemetry.csv" in line
    assert describe_last_load(tmp_path / "nothing.duckdb") is None
