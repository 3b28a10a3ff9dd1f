"""Track record: how the forecasts of earlier builds turned out, and what changed since the last build."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import charts, queries
from dashboard.components import cached_figure, download_table, multiselect
from dashboard.style import model_colors, model_label
from dashboard.warehouse import Snapshot

TITLE = "Track record"
REQUIRES = frozenset({"forecast_accuracy", "risk_changes"})
STATIC = {"displayModeBar": False}
PERCENT = st.column_config.NumberColumn(format="percent")


def accuracy_lines(frame: pl.DataFrame, value: str, title: str, percent: bool) -> go.Figure:
    """One line per engine over the snapshots (as_of)."""
    figure = go.Figure()
    for model, color in model_colors(frame["model"].to_list()).items():
        rows = frame.filter(pl.col("model") == model)
        figure.add_trace(
            go.Scatter(
                x=rows["as_of"].to_list(),
                y=rows[value].to_list(),
                name=model_label(model),
                mode="lines+markers",
                line={"color": color},
            )
        )
    figure.update_yaxes(title=title, tickformat=".0%" if percent else None, rangemode="tozero")
    figure.update_xaxes(title="forecast made on (as_of)")
    return charts._layout(figure, 320)


def horizon_bars(frame: pl.DataFrame, value: str, title: str, percent: bool) -> go.Figure:
    """Bars per horizon bucket, one per engine and trust level."""
    figure = go.Figure()
    colors = model_colors(frame["model"].to_list())
    for (model, trust), rows in frame.group_by("model", "trust_level", maintain_order=True):
        figure.add_trace(
            go.Bar(
                x=rows["horizon_bucket"].to_list(),
                y=rows[value].to_list(),
                name=f"{model_label(model)} {trust}",
                marker_color=colors[model],
                opacity={"HIGH": 1.0, "MEDIUM": 0.7}.get(trust, 0.45),
            )
        )
    figure.update_yaxes(title=title, tickformat=".0%" if percent else None, rangemode="tozero")
    figure.update_xaxes(title="days ahead", categoryorder="array", categoryarray=["1-7", "8-30", "31-90", "91-180"])
    return charts._layout(figure, 360, barmode="group")


def _filters(snapshot: Snapshot) -> queries.Filters:
    dimensions = queries.accuracy_dimensions(snapshot)
    resource, department = st.columns(2)
    with resource:
        resources = multiselect("Resource", dimensions["resource"].unique().sort(), "track_resource", "All resources")
    with department:
        departments = multiselect(
            "Department", dimensions["department"].unique().sort(), "track_department", "All departments"
        )
    return queries.Filters(resources=resources, departments=departments)


def _changes(snapshot: Snapshot) -> None:
    st.subheader("What changed since the last build")
    changes = queries.risk_changes(snapshot)
    if changes.is_empty():
        st.info("No change between the two latest forecast snapshots (or only one snapshot so far).")
        return
    first = changes.row(0, named=True)
    st.caption(f"Forecast of {first['current_as_of']} against that of {first['previous_as_of']}.")
    counts = changes.group_by("change_type").len().sort("change_type")
    for column, row in zip(st.columns(max(counts.height, 1)), counts.iter_rows(named=True), strict=False):
        column.metric(row["change_type"].replace("_", " ").capitalize(), f"{row['len']:,}")
    download_table(changes, "risk_changes", hosts_selectable=True)


def _accuracy(snapshot: Snapshot, filters: queries.Filters) -> None:
    st.subheader("Accuracy over time")
    st.caption(
        "Each earlier build's golden forecast against the actuals that arrived after it (observed days only). "
        "Band coverage should sit near the band's nominal 80%."
    )
    over_time = queries.accuracy_over_time(snapshot, filters)
    if over_time.is_empty():
        st.info("No actuals after any stored forecast yet: build again once new telemetry has arrived.")
        return
    wape, coverage = st.columns(2)
    with wape:
        figure = cached_figure(accuracy_lines, over_time, "wape", "WAPE (%)", False)
        st.plotly_chart(figure, key="track_wape", config=STATIC)
    with coverage:
        figure = cached_figure(accuracy_lines, over_time, "band_coverage", "band coverage", True)
        st.plotly_chart(figure, key="track_coverage", config=STATIC)
    st.subheader("By horizon, engine and trust level")
    by_horizon = queries.accuracy_by_horizon(snapshot, filters)
    wape, coverage = st.columns(2)
    with wape:
        figure = cached_figure(horizon_bars, by_horizon, "wape", "WAPE (%)", False)
        st.plotly_chart(figure, key="track_horizon_wape", config=STATIC)
    with coverage:
        figure = cached_figure(horizon_bars, by_horizon, "band_coverage", "band coverage", True)
        st.plotly_chart(figure, key="track_horizon_coverage", config=STATIC)
    with st.expander("Accuracy (table)"):
        download_table(by_horizon, "forecast_accuracy", column_config={"band_coverage": PERCENT})


def render(snapshot: Snapshot, present: frozenset[str]) -> None:
    st.title(TITLE)
    _changes(snapshot)
    _accuracy(snapshot, _filters(snapshot))
