"""The Track record view under AppTest: accuracy and coverage over time, per engine and horizon, and the risk
changes since the last build, on the hand-made serving copy plus two hand-made marts."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest
from support import PROJECT_ROOT
from test_dashboard_fixture import build_serving_copy

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

APP = PROJECT_ROOT / "dashboard" / "app.py"
VIEW = "Track record"

# Three weekly snapshots scored against the fixture's own processed_data, as forecast_accuracy would be.
ACCURACY_SQL = """
create table forecast_accuracy as
with snapshots as (
    select unnest([date '2025-12-10', date '2025-12-17', date '2025-12-24']) as as_of
),
scored as (
    select
        s.as_of, f.model as champion_model, 'HIGH' as trust_level, p.resource, p.department, p.host_id,
        datediff('day', s.as_of, p.ds) as horizon_days, p.y, p.y * (1 + 0.05 * sin(hash(p.host_id) % 7)) as yhat
    from snapshots as s
    cross join (select distinct model from engine_registry) as f
    inner join processed_data as p on p.ds > s.as_of
)
select
    as_of,
    case when horizon_days <= 7 then '1-7' else '8-30' end as horizon_bucket,
    case when horizon_days <= 7 then 1 else 8 end as horizon_bucket_start,
    champion_model, trust_level, resource, department,
    count(*) as scored_days, count(distinct host_id) as hosts, max(horizon_days) as max_horizon_days,
    sum(abs(yhat - y)) as absolute_error_sum, sum(abs(y)) as actual_sum, sum(yhat - y) as error_sum,
    sum(abs(yhat - y) / y) filter (where y >= 1) as percentage_error_sum,
    count(*) filter (where y >= 1) as mape_days,
    count(*) filter (where abs(yhat - y) < 1) as covered_days,
    round(100 * sum(abs(yhat - y)) / sum(abs(y)), 2) as wape,
    round(100 * avg(abs(yhat - y) / y) filter (where y >= 1), 2) as mape,
    round(avg(yhat - y), 3) as bias,
    round(avg(case when abs(yhat - y) < 1 then 1.0 else 0.0 end), 4) as band_coverage
from scored
group by all
"""
CHANGES_SQL = """
create table risk_changes as
select
    host_id, 'cpu' as resource, 'NEW_BREACH' as change_type, hostname, department, app_manager,
    date '2025-12-24' as previous_as_of, date '2025-12-31' as current_as_of,
    cast(null as date) as previous_breach_date, date '2026-02-01' as current_breach_date,
    cast(null as integer) as days_moved, 'HIGH' as previous_trust_level, 'HIGH' as current_trust_level,
    'prophet' as previous_champion, 'prophet' as current_champion
from hosts
order by hostname
limit 2
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("track_record")
    serving = build_serving_copy(root)
    with duckdb.connect(str(serving)) as con:
        con.execute(ACCURACY_SQL)
        con.execute(CHANGES_SQL)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HORIZONSCALE_DATA_DIR", str(root))
        yield root


def _run() -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.query_params["view"] = VIEW
    app.run()
    assert not app.exception, "\n".join(str(exc.value) for exc in app.exception)
    return app


def test_track_record_shows_accuracy_and_changes(data_dir: Path) -> None:
    app = _run()
    assert app.title[0].value == VIEW
    assert {metric.label: metric.value for metric in app.metric} == {"New breach": "2"}
    assert len(app.get("plotly_chart")) == 4  # WAPE and coverage over time; by horizon
    changes = app.dataframe[0].value
    assert list(changes["change_type"]) == ["NEW_BREACH", "NEW_BREACH"]
    assert len(app.download_button) >= 2


def test_track_record_filters_by_resource(data_dir: Path) -> None:
    app = _run()
    next(w for w in app.multiselect if w.label == "Resource").set_value(["disk"]).run()
    assert not app.exception
    table = app.dataframe[-1].value
    assert len(table) > 0


def test_track_record_before_any_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serving = build_serving_copy(tmp_path)
    with duckdb.connect(str(serving)) as con:
        con.execute(ACCURACY_SQL + " limit 0")
        con.execute(CHANGES_SQL.replace("limit 2", "limit 0"))
    monkeypatch.setenv("HORIZONSCALE_DATA_DIR", str(tmp_path))
    app = _run()
    infos = " ".join(info.value for info in app.info)
    assert "No change" in infos
    assert "No actuals after any stored forecast yet" in infos
