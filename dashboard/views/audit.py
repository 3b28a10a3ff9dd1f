"""Model audit: which engine won where, how wrong each engine is, and whether its intervals keep their promise."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, queries
from dashboard.components import cached_figure, download_table, multiselect
from dashboard.style import model_label
from dashboard.warehouse import Snapshot

TITLE = "Model audit"
REQUIRES = frozenset({"model_audit", "model_leaderboard", "hosts"})
STATIC = {"displayModeBar": False}  # the modebar would sit on the legend
PERCENT = st.column_config.NumberColumn(format="percent")


def has_dna(dimensions: pl.DataFrame) -> bool:
    """A synthetic fleet's audit is split by DNA scenario; an own fleet's has only the 'ALL' roll-up."""
    return bool(dimensions.height) and set(dimensions["scenario"].to_list()) != {"ALL"}


def _filters(snapshot: Snapshot) -> queries.Filters:
    dimensions = queries.audit_dimensions(snapshot)
    if not has_dna(dimensions):  # your own fleet: no DNA to filter by
        resources = tuple(
            st.multiselect("Resource", queries.RESOURCES, key="audit_resource", placeholder="All resources")
        )
        return queries.Filters(resources=resources)
    resource, scenario, variant = st.columns(3)
    with resource:
        resources = tuple(
            st.multiselect("Resource", queries.RESOURCES, key="audit_resource", placeholder="All resources")
        )
    with scenario:
        scenarios = multiselect("DNA scenario", dimensions["scenario"], "audit_scenario", "All scenarios")
    with variant:
        variants = multiselect("Variant", dimensions["variant"], "audit_variant", "All variants")
    return queries.Filters(resources=resources, scenarios=scenarios, variants=variants)


def _win_metrics(wins: pl.DataFrame) -> None:
    columns = st.columns(max(wins.height, 1))
    for column, row in zip(columns, wins.iter_rows(named=True), strict=False):
        column.metric(f"{model_label(row['model'])} wins", f"{row['wins']:,}")
        column.caption(f"{row['win_share'] or 0:.1%} of {row['series']:,} series")
    unchampioned = unchampioned_series(wins)
    if unchampioned:
        st.caption(unchampioned_caption(unchampioned))


def unchampioned_caption(unchampioned: int) -> str:
    """What the series no engine won got: a young one a line or level, the others nothing (and a reason)."""
    return (
        f"{unchampioned:,} series have no champion: no engine could backtest them. Those too young for a "
        "backtest are forecast by a line or level of their own days instead (champion young_trend, LOW trust, "
        "not counted here); "
        "the rest have no forecast (the host view and `forecast_exclusions` say why)."
    )


def unchampioned_series(wins: pl.DataFrame) -> int:
    """Series counted in the audit that no engine won (the wins fall short of the series)."""
    if wins.is_empty():
        return 0
    return max(int(wins["series"].max() or 0) - int(wins["wins"].sum() or 0), 0)


def _wins(snapshot: Snapshot, filters: queries.Filters) -> None:
    st.subheader("Tournament wins by resource and DNA scenario")
    st.caption(
        "Share of each DNA group's series that each engine won (the champion of the backtest tournament); "
        "your own fleet has no DNA, so its one group is ALL."
    )
    wins = queries.wins_by_model(snapshot, filters)
    _win_metrics(wins)
    audit = queries.model_audit(snapshot, filters)
    resources = [r for r in queries.RESOURCES if r in set(audit["resource"].to_list())]
    if resources:
        st.plotly_chart(cached_figure(charts.wins_by_scenario, audit, resources), key="audit_wins", config=STATIC)
    with st.expander("Model audit (table)"):
        download_table(
            audit,
            "model_audit",
            column_config={
                "win_share": PERCENT,
                "interval_coverage": PERCENT,
                "nominal_coverage": PERCENT,
                "calibrated_coverage": PERCENT,
                "median_mape": st.column_config.NumberColumn(format="%.2f"),
            },
        )


def _mape(snapshot: Snapshot, filters: queries.Filters) -> None:
    st.subheader("Backtest MAPE distribution")
    st.caption("Boxes: quartiles and median; whiskers: 5th to 95th percentile; dashed: mean. Computed in DuckDB.")
    quantiles = queries.mape_quantiles(snapshot, filters)
    if quantiles.is_empty():
        st.info("No finite MAPE for this selection.")
        return
    st.plotly_chart(cached_figure(charts.mape_boxes, quantiles), key="audit_mape", config=STATIC)
    with st.expander("MAPE quantiles (table)"):
        download_table(quantiles, "mape_quantiles")


def _coverage(snapshot: Snapshot, filters: queries.Filters) -> None:
    st.subheader("Interval coverage: nominal vs measured")
    st.caption(
        "Share of backtest actuals inside each engine's own interval, and inside that interval once calibrated "
        "(the conformal stretch each engine's band would get, learned on the other half of the hosts: "
        "cross-fitted, out of sample), whether or not the engine is champion; averages weighted by series."
    )
    frame = queries.coverage(snapshot, filters)
    st.plotly_chart(cached_figure(charts.coverage_bars, frame), key="audit_coverage", config=STATIC)
    with st.expander("Coverage (table)"):
        download_table(
            frame,
            "interval_coverage",
            column_config={name: PERCENT for name in ("nominal_coverage", "measured_coverage", "calibrated_coverage")},
        )


def render(snapshot: Snapshot, present: frozenset[str]) -> None:
    st.title(TITLE)
    filters = _filters(snapshot)
    _wins(snapshot, filters)
    _mape(snapshot, filters)
    _coverage(snapshot, filters)
