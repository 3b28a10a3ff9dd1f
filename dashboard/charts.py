"""Plotly figures, each a pure function of small, already aggregated frames (no Streamlit here)."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import date, timedelta

import plotly.graph_objects as go
import polars as pl

from dashboard.style import STATUS_COLORS, days, model_colors, model_label

RESOURCES = ("cpu", "memory", "disk", "network")
FONT = {"family": "Inter, Segoe UI, Helvetica, Arial, sans-serif", "size": 13}
BAND_FILL = "rgba(31, 119, 180, 0.18)"
THRESHOLD_COLOR = "#d62728"


def plain(text: object) -> str:
    """A label from the data, escaped so plotly shows it literally (its labels understand <a>, <b>, ...)."""
    return html.escape(str(text), quote=False)


def _layout(figure: go.Figure, height: int, **extra: object) -> go.Figure:
    settings: dict[str, object] = {
        "template": "plotly_white",
        "font": FONT,
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    }
    figure.update_layout(**(settings | extra))
    return figure


# --- fleet health -----------------------------------------------------------------------------------------------


def rag_donut(counts: dict[str, int]) -> go.Figure:
    statuses = [status for status in STATUS_COLORS if counts.get(status)]
    figure = go.Figure(
        go.Pie(
            labels=statuses,
            values=[counts[status] for status in statuses],
            hole=0.62,
            sort=False,
            marker={"colors": [STATUS_COLORS[status] for status in statuses]},
            textinfo="percent",
            hovertemplate="%{label}: %{value:,} hosts (%{percent})<extra></extra>",
        )
    )
    total = sum(counts.values())
    figure.add_annotation(text=f"<b>{total:,}</b><br>hosts", showarrow=False, font={"size": 18})
    return _layout(figure, 320, showlegend=False, title={"text": "Share of hosts", "font": {"size": 15}})


def rag_by_department(frame: pl.DataFrame) -> go.Figure:
    ordered = frame.sort(["red", "amber", "department"], descending=[False, False, True])
    figure = go.Figure(
        [
            go.Bar(
                y=[plain(department) for department in ordered["department"].to_list()],
                x=ordered[status.lower()].to_list(),
                name=status,
                orientation="h",
                marker_color=color,
                hovertemplate="%{y}: %{x:,} " + status + " hosts<extra></extra>",
            )
            for status, color in STATUS_COLORS.items()
        ]
    )
    figure.update_xaxes(title="hosts")
    return _layout(
        figure,
        max(320, 28 * frame.height + 100),
        barmode="stack",
        title={"text": "Hosts by department and status", "font": {"size": 15}},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 1, "xanchor": "right"},
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )


# --- risk heatmap -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Matrix:
    rows: list[str]
    columns: list[str]
    values: list[list[float | None]]
    text: list[list[str]]
    hosts: list[list[int | None]]


def pivot_matrix(frame: pl.DataFrame, value: str, total_label: str, column_order: list[str] | None = None) -> Matrix:
    """Long cells (row_key, column_key, hosts, hosts_at_risk, share_at_risk) to a grid; riskiest rows first.

    Columns follow ``column_order`` (then any others, sorted); the total column comes last.
    """
    totals = frame.filter(pl.col("column_key") == total_label).sort(
        ["hosts_at_risk", "row_key"], descending=[True, False]
    )
    rows = totals["row_key"].to_list()
    present = set(frame["column_key"].to_list()) - {total_label}
    ordered = [key for key in column_order or [] if key in present]
    columns = [*ordered, *sorted(present - set(ordered)), total_label]
    cells = {(r["row_key"], r["column_key"]): r for r in frame.iter_rows(named=True)}
    values, text, hosts = [], [], []
    for row in rows:
        row_cells = [cells.get((row, column)) for column in columns]
        values.append([cell[value] if cell else None for cell in row_cells])
        hosts.append([cell["hosts"] if cell else None for cell in row_cells])
        text.append([_cell_text(cell, value) for cell in row_cells])
    return Matrix(rows, columns, values, text, hosts)


def _cell_text(cell: dict | None, value: str) -> str:
    if cell is None:
        return ""
    if value == "share_at_risk":
        return f"{cell['share_at_risk']:.0%}"
    return f"{cell['hosts_at_risk']:,}"


def risk_heatmap(matrix: Matrix, value: str) -> go.Figure:
    """Cells colored by hosts at risk (or share). The total column is left uncolored, its numbers written in
    bold, so that it cannot wash out the scale of the cells."""
    is_share = value == "share_at_risk"
    z = [[*row[:-1], None] for row in matrix.values]
    peak = max((cell for row in z for cell in row if cell is not None), default=0)
    if is_share:
        scale = {"zmax": max(peak, 0.01), "colorbar": {"title": "share", "tickformat": ".0%"}}
    else:  # whole hosts on the scale, whatever the peak
        scale = {
            "zmax": max(peak, 1),
            "colorbar": {"title": "hosts", "tickformat": ",d", "dtick": max(1, math.ceil(peak / 5))},
        }
    heatmap = go.Heatmap(
        x=[plain(column) for column in matrix.columns],
        y=[plain(row) for row in matrix.rows],
        z=z,
        text=matrix.text,
        customdata=matrix.hosts,
        texttemplate="%{text}",
        colorscale="Reds",
        zmin=0,
        **scale,
        hovertemplate="%{y} · %{x}<br>%{text} at risk of %{customdata:,} hosts<extra></extra>",
        hoverongaps=False,
        xgap=2,
        ygap=2,
    )
    figure = go.Figure([heatmap, _click_targets(matrix)])
    total = matrix.columns[-1]
    for row, text in zip(matrix.rows, matrix.text, strict=True):
        figure.add_annotation(x=plain(total), y=plain(row), text=f"<b>{text[-1]}</b>", showarrow=False)
    figure.update_yaxes(autorange="reversed", type="category", showgrid=False)
    figure.update_xaxes(side="top", type="category", showgrid=False)
    return _layout(figure, max(320, 34 * len(matrix.rows) + 110), clickmode="event+select", dragmode=False)


def _click_targets(matrix: Matrix) -> go.Scatter:
    """Heatmaps cannot be selected in plotly; an invisible marker at each cell centre turns a click into a
    selection that Streamlit hands back to the app."""
    return go.Scatter(
        x=[plain(column) for _ in matrix.rows for column in matrix.columns],
        y=[plain(row) for row in matrix.rows for _ in matrix.columns],
        mode="markers",
        marker={"size": 30, "opacity": 0, "symbol": "square"},
        hoverinfo="skip",
        showlegend=False,
    )


# --- right-sizing -----------------------------------------------------------------------------------------------

GIVE_BACK_COLOR, ADD_COLOR = "#2ca02c", "#d62728"
#: Per sized resource: the roll-up columns of what downsizes give back and upsizes add.
SIZING_COLUMNS: dict[str, tuple[str, str]] = {
    "cpu": ("reclaimable_cores", "cores_to_add"),
    "memory": ("reclaimable_memory_gb", "memory_gb_to_add"),
    "disk": ("reclaimable_disk_gb", "disk_gb_to_add"),
}


def sizing_by_group(frame: pl.DataFrame, resource: str, unit: str, top: int = 15) -> go.Figure:
    """Capacity to give back and to add per owner (the ``top`` owners by the larger of the two), one resource."""
    give_back, add = SIZING_COLUMNS[resource]
    ordered = (
        frame.with_columns(size=pl.max_horizontal(give_back, add))
        .sort(["size", "owner"], descending=[True, False])
        .head(top)
        .reverse()  # horizontal bars draw bottom-up: the largest owner on top
    )
    owners = [plain(owner) for owner in ordered["owner"].to_list()]
    figure = go.Figure(
        [
            go.Bar(
                y=owners,
                x=ordered[column].to_list(),
                name=f"{unit} {label}",
                orientation="h",
                marker_color=color,
                hovertemplate="%{y}: %{x:,} " + unit + " " + label + "<extra></extra>",
            )
            for column, label, color in ((give_back, "to give back", GIVE_BACK_COLOR), (add, "to add", ADD_COLOR))
        ]
    )
    figure.update_xaxes(title=unit)
    return _layout(
        figure,
        max(320, 34 * ordered.height + 100),
        barmode="group",
        title={"text": f"{resource}: {unit} to give back and to add", "font": {"size": 15}},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 1, "xanchor": "right"},
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )


# --- model audit ------------------------------------------------------------------------------------------------


def wins_by_scenario(audit: pl.DataFrame, resources: list[str]) -> go.Figure:
    """Share of series each engine won, per DNA scenario and variant; one panel per resource."""
    from plotly.subplots import make_subplots

    frame = audit.with_columns(
        dna=(
            pl.col("scenario").fill_null("no DNA") + pl.lit(" · ") + pl.col("variant").fill_null("").str.to_lowercase()
        ).map_elements(plain, return_dtype=pl.String)
    )
    categories = sorted(frame["dna"].unique().to_list(), reverse=True)
    figure = make_subplots(
        rows=1, cols=len(resources), shared_yaxes=True, subplot_titles=resources, horizontal_spacing=0.02
    )
    for column, resource in enumerate(resources, start=1):
        panel = frame.filter(pl.col("resource") == resource)
        for model, color in model_colors(frame["model"].to_list()).items():
            rows = {r["dna"]: r for r in panel.filter(pl.col("model") == model).iter_rows(named=True)}
            figure.add_trace(
                go.Bar(
                    y=categories,
                    x=[rows[c]["win_share"] if c in rows else 0 for c in categories],
                    customdata=[[rows[c]["wins"], rows[c]["series"]] if c in rows else [0, 0] for c in categories],
                    orientation="h",
                    name=model_label(model),
                    marker_color=color,
                    legendgroup=model,
                    showlegend=column == 1,
                    hovertemplate=f"{model_label(model)} · {resource} · %{{y}}<br>"
                    "won %{customdata[0]:,} of %{customdata[1]:,} series (%{x:.0%})<extra></extra>",
                ),
                row=1,
                col=column,
            )
    figure.update_xaxes(tickformat=".0%", range=[0, 1], tickvals=[0.25, 0.5, 0.75])
    legend = {"orientation": "h", "yanchor": "top", "y": -0.08, "x": 0}
    return _layout(figure, max(320, 30 * len(categories) + 140), barmode="stack", legend=legend)


def mape_boxes(quantiles: pl.DataFrame) -> go.Figure:
    """Box per model and resource from quantiles computed in DuckDB (whiskers at the 5th and 95th percentile)."""
    figure = go.Figure()
    for model, color in model_colors(quantiles["model"].to_list()).items():
        rows = quantiles.filter(pl.col("model") == model)
        if rows.is_empty():
            continue
        figure.add_trace(
            go.Box(
                x=rows["resource"].to_list(),
                q1=rows["p25"].to_list(),
                median=rows["median"].to_list(),
                q3=rows["p75"].to_list(),
                lowerfence=rows["p05"].to_list(),
                upperfence=rows["p95"].to_list(),
                mean=rows["mean"].to_list(),
                name=model_label(model),
                marker_color=color,
                boxmean=True,
            )
        )
    figure.update_yaxes(title="backtest MAPE (%)", rangemode="tozero")
    _resource_axis(figure, quantiles)
    return _layout(figure, 380, boxmode="group")


def coverage_bars(frame: pl.DataFrame) -> go.Figure:
    """Measured coverage of each engine's own interval and of the calibrated champion band, vs nominal."""
    figure = go.Figure()
    for model, color in model_colors(frame["model"].to_list()).items():
        rows = frame.filter(pl.col("model") == model)
        if rows.is_empty():
            continue
        label = model_label(model)
        figure.add_trace(
            go.Bar(
                x=rows["resource"].to_list(),
                y=rows["measured_coverage"].to_list(),
                name=f"{label}: own interval",
                marker_color=color,
                offsetgroup=f"{model}-raw",
                hovertemplate=label + " %{x}: %{y:.1%} of actuals inside<extra></extra>",
            )
        )
        figure.add_trace(
            go.Bar(
                x=rows["resource"].to_list(),
                y=rows["calibrated_coverage"].to_list(),
                name=f"{label}: calibrated (as champion)",
                marker={"color": color, "pattern": {"shape": "/"}, "opacity": 0.55},
                offsetgroup=f"{model}-calibrated",
                hovertemplate=label + " calibrated %{x}: %{y:.1%}<extra></extra>",
            )
        )
    nominal = frame["nominal_coverage"].drop_nulls()
    if nominal.len():
        level = float(nominal.max())
        style = {"color": "#333", "dash": "dash", "width": 1.5}
        figure.add_hline(y=level, line=style)
        figure.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=style, name=f"nominal {level:.0%}"))
    figure.update_yaxes(title="share of backtest actuals inside the band", tickformat=".0%", range=[0, 1.05])
    _resource_axis(figure, frame)
    return _layout(figure, 400, barmode="group")


def _resource_axis(figure: go.Figure, frame: pl.DataFrame) -> None:
    present = set(frame["resource"].to_list())
    order = [r for r in RESOURCES if r in present] + sorted(present - set(RESOURCES))
    figure.update_xaxes(categoryorder="array", categoryarray=order)


# --- host deep dive ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostSeries:
    """Everything drawn for one host and resource."""

    resource: str
    history: pl.DataFrame
    backtests: pl.DataFrame
    forecast: pl.DataFrame
    today: date
    backtest_start: date
    backtest_end: date
    forecast_end: date
    threshold: float
    first_breach: date | None
    #: What the breach date marks: the upper bound's first crossing, or (a series flagged by its recurring peaks
    #: alone) the day another peak becomes likelier than not.
    breach_label: str = "first breach"


def _vertical(figure: go.Figure, when: date, text: str, color: str, dash: str, at_top: bool) -> None:
    figure.add_shape(
        type="line", x0=when, x1=when, yref="paper", y0=0, y1=1, line={"color": color, "dash": dash, "width": 1.5}
    )
    figure.add_annotation(
        x=when,
        yref="paper",
        y=1 if at_top else 0,
        yanchor="bottom",
        xanchor="left" if at_top else "right",
        text=text,
        showarrow=False,
        font={"color": color},
        bgcolor="rgba(255, 255, 255, 0.85)",
    )


#: Hover notes on days whose band holds where a new rise (lower bound) or fall (upper bound) may stop
#: (forecasts.is_trend_stop_lower / is_trend_stop_upper).
TREND_STOP_NOTE = "<br>lower bound held: the recent rise may stop"
FALL_STOP_NOTE = "<br>upper bound held: the recent fall may stop"
#: Hover note on every day of a series whose level Prophet read as wandering (forecasts.has_wander_band).
WANDER_NOTE = "<br>band at least Prophet's: the level wanders"


def trend_stop_notes(forecast: pl.DataFrame) -> list[str]:
    """Per forecast day, the hover notes saying which bound was held for a rise or fall that may stop, and
    whether the band is a wandering level's ("" on other days, and for a forecast frame without the flag
    columns)."""
    notes = pl.lit("")
    for column, note in (("is_trend_stop_lower", TREND_STOP_NOTE), ("is_trend_stop_upper", FALL_STOP_NOTE)):
        if column in forecast.columns:
            notes = pl.when(pl.col(column).fill_null(False)).then(pl.lit(note)).otherwise(notes)
    if "has_wander_band" in forecast.columns:
        notes = pl.when(pl.col("has_wander_band").fill_null(False)).then(notes + pl.lit(WANDER_NOTE)).otherwise(notes)
    return forecast.with_columns(notes.alias("_trend_stop_note"))["_trend_stop_note"].to_list()


def host_resource_chart(series: HostSeries) -> go.Figure:
    figure = go.Figure()
    figure.add_vrect(
        x0=series.backtest_start, x1=series.backtest_end, fillcolor="#7f7f7f", opacity=0.07, line_width=0, layer="below"
    )
    forecast = series.forecast
    if not forecast.is_empty():
        champion = model_label(forecast["champion_model"][0])
        dates = forecast["ds"].to_list()
        figure.add_trace(
            go.Scatter(
                x=dates,
                y=forecast["yhat_upper"].to_list(),
                mode="lines",
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=dates,
                y=forecast["yhat_lower"].to_list(),
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor=BAND_FILL,
                # A young series' line or level has no backtest to calibrate its band on (int_young_series_forecasts).
                name="young series' band (no backtest)"
                if forecast["champion_model"][0] == "young_trend"
                else "calibrated band",
                hoverinfo="skip",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=dates,
                y=forecast["yhat"].to_list(),
                mode="lines",
                name=f"forecast ({champion})",
                line={"color": "#1f3b73", "width": 2.2},
                customdata=list(
                    zip(
                        forecast["yhat_lower"].to_list(),
                        forecast["yhat_upper"].to_list(),
                        trend_stop_notes(forecast),
                        strict=True,
                    )
                ),
                hovertemplate="%{y:.1f}% (band %{customdata[0]:.1f} to %{customdata[1]:.1f})%{customdata[2]}"
                "<extra>forecast</extra>",
            )
        )
    if not series.history.is_empty():
        # Days the refinery filled (a gap interpolated, or a silent host's last value carried forward) are no
        # measurement: drawn apart, so a stale host's flat tail is not read as its load.
        imputed = (
            series.history["is_imputed"].fill_null(False).to_list()
            if "is_imputed" in series.history.columns
            else [False] * series.history.height
        )
        values = series.history["y"].to_list()
        kinds = [
            ("actual", False, {"mode": "lines", "line": {"color": "#3d3d3d", "width": 1}}, "actual"),
            ("filled (no data)", True, {"mode": "markers", "marker": {"color": "#9e9e9e", "size": 3}}, "filled"),
        ]
        for name, filled_days, style, label in kinds:
            if filled_days and not any(imputed):
                continue
            figure.add_trace(
                go.Scatter(
                    x=series.history["ds"].to_list(),
                    y=[y if filled == filled_days else None for y, filled in zip(values, imputed, strict=True)],
                    name=name,
                    hovertemplate=f"%{{y:.1f}}%<extra>{label}</extra>",
                    **style,
                )
            )
    for model, color in model_colors(series.backtests["model"].to_list()).items():
        rows = series.backtests.filter(pl.col("model") == model)
        if rows.is_empty():
            continue
        figure.add_trace(
            go.Scatter(
                x=rows["ds"].to_list(),
                y=rows["yhat"].to_list(),
                mode="lines",
                name=f"{model_label(model)} backtest",
                line={"color": color, "width": 1.6, "dash": "dash"},
                visible=True if model != "seasonal_naive" else "legendonly",
                hovertemplate="%{y:.1f}%<extra>" + model_label(model) + " backtest</extra>",
            )
        )
    figure.add_hline(y=series.threshold, line={"color": THRESHOLD_COLOR, "dash": "dash", "width": 1.5})
    figure.add_annotation(
        xref="paper",
        x=0,
        y=series.threshold,
        text=f"{series.threshold:g}% threshold",
        showarrow=False,
        xanchor="left",
        yanchor="bottom",
        font={"color": THRESHOLD_COLOR},
    )
    _vertical(figure, series.today, "last data day ", "#555555", "dot", at_top=False)
    if series.first_breach is not None:
        ahead = (series.first_breach - series.today).days
        _vertical(
            figure,
            series.first_breach,
            f" {series.breach_label} {series.first_breach:%Y-%m-%d} (in {days(ahead)})",
            THRESHOLD_COLOR,
            "dashdot",
            at_top=True,
        )
    start = max(series.today - timedelta(days=365), _first_date(series.history, series.today))
    figure.update_xaxes(range=[start, series.forecast_end + timedelta(days=5)])
    figure.update_yaxes(range=[0, 104], title=f"{plain(series.resource)} utilization (%)")
    legend = {"orientation": "h", "yanchor": "top", "y": -0.08, "x": 0}
    return _layout(figure, 440, hovermode="x unified", legend=legend, margin={"l": 10, "r": 10, "t": 30, "b": 10})


def _first_date(frame: pl.DataFrame, fallback: date) -> date:
    return frame["ds"].min() if not frame.is_empty() else fallback
