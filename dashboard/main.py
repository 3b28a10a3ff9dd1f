"""The dashboard page: sidebar navigation, freshness, and the guard pages around every view."""

from __future__ import annotations

import logging
import time
from datetime import date
from types import ModuleType

import duckdb
import streamlit as st

from dashboard import components, queries, warehouse
from dashboard.views import audit, fleet, heatmap, host, rightsizing, track_record, whatif

log = logging.getLogger("horizonscale.dashboard")

VIEWS: dict[str, ModuleType] = {
    view.TITLE: view for view in (fleet, heatmap, audit, host, track_record, rightsizing, whatif)
}


#: Days the last data day may lie before today's date before every view says so.
STALE_AFTER_DAYS = 7


def stale_data_message(history_end: date, today: date) -> str | None:
    """What a planner must know when the history ends well before today: every date counts from its end."""
    age = (today - history_end).days
    if age <= STALE_AFTER_DAYS:
        return None
    return (
        f'The data ends {history_end:%Y-%m-%d}, {age:,} days before today ({today:%Y-%m-%d}): every "in N days" '
        "and breach date here counts from that last data day, so some breaches called coming may already have "
        "come. Load newer telemetry and rebuild to plan from today."
    )


def _sidebar(snapshot: warehouse.Snapshot, present: frozenset[str]) -> None:
    st.sidebar.divider()
    if "forecast_windows" in present:
        windows = queries.windows(snapshot)
        st.sidebar.caption(
            f"History {windows.history_start:%Y-%m-%d} → **{windows.history_end:%Y-%m-%d}** (last data day)  \n"
            f"Forecast to {windows.forecast_end:%Y-%m-%d}"
        )
    published = queries.published_at(snapshot) if "_published" in present else None
    st.sidebar.caption(f"Serving copy{f' published {published}' if published else ''}:  \n`{snapshot.path}`")


def _render_view(name: str, snapshot: warehouse.Snapshot, present: frozenset[str]) -> None:
    view = VIEWS[name]
    missing = view.REQUIRES - present
    if missing:
        components.missing_tables(snapshot.path, name, missing)
        return
    try:
        view.render(snapshot, present)
    except duckdb.Error as error:
        log.exception("view %s failed on %s", name, snapshot.path)
        components.query_failed(name, error)


def _setup_logging() -> None:
    """Our own lines (view render times, serving-copy swaps) on the server's console, once per process."""
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def main() -> None:
    _setup_logging()
    st.set_page_config(page_title="HorizonScale", page_icon=":material/monitoring:", layout="wide")
    started = time.perf_counter()
    st.sidebar.title("HorizonScale")
    name = st.sidebar.radio("View", list(VIEWS), key=components.VIEW_KEY, bind="query-params")
    timing = st.sidebar.empty()
    path = warehouse.serving_path()
    snapshot = warehouse.current_snapshot(path)
    if snapshot is None:
        components.no_warehouse(path)
        return
    try:
        present = warehouse.tables(snapshot)
    except duckdb.Error as error:
        log.exception("cannot read serving copy %s", path)
        components.unreadable_warehouse(path, error)
        return
    if "forecast_windows" in present:  # above the view, drawn first: nothing moves under the planner's pointer
        stale = stale_data_message(queries.windows(snapshot).history_end, date.today())
        if stale:
            st.warning(stale, icon=":material/history:")
    _render_view(name, snapshot, present)
    _sidebar(snapshot, present)
    seconds = time.perf_counter() - started
    timing.caption(f"Rendered in {seconds:.2f} s")
    log.info("view %r rendered in %.3f s", name, seconds)
