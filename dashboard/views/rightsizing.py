"""Right-sizing: what to give back and what to buy, per host and resource, rolled up by department or app owner."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import charts, queries
from dashboard.components import cached_figure, download_table, multiselect
from dashboard.warehouse import Snapshot

TITLE = "Right-sizing"
REQUIRES = frozenset({"rightsizing"})
STATIC = {"displayModeBar": False}  # the modebar would sit on the legend
ROW_CHOICES = (25, 50, 100, 250, 1000)
PERCENT_BAR = {"min_value": 0, "max_value": 100, "format": "%.1f%%"}
SIZING_COLUMNS: dict[str, Any] = {
    "needed_by_date": st.column_config.DateColumn(
        "Needed by", help="First day the forecast upper bound exceeds the target at the current size"
    ),
    "current_capacity": st.column_config.NumberColumn("Now", format="%g"),
    "recommended_capacity": st.column_config.NumberColumn("Recommended", format="%g"),
    "capacity_change": st.column_config.NumberColumn("Change", format="%+g"),
    "capacity_unit": st.column_config.TextColumn("Unit"),
    "peak_yhat_upper": st.column_config.ProgressColumn("Peak upper (now)", **PERCENT_BAR),
    "projected_peak_utilization": st.column_config.ProgressColumn("Peak upper (recommended)", **PERCENT_BAR),
    "first_breach_date": st.column_config.DateColumn("First breach", help="Upper bound crosses the breach threshold"),
    "is_breach_alert": st.column_config.CheckboxColumn("RED", help="Flagged by the breach alert (capacity_risks)"),
    "reason": st.column_config.TextColumn("Why", width="large"),
}


def _filters(snapshot: Snapshot) -> queries.Filters:
    dimensions = queries.sizing_dimensions(snapshot)
    region, department, environment, resource = st.columns(4)
    with region:
        regions = multiselect("Region", dimensions["region"], "sizing_region", "All regions")
    with department:
        departments = multiselect("Department", dimensions["department"], "sizing_department", "All departments")
    with environment:
        environments = multiselect("Environment", dimensions["environment"], "sizing_environment", "All environments")
    with resource:
        resources = tuple(
            st.multiselect("Resource", list(queries.SIZED_UNITS), key="sizing_resource", placeholder="All resources")
        )
    return queries.Filters(regions=regions, departments=departments, environments=environments, resources=resources)


def _number(value: float | None) -> str:
    return f"{value or 0:,.0f}"


def _metrics(totals: dict[str, Any]) -> None:
    give_back = st.columns(4)
    give_back[0].metric("Hosts to downsize", _number(totals["hosts_to_downsize"]))
    give_back[1].metric("Cores to give back", _number(totals["reclaimable_cores"]))
    give_back[2].metric("Memory GB to give back", _number(totals["reclaimable_memory_gb"]))
    give_back[3].metric("Disk GB to give back", _number(totals["reclaimable_disk_gb"]))
    add = st.columns(4)
    add[0].metric("Hosts to upsize", _number(totals["hosts_to_upsize"]))
    add[1].metric("Cores to add", _number(totals["cores_to_add"]))
    add[2].metric("Memory GB to add", _number(totals["memory_gb_to_add"]))
    add[3].metric("Disk GB to add", _number(totals["disk_gb_to_add"]))
    soonest = totals["soonest_needed_by_date"]
    st.caption(
        f"Of {_number(totals['hosts'])} hosts. "
        + (f"The first upsize is needed by {soonest:%Y-%m-%d}. " if soonest else "Nothing needs adding. ")
        + f"{_number(totals['series_without_recommendation'])} cpu, memory or disk series get no recommendation "
        "(see below why)."
    )


def _roll_up(snapshot: Snapshot, filters: queries.Filters) -> None:
    st.subheader("By owner")
    group_column, resource_column = st.columns([2, 1])
    group = group_column.radio("Roll up by", list(queries.SIZING_GROUPS), key="sizing_group", horizontal=True)
    sized = [r for r in queries.SIZED_UNITS if not filters.resources or r in filters.resources]
    resource = resource_column.radio("Chart", sized, key="sizing_chart_resource", horizontal=True)
    frame = queries.sizing_by_group(snapshot, group, filters)
    if frame.is_empty():
        st.info("No series matches these filters.")
        return
    if resource is not None:
        unit = queries.SIZED_UNITS[resource]
        figure = cached_figure(charts.sizing_by_group, frame, resource, unit)
        st.plotly_chart(figure, key="sizing_chart", config=STATIC)
    with st.expander(f"Roll-up by {group.lower()} (table)"):
        download_table(frame.rename({"owner": queries.SIZING_GROUPS[group]}), "rightsizing_by_owner")


def _actions(snapshot: Snapshot, filters: queries.Filters, action: str, title: str, caption: str) -> None:
    total = queries.sizing_action_count(snapshot, action, filters)
    st.subheader(title)
    left, right = st.columns([3, 1])
    left.caption(f"{total:,} series. {caption}")
    limit = right.selectbox(
        "Rows",
        ROW_CHOICES,
        key=f"sizing_rows_{action}",
        label_visibility="collapsed",
        format_func=lambda rows: f"top {rows:,}",
    )
    frame = queries.sizing_actions(snapshot, action, filters, limit)
    if action != "upsize":
        frame = frame.drop("needed_by_date")
    download_table(frame, f"rightsizing_{action}", hosts_selectable=True, column_config=SIZING_COLUMNS)


def _targets(snapshot: Snapshot) -> str:
    targets = queries.sizing_targets(snapshot)
    return ", ".join(f"{resource} {target:g}%" for resource, target in targets.items()) or "none sized"


def render(snapshot: Snapshot, present: frozenset[str]) -> None:
    st.title(TITLE)
    st.caption(
        f"Each host's cpu, memory and disk sized so that its forecast peak (the calibrated upper bound over the whole "
        f"horizon) stays at or under the target ({_targets(snapshot)}), rounded up to purchasable sizes. Only series "
        "with enough recent history and a forecast that is not LOW trust are sized, except that a series with a "
        "breach alert is always upsized (its reason then says low confidence); network is not sized."
    )
    filters = _filters(snapshot)
    _metrics(queries.sizing_totals(snapshot, filters))
    _roll_up(snapshot, filters)
    _actions(
        snapshot,
        filters,
        "upsize",
        "Upsize: soonest needed first",
        "The peak exceeds the target: the capacity to add, and the day the upper bound first exceeds the target.",
    )
    _actions(
        snapshot,
        filters,
        "downsize",
        "Downsize: largest share given back first",
        "The peak fits a size at the target that gives back at least rightsizing_min_reclaim_share (25% by default).",
    )
    with st.expander("No recommendation: why"):
        download_table(queries.sizing_blockers(snapshot, filters), "rightsizing_no_recommendation")
