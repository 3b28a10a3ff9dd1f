"""CSV exception lists for managers, read from the serving copy (never the file dbt writes).

The CSVs are opened in spreadsheets, and department, application or manager names come from user data: a
cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage return) would run as a formula. Text
cells like that are prefixed with a single quote so the spreadsheet shows them as text. The files start with
a UTF-8 byte-order mark by default, which Excel needs to read non-Latin names right.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import duckdb
import polars as pl

log = logging.getLogger(__name__)

REPORTS: dict[str, str] = {
    "department_risk_summary": (
        "select * from department_risk_summary order by region = 'ALL' desc, risk_rank, department, region"
    ),
    "app_exception_list": "select * from app_exception_list order by app_code, priority",
    "capacity_risks": (
        "select * from capacity_risks "
        "order by days_to_breach, breach_probability desc, department, hostname, resource, host_id"
    ),
    "fleet_health": (
        "select * from fleet_health "
        "order by status = 'GREEN', status = 'AMBER', days_to_upper_breach, hostname, host_id"
    ),
    "rightsizing": (
        "select * from rightsizing "
        "order by list_position(['upsize', 'downsize', 'keep', 'no_recommendation'], action), "
        "needed_by_date, reclaimable_capacity desc, department, hostname, resource, host_id"
    ),
    "rightsizing_summary": "select * from rightsizing_summary order by department, app_code <> 'ALL', app_code",
}
FORMULA_TRIGGERS = r"^[=+\-@\t\r]"
#: Decimal places a report keeps: a backtest MAPE summed in another order differed in its 15th digit between two
#: builds of the same seed, so reports diffed day to day showed changes that were not there.
REPORT_DECIMALS = 4


def neutralize_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that a spreadsheet would evaluate as a formula with a single quote."""
    text_columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(FORMULA_TRIGGERS))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text_columns
    )


def rounded(frame: pl.DataFrame, decimals: int = REPORT_DECIMALS) -> pl.DataFrame:
    """Floating-point columns rounded to ``decimals`` places (percentages, GB, probabilities alike)."""
    return frame.with_columns(pl.col(pl.Float32, pl.Float64).round(decimals))


def partial_path(target: Path) -> Path:
    """Where ``target`` is written before it is renamed into place: a hidden name unique to this process and thread.
    A shared ``<name>.csv.partial`` let two writers at once (a build's reports and a planner's `horizonscale report`,
    or two what-ifs of one name) rename each other's half-written file into place; the other then failed with a
    traceback (FileNotFoundError on its rename)."""
    return target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.partial")


def write_reports(serving_file: Path, out_dir: Path, bom: bool = True) -> dict[str, Path]:
    """Each report as ``<name>.csv`` in ``out_dir``, UTF-8 with a byte-order mark unless ``bom`` is False (Excel
    reads a CSV without one in the machine's code page, garbling non-Latin names)."""
    if not serving_file.is_file():
        raise FileNotFoundError(f"no serving copy at {serving_file}: run `horizonscale build` first")
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with duckdb.connect(str(serving_file), read_only=True) as con:
        for name, query in REPORTS.items():
            frame = rounded(neutralize_formulas(con.sql(query).pl()))
            target = out_dir / f"{name}.csv"
            partial = partial_path(target)
            frame.write_csv(partial, include_bom=bom)
            partial.replace(target)
            written[name] = target
            log.info("report %s: %s rows -> %s", name, f"{frame.height:,}", target)
    return written
