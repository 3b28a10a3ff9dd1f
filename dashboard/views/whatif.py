"""What-if: a scenario (scope and effect picked with sliders) applied to the golden forecasts, baseline vs scenario.

The SQL is python_engines.whatif's, rendered from macros/whatif.sql: the formula and breach rule of the dbt
scenario models, computed in DuckDB on the serving copy. The scenario reaches DuckDB only as bound parameters;
the rule values come from the ``whatif_rules`` table the build published.
"""

from __future__ import annotations

from datetime import date

import duckdb
import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import charts, queries
from dashboard.components import download_table, md
from dashboard.style import STATUS_COLORS
from dashboard.warehouse import Snapshot, query
from python_engines import whatif

TITLE = "What-if"
REQUIRES = whatif.REQUIRED_TABLES
SCOPE_LABELS: dict[str, str] = {
    "fleet": "Whole fleet",
    "department": "Department",
    "app_code": "Application",
    "host": "Host",
    "resource": "Resource",
}
SCENARIO_COLOR = "#9467bd"
BASELINE_COLOR = "#1f77b4"


def rules(snapshot: Snapshot) -> whatif.Rules:
    row = query(snapshot, "select * from whatif_rules").row(0, named=True)
    stale = not query(snapshot, "select 1 from information_schema.tables where table_name = 'stale_hosts'").is_empty()
    return whatif.rules_from_row(row, stale)


def host_comparison(snapshot: Snapshot, scenario: whatif.Scenario) -> pl.DataFrame:
    return query(snapshot, whatif.host_comparison_query(rules(snapshot)), scenario.params)


def host_curve(snapshot: Snapshot, scenario: whatif.Scenario, host_id: str) -> pl.DataFrame:
    return query(snapshot, whatif.host_curve_sql(), [*scenario.params, host_id])


def department_summary(hosts: pl.DataFrame) -> pl.DataFrame:
    """scenario_department_summary's roll-up (the same macro) over the host comparison already fetched."""
    with duckdb.connect(":memory:") as con:
        con.register("hosts_compared", hosts)
        sql = whatif.department_summary_sql("hosts_compared") + " order by hosts_turning_red desc, department"
        return con.sql(sql).pl()


def _scope_choices(snapshot: Snapshot, kind: str) -> list[str]:
    column = {"department": "department", "app_code": "app_code", "host": "hostname"}.get(kind)
    if column is None:
        return list(whatif.RESOURCES) if kind == "resource" else []
    return query(snapshot, f"select distinct {column} as value from hosts order by 1")["value"].to_list()


def _scenario(snapshot: Snapshot) -> whatif.Scenario:
    windows = queries.windows(snapshot)
    kind_column, value_column, resource_column, start_column = st.columns([1, 2, 1, 1])
    kind = kind_column.selectbox("Scope", list(SCOPE_LABELS), key="whatif_scope", format_func=SCOPE_LABELS.get)
    value = None
    if kind != "fleet":
        # Not "whatif_<kind>": whatif_host and whatif_resource are other widgets' keys on this page.
        value = value_column.selectbox(SCOPE_LABELS[kind], _scope_choices(snapshot, kind), key=f"whatif_scope_{kind}")
    if kind == "resource":  # the scope is the resource the effect applies to
        resource = "all"
        resource_column.caption(f"Effect on: {value} only (the scope)")
    else:
        resource = resource_column.selectbox("Effect on", ["all", *whatif.RESOURCES], key="whatif_resource")
    start = start_column.date_input(
        "From",
        value=windows.forecast_start,
        min_value=windows.forecast_start,
        max_value=windows.forecast_end,
        key="whatif_start",
    )
    growth_column, points_column, pct_column, capacity_column = st.columns(4)
    growth = growth_column.slider(
        "Extra growth, % per month", -20.0, 50.0, 0.0, 1.0, key="whatif_growth", help="Compounds from the start"
    )
    points = points_column.slider("Added load, points", -50.0, 50.0, 0.0, 1.0, key="whatif_points")
    pct = pct_column.slider("Added load, % of load", -50.0, 100.0, 0.0, 5.0, key="whatif_pct")
    capacity = capacity_column.slider(
        "Capacity factor (new / old)", 0.25, 4.0, 1.0, 0.25, key="whatif_capacity", help="Cores x2 = 2"
    )
    return whatif.Scenario(
        scenario_name="dashboard",
        scope_kind=kind,
        scope_value=value,
        resource=resource,
        start_date=start if isinstance(start, date) else windows.forecast_start,
        growth_pct_per_month=growth,
        step_points=points,
        step_pct=pct,
        capacity_factor=capacity,
    )


def _rag_metrics(hosts: pl.DataFrame) -> None:
    columns = st.columns(4)
    columns[0].metric("Hosts in scope", f"{hosts.height:,}")
    for column, status in zip(columns[1:], STATUS_COLORS, strict=True):
        baseline = hosts.filter(pl.col("baseline_status") == status).height
        scenario = hosts.filter(pl.col("scenario_status") == status).height
        column.metric(
            f"{status} (scenario)",
            f"{scenario:,}",
            delta=f"{scenario - baseline:+,} vs baseline {baseline:,}",
            delta_color="off" if status == "AMBER" else ("inverse" if status == "RED" else "normal"),
        )


def curve_figure(curve: pl.DataFrame, resource: str, threshold: float) -> go.Figure:
    """One series under the baseline and the scenario: point forecasts and bands, and the breach threshold."""
    series = curve.filter(pl.col("resource") == resource).sort("ds")
    figure = go.Figure()
    for prefix, name, color, fill in (
        ("", "Baseline", BASELINE_COLOR, "rgba(31, 119, 180, 0.15)"),
        ("scenario_", "Scenario", SCENARIO_COLOR, "rgba(148, 103, 189, 0.18)"),
    ):
        ds = series["ds"].to_list()
        figure.add_trace(
            go.Scatter(
                x=ds + ds[::-1],
                y=series[f"{prefix}yhat_upper"].to_list() + series[f"{prefix}yhat_lower"].to_list()[::-1],
                fill="toself",
                fillcolor=fill,
                line={"width": 0},
                hoverinfo="skip",
                name=f"{name} band",
            )
        )
        figure.add_trace(
            go.Scatter(x=ds, y=series[f"{prefix}yhat"].to_list(), name=name, line={"color": color, "width": 2})
        )
    figure.add_hline(y=threshold, line={"color": charts.THRESHOLD_COLOR, "dash": "dash"})
    figure.update_yaxes(title=f"{resource} utilisation %", range=[0, 105])
    return figure.update_layout(
        template="plotly_white",
        font=charts.FONT,
        height=360,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    )


def _host_curve(snapshot: Snapshot, scenario: whatif.Scenario, hosts: pl.DataFrame, changed: pl.DataFrame) -> None:
    st.subheader("One host under both")
    candidates = changed if not changed.is_empty() else hosts.sort("hostname")
    labels = dict(zip(candidates["host_id"].to_list(), candidates["hostname"].to_list(), strict=True))
    host_column, resource_column = st.columns([3, 1])
    host_id = host_column.selectbox("Host", list(labels), key="whatif_host", format_func=labels.get)
    if host_id is None:
        return
    curve = host_curve(snapshot, scenario, host_id)
    if curve.is_empty():
        st.info("This host has no golden forecast.")
        return
    row = hosts.filter(pl.col("host_id") == host_id).row(0, named=True)
    resources = sorted(set(curve["resource"].to_list()), key=whatif.RESOURCES.index)
    default = row["scenario_breach_resource"] if row["scenario_breach_resource"] in resources else resources[0]
    resource = resource_column.selectbox("Resource", resources, index=resources.index(default), key="whatif_curve")
    st.caption(
        f"{md(row['hostname'])}: {row['baseline_status']} → {row['scenario_status']} "
        f"(dashed line: the {rules(snapshot).breach_threshold:g}% breach threshold)"
    )
    st.plotly_chart(
        curve_figure(curve, resource, rules(snapshot).breach_threshold),
        key="whatif_curve_chart",
        config={"displayModeBar": False},
    )


def _capped_warning(hosts: pl.DataFrame, scenario: whatif.Scenario) -> None:
    capped = whatif.capped_hosts(hosts)
    if capped and scenario.lowers_load:
        st.warning(
            f"{capped:,} host(s) in scope have a forecast band at 100% within the window: a host that is full "
            "cannot show how much more it would use, so the scenario keeps those days at 100% rather than invent "
            "a load (size them on the right-sizing view, which says 'at least' for them).",
            icon=":material/info:",
        )


def render(snapshot: Snapshot, present: frozenset[str]) -> None:
    st.title(TITLE)
    st.caption(
        "Apply a scenario to the golden forecasts and their bands, without refitting: load compounding by the "
        "extra growth per month from the start date, plus the added load, divided by the capacity factor, "
        "clipped to 0..100. Breaches and statuses follow the same rules as Fleet health. To keep a scenario, add "
        "it to seeds/whatif_scenarios.csv (or run `horizonscale whatif`)."
    )
    upside_free = query(
        snapshot,
        "select 1 from information_schema.columns where table_name = 'forecasts' and column_name = ?",
        (whatif.UPSIDE_FREE_COLUMN,),
    )
    if upside_free.is_empty():
        st.warning(f"Scenarios cannot run: {whatif.OLD_COPY_MESSAGE}.")
        return
    scenario = _scenario(snapshot)
    hosts = host_comparison(snapshot, scenario)
    if hosts.is_empty():
        st.info("No host is in this scope.")
        return
    _rag_metrics(hosts)
    _capped_warning(hosts, scenario)
    changed = whatif.changed_hosts(hosts)
    st.subheader(f"Hosts whose status or breach date changes ({changed.height:,})")
    download_table(
        changed.select(
            "hostname",
            "department",
            "app_code",
            "baseline_status",
            "scenario_status",
            "scenario_status_reason",
            "baseline_breach_date",
            "scenario_breach_date",
            "days_earlier",
            "scenario_breach_resource",
            "scenario_peak_yhat_upper",
            "host_id",
        ),
        "whatif_changed_hosts",
        hosts_selectable=True,
        column_config={
            "baseline_status": st.column_config.TextColumn("Baseline"),
            "scenario_status": st.column_config.TextColumn("Scenario"),
            "scenario_status_reason": st.column_config.TextColumn(
                "Why (scenario)", help="an AMBER with no breach date says which crossing made it AMBER"
            ),
            "baseline_breach_date": st.column_config.DateColumn("Baseline breach"),
            "scenario_breach_date": st.column_config.DateColumn("Scenario breach"),
            "days_earlier": st.column_config.NumberColumn("Days earlier", format="%d"),
            "scenario_breach_resource": st.column_config.TextColumn("Breaching resource"),
            "scenario_peak_yhat_upper": st.column_config.ProgressColumn(
                "Scenario peak upper (window)", min_value=0, max_value=100, format="%.1f%%"
            ),
        },
    )
    _host_curve(snapshot, scenario, hosts, changed)
    with st.expander("By department"):
        download_table(department_summary(hosts).drop("scenario_name"), "whatif_departments")
