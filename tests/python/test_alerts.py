"""Risk-change reports and the webhook summary, against a real local HTTP server (http.server in a thread)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest

from python_engines.alerts import NOTIFY_ENV, notify_url, post_message, read_changes, report_and_notify

SECRET_PATH = "/services/T000/B000/very-secret-token"
CHANGES_SQL = """
create table risk_changes as
select * from (values
    ('h1', 'cpu', 'NEW_BREACH', 'web01', 'Payments', '@ops', date '2026-01-07', date '2026-01-14',
     null::date, date '2026-02-01', null::integer, 'HIGH', 'HIGH', 'prophet', 'xgboost'),
    ('h2', 'disk', 'EARLIER', '=cmd()', 'Payments', 'ann', date '2026-01-07', date '2026-01-14',
     date '2026-03-01', date '2026-02-10', -19, 'HIGH', 'MEDIUM', 'prophet', 'prophet'),
    ('h3', 'memory', 'TRUST_CHANGED', 'db01', 'Retail', 'bob', date '2026-01-07', date '2026-01-14',
     date '2026-03-01', date '2026-03-01', 0, 'HIGH', 'LOW', 'prophet', 'prophet'),
    ('h4', 'cpu', 'TRUST_CHANGED', 'app01', 'Retail', 'bob', date '2026-01-07', date '2026-01-14',
     null::date, null::date, null::integer, 'HIGH', 'MEDIUM', 'prophet', 'prophet')
) as t(host_id, resource, change_type, hostname, department, app_manager, previous_as_of, current_as_of,
       previous_breach_date, current_breach_date, days_moved, previous_trust_level, current_trust_level,
       previous_champion, current_champion)
"""


class Hook:
    """A local webhook: records every POST body; answers ``status``."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                hook.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(hook.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{SECRET_PATH}"

    def close(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    server = Hook()
    yield server
    server.close()


def _serving(tmp_path: Path, sql: str = CHANGES_SQL) -> Path:
    path = tmp_path / "serving.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(sql)
    return path


def test_changes_are_reported_and_posted_once(tmp_path: Path, hook: Hook, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    report = report_and_notify(_serving(tmp_path), tmp_path / "reports", hook.url)
    assert report is not None
    assert len(hook.bodies) == 1
    assert set(hook.bodies[0]) == {"text"}  # the shape Slack and Teams incoming webhooks accept
    text = hook.bodies[0]["text"]
    assert "2026-01-07 -> 2026-01-14" in text
    assert "1 new breach, 1 breach earlier, 1 trust changed" in text  # the flagged series' trust change only
    assert "web01 cpu: new breach on 2026-02-01" in text and "db01 memory: trust HIGH -> LOW" in text
    assert "app01" not in text and "1 more in risk_changes.csv (with 1 trust change(s) on unflagged series)" in text
    document = json.loads(report.json_path.read_text())
    assert document["counts"] == {"NEW_BREACH": 1, "EARLIER": 1, "TRUST_CHANGED": 2}
    kinds = [c["change_type"] for c in document["changes"]]
    assert kinds == ["NEW_BREACH", "EARLIER", "TRUST_CHANGED", "TRUST_CHANGED"]
    csv = report.csv_path.read_text(encoding="utf-8-sig")
    assert "'=cmd()" in csv and "'@ops" in csv  # spreadsheet formulas neutralized as in the other reports
    assert SECRET_PATH not in caplog.text


def test_a_rebuild_with_the_same_changes_is_not_posted_again(tmp_path: Path, hook: Hook) -> None:
    """A retry or a cron run twice: the same message to the same URL goes out once; new changes go out."""
    memo = tmp_path / ".last_notified"
    serving = _serving(tmp_path)
    for _ in range(2):
        assert report_and_notify(serving, tmp_path / "reports", hook.url, sent_memo=memo) is not None
    assert len(hook.bodies) == 1
    assert hook.url not in memo.read_text() and SECRET_PATH not in memo.read_text()
    (tmp_path / "next").mkdir()
    other = _serving(tmp_path / "next", CHANGES_SQL + " limit 2")
    report_and_notify(other, tmp_path / "reports", hook.url, sent_memo=memo)
    assert len(hook.bodies) == 2


def test_trust_changes_on_unflagged_series_alone_post_nothing(tmp_path: Path, hook: Hook) -> None:
    """About one series in eight changes trust in a week: alone, on series without an alert, they would post
    almost every day. They stay in the report files."""
    serving = _serving(tmp_path, CHANGES_SQL + " where host_id = 'h4'")
    report = report_and_notify(serving, tmp_path / "reports", hook.url)
    assert report is not None and report.changes.height == 1
    assert hook.bodies == []
    assert json.loads(report.json_path.read_text())["counts"] == {"TRUST_CHANGED": 1}


def test_a_build_with_no_change_still_names_the_snapshots_it_compared(tmp_path: Path) -> None:
    """'Compared 2026-01-07 with 2026-01-14, nothing changed' once read like a first build (both as_of null)."""
    serving = _serving(tmp_path, CHANGES_SQL + " where false")
    with duckdb.connect(str(serving)) as con:
        con.execute("create table forecast_windows as select date '2026-01-14' as history_end")
    history = tmp_path / "forecast_history"
    for as_of in ("2025-12-31", "2026-01-07", "2026-01-14", "__HIVE_DEFAULT_PARTITION__"):
        (history / f"as_of={as_of}").mkdir(parents=True)
    report = report_and_notify(serving, tmp_path / "reports", None, history_dir=history)
    assert report is not None
    document = json.loads(report.json_path.read_text())
    assert (document["previous_as_of"], document["current_as_of"]) == ("2026-01-07", "2026-01-14")
    first = tmp_path / "first"
    (first / "as_of=2026-01-14").mkdir(parents=True)
    report = report_and_notify(serving, tmp_path / "reports", None, history_dir=first)
    document = json.loads(report.json_path.read_text())
    assert (document["previous_as_of"], document["current_as_of"]) == (None, "2026-01-14")  # nothing before it


def test_alerts_from_an_undone_load_are_withdrawn_once(tmp_path: Path, hook: Hook) -> None:
    """A bad append's build posted 13 new breaches; after `load --undo` the next build compared with the history
    left, saw nothing, and the channel never heard they were false. The next notifying build now says so, once."""
    from python_engines.loads import WITHDRAWN_FILE, record_withdrawn
    from python_engines.paths import ProjectPaths

    paths = ProjectPaths.discover(tmp_path / "data")
    paths.data_dir.mkdir()
    record_withdrawn(paths, 7, ["2026-01-08"])
    memo = paths.data_dir / ".last_notified"
    serving = _serving(tmp_path, CHANGES_SQL + " where false")
    for _ in range(2):
        report_and_notify(serving, tmp_path / "reports", hook.url, sent_memo=memo)
    assert len(hook.bodies) == 1
    text = hook.bodies[0]["text"]
    assert "withdrawn: alerts from the snapshot(s) of 2026-01-08 (load 7) were built on data since undone" in text
    assert not (paths.data_dir / WITHDRAWN_FILE).exists()


def test_nothing_sent_when_nothing_changed(tmp_path: Path, hook: Hook) -> None:
    serving = _serving(tmp_path, CHANGES_SQL + " where false")
    report = report_and_notify(serving, tmp_path / "reports", hook.url)
    assert report is not None and report.changes.height == 0
    assert hook.bodies == []
    assert json.loads(report.json_path.read_text())["changes"] == []


def test_failed_post_is_logged_without_the_url(tmp_path: Path, hook: Hook, caplog: pytest.LogCaptureFixture) -> None:
    hook.status = 500
    assert post_message(hook.url, "hello") is False
    closed = hook.url
    hook.close()
    assert post_message(closed, "hello", timeout=2) is False
    report = report_and_notify(_serving(tmp_path), tmp_path / "reports", closed)  # never raises
    assert report is not None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert "HTTP 500" in warnings[0]
    assert all(SECRET_PATH not in w and "127.0.0.1" not in w for w in warnings)


def test_notify_url_from_flag_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NOTIFY_ENV, raising=False)
    assert notify_url(None) is None
    assert notify_url("  ") is None
    monkeypatch.setenv(NOTIFY_ENV, "https://hooks.example/env")
    assert notify_url(None) == "https://hooks.example/env"
    assert notify_url("https://hooks.example/flag") == "https://hooks.example/flag"
    assert notify_url("file:///etc/passwd") is None


def test_no_table_no_report(tmp_path: Path) -> None:
    serving = _serving(tmp_path, "create table hosts (host_id varchar)")
    assert read_changes(serving) is None
    assert report_and_notify(serving, tmp_path / "reports", None) is None
