"""What changed since the last build: risk_changes as JSON and CSV in the reports folder, and one summary
message to a chat webhook when the user asks for it.

The webhook URL is a secret (whoever has it can post to the channel), so it is taken from ``--notify`` or the
environment variable ``HORIZONSCALE_NOTIFY_URL`` only, never from a dbt var (dbt writes vars into its
manifest and logs), and it is never logged or stored. The message is ``{"text": ...}``, the shape both Slack
and Microsoft Teams incoming webhooks accept. Nothing is posted when nothing changed (a trust change on a series
without a breach alert is reported in the files but posts nothing on its own), nor again when a rebuild
has exactly the message last posted to that URL (kept as a one-way key in the data directory); a failed post
is logged as a warning and never fails the build.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from python_engines.loads import WITHDRAWN_FILE, read_withdrawn
from python_engines.report import neutralize_formulas, partial_path, rounded

log = logging.getLogger(__name__)

NOTIFY_ENV = "HORIZONSCALE_NOTIFY_URL"
CHANGES_TABLE = "risk_changes"
CHANGE_ORDER: tuple[str, ...] = ("NEW_BREACH", "EARLIER", "LATER", "RESOLVED", "NO_FORECAST", "TRUST_CHANGED")
CHANGE_WORDS: dict[str, str] = {
    "NEW_BREACH": "new breach",
    "EARLIER": "breach earlier",
    "LATER": "breach later",
    "RESOLVED": "resolved",
    "NO_FORECAST": "no longer forecast",
    "TRUST_CHANGED": "trust changed",
}
#: Lines of detail in the message; the rest are in the report files.
MESSAGE_DETAIL_ROWS = 10


@dataclass(frozen=True)
class ChangeReport:
    changes: pl.DataFrame
    json_path: Path
    csv_path: Path


def read_changes(serving_file: Path) -> pl.DataFrame | None:
    """risk_changes from the serving copy, most urgent first; None when the warehouse has no such table."""
    with duckdb.connect(str(serving_file), read_only=True) as con:
        tables = {row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()}
        if CHANGES_TABLE not in tables:
            return None
        order = ", ".join(f"'{kind}'" for kind in CHANGE_ORDER)
        return con.sql(
            f"select * from {CHANGES_TABLE} order by list_position([{order}], change_type), "
            "coalesce(current_breach_date, previous_breach_date), hostname, resource"
        ).pl()


def compared_as_of(serving_file: Path, history_dir: Path | None) -> tuple[str | None, str | None]:
    """The snapshots this build compared when nothing changed (no row to read them from): the build's as_of
    (forecast_windows.history_end) and the latest snapshot before it in the history; (None, None) without them."""
    with duckdb.connect(str(serving_file), read_only=True) as con:
        tables = {row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()}
        if "forecast_windows" not in tables:
            return None, None
        current = con.execute("select max(history_end) from forecast_windows").fetchone()[0]
    if current is None:
        return None, None
    earlier = sorted(
        folder.name.removeprefix("as_of=")
        for folder in (history_dir.glob("as_of=*") if history_dir is not None and history_dir.is_dir() else [])
        if folder.name.removeprefix("as_of=") < str(current) and "HIVE_DEFAULT" not in folder.name
    )
    return (earlier[-1] if earlier else None), str(current)


def write_change_reports(
    changes: pl.DataFrame, out_dir: Path, bom: bool = True, as_of: tuple[str | None, str | None] = (None, None)
) -> ChangeReport:
    """``risk_changes.json`` (as_of pair, counts per change, every change) and ``risk_changes.csv``; written on
    every build, empty when nothing changed, so the files always describe the latest build. ``as_of`` names the
    compared snapshots when no change row does ("compared, nothing changed" is not "first build")."""
    out_dir.mkdir(parents=True, exist_ok=True)
    first = changes.select("previous_as_of", "current_as_of").head(1).to_dicts()
    previous, current = (str(first[0]["previous_as_of"]), str(first[0]["current_as_of"])) if first else as_of
    document = {
        "previous_as_of": previous,
        "current_as_of": current,
        "counts": change_counts(changes),
        "changes": json.loads(changes.write_json()),
    }
    json_path, csv_path = out_dir / "risk_changes.json", out_dir / "risk_changes.csv"
    partial = partial_path(json_path)
    partial.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    partial.replace(json_path)
    partial = partial_path(csv_path)
    rounded(neutralize_formulas(changes)).write_csv(partial, include_bom=bom)
    partial.replace(csv_path)
    log.info("report risk_changes: %d changes -> %s, %s", changes.height, json_path, csv_path)
    return ChangeReport(changes, json_path, csv_path)


def change_counts(changes: pl.DataFrame) -> dict[str, int]:
    counted = dict(changes.group_by("change_type").len().iter_rows()) if changes.height else {}
    return {kind: int(counted[kind]) for kind in CHANGE_ORDER if counted.get(kind)}


def _detail(row: dict) -> str:
    where = f"{row['hostname'] or row['host_id']} {row['resource']}"
    kind = row["change_type"]
    if kind == "NEW_BREACH":
        return f"{where}: new breach on {row['current_breach_date']} ({row['current_champion']})"
    if kind in ("EARLIER", "LATER"):
        return (
            f"{where}: breach moved {kind.lower()} by {abs(row['days_moved'])} days, "
            f"{row['previous_breach_date']} -> {row['current_breach_date']}"
        )
    if kind == "RESOLVED":
        return f"{where}: breach of {row['previous_breach_date']} no longer forecast"
    if kind == "NO_FORECAST":
        return f"{where}: had a breach on {row['previous_breach_date']}, has no forecast now"
    return f"{where}: trust {row['previous_trust_level']} -> {row['current_trust_level']}"


def worth_a_message(changes: pl.DataFrame) -> pl.DataFrame:
    """The changes a channel is told about: every breach change, and a trust change only on a series with a
    breach alert now or at the last build. A trust level that flips on an unflagged series (about one series in
    eight a week) is in the report files, but alone it would post almost every day."""
    flagged = pl.col("current_breach_date").is_not_null() | pl.col("previous_breach_date").is_not_null()
    return changes.filter((pl.col("change_type") != "TRUST_CHANGED") | flagged)


def summary_text(changes: pl.DataFrame) -> str | None:
    """One message for the channel; None when nothing worth a message changed (then nothing is sent)."""
    told = worth_a_message(changes)
    if told.height == 0:
        return None
    first = told.row(0, named=True)
    counts = ", ".join(f"{n} {CHANGE_WORDS[kind]}" for kind, n in change_counts(told).items())
    lines = [f"HorizonScale: capacity risk changes {first['previous_as_of']} -> {first['current_as_of']}: {counts}"]
    lines += [f"- {_detail(row)}" for row in told.head(MESSAGE_DETAIL_ROWS).iter_rows(named=True)]
    rest = changes.height - min(told.height, MESSAGE_DETAIL_ROWS)
    if rest:
        quiet = changes.height - told.height
        also = f" (with {quiet} trust change(s) on unflagged series)" if quiet else ""
        lines.append(f"... and {rest} more in risk_changes.csv{also}")
    return "\n".join(lines)


def withdrawal_text(withdrawn: list[dict]) -> str:
    """One line withdrawing the alerts of snapshots built on undone loads."""
    parts = [f"{', '.join(entry['as_of'])} (load {entry['load_id']})" for entry in withdrawn]
    return (
        f"HorizonScale: withdrawn: alerts from the snapshot(s) of {'; '.join(parts)} were built on data since "
        "undone; disregard them"
    )


def post_message(url: str, text: str, timeout: float = 10.0) -> bool:
    """POST ``{"text": text}`` to the webhook; True on a 2xx answer. Failures are logged (without the URL)."""
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": text}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        log.warning("webhook: the post was refused (HTTP %s); the build is not affected", exc.code)
        return False
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        log.warning("webhook: the post failed (%s); the build is not affected", str(reason).replace(url, "<url>"))
        return False
    log.info("webhook: summary of the risk changes posted (HTTP %s)", status)
    return True


def notify_url(given: str | None) -> str | None:
    """``--notify`` wins over $HORIZONSCALE_NOTIFY_URL; empty means off, and so does anything but http(s)."""
    url = (given or os.environ.get(NOTIFY_ENV) or "").strip()
    if not url:
        return None
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        log.warning("webhook: the notify URL is not http(s)://...; nothing will be posted")
        return None
    return url


def message_key(url: str, text: str) -> str:
    """A one-way key of a message and where it went: the URL itself is never stored."""
    return hashlib.sha256(f"{url}\n{text}".encode()).hexdigest()


def report_and_notify(
    serving_file: Path,
    out_dir: Path,
    url: str | None,
    bom: bool = True,
    sent_memo: Path | None = None,
    history_dir: Path | None = None,
) -> ChangeReport | None:
    """After a build: write the change reports, then post one summary when something changed and a URL is set.
    ``sent_memo`` keeps the key of the last message posted: a rebuild of the same day (a retry, a cron run twice)
    has the same changes and is not posted again. Never raises for the webhook."""
    changes = read_changes(serving_file)
    if changes is None:
        log.info("no risk_changes table in this build: no change report")
        return None
    as_of = compared_as_of(serving_file, history_dir) if changes.height == 0 else (None, None)
    report = write_change_reports(changes, out_dir, bom, as_of)
    text = summary_text(changes)
    withdrawn = read_withdrawn(sent_memo.parent) if sent_memo is not None else []
    if url and withdrawn:
        # Alerts posted from a snapshot whose load was undone: the report against the history left sees no
        # change, so without this line the channel would never hear they were built on bad data.
        notice = withdrawal_text(withdrawn)
        text = f"{notice}\n{text}" if text else f"{notice}\nNo other change since the last snapshot kept."
    if url and text:
        key = message_key(url, text)
        if sent_memo is not None and sent_memo.is_file() and sent_memo.read_text().strip() == key:
            log.info("webhook: the same changes were posted after an earlier build of this day; not sent again")
        elif post_message(url, text) and sent_memo is not None:
            sent_memo.write_text(key + "\n")
            if withdrawn:
                (sent_memo.parent / WITHDRAWN_FILE).unlink(missing_ok=True)
    elif url and changes.height:
        log.info(
            "webhook: only trust changes on unflagged series since the last snapshot (in the reports), nothing sent"
        )
    elif url:
        log.info("webhook: nothing changed since the last snapshot, nothing sent")
    return report
