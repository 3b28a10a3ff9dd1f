"""Host deep dive: one host's history, both engines' backtests, the golden forecast band and its first breach."""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import charts, queries, warehouse
from dashboard.components import BREACH_COLUMNS, HOST_KEY, HOST_VIEW, csv_bytes, download_table, file_safe, md
from dashboard.style import days, model_label
from dashboard.warehouse import Snapshot

TITLE = HOST_VIEW
#: Without the forecasting marts (a partial build) the deep dive still shows each series' history.
REQUIRES = frozenset({"hosts", "processed_data", "forecast_windows"})
PICK_KEY = "host_pick"
RESOURCE_KEY = "resource"


def _label(row: dict) -> str:
    return f"{row['hostname']} · {row['department']} · {row['environment']} · {row['host_id']}"


def _choose_host(snapshot: Snapshot, present: frozenset[str]) -> dict | None:
    text = st.text_input(
        "Host UUID or hostname", key=HOST_KEY, bind="query-params", placeholder="a host UUID, or part of a hostname"
    ).strip()
    if text:
        candidates = queries.search_hosts(snapshot, text)
        if candidates.is_empty():
            # The search text stays in the box above; it is not echoed into markdown.
            st.warning("No host has this id, and no hostname contains this text.")
            return None
    elif "capacity_risks" in present:
        candidates = queries.soonest_hosts(snapshot)
        st.caption("Type to search; until then, these are the hosts that breach soonest.")
        if candidates.is_empty():
            st.info("No host is at risk. Search for one by id or hostname.")
            return None
    else:
        st.info("Search for a host by id or hostname.")
        return None
    rows = {row["host_id"]: row for row in candidates.iter_rows(named=True)}
    if st.session_state.get(PICK_KEY) not in rows:
        st.session_state[PICK_KEY] = next(iter(rows))
    host_id = st.selectbox(f"Host ({len(rows)} found)", list(rows), key=PICK_KEY, format_func=lambda h: _label(rows[h]))
    return rows[host_id]


def host_facts(host: dict) -> list[str]:
    """The host's inventory facts for its header. Own fleets may lack the application name, environment and
    hardware columns: a missing fact is left out, never shown as "None"."""
    hardware = [
        f"{host[column]} {unit}"
        for column, unit in (("cpu_cores", "cores"), ("memory_gb", "GB memory"), ("storage_gb", "GB storage"))
        if host.get(column) is not None
    ]
    application = " ".join(str(part) for part in (host.get("app_code"), host.get("app_name")) if part is not None)
    facts = [
        host.get("host_id"),
        host.get("department"),
        application or None,
        f"manager {host['app_manager']}" if host.get("app_manager") is not None else None,
        host.get("region"),
        host.get("environment"),
        ", ".join(hardware) or "hardware unknown",
    ]
    if host.get("scenario") is not None:  # synthetic fleets only
        facts.append(f"DNA {host['scenario']} {host.get('variant') or ''}".strip())
    return [str(fact) for fact in facts if fact is not None]


def _host_header(snapshot: Snapshot, host: dict, present: frozenset[str]) -> None:
    st.subheader(md(host["hostname"]))
    st.caption(" · ".join(md(fact) for fact in host_facts(host)))
    if "fleet_health" not in present:
        return
    health = queries.host_health(snapshot, host["host_id"])
    if health.is_empty():
        return
    row = health.row(0, named=True)
    status, worst, days = st.columns(3)
    status.metric("Status", row["status"], help=md(row["status_reason"]))
    worst.metric("Worst resource", row["worst_resource"] or "—")
    until = row["days_to_upper_breach"]
    days.metric("Days until full", "—" if until is None else f"{until:,}", help="Upper bound, any resource")
    st.caption(f"Status reason: {md(row['status_reason'])}")


def _basis(basis: str, threshold: float) -> str:
    """capacity_risks.breach_basis in words."""
    if basis == "band":
        return f"the band (upper bound above {threshold:g}%, forecast below)"
    if basis == "recurring peaks":
        return (
            f"its recurring peaks (days over {threshold:g}% in the last year come often enough that another within "
            "the window is likelier than not; no forecast of the level places them on a day)"
        )
    if basis == "growth upside":
        return (
            "the growth upside (its growth over the last 36 weeks, or two years, fits a compounding curve that "
            f"passes {threshold:g}%; the forecast itself stays below)"
        )
    return f"the point forecast (itself above {threshold:g}%)"


def _unflagged_why(days_ahead: int, window_days: int) -> str:
    """Why an upper bound that crosses the threshold is not a breach alert (the host's status says which rule)."""
    if days_ahead <= window_days:
        return f"within the {window_days}-day breach window but not flagged by the alert rule (see the status)"
    return "beyond the breach window"


def _last_actual(history: pl.DataFrame) -> float | None:
    """The series' last measured (not filled) value."""
    measured = history.filter(~pl.col("is_imputed").fill_null(False)) if "is_imputed" in history.columns else history
    return measured.sort("ds")["y"][-1] if measured.height else None


def trust_text(first: dict) -> str:
    """How far to trust a series' forecast, from its first forecast row: trust, champion, MAPE and why."""
    trust = f"trust {md(first['trust_level'])}, champion {md(model_label(first['champion_model']))}"
    if first["backtest_mape"] is not None:
        trust += f", backtest MAPE {first['backtest_mape']:.1f}%"
    if first.get("is_regime_override") or first["champion_model"] == "young_trend":
        # The planner sees why the backtest winner was overruled (a recent break, trend or compounding growth),
        # or why a young series is LOW with no MAPE (how young it is: no backtest, a line or level).
        trust += f"; {md(first['champion_reason'])}"
    if first.get("band_source") == "history":
        trust += (
            "; band: its own range over the last year (a steady year, or one that repeated the year before, "
            "whose range beat the engine's band)"
        )
    return trust


def _breach_callout(
    resource: str,
    forecast: pl.DataFrame,
    risk: dict | None,
    today: date,
    rules: tuple[float, int],
    last_actual: float | None = None,
    no_forecast_why: str | None = None,
) -> date | None:
    """Say when (and how trustworthy) the first breach is, against the build's (threshold, window days); return
    its date for the chart."""
    threshold, window_days = rules
    if forecast.is_empty():
        why = f" ({md(no_forecast_why)})" if no_forecast_why else ""
        st.info(f"{md(resource)}: no golden forecast for this series{why}.")
        return None
    first = forecast.row(0, named=True)
    trust = trust_text(first)
    if risk is not None:
        already = (
            f"**{md(resource)}: already over {threshold:g}% (last actual {last_actual:.1f}%)**; "
            if last_actual is not None and last_actual > threshold
            else ""
        )
        when = (
            f"another peak over {threshold:g}% likelier than not by {risk['first_breach_date']:%Y-%m-%d}"
            if risk["breach_basis"] == "recurring peaks"
            else f"first breach {risk['first_breach_date']:%Y-%m-%d}"
        )
        st.error(
            f"{already}**{md(resource)}: {when}, "
            f"in {days(risk['days_to_breach'])}** "
            f"(flagged by {_basis(risk['breach_basis'], threshold)}; "
            f"breach probability {risk['breach_probability']:.0%}; "
            f"{window_days}-day peak {risk['peak_yhat_upper']:.1f}%; {trust})",
            icon=":material/warning:",
        )
        return risk["first_breach_date"]
    later = forecast.filter(pl.col("yhat_upper") > threshold)
    if not later.is_empty():
        when = later["ds"].min()
        st.warning(
            f"**{md(resource)}: upper bound crosses {threshold:g}% on {when:%Y-%m-%d}, "
            f"in {days((when - today).days)}**, {_unflagged_why((when - today).days, window_days)} ({trust})",
            icon=":material/schedule:",
        )
        return when
    peak = forecast["yhat_upper"].max()
    st.success(f"{md(resource)}: no breach within the forecast horizon; upper bound peaks at {peak:.1f}% ({trust})")
    return None


def _resource_tab(
    snapshot: Snapshot,
    host_id: str,
    resource: str,
    data: dict[str, pl.DataFrame],
    windows: queries.Windows,
    risks: dict[str, dict],
    rules: tuple[float, int],
) -> None:
    def of(name: str) -> pl.DataFrame:
        return data[name].filter(pl.col("resource") == resource)

    excluded = queries.host_exclusions(snapshot, host_id, warehouse.tables(snapshot)).get(resource)
    breach = _breach_callout(
        resource, of("forecast"), risks.get(resource), windows.history_end, rules, _last_actual(of("history")), excluded
    )
    risk = risks.get(resource)
    label = "another peak likely by" if risk and risk.get("breach_basis") == "recurring peaks" else "first breach"
    figure = _chart(snapshot.path, snapshot.version, host_id, resource, breach, rules[0], label)
    # No modebar (it covers the breach label): drag to zoom, double-click to reset.
    st.plotly_chart(figure, key=f"host_chart_{resource}", config={"displayModeBar": False, "scrollZoom": False})


def _host_data(snapshot: Snapshot, host_id: str) -> dict[str, pl.DataFrame]:
    present = warehouse.tables(snapshot)
    return {
        "history": queries.host_history(snapshot, host_id),
        "backtests": queries.host_backtests(snapshot, host_id, present),
        "forecast": queries.host_forecast(snapshot, host_id, present),
    }


@st.cache_resource(max_entries=64, show_spinner=False)
def _chart(
    path: str,
    version: str,
    host_id: str,
    resource: str,
    first_breach: date | None,
    threshold: float,
    breach_label: str = "first breach",
) -> go.Figure:
    """The resource's figure, built once per published version: building plotly figures costs more than the
    (cached) queries. Shared read-only between sessions."""
    snapshot = Snapshot(path, version)
    windows = queries.windows(snapshot)
    data = {name: frame.filter(pl.col("resource") == resource) for name, frame in _host_data(snapshot, host_id).items()}
    series = charts.HostSeries(
        resource=resource,
        history=data["history"],
        backtests=data["backtests"],
        forecast=data["forecast"],
        today=windows.history_end,
        backtest_start=windows.backtest_start,
        backtest_end=windows.backtest_end,
        forecast_end=windows.forecast_end,
        threshold=threshold,
        first_breach=first_breach,
        breach_label=breach_label,
    )
    return charts.host_resource_chart(series)


def _outlook(data: dict[str, pl.DataFrame], risks: dict[str, dict], today: date, threshold: float) -> pl.DataFrame:
    """One row per resource: champion, trust, and when (if ever) the golden upper bound crosses the threshold."""
    rows = []
    for resource in queries.RESOURCES:
        forecast = data["forecast"].filter(pl.col("resource") == resource)
        if forecast.is_empty():
            continue
        first = forecast.row(0, named=True)
        risk = risks.get(resource)
        crossing = forecast.filter(pl.col("yhat_upper") > threshold)["ds"].min()
        breach = risk["first_breach_date"] if risk else crossing
        rows.append(
            {
                "resource": resource,
                "first_breach_date": breach,
                "days_to_breach": (breach - today).days if breach else None,
                "in_breach_window": risk is not None,
                "breach_basis": risk["breach_basis"] if risk else None,
                "breach_probability": risk["breach_probability"] if risk else None,
                "peak_yhat_upper": forecast["yhat_upper"].max(),
                "champion_model": first["champion_model"],
                "trust_level": first["trust_level"],
                "backtest_mape": first["backtest_mape"],
            }
        )
    return pl.DataFrame(rows)


def _series_download(host: dict, data: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """History, backtests and golden forecast of the host in one long table."""
    history = data["history"].select(
        "resource",
        "ds",
        # A filled day (interpolated, or carried forward from a silent host) is no measurement.
        pl.when(pl.col("is_imputed").fill_null(False))
        .then(pl.lit("filled (no data)"))
        .otherwise(pl.lit("actual"))
        .alias("series"),
        pl.col("y").alias("value"),
        pl.lit(None, pl.Float64).alias("lower"),
        pl.lit(None, pl.Float64).alias("upper"),
    )
    backtests = data["backtests"].select(
        "resource",
        "ds",
        (pl.col("model") + " backtest").alias("series"),
        pl.col("yhat").alias("value"),
        pl.col("yhat_lower").alias("lower"),
        pl.col("yhat_upper").alias("upper"),
    )
    forecast = data["forecast"].select(
        "resource",
        "ds",
        pl.lit("golden forecast").alias("series"),
        pl.col("yhat").alias("value"),
        pl.col("yhat_lower").alias("lower"),
        pl.col("yhat_upper").alias("upper"),
    )
    combined = pl.concat([history, backtests, forecast], how="vertical_relaxed")
    return combined.with_columns(pl.lit(host["hostname"]).alias("hostname")).sort("resource", "series", "ds")


def render(snapshot: Snapshot, present: frozenset[str]) -> None:
    st.title(TITLE)
    host = _choose_host(snapshot, present)
    if host is None:
        return
    _host_header(snapshot, host, present)
    host_id = host["host_id"]
    windows = queries.windows(snapshot)
    data = _host_data(snapshot, host_id)
    if "forecasts" not in present:
        st.info(
            "This serving copy has no golden `forecasts` yet (a partial build): showing history only. "
            "`make run` builds the forecasts and risk marts.",
            icon=":material/info:",
        )
    rules = queries.breach_threshold(snapshot, present), queries.breach_window_days(snapshot, present)
    risks: dict[str, dict] = {}
    if "capacity_risks" in present:
        risks = {row["resource"]: row for row in queries.host_risks(snapshot, host_id).iter_rows(named=True)}
    st.caption(
        f'History to {windows.history_end:%Y-%m-%d} (the last data day: "in N days" counts from it); shaded: the '
        "backtest window "
        f"{windows.backtest_start:%Y-%m-%d} to {windows.backtest_end:%Y-%m-%d}; golden forecast to "
        f"{windows.forecast_end:%Y-%m-%d}."
    )
    outlook = _outlook(data, risks, windows.history_end, rules[0])
    if not outlook.is_empty():
        download_table(
            outlook,
            f"outlook_{file_safe(host['hostname'])}",
            column_config={
                "first_breach_date": st.column_config.DateColumn("First breach"),
                "days_to_breach": st.column_config.NumberColumn("Days until full", format="%d"),
                "in_breach_window": st.column_config.CheckboxColumn(
                    "Alerted", help="Flagged by the breach alert (a capacity_risks row)"
                ),
                **BREACH_COLUMNS,
                "peak_yhat_upper": st.column_config.NumberColumn(
                    f"Peak upper ({(windows.forecast_end - windows.history_end).days} d)", format="%.1f%%"
                ),
                "backtest_mape": st.column_config.NumberColumn("Backtest MAPE", format="%.1f%%"),
            },
        )
    labels = [r.upper() for r in queries.RESOURCES]
    soonest = outlook.drop_nulls("days_to_breach").sort("days_to_breach") if not outlook.is_empty() else outlook
    default = soonest["resource"][0].upper() if not soonest.is_empty() else None
    # Only the open tab runs (and draws its chart): a view stays fast however many resources there are.
    tabs = st.tabs(labels, default=default, key=RESOURCE_KEY, bind="query-params")
    for tab, resource in zip(tabs, queries.RESOURCES, strict=True):
        if tab.open:
            with tab:
                _resource_tab(snapshot, host_id, resource, data, windows, risks, rules)
    if "model_leaderboard" in present:
        st.subheader("Tournament for this host")
        download_table(
            queries.host_leaderboard(snapshot, host_id),
            f"leaderboard_{file_safe(host['hostname'])}",
            column_config={
                "coverage": st.column_config.NumberColumn("Coverage", format="percent"),
                "run_error": st.column_config.TextColumn(
                    "Why not run", help="e.g. 'constant series: every observed value is 98' for insufficient_history"
                ),
                "mape": st.column_config.NumberColumn("MAPE %", format="%.2f"),
                "wape": st.column_config.NumberColumn("WAPE %", format="%.2f"),
                "mae": st.column_config.NumberColumn("MAE", format="%.2f"),
                "bias": st.column_config.NumberColumn("Bias", format="%+.2f"),
            },
        )
    st.download_button(
        "Download this host's series (CSV)",
        data=csv_bytes(_series_download(host, data)),
        file_name=f"series_{file_safe(host['hostname'])}.csv",
        mime="text/csv",
        key="download-host-series",
        on_click="ignore",
    )
