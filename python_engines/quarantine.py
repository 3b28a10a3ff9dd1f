"""What the refinery quarantined, in words: read from the warehouse's ``quarantine_summary`` after a build.

`horizonscale build` logs one line per rejects table after a build, and when dbt failed because too many rows
were rejected (every row, even), turns the terse test failure into one line that says how many, why, shows a
rejected row as delivered, and what to do. It also says so in one line when the whole history is too short for
any forecast.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)


#: What a reason usually means in an export, and the fix (inventory reasons by prefix: missing_, invalid_).
REASON_HINTS: dict[str, str] = {
    "unknown_host": "its host_id matches no inventory host_id (compared trimmed, lower-case), so use the same "
    "ids in both exports (e.g. short names in both, not FQDNs in one)",
    "rejected_host": "its host's inventory row was rejected (see inventory_rejects)",
    "unparseable_timestamp": "ts must be ISO 8601, e.g. 2025-01-31 or 2025-01-31T10:00:00Z (not epoch numbers, "
    "not day-first dates)",
    "non_numeric_value": "value must be a number with a decimal point (not a decimal comma, no units)",
    "missing_value": "value is empty",
    "out_of_range": "value must be a percentage within 0-100",
    "unknown_resource": "resource must be cpu, memory, disk or network (or an alias in seeds/resource_aliases.csv)",
    "future_timestamp": "ts lies in the future (check the time zone or the year)",
    "too_old_timestamp": "ts is older than max_sample_age_days (a placeholder date?)",
    "duplicate_superseded": "the export repeats host, resource and day",
    "duplicate_sample": "the export repeats host, resource and instant",
    "duplicate_host_id": "the inventory lists a host_id twice",
    "missing_": "a required inventory field is empty",
    "invalid_": "an inventory field is not a valid value (e.g. a non-numeric cpu_cores)",
}


def reason_hint(reason: str | None) -> str | None:
    """What a reject reason means for the export (None for a reason without a hint)."""
    if not reason:
        return None
    if reason in REASON_HINTS:
        return REASON_HINTS[reason]
    return next(
        (hint for prefix, hint in REASON_HINTS.items() if prefix.endswith("_") and reason.startswith(prefix)), None
    )


@dataclass(frozen=True)
class Quarantine:
    rejects_table: str
    raw_rows: int
    rejected_rows: int
    reject_share: float
    max_reject_share: float
    rejects_by_reason: str | None
    top_reason: str | None = None
    example_row: str | None = None

    @property
    def over_threshold(self) -> bool:
        return self.reject_share > self.max_reject_share

    @property
    def everything_rejected(self) -> bool:
        return self.raw_rows > 0 and self.reject_share >= 1.0

    def describe(self) -> str:
        reasons = f" ({self.rejects_by_reason})" if self.rejects_by_reason else ""
        return f"{self.rejects_table}: {self.rejected_rows:,} of {self.raw_rows:,} raw rows rejected{reasons}"

    def example(self) -> str:
        """e.g. "; e.g. this unknown_host row: {'host_id': h0, ...} in telemetry.csv: its host_id matches no ..."."""
        if not self.example_row:
            return ""
        hint = reason_hint(self.top_reason)
        return f"; e.g. this {self.top_reason} row: {self.example_row}" + (f": {hint}" if hint else "")

    def advice(self) -> str:
        held = (
            f"{self.rejects_table} holds every raw row ({self.raw_rows:,}), nothing is left to build on"
            if self.everything_rejected
            else f"{self.rejects_table} holds {self.reject_share:.1%} of the raw rows, above max_reject_share "
            f"{self.max_reject_share:.1%}"
        )
        enough = math.ceil(self.reject_share * 100) / 100
        escape = (
            "" if self.everything_rejected else f", or raise the limit with --vars '{{max_reject_share: {enough}}}'"
        )
        return (
            f"{held} ({self.rejects_by_reason}){self.example()}; query `select reason, count(*) from "
            f"{self.rejects_table} group by reason` in the warehouse, fix the export and load it again{escape}"
        )


def read_quarantine(warehouse: Path) -> list[Quarantine]:
    """The rows of quarantine_summary, or none when the warehouse or the table is not there (yet)."""
    if not warehouse.is_file():
        return []
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows = con.execute(
                """
                select rejects_table, raw_rows, rejected_rows, reject_share, max_reject_share, rejects_by_reason,
                       top_reason, example_row
                from main.quarantine_summary
                order by rejects_table desc
                """
            ).fetchall()
    except duckdb.Error as exc:
        log.debug("no quarantine summary in %s: %s", warehouse, exc)
        return []
    return [Quarantine(*row) for row in rows]


def over_threshold_advice(warehouse: Path) -> str | None:
    """One line per rejects table above max_reject_share (or holding every row), joined; None when none is."""
    advice = [q.advice() for q in read_quarantine(warehouse) if q.over_threshold or q.everything_rejected]
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
        "backtested (all insufficient_history in engine_runs); those with young_min_days (60) observed days got "
        "a straight line, LOW trust (champion young_trend), the rest are in forecast_exclusions; a tournament "
        "needs min_history_days (180) observed days before the backtest (backtest_months, 4 months): load about "
        "300 days of history, or "
        "lower both for a shorter one, e.g. --vars '{backtest_months: 1, min_history_days: 60}' (then at least "
        "91 days)"
    )
