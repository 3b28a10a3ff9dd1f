"""The dashboard under Streamlit's AppTest, on the hand-made serving copy of test_dashboard_fixture.

Every view renders without exceptions and shows the numbers the marts hold; user input only ever reaches
DuckDB as bound parameters; a missing warehouse or table gives a page that says what to run; a newly
published serving copy is picked up without a restart.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest
from support import IN_CI, PROJECT_ROOT, registered_engines
from test_dashboard_fixture import FORMULA_MANAGER, QUOTED_HOSTNAME, build_serving_copy

if str(PROJECT_ROOT) not in sys.path:  # the dashboard is a plain directory, not an installed package
    sys.path.insert(0, str(PROJECT_ROOT))

from dashboard import charts, components, queries, style, warehouse
from dashboard.views import host as host_view

APP = PROJECT_ROOT / "dashboard" / "app.py"
INJECTION = "'; drop table forecasts; --"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 12-host serving copy, with HORIZONSCALE_DATA_DIR pointing at it for the whole module."""
    root = tmp_path_factory.mktemp("dashboard")
    build_serving_copy(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HORIZONSCALE_DATA_DIR", str(root))
        yield root


@pytest.fixture(scope="module")
def serving(data_dir: Path) -> Path:
    return data_dir / "serving" / "horizonscale.duckdb"


def mart(serving: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(serving), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def run(view: str, **query: str) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.query_params["view"] = view
    for name, value in query.items():
        app.query_params[name] = value
    app.run()
    assert_clean(app)
    return app


def assert_clean(app: AppTest) -> None:
    assert not app.exception, "\n".join(str(exc.value) + "\n" + "\n".join(exc.stack_trace) for exc in app.exception)


def warnings(app: AppTest) -> list[str]:
    """Every warning's text (the fixture's history ends 2025-12-31: the stale-data banner is among them)."""
    return [warning.value for warning in app.warning]


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def frame(app: AppTest, index: int) -> pl.DataFrame:
    return pl.from_pandas(app.dataframe[index].value)


def chart_specs(app: AppTest) -> list[dict]:
    return [json.loads(element.proto.spec) for element in app.get("plotly_chart")]


def widget(widgets: Any, label: str) -> Any:
    return next(w for w in widgets if w.label == label)


# --- every view ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("view", ["Fleet health", "Risk heatmap", "Model audit", "Host deep dive"])
def test_every_view_renders_with_a_download_per_table(data_dir: Path, view: str) -> None:
    app = run(view)
    assert app.title[0].value == view
    assert not app.error or view == "Host deep dive"  # the deep dive calls out its breach with st.error
    assert len(app.dataframe) >= 1
    assert len(app.download_button) >= len(app.dataframe)
    assert any("Rendered in" in caption.value for caption in app.sidebar.caption)


def test_sidebar_says_which_window_and_copy(data_dir: Path, serving: Path) -> None:
    captions = " ".join(caption.value for caption in run("Fleet health").sidebar.caption)
    assert "2025-12-31" in captions and str(serving) in captions


# --- fleet health -----------------------------------------------------------------------------------------


def test_fleet_rag_counts_equal_the_mart(data_dir: Path, serving: Path) -> None:
    expected = dict(mart(serving, "select status, count(*) from fleet_health group by all"))
    shown = metrics(run("Fleet health"))
    assert shown["Hosts"] == str(sum(expected.values()))
    for status in ("RED", "AMBER", "GREEN"):
        assert shown[status] == f"{expected.get(status, 0):,}"


def test_fleet_lists_every_red_and_amber_host_with_its_reason(data_dir: Path, serving: Path) -> None:
    """AMBER hosts (stale, never reported, unforecast) are in no breach list: the page names them and says why."""
    expected = mart(serving, "select hostname, status, status_reason from fleet_health where status <> 'GREEN'")
    assert {status for _, status, _ in expected} == {"RED", "AMBER"}  # the fixture has both
    app = run("Fleet health")
    (shown,) = [f for f in (pl.from_pandas(d.value) for d in app.dataframe) if "status_reason" in f.columns]
    assert sorted(shown.select("hostname", "status", "status_reason").rows()) == sorted(expected)
    assert shown["status"].to_list() == sorted(shown["status"].to_list(), key=lambda s: s != "RED")  # RED first


def test_fleet_filters_reach_the_counts(data_dir: Path, serving: Path) -> None:
    region = mart(serving, "select region from fleet_health group by all order by count(*) desc, region limit 1")[0][0]
    app = run("Fleet health")
    widget(app.multiselect, "Region").set_value([region]).run()
    widget(app.multiselect, "Resource").set_value(["cpu", "disk"]).run()
    assert_clean(app)
    expected = dict(
        mart(
            serving,
            "select status, count(*) from fleet_health where region = ? and worst_resource in ('cpu', 'disk') "
            "group by all",
            [region],
        )
    )
    shown = metrics(app)
    assert shown["Hosts"] == str(sum(expected.values()))
    assert {status: shown[status] for status in expected} == {s: str(n) for s, n in expected.items()}


SOONEST = "order by days_to_breach, breach_probability desc, hostname, resource"


def test_soonest_breaches_are_ranked_days_until_full(data_dir: Path, serving: Path) -> None:
    columns = "hostname, resource, days_to_breach, breach_basis, breach_probability"
    expected = mart(serving, f"select {columns} from capacity_risks {SOONEST}")
    table = frame(run("Fleet health"), 0)
    # Why each series was flagged and how likely the breach is, beside its date.
    assert table.select(*columns.split(", ")).rows() == expected
    assert table["days_to_breach"].is_sorted()
    assert set(table["breach_basis"]) <= {"point forecast", "band"}


def test_a_selected_breach_opens_its_host(data_dir: Path, serving: Path) -> None:
    second = mart(serving, f"select hostname from capacity_risks {SOONEST}")[1][0]
    app = run("Fleet health")
    assert not app.button
    app.session_state["table-soonest_breaches"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    app.run()
    button = app.button[0]
    assert button.label == f"Open {components.md(second)} in Host deep dive"
    button.click().run()
    assert_clean(app)
    assert app.title[0].value == "Host deep dive"
    assert app.subheader[0].value == components.md(second)


# --- risk heatmap -----------------------------------------------------------------------------------------


def test_heatmap_cells_equal_the_department_summary(data_dir: Path, serving: Path) -> None:
    app = run("Risk heatmap")
    cells = frame(app, 0)  # the "Heatmap cells" table
    summary = mart(
        serving,
        "select department, hosts, hosts_at_risk, cpu_series_at_risk, memory_series_at_risk, disk_series_at_risk, "
        "network_series_at_risk from department_risk_summary where region = 'ALL'",
    )
    assert len(summary) == cells["row_key"].n_unique()
    for department, hosts, at_risk, *per_resource in summary:
        row = cells.filter(pl.col("row_key") == department)
        by_column = dict(row.select("column_key", "hosts_at_risk").rows())
        assert by_column["any resource"] == at_risk
        assert [by_column[r] for r in queries.RESOURCES] == per_resource
        assert set(row["hosts"].to_list()) == {hosts}
    z = chart_specs(app)[0]["data"][0]["z"]
    assert sum(value or 0 for line in z for value in line) == mart(serving, "select count(*) from capacity_risks")[0][0]


def test_heatmap_drill_down_lists_the_cell(data_dir: Path, serving: Path) -> None:
    department, resource, count = mart(
        serving,
        "select department, resource, count(*) from capacity_risks group by all order by 3 desc, 1, 2 limit 1",
    )[0]
    app = run("Risk heatmap")
    widget(app.selectbox, "Drill into department").set_value(department).run()
    widget(app.selectbox, "Resource").set_value(resource).run()
    assert_clean(app)
    assert any(f"{count} series at risk in {department} · {resource}" in m.value for m in app.markdown)
    drill = frame(app, 1)
    assert drill.height == count and set(drill["resource"]) == {resource}
    assert drill["breach_probability"].is_sorted(descending=True)  # likeliest first
    assert drill["breach_basis"].null_count() == 0


def test_heatmap_layouts_and_share(data_dir: Path) -> None:
    app = run("Risk heatmap")
    for layout in queries.LAYOUTS:
        widget(app.radio, "Layout").set_value(layout).run()
        assert_clean(app)
    widget(app.radio, "Color by").set_value("Share of hosts at risk").run()
    assert_clean(app)
    assert chart_specs(app)[0]["data"][0]["colorbar"]["tickformat"] == ".0%"


# --- model audit ------------------------------------------------------------------------------------------


def test_model_audit_wins_and_mape_equal_the_marts(data_dir: Path, serving: Path) -> None:
    app = run("Model audit")
    wins = dict(mart(serving, "select model, wins from model_audit where resource = 'ALL'"))  # the mart's roll-up
    shown = metrics(app)
    for model, label in components_labels().items():
        assert shown[f"{label} wins"] == f"{wins[model]:,}"
    quantiles = frame(app, 1)
    medians = dict(
        ((m, r), v)
        for m, r, v in mart(serving, "select model, resource, median(mape) from model_leaderboard group by all")
    )
    for model, resource, median in quantiles.select("model", "resource", "median").rows():
        assert median == pytest.approx(medians[(model, resource)])
    coverage = frame(app, 2)
    assert set(coverage["nominal_coverage"]) == {0.8}


def test_model_audit_filters(data_dir: Path, serving: Path) -> None:
    app = run("Model audit")
    widget(app.multiselect, "DNA scenario").set_value(["SEASONAL"]).run()
    widget(app.multiselect, "Resource").set_value(["memory"]).run()
    assert_clean(app)
    expected = dict(
        mart(
            serving,
            "select model, sum(wins)::bigint from model_audit where scenario = 'SEASONAL' and resource = 'memory' "
            "and variant <> 'ALL' group by all",
        )
    )
    shown = metrics(app)
    assert {model: shown[f"{label} wins"] for model, label in components_labels().items()} == {
        model: f"{wins:,}" for model, wins in expected.items()
    }


def components_labels() -> dict[str, str]:
    from dashboard.style import MODEL_LABELS

    return MODEL_LABELS


# --- host deep dive ---------------------------------------------------------------------------------------


def breaching_host(serving: Path) -> tuple[str, str, str, str, int]:
    return mart(
        serving,
        "select host_id, hostname, resource, strftime(first_breach_date, '%Y-%m-%d'), days_to_breach "
        "from capacity_risks order by days_to_breach, hostname limit 1",
    )[0]


def test_host_deep_dive_calls_out_the_first_breach(data_dir: Path, serving: Path) -> None:
    host_id, hostname, resource, first_breach, days = breaching_host(serving)
    app = run("Host deep dive", host=hostname)
    assert app.subheader[0].value == components.md(hostname)
    assert metrics(app)["Status"] == mart(serving, "select status from fleet_health where host_id = ?", [host_id])[0][0]
    callouts = [error.value for error in app.error]
    assert any(f"{resource}: first breach {first_breach}, in {style.days(days)}" in text for text in callouts)
    basis, probability = mart(
        serving,
        "select breach_basis, breach_probability from capacity_risks where host_id = ? and resource = ?",
        [host_id, resource],
    )[0]
    assert any(
        f"flagged by the {basis}" in text and f"breach probability {probability:.0%}" in text for text in callouts
    )
    outlook = frame(app, 0).filter(pl.col("resource") == resource)
    assert outlook.select("days_to_breach", "breach_basis", "breach_probability").rows() == [(days, basis, probability)]
    (spec,) = chart_specs(app)  # only the open tab draws: it opens on the resource that breaches first
    assert spec["layout"]["yaxis"]["title"]["text"].startswith(resource)
    assert any(shape.get("y0") == 95 and shape.get("y1") == 95 for shape in spec["layout"]["shapes"])  # threshold
    notes = [annotation["text"] for annotation in spec["layout"]["annotations"]]
    assert "last data day " in notes and any(f"first breach {first_breach}" in note for note in notes)
    names = {trace.get("name") for trace in spec["data"]}
    assert {"actual", "Prophet backtest", "XGBoost backtest", "calibrated band"} <= names


def test_a_history_that_ends_weeks_ago_is_said_on_every_view(data_dir: Path) -> None:
    """Every date counts from the last data day: a planner looking at an old export must not read its 'in 8
    days' as from today."""
    from dashboard.main import stale_data_message

    assert stale_data_message(date(2025, 12, 31), date(2026, 1, 7)) is None
    message = stale_data_message(date(2025, 12, 31), date(2026, 12, 4))
    assert message is not None and message.startswith("The data ends 2025-12-31, 338 days before today (2026-12-04)")
    for view in ("Fleet health", "Host deep dive"):
        app = run(view)
        stale = [text for text in warnings(app) if text.startswith("The data ends 2025-12-31")]
        assert len(stale) == 1 and "Load newer telemetry and rebuild" in stale[0]


def test_host_deep_dive_says_why_a_series_has_no_forecast(
    data_dir: Path, serving: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reason sat only in the tournament table further down; the resource's box said 'no golden forecast'."""
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    host_id, hostname, resource, _, _ = breaching_host(serving)
    why = "only 114 observed days before 2025-09-01 (need 180)"
    with duckdb.connect(str(copy / "serving" / "horizonscale.duckdb")) as con:
        con.execute("delete from forecasts where host_id = ? and resource = ?", [host_id, resource])
        con.execute("delete from capacity_risks where host_id = ? and resource = ?", [host_id, resource])
        con.execute(
            "create or replace table forecast_exclusions as select ?::varchar as host_id, ?::varchar as resource, "
            "'insufficient_history' as reason, ?::varchar as detail",
            [host_id, resource, f"prophet: skipped ({why})"],
        )
    monkeypatch.setenv("HORIZONSCALE_DATA_DIR", str(copy))
    app = run("Host deep dive", host=hostname, resource=resource.upper())
    boxes = [info.value for info in app.info if "no golden forecast" in info.value]
    assert boxes and "insufficient\\_history" in boxes[0] and "114 observed days" in boxes[0]


def test_host_deep_dive_draws_and_quotes_the_builds_threshold(
    data_dir: Path, serving: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build with breach_threshold 90 and a 60-day window: the chart's line, the callout and the peak's label
    say 90 and 60 (the view once drew and quoted 95 whatever the build used)."""
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    with duckdb.connect(str(copy / "serving" / "horizonscale.duckdb")) as con:
        con.execute("create table whatif_rules as select 90.0 as breach_threshold, 60 as breach_window_days")
    monkeypatch.setenv("HORIZONSCALE_DATA_DIR", str(copy))
    _, hostname, resource, _, _ = breaching_host(serving)
    app = run("Host deep dive", host=hostname)
    (spec,) = chart_specs(app)
    lines = {shape.get("y0") for shape in spec["layout"]["shapes"] if shape.get("y0") == shape.get("y1")}
    assert 90 in lines and 95 not in lines
    (callout,) = [error.value for error in app.error if f"{resource}: first breach" in error.value]
    assert "60-day peak" in callout and "95%" not in callout


def test_host_deep_dive_says_why_the_backtest_winner_was_overruled(
    tmp_path: Path, serving: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flag decides, not the reason's wording: an overruled series shows its reason, any other does not."""
    host_id, hostname, resource, *_ = breaching_host(serving)
    copy = tmp_path / "serving" / "horizonscale.duckdb"
    copy.parent.mkdir()
    shutil.copy(serving, copy)
    overruled = "a reason worded in a way no prefix list knows"
    lookalike = "recent break, but only in its wording"
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "update forecasts set is_regime_override = (resource = ?), "
            "champion_reason = case when resource = ? then ? else ? end where host_id = ?",
            [resource, resource, overruled, lookalike, host_id],
        )
    monkeypatch.setenv("HORIZONSCALE_DATA_DIR", str(tmp_path))
    app = run("Host deep dive", host=hostname)
    shown = [element.value for kind in ("error", "warning", "info", "success") for element in app.get(kind)]
    assert any(f"{resource}: first breach" in text and overruled in text for text in shown)
    assert not any(lookalike in text for text in shown)


@pytest.mark.parametrize("resource", queries.RESOURCES)
def test_host_deep_dive_every_resource_tab(data_dir: Path, serving: Path, resource: str) -> None:
    host_id, hostname, *_ = breaching_host(serving)
    app = run("Host deep dive", host=hostname, resource=resource.upper())
    (spec,) = chart_specs(app)
    assert spec["layout"]["yaxis"]["title"]["text"].startswith(resource)
    history = mart(
        serving, "select count(*) from processed_data where host_id = ? and resource = ?", [host_id, resource]
    )
    actual = next(trace for trace in spec["data"] if trace.get("name") == "actual")
    assert len(actual["x"]) == history[0][0]
    golden = next(trace for trace in spec["data"] if str(trace.get("name", "")).startswith("forecast ("))
    assert len(golden["x"]) == 180


def test_host_search_by_uuid_and_apostrophe(data_dir: Path, serving: Path) -> None:
    host_id, hostname, *_ = breaching_host(serving)
    app = run("Host deep dive", host=host_id.upper())
    assert app.subheader[0].value == components.md(hostname)
    app = run("Host deep dive", host="O'BRIEN")
    assert app.subheader[0].value == components.md(QUOTED_HOSTNAME)


def test_injection_finds_nothing_and_harms_nothing(data_dir: Path, serving: Path) -> None:
    before = mart(serving, "select count(*) from forecasts")
    stat = serving.stat()
    app = run("Host deep dive", host=INJECTION)
    assert any("No host has this id" in text for text in warnings(app))
    assert not app.get("plotly_chart")
    app = run("Host deep dive", host="%")  # no wildcards either: a literal substring search
    assert any("No host has this id" in text for text in warnings(app))
    snapshot = warehouse.current_snapshot(serving)
    assert queries.search_hosts(snapshot, INJECTION).is_empty()
    hostile = queries.Filters(regions=("x') or true --",), departments=(INJECTION,))
    assert queries.rag_counts(snapshot, hostile).is_empty()
    assert mart(serving, "select count(*) from forecasts") == before
    assert (serving.stat().st_mtime_ns, serving.stat().st_size) == (stat.st_mtime_ns, stat.st_size)


def test_text_from_users_or_data_is_shown_literally(data_dir: Path) -> None:
    app = run("Host deep dive", host="[click me](https://example.com) :red[alarm]")
    assert "No host has this id, and no hostname contains this text." in warnings(app)
    assert components.md("[click](https://x.y) :red[a]") == "\\[click\\]\\(https\\://x\\.y\\) \\:red\\[a\\]"
    hostile = "<a href='https://example.com'>Markets</a>"
    frame = pl.DataFrame({"department": [hostile], "red": [1], "amber": [0], "green": [2], "hosts": [3]})
    labels = charts.rag_by_department(frame).data[0].y
    assert labels == ("&lt;a href='https://example.com'&gt;Markets&lt;/a&gt;",)


def test_csv_downloads_neutralize_spreadsheet_formulas(data_dir: Path, serving: Path) -> None:
    snapshot = warehouse.current_snapshot(serving)
    table = queries.soonest_breaches(snapshot, queries.Filters(), 100)
    assert FORMULA_MANAGER in table["app_manager"].to_list()
    text = components.csv_bytes(table).decode()
    assert f"'{FORMULA_MANAGER}" in text and f",{FORMULA_MANAGER}," not in text


# --- guard pages and republishing ---------------------------------------------------------------------------


def test_no_warehouse_page_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HORIZONSCALE_DATA_DIR", str(tmp_path / "nothing-here"))
    app = AppTest.from_file(str(APP), default_timeout=30).run()
    assert_clean(app)
    assert "No warehouse to show yet" in app.warning[0].value
    page = " ".join(m.value for m in app.markdown)
    assert "make run" in page and "horizonscale build" in page and str(tmp_path / "nothing-here") in page


def test_missing_table_page_names_it(tmp_path: Path, serving: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "serving" / "horizonscale.duckdb"
    copy.parent.mkdir()
    shutil.copy(serving, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("drop table fleet_health")
    monkeypatch.setenv("HORIZONSCALE_DATA_DIR", str(tmp_path))
    app = AppTest.from_file(str(APP), default_timeout=30).run()
    assert_clean(app)
    assert any("`fleet_health`" in text for text in warnings(app))
    assert "make run" in " ".join(m.value for m in app.markdown)
    app.sidebar.radio[0].set_value("Risk heatmap").run()  # the other views still work
    assert_clean(app)
    assert all(text.startswith("The data ends") for text in warnings(app))


def test_extra_columns_and_fleets_without_dna(tmp_path: Path, serving: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Marts may grow columns, and a team's own fleet has no behavioral DNA: every view still renders."""
    copy = tmp_path / "serving" / "horizonscale.duckdb"
    copy.parent.mkdir()
    shutil.copy(serving, copy)
    with duckdb.connect(str(copy)) as con:
        for table in ("hosts", "fleet_health", "capacity_risks", "model_audit", "forecasts", "department_risk_summary"):
            con.execute(f"alter table {table} add column added_later varchar default 'x'")
        con.execute("update hosts set scenario = null, variant = null")
        # Without DNA the mart's finest rows coalesce to 'ALL' and repeat its model x resource roll-up.
        con.execute("delete from model_audit where scenario <> 'ALL'")
        con.execute("insert into model_audit select * from model_audit where resource <> 'ALL'")
        wins = dict(con.execute("select model, wins from model_audit where resource = 'ALL'").fetchall())
    monkeypatch.setenv("HORIZONSCALE_DATA_DIR", str(tmp_path))
    for view in ("Fleet health", "Risk heatmap", "Model audit", "Host deep dive"):
        app = run(view)
        assert app.title[0].value == view
    audit = run("Model audit")
    shown = metrics(audit)
    assert {model: shown[f"{label} wins"] for model, label in components_labels().items()} == {
        model: f"{count:,}" for model, count in wins.items()
    }
    # No DNA to filter by: the DNA pickers are left out rather than offering only 'ALL'.
    assert [box.label for box in audit.multiselect] == ["Resource"]


def test_model_audit_names_the_series_no_engine_won() -> None:
    from dashboard.views.audit import unchampioned_series

    wins = pl.DataFrame({"model": ["prophet", "xgboost", "seasonal_naive"], "wins": [145, 8, 3], "series": [160] * 3})
    assert unchampioned_series(wins) == 4
    assert unchampioned_series(wins.with_columns(pl.lit(156).alias("series"))) == 0
    assert unchampioned_series(wins.head(0)) == 0


def test_model_audit_does_not_say_a_young_series_has_no_forecast() -> None:
    """A series no engine won may still be forecast: a young one gets int_young_series_forecasts' straight line
    and is not in forecast_exclusions, so 'no engine could forecast them (forecast_exclusions say why)' was
    wrong for it."""
    from dashboard.views.audit import unchampioned_caption

    caption = unchampioned_caption(48)
    assert caption.startswith("48 series have no champion")
    assert "young_trend" in caption
    assert "could forecast them" not in caption


def test_partial_build_still_shows_host_history(tmp_path: Path, serving: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "serving" / "horizonscale.duckdb"
    copy.parent.mkdir()
    shutil.copy(serving, copy)
    with duckdb.connect(str(copy)) as con:
        for table in ("forecasts", "capacity_risks", "fleet_health", "model_leaderboard", "prophet_forecasts"):
            con.execute(f"drop table {table}")
    monkeypatch.setenv("HORIZONSCALE_DATA_DIR", str(tmp_path))
    app = run("Host deep dive", host=QUOTED_HOSTNAME)
    assert "no golden `forecasts` yet" in app.info[0].value
    (spec,) = chart_specs(app)
    names = {trace.get("name") for trace in spec["data"]}
    assert "actual" in names and "XGBoost backtest" in names and "Prophet backtest" not in names


def test_style_names_exactly_the_registered_engines() -> None:
    engines = {engine["name"] for engine in registered_engines()}
    assert set(style.MODEL_LABELS) == set(style.MODEL_COLORS) == engines


def test_a_young_series_champion_is_named_but_not_an_engine() -> None:
    """young_trend (int_young_series_forecasts) is a champion with a label, not a registered engine: listing it in
    MODEL_LABELS broke the model audit (a 'Young-series line wins' metric expected, never drawn) and this
    module's check that the labels are exactly the engines."""
    assert style.model_label("young_trend") == "Young-series line"
    assert "young_trend" not in style.MODEL_LABELS
    assert style.model_label("prophet") == "Prophet" and style.model_label("new_engine") == "new_engine"


def test_a_newly_registered_engine_shows_in_the_deep_dive(
    tmp_path: Path, serving: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "serving" / "horizonscale.duckdb"
    copy.parent.mkdir()
    shutil.copy(serving, copy)
    with duckdb.connect(str(copy)) as con:  # a contender = its table + one registry row, no dashboard change
        con.execute("create table lstm_forecasts as select * replace ('lstm' as model) from xgboost_forecasts")
        con.execute("insert into engine_registry values ('lstm', 'lstm_forecasts', 4, true, 'A contender')")
    monkeypatch.setenv("HORIZONSCALE_DATA_DIR", str(tmp_path))
    spec = chart_specs(run("Host deep dive", host=QUOTED_HOSTNAME))[0]
    names = {trace.get("name") for trace in spec["data"]}
    assert {"lstm backtest", "XGBoost backtest", "Prophet backtest", "Seasonal naive backtest"} <= names
    assert style.model_colors(["lstm", "prophet"]) == {"prophet": style.MODEL_COLORS["prophet"], "lstm": "#9467bd"}


def test_corrupt_serving_copy_gives_a_page_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "serving" / "horizonscale.duckdb"
    target.parent.mkdir()
    target.write_bytes(b"not a duckdb file" * 100)
    monkeypatch.setenv("HORIZONSCALE_DATA_DIR", str(tmp_path))
    app = AppTest.from_file(str(APP), default_timeout=30).run()
    assert_clean(app)
    assert "cannot be read" in app.error[0].value


def test_a_new_publish_is_picked_up_without_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The serving copy is swapped by os.replace; the next rerun shows the new one (no stale DuckDB instance),
    even while a reader still holds the old file open."""
    build_serving_copy(tmp_path / "a", hosts=6)
    build_serving_copy(tmp_path / "b", hosts=9)
    live = tmp_path / "live" / "serving" / "horizonscale.duckdb"
    live.parent.mkdir(parents=True)
    os.replace(tmp_path / "a" / "serving" / "horizonscale.duckdb", live)
    monkeypatch.setenv("HORIZONSCALE_DATA_DIR", str(tmp_path / "live"))
    app = AppTest.from_file(str(APP), default_timeout=30)
    app.query_params["view"] = "Fleet health"
    app.run()
    assert metrics(app)["Hosts"] == "6"
    with duckdb.connect(str(live), read_only=True):  # another reader keeps the old copy open
        os.replace(tmp_path / "b" / "serving" / "horizonscale.duckdb", live)
        app.run()
    assert_clean(app)
    assert metrics(app)["Hosts"] == "9"


def test_binds_to_localhost_by_default() -> None:
    config = tomllib.loads((PROJECT_ROOT / "dashboard" / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["browser"]["gatherUsageStats"] is False


# --- against a real build --------------------------------------------------------------------------------------


def _skip_unless_ci(reason: str) -> None:
    """Skip on a developer's machine; in CI (HORIZONSCALE_CI, set by .ci/run) these checks must run: fail."""
    if IN_CI:
        pytest.fail(f"{reason} (HORIZONSCALE_CI is set: this check must run in CI)")
    pytest.skip(reason)


@pytest.fixture
def real_build(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The serving copy of a real build: $HORIZONSCALE_DASHBOARD_VERIFY (a data dir of `make run` /
    `horizonscale build`), else, in CI, the suite's own 30-host build (conftest.pipeline_build)."""
    chosen = os.environ.get("HORIZONSCALE_DASHBOARD_VERIFY")
    if chosen:
        data = Path(chosen).resolve()
    elif IN_CI:
        data = request.getfixturevalue("pipeline_build")[0].data_dir
    else:
        pytest.skip(
            "set HORIZONSCALE_DASHBOARD_VERIFY to a built data dir, or HORIZONSCALE_CI=1 to build the 30-host "
            "pipeline fleet (as .ci/run does), to check the dashboard against a real build"
        )
    serving_copy = data / "serving" / "horizonscale.duckdb"
    if not serving_copy.is_file():
        _skip_unless_ci(f"no serving copy at {serving_copy}")
    monkeypatch.setenv("HORIZONSCALE_DATA_DIR", str(data))
    return serving_copy


def test_real_build_numbers_equal_its_marts(real_build: Path) -> None:
    statuses = dict(mart(real_build, "select status, count(*) from fleet_health group by all"))
    shown = metrics(run("Fleet health"))
    assert shown["Hosts"] == f"{sum(statuses.values()):,}"
    assert {s: shown[s] for s in statuses} == {s: f"{n:,}" for s, n in statuses.items()}
    app = run("Risk heatmap")
    cells = frame(app, 0)
    summary = mart(
        real_build,
        "select department, hosts_at_risk, cpu_series_at_risk, memory_series_at_risk, disk_series_at_risk, "
        "network_series_at_risk from department_risk_summary where region = 'ALL'",
    )
    for department, at_risk, *per_resource in summary:
        by_column = dict(cells.filter(pl.col("row_key") == department).select("column_key", "hosts_at_risk").rows())
        assert by_column["any resource"] == at_risk
        assert [by_column[r] for r in queries.RESOURCES] == per_resource
    wins = dict(mart(real_build, "select model, wins from model_audit where resource = 'ALL'"))
    shown = metrics(run("Model audit"))
    assert {m: shown[f"{label} wins"] for m, label in components_labels().items() if m in wins} == {
        m: f"{n:,}" for m, n in wins.items()
    }


def test_real_build_deep_dive_of_the_soonest_breach(real_build: Path) -> None:
    rows = mart(
        real_build,
        "select hostname, resource, strftime(first_breach_date, '%Y-%m-%d'), days_to_breach "
        "from capacity_risks order by days_to_breach, hostname limit 1",
    )
    if not rows:
        _skip_unless_ci("no series at risk in this build")
    hostname, resource, first_breach, days = rows[0]
    app = run("Host deep dive", host=hostname)
    assert any(f"{resource}: first breach {first_breach}, in {style.days(days)}" in error.value for error in app.error)
    for other in queries.RESOURCES:
        (spec,) = chart_specs(run("Host deep dive", host=hostname, resource=other.upper()))
        names = {trace.get("name") for trace in spec["data"]}
        assert {"actual", "Prophet backtest", "XGBoost backtest"} <= names


def test_host_header_leaves_out_what_an_own_fleet_lacks() -> None:
    """An own fleet without hardware columns or application names shows no "None cores" and no "A030 None"."""
    own = {
        "host_id": "h0", "department": "Payments", "app_code": "A030", "app_name": None, "app_manager": "Ann",
        "region": "EMEA", "environment": None, "cpu_cores": None, "memory_gb": None, "storage_gb": None,
        "scenario": None, "variant": None,
    }  # fmt: skip
    assert host_view.host_facts(own) == ["h0", "Payments", "A030", "manager Ann", "EMEA", "hardware unknown"]
    synthetic = {**own, "app_name": "Cards", "environment": "PROD", "cpu_cores": 8, "memory_gb": 32, "storage_gb": 500}
    assert host_view.host_facts({**synthetic, "scenario": "SEASONAL", "variant": "a"})[-3:] == [
        "PROD",
        "8 cores, 32 GB memory, 500 GB storage",
        "DNA SEASONAL a",
    ]
    assert "16 GB memory" in host_view.host_facts({**own, "memory_gb": 16})


def test_an_unflagged_crossing_inside_the_window_is_not_called_beyond_it() -> None:
    """A crossing on day 84 that the alert rule does not flag was shown as 'beyond the breach window'."""
    assert "within the 90-day breach window but not flagged" in host_view._unflagged_why(84, 90)
    assert "within the 90-day" in host_view._unflagged_why(90, 90)
    assert host_view._unflagged_why(91, 90) == "beyond the breach window"
    assert "within the 120-day" in host_view._unflagged_why(91, 120)  # the build's window, not a constant


def test_filled_days_are_drawn_and_exported_apart_from_actuals() -> None:
    """A silent host's carried-forward tail was drawn and exported as 'actual': it is no measurement."""
    from datetime import date, timedelta

    days = [date(2025, 12, 1) + timedelta(days=d) for d in range(10)]
    history = pl.DataFrame({"resource": "cpu", "ds": days, "y": [50.0] * 10, "is_imputed": [False] * 7 + [True] * 3})
    empty = pl.DataFrame(schema={"model": pl.String, "ds": pl.Date, "yhat": pl.Float64})
    figure = charts.host_resource_chart(
        charts.HostSeries(
            resource="cpu",
            history=history,
            backtests=empty,
            forecast=pl.DataFrame(
                schema={"ds": pl.Date, "yhat": pl.Float64, "yhat_lower": pl.Float64, "yhat_upper": pl.Float64}
            ),
            today=days[-1],
            backtest_start=days[0],
            backtest_end=days[-1],
            forecast_end=days[-1],
            threshold=95.0,
            first_breach=None,
        )
    )
    traces = {trace.name: trace for trace in figure.data}
    assert list(traces["actual"].y) == [50.0] * 7 + [None] * 3
    assert list(traces["filled (no data)"].y) == [None] * 7 + [50.0] * 3
    data = {
        "history": history,
        "backtests": empty.with_columns(
            pl.lit("cpu").alias("resource"),
            pl.lit(None, pl.Float64).alias("yhat_lower"),
            pl.lit(None, pl.Float64).alias("yhat_upper"),
        ),
        "forecast": pl.DataFrame(
            schema={
                "resource": pl.String,
                "ds": pl.Date,
                "yhat": pl.Float64,
                "yhat_lower": pl.Float64,
                "yhat_upper": pl.Float64,
            }
        ),
    }
    exported = host_view._series_download({"hostname": "h"}, data)
    assert exported.filter(pl.col("series") == "filled (no data)").height == 3


def _forecast_only(forecast: pl.DataFrame) -> charts.HostSeries:
    """A host chart's series with a forecast and nothing else (no history, no backtests)."""
    days = forecast["ds"].to_list()
    return charts.HostSeries(
        resource="cpu",
        history=pl.DataFrame(schema={"ds": pl.Date, "y": pl.Float64}),
        backtests=pl.DataFrame(schema={"model": pl.String, "ds": pl.Date, "yhat": pl.Float64}),
        forecast=forecast,
        today=days[0],
        backtest_start=days[0],
        backtest_end=days[0],
        forecast_end=days[-1],
        threshold=95.0,
        first_breach=None,
    )


def test_the_forecast_hover_says_where_a_bound_holds_for_a_trend_that_may_stop() -> None:
    """forecasts.is_trend_stop_lower flattens a rising series' lower bound and is_trend_stop_upper a falling one's
    upper bound: the chart says which and why on those days only; a wandering level's band (has_wander_band)
    says so on every day, beside any held bound."""
    from datetime import date, timedelta

    days = [date(2026, 1, 1) + timedelta(days=d) for d in range(4)]
    forecast = pl.DataFrame(
        {
            "ds": days,
            "yhat": [50.0, 52.0, 54.0, 56.0],
            "yhat_lower": [45.0, 47.0, 47.0, 47.0],
            "yhat_upper": [55.0, 57.0, 59.0, 61.0],
            "champion_model": ["prophet"] * 4,
            "is_trend_stop_lower": [False, False, True, True],
            "is_trend_stop_upper": [False, False, False, False],
        }
    )
    series = _forecast_only(forecast)
    notes = [row[2] for row in charts.host_resource_chart(series).data[2].customdata]
    assert notes == ["", "", charts.TREND_STOP_NOTE, charts.TREND_STOP_NOTE]
    falling = forecast.with_columns(
        pl.Series("yhat", [50.0, 48.0, 46.0, 44.0]),
        pl.Series("yhat_lower", [45.0, 43.0, 41.0, 39.0]),
        pl.Series("yhat_upper", [55.0, 53.0, 53.0, 53.0]),
        pl.Series("is_trend_stop_lower", [False] * 4),
        pl.Series("is_trend_stop_upper", [False, False, True, True]),
    )
    notes = [row[2] for row in charts.host_resource_chart(replace(series, forecast=falling)).data[2].customdata]
    assert notes == ["", "", charts.FALL_STOP_NOTE, charts.FALL_STOP_NOTE]
    wandering = falling.with_columns(pl.Series("has_wander_band", [True] * 4))  # every day of the series
    notes = [row[2] for row in charts.host_resource_chart(replace(series, forecast=wandering)).data[2].customdata]
    assert notes == [charts.WANDER_NOTE] * 2 + [charts.FALL_STOP_NOTE + charts.WANDER_NOTE] * 2
    older = series.forecast.drop("is_trend_stop_lower", "is_trend_stop_upper")  # a copy published before the flags
    notes = [row[2] for row in charts.host_resource_chart(replace(series, forecast=older)).data[2].customdata]
    assert notes == [""] * 4


def test_the_last_actual_is_the_last_measured_day() -> None:
    """'already over 95%' reads the last measurement, not a filled day after it."""
    from datetime import date

    history = pl.DataFrame(
        {"ds": [date(2025, 12, d) for d in (1, 2, 3)], "y": [97.0, 98.0, 40.0], "is_imputed": [False, False, True]}
    )
    assert host_view._last_actual(history) == 98.0
    assert host_view._last_actual(history.head(0)) is None


def test_host_view_says_why_a_young_series_is_low_and_its_band_is_not_calibrated() -> None:
    """A young_trend series (int_young_series_forecasts) is LOW with no MAPE: the host view showed only 'trust LOW,
    champion Young-series line' and drew its regression band as the 'calibrated band'. It now gives the reason
    (how young, no backtest) and names the band for what it is."""
    from datetime import timedelta

    reason = "young series: 7 observed days before the backtest (need 180); a straight line over its last 90 ..."
    young = {
        "trust_level": "LOW",
        "champion_model": "young_trend",
        "backtest_mape": None,
        "champion_reason": reason,
        "is_regime_override": False,
        "band_source": "engine",
    }
    assert "7 observed days before the backtest" in host_view.trust_text(young)
    engine = young | {"champion_model": "prophet", "backtest_mape": 4.0, "champion_reason": "best backtest score"}
    assert host_view.trust_text(engine) == "trust LOW, champion Prophet, backtest MAPE 4.0%"

    days = [date(2026, 1, 1) + timedelta(days=d) for d in range(3)]

    def band_name(model: str) -> set[str]:
        forecast = pl.DataFrame(
            {"ds": days, "yhat": [50.0] * 3, "yhat_lower": [45.0] * 3, "yhat_upper": [55.0] * 3}
        ).with_columns(pl.lit(model).alias("champion_model"))
        figure = charts.host_resource_chart(_forecast_only(forecast))
        return {trace.name for trace in figure.data} & {"calibrated band", "young series' band (no backtest)"}

    assert band_name("young_trend") == {"young series' band (no backtest)"}
    assert band_name("prophet") == {"calibrated band"}
