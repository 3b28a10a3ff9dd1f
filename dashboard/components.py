"""Pieces every view shares: downloadable tables, filters, and the pages shown when there is nothing to read."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from python_engines.report import neutralize_formulas

#: Session-state keys shared across views (both are bound to the URL: ``?view=...&host=...``).
VIEW_KEY, HOST_KEY = "view", "host"
HOST_VIEW = "Host deep dive"

#: Display names for mart columns; CSV downloads keep the mart's own column names.
COLUMN_LABELS: dict[str, str] = {
    "host_id": "Host id",
    "hostname": "Host",
    "resource": "Resource",
    "department": "Department",
    "region": "Region",
    "environment": "Env",
    "app_code": "App",
    "app_manager": "App manager",
    "trust_level": "Trust",
    "champion_model": "Champion",
    "model": "Model",
    "status": "Status",
    "rank": "Rank",
    "is_champion": "Champion",
    "risk_rank": "Rank",
    "hosts": "Hosts",
    "hosts_at_risk": "Hosts at risk",
    "series": "Series",
    "series_at_risk": "Series at risk",
    "cpu_series_at_risk": "CPU",
    "memory_series_at_risk": "Memory",
    "disk_series_at_risk": "Disk",
    "network_series_at_risk": "Network",
    "scenario": "Scenario",
    "variant": "Variant",
    "wins": "Wins",
    "mape": "MAPE %",
    "wape": "WAPE %",
    "mae": "MAE",
    "bias": "Bias",
    "row_key": "Row",
    "column_key": "Column",
}

#: How the capacity-risk tables show why a series was flagged and how likely its breach is (capacity_risks).
BREACH_COLUMNS: dict[str, Any] = {
    "breach_probability": st.column_config.NumberColumn(
        "Breach probability",
        format="percent",
        help="Chance of exceeding the threshold on at least one day of the breach window: the calibrated band "
        "read as a normal interval on each side of the forecast (a forecast over the threshold whose lower bound "
        "sits far under it, as a new rise's held lower bound does, is no certainty), each day's own noise (from "
        "the backtest) counted as a separate chance to cross; "
        "or, if larger, the chance that the series' recurring peaks over the threshold come again within it",
    ),
    "breach_basis": st.column_config.TextColumn(
        "Flagged by",
        help="point forecast: the forecast itself crosses the threshold within the window; "
        "band: only its upper bound does; growth upside: only the upper bound, lifted where the series' "
        "growth over the last 36 weeks or two years fits a compounding curve; recurring peaks: neither, but its "
        "days over the threshold in the last year recur often enough that another within the window is likelier "
        "than not (the first breach date is then the day it becomes so)",
    ),
}

BUILD_COMMANDS = """
```bash
make run                 # generate the default 2,000-host fleet and build every mart (publishes the serving copy)
horizonscale build       # or, when the fleet is already generated: dbt build + publish
```
"""


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def md(text: object) -> str:
    """Text from the data or from the user, escaped so Streamlit's markdown shows it literally (no links,
    images, emphasis or ``:color[...]`` directives)."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", str(text))


def file_safe(text: str) -> str:
    """A file-name-safe version of a hostname or label."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "table"


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """CSV for spreadsheets: cells that would run as a formula (=, +, -, @) are neutralized first; UTF-8 with a
    byte-order mark, without which Excel garbles non-Latin names."""
    return neutralize_formulas(frame).write_csv().encode("utf-8-sig")


def download_table(
    frame: pl.DataFrame,
    name: str,
    *,
    column_config: Mapping[str, Any] | None = None,
    height: int | str = "auto",
    hosts_selectable: bool = False,
) -> None:
    """A table, and a button that downloads exactly its rows as ``<name>.csv``.

    With ``hosts_selectable`` (the table has a ``hostname`` column), selecting a row offers to open that host
    in the deep dive.
    """
    labels = {column: label for column, label in COLUMN_LABELS.items() if column in frame.columns}
    options: dict[str, Any] = {"on_select": "rerun", "selection_mode": "single-row", "key": f"table-{name}"}
    event = st.dataframe(
        frame,
        hide_index=True,
        column_config=labels | dict(column_config or {}),
        height=height,
        placeholder="—",
        **(options if hosts_selectable else {}),
    )
    download, action = st.columns([1, 3])
    download.download_button(
        "Download CSV",
        data=csv_bytes(frame),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"download-{name}",
        icon=":material/download:",
        on_click="ignore",
    )
    if hosts_selectable:
        rows = event.selection.rows
        with action:
            if rows:
                hostname = frame["hostname"][rows[0]]
                st.button(
                    f"Open {md(hostname)} in {HOST_VIEW}",
                    key=f"open-{name}",
                    icon=":material/search:",
                    on_click=open_host,
                    args=(hostname,),
                )
            else:
                st.caption(f"Select a row to open its host in {HOST_VIEW}.")


def cached_figure(builder: Callable[..., go.Figure], *args: Any) -> go.Figure:
    """``builder(*args)``, built once per distinct input: plotly figures cost more to build than the cached
    queries behind them. Shared between sessions, so never mutated after this."""
    return _figure(f"{builder.__module__}.{builder.__qualname__}", builder, *args)


@st.cache_resource(max_entries=256, show_spinner=False)
def _figure(name: str, _builder: Callable[..., go.Figure], *args: Any) -> go.Figure:
    return _builder(*args)


def open_host(hostname: str) -> None:
    """Button callback: switch to the deep dive with ``hostname`` searched (runs before the next script run)."""
    st.session_state[VIEW_KEY] = HOST_VIEW
    st.session_state[HOST_KEY] = hostname


def multiselect(label: str, options: Iterable[str], key: str, placeholder: str) -> tuple[str, ...]:
    """A filter: the empty selection means all."""
    choices = sorted({option for option in options if option is not None})
    return tuple(st.multiselect(label, choices, key=key, placeholder=placeholder))


def no_warehouse(path: Path) -> None:
    st.title("HorizonScale")
    st.warning("No warehouse to show yet.", icon=":material/database_off:")
    st.markdown(
        f"The dashboard reads the published serving copy `{path}`, and it does not exist yet. Build it from the "
        f"project directory, then reload this page:\n{BUILD_COMMANDS}\n"
        "If your warehouse lives elsewhere, start the dashboard with `HORIZONSCALE_DATA_DIR` pointing at it."
    )


def unreadable_warehouse(path: Path, error: Exception) -> None:
    st.title("HorizonScale")
    st.error(f"The serving copy `{path}` cannot be read: {md(error)}", icon=":material/error:")
    st.markdown(f"Rebuild and republish it:\n{BUILD_COMMANDS}")


def missing_tables(path: Path, view: str, missing: Iterable[str]) -> None:
    names = ", ".join(f"`{name}`" for name in sorted(missing))
    st.title(view)
    st.warning(f"The serving copy has no {names} yet, so this view cannot be shown.", icon=":material/table:")
    st.markdown(
        f"`{path}` was published by a build that did not produce every mart. Run the whole build, then reload:"
        f"\n{BUILD_COMMANDS}"
    )


def query_failed(view: str, error: Exception) -> None:
    st.error(
        f"{view} could not be read from the serving copy ({type(error).__name__}: {md(error)}). The marts may come "
        "from an older build: rebuild with `make run` or `horizonscale build`.",
        icon=":material/error:",
    )
