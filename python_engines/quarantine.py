"""What the refinery quarantined, in words: read from the warehouse's ``quarantine_summary`` after a build.

`horizonscale build` logs one line per rejects table after a build, and when dbt failed because too many rows
were rejected, turns the terse test failure into one line that says how many, why, and what to do. It also
says so in one line when the whole history is too short for any forecast.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Quarantine:
    rejects_table: str
    raw_rows: int
    rejected_rows: int
    reject_share: float
    max_reject_share: float
    rejects_by_reason: str | None

    @property
    def over_threshold(self) -> bool:
        return self.reject_share > self.max_reject_share

    def describe(self) -> str:
        reasons = f" ({self.rejects_by_reason})" if self.rejects_by_reason else ""
        return f"{self.rejects_table}: {self.rejected_rows:,} of {self.raw_rows:,} raw rows rejected{reasons}"

    def advice(self) -> str:
        enough = math.ceil(self.reject_share * 100) / 100
        return (
            f"{self.rejects_table} holds {self.reject_share:.1%} of the raw rows, above max_reject_share "
            f"{self.max_reject_share:.1%} ({self.rejects_by_reason}): query `select reason, count(*) from "
            f"{self.rejects_table} group by reason` in the warehouse, fix the export and load it again, or "
            f"raise the limit with --vars '{{max_reject_share: {enough}}}'"
        )


def read_quarantine(warehouse: Path) -> list[Quarantine]:
    """The rows of quarantine_summary, or none when the warehouse or the table is not there (yet)."""
    if not warehouse.is_file():
        return []
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows = con.execute(
                """
                select rejects_table, raw_rows, rejected_rows, reject_share, max_reject_share, rejects_by_reason
                from main.quarantine_summary
                order by rejects_table desc
                """
            ).fetchall()
    except duckdb.Error as exc:
        log.debug("no quarantine summary in %s: %s", warehouse, exc)
        return []
    return [Quarantine(*row) for row in rows]


def over_threshold_advice(warehouse: Path) -> str | None:
    """One line per rejects table above max_reject_share, joined; None when none is."""
    advice = [q.advice() for q in read_quarantine(warehouse) if q.over_threshold]
    return "; ".join(advice) or None


def short_history_warning(warehouse: Path) -> str | None:
    """One line when the whole history is shorter than the backtest (every series insufficient_history)."""
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            row = con.execute(
                "select history_start, history_end, backtest_start from main.forecast_windows "
                "where train_end < train_start"
            ).fetchone()
    except duckdb.Error as exc:
        log.debug("no forecast windows in %s: %s", warehouse, exc)
        return None
    if row is None:
        return None
    start, end, backtest_start = row
    return (
        f"the history {start}..{end} is shorter than the backtest (from {backtest_start}): no series could be "
        "forecast (all insufficient_history, see forecast_exclusions); load a longer history, or lower "
        "backtest_months with --vars '{backtest_months: 1}'"
    )
