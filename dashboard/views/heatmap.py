"""Risk heatmap: hosts at risk by department or region and by resource; click a cell (or pick it) to drill down."""

from __future__ import annotations

import html

import streamlit as st

from dashboard import charts, queries
from dashboard.components import BREACH_COLUMNS, cached_figure, download_table, md, multiselect
from dashboard.warehouse import Snapshot

TITLE = "Risk heatmap"
REQUIRES = frozenset({"hosts", "capacity_risks", "department_risk_summary"})
VALUES = {"Hosts at risk": "hosts_at_risk", "Share of hosts at risk": "share_at_risk"}
ROW_KEY, COLUMN_KEY, CHART_KEY = "heatmap_drill_row", "heatmap_drill_column", "heatmap_chart"
NO_DRILL = "—"


def _controls(snapshot: Snapshot) -> tuple[queries.Layout, str, queries.Filters]:
    layout_column, value_column = st.columns([2, 1])
    layout_name = layout_column.radio("Layout", list(queries.LAYOUTS), key="heatmap_layout", horizontal=True)
    value_name = value_column.radio("Color by", list(VALUES), key="heatmap_value", horizontal=True)
    dimensions = queries.fleet_dimensions(snapshot)
    region, environment, resource = st.columns(3)
    with region:
        regions = multiselect("Region", dimensions["region"], "heatmap_region", "All regions")
    with environment:
        environments = multiselect("Environment", dimensions["environment"], "heatmap_environment", "All environments")
    with resource:
        resources = tuple(
            st.multiselect("Resource", queries.RESOURCES, key="heatmap_resource", placeholder="All resources")
        )
    filters = queries.Filters(regions=regions, environments=environments, resources=resources)
    return queries.LAYOUTS[layout_name], VALUES[value_name], filters


def _select_cell() -> None:
    """A click on the heatmap becomes the drill-down choice."""
    points = st.session_state[CHART_KEY].selection.points
    if points:  # the chart shows escaped labels (charts.plain)
        st.session_state[ROW_KEY] = html.unescape(str(points[0]["y"]))
        st.session_state[COLUMN_KEY] = html.unescape(str(points[0]["x"]))


def _drill_choice(matrix: charts.Matrix, layout: queries.Layout) -> tuple[str | None, str | None]:
    row_options = [NO_DRILL, *matrix.rows]
    column_options = matrix.columns
    # Choices survive a change of layout or filters only while they still exist.
    if st.session_state.get(ROW_KEY) not in row_options:
        st.session_state[ROW_KEY] = NO_DRILL
    if st.session_state.get(COLUMN_KEY) not in column_options:
        st.session_state[COLUMN_KEY] = layout.total_label
    left, right = st.columns(2)
    row = left.selectbox(f"Drill into {layout.row}", row_options, key=ROW_KEY)
    column = right.selectbox(layout.column.capitalize(), column_options, key=COLUMN_KEY)
    if row == NO_DRILL:
        return None, None
    return row, None if column == layout.total_label else column


def _department_summary(snapshot: Snapshot) -> None:
    st.subheader("Department risk summary")
    regions = queries.summary_regions(snapshot)
    region = st.selectbox("Region of the summary", regions, key="heatmap_summary_region") if regions else None
    summary = queries.department_summary(snapshot, region)
    download_table(
        summary,
        "department_risk_summary",
        column_config={
            "share_hosts_at_risk": st.column_config.NumberColumn("Share at risk", format="percent"),
            "soonest_breach_date": st.column_config.DateColumn("Soonest breach"),
        },
    )


def render(snapshot: Snapshot, present: frozenset[str]) -> None:
    st.title(TITLE)
    layout, value, filters = _controls(snapshot)
    cells = queries.risk_matrix(snapshot, layout, filters)
    if cells.is_empty():
        st.info("No host matches these filters.")
        return
    order = list(queries.RESOURCES) if layout.column == "resource" else None
    matrix = charts.pivot_matrix(cells, value, layout.total_label, order)
    st.caption(
        f"Hosts with at least one series breaching within the window, by {layout.row} and {layout.column}; "
        f"the last column counts each host once. Click a cell, or choose below, to list its series."
    )
    st.plotly_chart(
        cached_figure(charts.risk_heatmap, matrix, value),
        key=CHART_KEY,
        on_select=_select_cell,
        selection_mode="points",
        config={"displayModeBar": False},
    )
    with st.expander("Heatmap cells (table)"):
        download_table(cells, f"risk_heatmap_{layout.row}_by_{layout.column}")
    row, column = _drill_choice(matrix, layout)
    if row is not None:
        series = queries.drill_down(snapshot, layout, filters, row, column)
        scope = f"{row} · {column or layout.total_label}"
        st.markdown(f"**{series.height:,} series at risk in {md(scope)}**, likeliest breach first")
        download_table(
            series,
            "risk_drill_down",
            hosts_selectable=True,
            column_config={
                **BREACH_COLUMNS,
                "days_to_breach": st.column_config.NumberColumn("Days until full", format="%d"),
            },
        )
    _department_summary(snapshot)
