"""CSV exception lists: spreadsheet formula injection is neutralised, numbers are left alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
from support import PROJECT_ROOT

from python_engines.paths import ProjectPaths
from python_engines.report import REPORTS, neutralize_formulas, write_reports
from python_engines.serving import serving_file


def test_text_cells_that_start_a_formula_are_quoted_numbers_untouched() -> None:
    frame = pl.DataFrame(
        {
            "department": ['=HYPERLINK("http://x")', "+cmd", "-2+3", "@SUM(A1)", "\tTab", "Retail Banking", None],
            "headroom": [-3.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    safe = neutralize_formulas(frame)
    assert safe["department"].to_list() == [
        '\'=HYPERLINK("http://x")',
        "'+cmd",
        "'-2+3",
        "'@SUM(A1)",
        "'\tTab",
        "Retail Banking",
        None,
    ]
    assert safe["headroom"].to_list() == frame["headroom"].to_list()


def _serving_with_evil_names(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(
            """
            create table department_risk_summary as
            select '=cmd|'' /C calc''!A0' as department, 'ALL' as region, 3 as hosts, 1 as risk_rank
            """
        )
        con.execute(
            """
            create table app_exception_list as
            select '@evil' as app_code, '-1+1' as app_manager, 1 as priority, -4.2 as headroom_90d
            """
        )
        con.execute(
            "create table capacity_risks as select 1 as days_to_breach, 0.4 as breach_probability, 'd' as department, "
            "'h' as hostname, 'cpu' as resource, 'h1' as host_id"
        )
        con.execute(
            "create table fleet_health as select 'RED' as status, 1 as days_to_upper_breach, 'h' as hostname, "
            "'h1' as host_id"
        )
        con.execute(
            "create table rightsizing as select 'downsize' as action, null::date as needed_by_date, "
            "14.0 as reclaimable_capacity, '=2+2' as department, 'h' as hostname, 'cpu' as resource, 'h1' as host_id"
        )
        con.execute("create table rightsizing_summary as select 'ALL' as app_code, '+Ops' as department")


def test_reports_written_from_serving_copy_are_safe(tmp_path: Path) -> None:
    serving = tmp_path / "serving.duckdb"
    _serving_with_evil_names(serving)
    written = write_reports(serving, tmp_path / "reports")
    assert set(written) == set(REPORTS)
    departments = (tmp_path / "reports" / "department_risk_summary.csv").read_text()
    assert "'=cmd|" in departments and "\n=cmd" not in departments
    apps = pl.read_csv(tmp_path / "reports" / "app_exception_list.csv")
    assert apps["app_code"].to_list() == ["'@evil"]
    assert apps["app_manager"].to_list() == ["'-1+1"]
    assert apps["headroom_90d"].to_list() == [-4.2]
    sizing = pl.read_csv(tmp_path / "reports" / "rightsizing.csv")
    assert sizing["department"].to_list() == ["'=2+2"] and sizing["reclaimable_capacity"].to_list() == [14.0]
    assert pl.read_csv(tmp_path / "reports" / "rightsizing_summary.csv")["department"].to_list() == ["'+Ops"]


def test_report_numbers_are_rounded_text_and_integers_untouched() -> None:
    """A backtest MAPE summed in another order differed in its 15th digit between two builds of one seed."""
    from python_engines.report import rounded

    frame = pl.DataFrame({"mape": [10.3460952434212, 10.346095243421201], "days": [3, 4], "host": ["a", "b"]})
    out = rounded(frame)
    assert out["mape"].to_list() == [10.3461, 10.3461]
    assert out.select("days", "host").equals(frame.select("days", "host"))


def test_reports_have_a_utf8_bom_unless_asked_not_to(tmp_path: Path) -> None:
    """Excel reads a CSV without a byte-order mark in the machine's code page: non-Latin names garble."""
    serving = tmp_path / "serving.duckdb"
    _serving_with_evil_names(serving)
    with duckdb.connect(str(serving)) as con:
        con.execute("update department_risk_summary set department = 'Zürich 東京'")
    write_reports(serving, tmp_path / "bom")
    raw = (tmp_path / "bom" / "department_risk_summary.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "Zürich 東京".encode() in raw
    assert pl.read_csv(tmp_path / "bom" / "department_risk_summary.csv")["department"].to_list() == ["Zürich 東京"]
    write_reports(serving, tmp_path / "plain", bom=False)
    assert (tmp_path / "plain" / "department_risk_summary.csv").read_bytes().startswith(b"department")


def test_report_out_is_relative_to_the_current_directory_default_in_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    paths = ProjectPaths.discover(data)
    serving_file(paths).parent.mkdir(parents=True)
    _serving_with_evil_names(serving_file(paths))
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "HORIZONSCALE_DATA_DIR": str(data), "PYTHONPATH": str(PROJECT_ROOT)}
    command = [sys.executable, "-m", "python_engines.cli", "report"]
    for extra, expected in (([], data / "reports"), (["--out", "mine"], work / "mine")):
        result = subprocess.run([*command, *extra], cwd=work, env=env, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in expected.iterdir()) == sorted(f"{name}.csv" for name in REPORTS)
    assert not (PROJECT_ROOT / "mine").exists()


def test_an_unwritable_report_folder_is_one_line_before_any_work(tmp_path: Path) -> None:
    """--out naming a file (or a folder that cannot be written): one line and exit 2, for report and for a
    build before dbt starts; a traceback after a whole build once lost the day's change alert."""
    data = tmp_path / "data"
    paths = ProjectPaths.discover(data)
    serving_file(paths).parent.mkdir(parents=True)
    _serving_with_evil_names(serving_file(paths))
    duckdb.connect(str(paths.warehouse)).close()  # a warehouse for build to find
    taken = tmp_path / "a_file"
    taken.write_text("not a folder")
    env = {**os.environ, "HORIZONSCALE_DATA_DIR": str(data), "PYTHONPATH": str(PROJECT_ROOT)}
    for command in ("report", "build"):
        result = subprocess.run(
            [sys.executable, "-m", "python_engines.cli", command, "--out", str(taken)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"horizonscale: error: cannot write reports to {taken}"), result.stderr
        assert "pass --out a folder you can write to" in result.stderr and "Traceback" not in result.stderr
    assert taken.read_text() == "not a folder"


def test_a_relative_data_dir_is_read_from_the_current_directory(tmp_path: Path) -> None:
    """--data-dir mydata, typed in another directory, was read from the project root (writing into the checkout)."""
    data = tmp_path / "mydata"
    paths = ProjectPaths.discover(data)
    serving_file(paths).parent.mkdir(parents=True)
    _serving_with_evil_names(serving_file(paths))
    env = {k: v for k, v in os.environ.items() if k != "HORIZONSCALE_DATA_DIR"} | {"PYTHONPATH": str(PROJECT_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "python_engines.cli", "report", "--data-dir", "mydata"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (data / "reports" / "capacity_risks.csv").is_file()
    assert not (PROJECT_ROOT / "mydata").exists()


def test_reports_written_at_once_by_several_processes_are_whole(tmp_path: Path) -> None:
    """A build's reports and a planner's `horizonscale report` (or two what-ifs of one name) at the same time: they
    shared one '<name>.csv.partial', so one renamed the other's half-written file into place and the other died
    with a FileNotFoundError traceback (4 of 6 concurrent runs on a 12-host fleet)."""
    data = tmp_path / "data"
    serving = serving_file(ProjectPaths.discover(data))
    serving.parent.mkdir(parents=True)
    _serving_with_evil_names(serving)
    rows = 200_000
    with duckdb.connect(str(serving)) as con:  # big enough for the writes to overlap
        con.execute(
            "insert into capacity_risks select range, 0.5, 'd', 'h' || range, 'cpu', 'h' || range from range(?)",
            [rows - 1],
        )
    env = {**os.environ, "HORIZONSCALE_DATA_DIR": str(data), "PYTHONPATH": str(PROJECT_ROOT)}
    command = [sys.executable, "-m", "python_engines.cli", "report", "--out", str(tmp_path / "reports")]
    runs = [
        subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    for run in runs:
        _, stderr = run.communicate(timeout=120)
        assert run.returncode == 0 and "Traceback" not in stderr, stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == sorted(f"{name}.csv" for name in REPORTS)
    assert pl.read_csv(tmp_path / "reports" / "capacity_risks.csv").height == rows
