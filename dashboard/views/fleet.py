"""Fleet health: Red/Amber/Green counts and shares, the soonest breaches ranked by days until full, and every
RED and AMBER host with its reason."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, queries
from dashboard.components import BREACH_COLUMNS, cached_figure, download_table, multiselect
from dashboard.style import STATUS_COLORS
from dashboard.warehouse import Snapshot

TITLE = "Fleet health"
REQUIRES = frozenset({"fleet_health", "capacity_risks"})
STATIC = {"displayModeBar": False}  # the modebar would sit on the legend
ROW_CHOICES = (25, 50, 100, 250, 1000)
# As the fleet_health mart sets them (thresholds and windows are dbt vars); each host carries its own reason.
STATUS_HELP = {
    "RED": "A series meets the breach alert: by default, its forecast upper bound crosses the breach threshold "
    "within the breach window on a day with at least a 15% chance of exceeding it, read without the growth "
    "upside (a compounding curve as likely as a line widens the band but does not raise the alert alone).",
    "AMBER": "The host stopped reporting or never did, a breach later in the horizon (or within the window "
    "below the alert rule), the upper bound above the amber level within the window, or a series without a "
    "forecast. The list below says which, host by host.",
    "GREEN": "Headroom on every resource.",
}


def _filters(snapshot: Snapshot) -> queries.Filters:
    dimensions = queries.fleet_dimensions(snapshot)
    region, department, environment, resource = st.columns(4)
    with region:
        regions = multiselect("Region", dimensions["region"], "fleet_region", "All regions")
    with department:
        departments = multiselect("Department", dimensions["department"], "fleet_department", "All departments")
    with environment:
        environments = multiselect("Environment", dimensions["environment"], "fleet_environment", "All environments")
    with resource:
        resources = tuple(
            st.multiselect("Resource", queries.RESOURCES, key="fleet_resource", placeholder="All resources")
        )
    return queries.Filters(regions=regions, departments=departments, environments=environments, resources=resources)


def _rag_metrics(counts: dict[str, int]) -> None:
    total = sum(counts.values())
    columns = st.columns(4)
    columns[0].metric("Hosts", f"{total:,}")
    for column, status in zip(columns[1:], STATUS_COLORS, strict=True):
        hosts = counts.get(status, 0)
        share = hosts / total if total else 0.0
        column.metric(status, f"{hosts:,}", help=STATUS_HELP[status])
        column.caption(f"{share:.1%} of hosts")


def _breach_table(snapshot: Snapshot, filters: queries.Filters, window_days: int) -> None:
    total = queries.breach_count(snapshot, filters)
    st.subheader("Soonest breaches: days until full")
    left, right = st.columns([3, 1])
    left.caption(
        f"{total:,} series whose forecast upper bound crosses the threshold within the breach window (by default "
        "with at least a 15% chance on that day, read without the growth upside), soonest first (the likelier first "
        "on the same day), with why "
        "each was flagged and how likely the breach is."
    )
    limit = right.selectbox(
        "Rows", ROW_CHOICES, key="fleet_rows", label_visibility="collapsed", format_func=lambda rows: f"top {rows:,}"
    )
    breaches = queries.soonest_breaches(snapshot, filters, limit)
    download_table(
        breaches,
        "soonest_breaches",
        hosts_selectable=True,
        column_config={
            "days_to_breach": st.column_config.NumberColumn("Days until full", format="%d"),
            "first_breach_date": st.column_config.DateColumn("First breach", help="Upper bound crosses first"),
            "expected_breach_date": st.column_config.DateColumn(
                "Expected breach", help="The point forecast crosses (empty: not within the forecast horizon)"
            ),
            **BREACH_COLUMNS,
            "peak_yhat_upper": st.column_config.ProgressColumn(
                f"Peak upper ({window_days} d)", min_value=0, max_value=100, format="%.1f%%"
            ),
            "headroom_90d": st.column_config.NumberColumn("Headroom 90 d", format="%.1f"),
            "backtest_mape": st.column_config.NumberColumn("Backtest MAPE", format="%.1f%%"),
        },
    )


def _review_table(snapshot: Snapshot, filters: queries.Filters) -> None:
    """The RED and AMBER hosts with their reasons: AMBER hosts (stale, never reported, unforecast series) appear
    in no breach list, so without this a count on the page named no one."""
    hosts = queries.hosts_to_review(snapshot, filters)
    with st.expander(f"RED and AMBER hosts, with why ({hosts.height:,})"):
        download_table(
            hosts,
            "hosts_to_review",
            hosts_selectable=True,
            column_config={
                "status_reason": st.column_config.TextColumn("Why", width="large"),
                "days_to_upper_breach": st.column_config.NumberColumn("Upper bound crosses in (days)", format="%d"),
            },
        )


def render(snapshot: Snapshot, present: frozenset[str]) -> None:
    st.title(TITLE)
    filters = _filters(snapshot)
    st.caption("The resource filter selects hosts by their worst resource, the one that set their status.")
    counts = dict(queries.rag_counts(snapshot, filters).iter_rows())
    _rag_metrics(counts)
    if not counts:
        st.info("No host matches these filters.")
        return
    donut, bars = st.columns([1, 2])
    donut.plotly_chart(cached_figure(charts.rag_donut, counts), key="fleet_donut", config=STATIC)
    by_department = queries.rag_by_department(snapshot, filters)
    bars.plotly_chart(cached_figure(charts.rag_by_department, by_department), key="fleet_departments", config=STATIC)
    _breach_table(snapshot, filters, queries.breach_window_days(snapshot, present))
    _review_table(snapshot, filters)
    with st.expander("Status by department (table)"):
        download_table(
            by_department,
            "status_by_department",
            column_config={"share_red": st.column_config.NumberColumn("Share RED", format="percent")},
        )
