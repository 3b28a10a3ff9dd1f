"""A hand-made serving copy for the dashboard tests, independent of the rest of the pipeline.

``build_serving_copy`` writes ``<data_dir>/serving/horizonscale.duckdb`` with every mart the dashboard reads,
generated in SQL from a few parameters per series (level, slope, weekly swing, noise, a step), so a dozen
hosts take well under a second and a full 2,000-host, 3-year fleet (8.8M telemetry rows) takes seconds: the
same builder serves the AppTest tests and the load-time measurement. The marts are derived from the
generated rows with the documented rules (MAPE tournament, conformal band, breach = upper bound above 95
within 90 days, RAG), so they agree with each other the way the real marts must.

Host 0 is an extreme capacity breach whose manager handle a spreadsheet would run as a formula, host 1 a
normal breach; host 5's hostname holds an apostrophe. The tests below check the fixture itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from support import PROJECT_ROOT, registered_engines

HISTORY_END = date(2025, 12, 31)
BACKTEST_START = date(2025, 9, 1)
HORIZON_DAYS = 180
RESOURCES = ("cpu", "memory", "disk", "network")
REGIONS = ("AMER-EAST", "AMER-WEST", "EMEA-WEST", "EMEA-CENTRAL", "APAC-SOUTHEAST")
ENVIRONMENTS = ("PROD", "PROD", "UAT", "DEV", "PROD", "DR")
# Spread so that a dozen hosts already hold every kind of risk.
DNA: tuple[tuple[str, str], ...] = (
    ("CAPACITY_BREACH", "EXTREME"),
    ("CAPACITY_BREACH", "NORMAL"),
    ("STEADY_GROWTH", "EXTREME"),
    ("SEASONAL", "NORMAL"),
    ("IDLE", "NORMAL"),
    ("BURSTY", "NORMAL"),
    ("STEADY_GROWTH", "NORMAL"),
    ("SEASONAL", "EXTREME"),
    ("BLACK_SWAN", "NORMAL"),
    ("DECLINING", "NORMAL"),
)
ENGINES = registered_engines()  # the real registry: the fixture publishes every engine table it names
MODELS = {engine["name"]: engine["relation"] for engine in ENGINES}
FORMULA_MANAGER = "@ops-oncall"
QUOTED_HOSTNAME = "o'brien-uat-00006"


@dataclass(frozen=True)
class SeriesShape:
    """Mean utilization at day u (0 = history end): level + slope*u + weekly*sin + step (after step_day)."""

    level: float
    slope: float
    weekly: float
    noise: float
    step_day: int = 10_000
    step: float = 0.0


def _primary_shape(scenario: str, variant: str, host: int) -> SeriesShape:
    jitter = (host * 37 % 11) / 10
    shapes = {
        ("CAPACITY_BREACH", "EXTREME"): SeriesShape(95 - 0.14 * (30 + 2 * jitter), 0.14, 1.5, 1.0),
        ("CAPACITY_BREACH", "NORMAL"): SeriesShape(95 - 0.11 * (120 + 4 * jitter), 0.11, 1.5, 1.0),
        ("STEADY_GROWTH", "EXTREME"): SeriesShape(76 + jitter, 0.06, 2.0, 1.5),
        ("STEADY_GROWTH", "NORMAL"): SeriesShape(42 + jitter, 0.012, 2.0, 1.5),
        ("SEASONAL", "NORMAL"): SeriesShape(48 + jitter, 0.0, 14.0, 2.0),
        ("SEASONAL", "EXTREME"): SeriesShape(55 + jitter, 0.0, 20.0, 3.0),
        ("BURSTY", "NORMAL"): SeriesShape(25 + jitter, 0.0, 3.0, 9.0),
        ("BLACK_SWAN", "NORMAL"): SeriesShape(28 + jitter, 0.0, 2.0, 1.5, step_day=-120, step=30.0),
        ("IDLE", "NORMAL"): SeriesShape(1.4 + jitter / 10, 0.0, 0.1, 0.3),
        ("DECLINING", "NORMAL"): SeriesShape(22 + jitter, -0.04, 2.0, 1.5),
    }
    return shapes[(scenario, variant)]


def _secondary_shape(host: int, resource_index: int) -> SeriesShape:
    level = 12 + 9 * resource_index + (host * 13 % 17)
    return SeriesShape(level, 0.004 * (resource_index - 1), 2.5, 1.5)


# Error scale of each engine by DNA: the challenger wins on rhythm and bursts, Prophet on trends and steps,
# the naive yardstick on flat idle hosts. Interval half-widths: XGBoost's intervals are too narrow on purpose.
ENGINE_ERROR = {
    "prophet": {"SEASONAL": 2.2, "BURSTY": 3.0, "IDLE": 0.30, "default": 0.8},
    "xgboost": {"SEASONAL": 1.0, "BURSTY": 1.8, "IDLE": 0.25, "default": 1.6},
    "seasonal_naive": {"SEASONAL": 2.6, "BURSTY": 3.5, "IDLE": 0.05, "default": 2.6},
}
ENGINE_HALF_WIDTH = {"prophet": 1.6, "xgboost": 0.8, "seasonal_naive": 2.4}


def _series_rows(hosts: int) -> list[tuple]:
    rows = []
    for host in range(hosts):
        scenario, variant = DNA[host % len(DNA)]
        primary = RESOURCES[host % len(RESOURCES)]
        for index, resource in enumerate(RESOURCES):
            shape = _primary_shape(scenario, variant, host) if resource == primary else _secondary_shape(host, index)
            rows.append(
                (host, resource, shape.level, shape.slope, shape.weekly, shape.noise, shape.step_day, shape.step)
            )
    return rows


def _engine_rows() -> list[tuple]:
    scenarios = {scenario for scenario, _ in DNA}
    return [
        (model, scenario, errors.get(scenario, errors["default"]), ENGINE_HALF_WIDTH[model])
        for model, errors in ENGINE_ERROR.items()
        for scenario in sorted(scenarios)
    ]


def _create_inputs(con: duckdb.DuckDBPyConnection, hosts: int, history_days: int, seed: int) -> None:
    con.execute(f"create temp table hierarchy as from read_csv('{PROJECT_ROOT / 'seeds' / 'business_hierarchy.csv'}')")
    con.execute(
        "create temp table dna (k integer, scenario varchar, variant varchar)",
    )
    con.executemany("insert into dna values (?, ?, ?)", [(k, s, v) for k, (s, v) in enumerate(DNA)])
    con.execute(
        "create temp table shapes (host integer, resource varchar, level double, slope double, weekly double, "
        "noise double, step_day integer, step double)"
    )
    con.executemany("insert into shapes values (?, ?, ?, ?, ?, ?, ?, ?)", _series_rows(hosts))
    con.execute("create temp table engines (model varchar, scenario varchar, error double, half_width double)")
    con.executemany("insert into engines values (?, ?, ?, ?)", _engine_rows())
    history_start = HISTORY_END - timedelta(days=history_days - 1)
    con.execute(
        """
        create table forecast_windows as select
            ?::date as history_start, ?::date as history_end, ?::date as backtest_start,
            ?::date - 1 as train_end, ?::date as backtest_end, ?::date + 1 as forecast_start,
            ?::date + ? as forecast_end
        """,
        [history_start, HISTORY_END, BACKTEST_START, BACKTEST_START, *[HISTORY_END] * 3, HORIZON_DAYS],
    )
    con.execute(
        "create temp table params as select ? as seed, ? as hosts, ? as history_days", [seed, hosts, history_days]
    )


HOSTS_SQL = """
create table hosts as
with numbered as (select *, row_number() over (order by app_code) - 1 as k from hierarchy),
picked as (
    select
        r.host,
        md5('host-' || p.seed || '-' || r.host) as digest,
        n.app_code, n.app_name, n.department, n.app_manager,
        list_extract({regions}, (r.host * 7 % {n_regions}) + 1) as region,
        list_extract({environments}, (r.host % {n_environments}) + 1) as environment,
        d.scenario, d.variant,
        list_extract({resources}, (r.host % 4) + 1) as primary_resource
    from range(0, (select hosts from params)) as r(host)
    cross join params as p
    join numbered as n on n.k = (r.host * 5) % (select count(*) from hierarchy)
    join dna as d on d.k = r.host % (select count(*) from dna)
)
select
    substr(digest, 1, 8) || '-' || substr(digest, 9, 4) || '-4' || substr(digest, 14, 3) || '-a'
        || substr(digest, 18, 3) || '-' || substr(digest, 21, 12) as host_id,
    case when host = 5 then '{quoted}'
         else lower(app_code) || '-' || lower(environment) || '-' || lpad((host + 1)::varchar, 5, '0') end as hostname,
    (4 << (host % 4))::integer as cpu_cores,
    (16 << (host % 5))::integer as memory_gb,
    (250 * (1 + host % 8))::integer as storage_gb,
    region, environment, department, app_code, app_name,
    case when host = 0 then '{formula}' else app_manager end as app_manager,
    scenario, variant, primary_resource,
    host
from picked
order by host
"""

# Standard-normal-ish noise from a hash: the sum of three uniforms, centred and scaled.
NOISE = "((hash({key}) % 10000 + hash({key}, 1) % 10000 + hash({key}, 2) % 10000) / 10000.0 - 1.5) * 2.0"

PROCESSED_SQL = f"""
create table processed_data as
with calendar as (
    select unnest(generate_series(history_start, history_end, interval 1 day))::date as ds from forecast_windows
),
days as (
    select c.ds, (c.ds - w.history_end)::integer as u, (c.ds - w.history_start)::integer as t
    from calendar as c cross join forecast_windows as w
),
series as (select h.*, s.* exclude (host) from hosts as h join shapes as s using (host))
select
    s.host_id, s.resource, d.ds,
    round(greatest(0, least(100,
        s.level + s.slope * d.u + s.weekly * sin(2 * pi() * d.t / 7)
        + case when d.u >= s.step_day then s.step else 0 end
        + s.noise * {NOISE.format(key="s.host_id, s.resource, d.t")}
    )), 3) as y,
    hash(s.host_id, s.resource, d.t) % 211 = 0 as is_imputed,
    s.department, s.app_code, s.app_manager, s.region, s.environment, s.scenario, s.variant
from series as s cross join days as d
order by s.host_id, s.resource, d.ds
"""

ENGINE_SQL = f"""
create table {{table}} as
with calendar as (
    select unnest(generate_series(backtest_start, forecast_end, interval 1 day))::date as ds from forecast_windows
),
days as (
    select c.ds, (c.ds - w.history_end)::integer as u, (c.ds - w.history_start)::integer as t,
        case when c.ds > w.history_end then 'forecast' else 'backtest' end as segment
    from calendar as c cross join forecast_windows as w
),
series as (select h.host_id, h.scenario, s.* exclude (host) from hosts as h join shapes as s using (host)),
raw as (
    select
        s.host_id, s.resource, d.segment, d.ds,
        s.level + s.slope * d.u + s.weekly * sin(2 * pi() * d.t / 7)
            + case when d.u >= s.step_day then s.step else 0 end
            + e.error * {NOISE.format(key="s.host_id, s.resource, d.t, '{model}'")} as yhat,
        e.half_width * (s.noise + 1) * (1 + greatest(d.u, 0) / 180.0) as half_width
    from series as s
    cross join days as d
    join engines as e on e.model = '{{model}}' and e.scenario = s.scenario
)
select
    host_id, resource, '{{model}}' as model, segment, ds,
    round(greatest(0, least(100, yhat)), 3) as yhat,
    round(greatest(0, least(100, yhat - half_width)), 3) as yhat_lower,
    round(greatest(0, least(100, yhat + half_width)), 3) as yhat_upper
from raw
order by host_id, resource, ds
"""

MARTS_SQL = """
create table model_leaderboard as
with backtests as (
    select f.host_id, f.resource, f.model, f.yhat, f.yhat_lower, f.yhat_upper, p.y
    from engine_forecasts as f
    join processed_data as p using (host_id, resource, ds)
    where f.segment = 'backtest'
),
metrics as (
    select
        host_id, resource, model, 'ok' as status,
        avg(abs(y - yhat) / y) filter (where y >= 1) * 100 as mape,
        sum(abs(y - yhat)) / nullif(sum(y), 0) * 100 as wape,
        avg(abs(y - yhat)) as mae,
        avg(yhat - y) as bias,
        avg(case when y between yhat_lower and yhat_upper then 1.0 else 0.0 end) as coverage
    from backtests
    group by all
),
ranked as (
    select *, row_number() over (partition by host_id, resource order by coalesce(mape, wape), model) as rank
    from metrics
)
select *, rank = 1 as is_champion, null::varchar as run_error from ranked;

create temp table calibration as
select f.host_id, f.resource, f.model, quantile_cont(abs(p.y - f.yhat), 0.8) as q
from engine_forecasts as f
join processed_data as p using (host_id, resource, ds)
join model_leaderboard as l using (host_id, resource, model)
where f.segment = 'backtest' and l.is_champion
group by all;

create table forecasts as
select
    f.host_id, f.resource, f.ds, f.yhat,
    round(greatest(0, f.yhat - c.q * (1 + (f.ds - w.history_end) / 180.0)), 3) as yhat_lower,
    round(least(100, f.yhat + c.q * (1 + (f.ds - w.history_end) / 180.0)), 3) as yhat_upper,
    null::double as champion_difficulty,
    l.model as champion_model,
    l.mape as backtest_mape,
    l.wape as backtest_wape,
    case when l.mape <= 10 then 'HIGH' when l.mape <= 25 then 'MEDIUM' else 'LOW' end as trust_level,
    'best backtest score' as champion_reason,
    false as is_regime_override,
    round(least(100, f.yhat + c.q * (1 + (f.ds - w.history_end) / 180.0)), 3) as upper_without_upside,
    'engine' as band_source,
    false as is_trend_stop_lower,
    false as is_trend_stop_upper,
    false as has_wander_band
from engine_forecasts as f
join model_leaderboard as l using (host_id, resource, model)
join calibration as c using (host_id, resource, model)
cross join forecast_windows as w
where f.segment = 'forecast' and l.is_champion
order by f.host_id, f.resource, f.ds;

create temp table series_outlook as
select
    f.host_id, f.resource,
    any_value(f.champion_model) as champion_model,
    any_value(f.backtest_mape) as backtest_mape,
    any_value(f.trust_level) as trust_level,
    min(f.ds) filter (where f.yhat_upper > 95 and f.ds - w.history_end <= 90) as first_breach_date,
    min(f.ds) filter (where f.yhat_upper > 95) as first_breach_180d,
    min(f.ds) filter (where f.yhat > 95) as expected_breach_date,
    max(f.yhat_upper) filter (where f.ds - w.history_end <= 90) as max_upper_90d,
    max(f.yhat) filter (where f.ds - w.history_end <= 90) as max_yhat_90d,
    100 - max(f.yhat_upper) filter (where f.ds - w.history_end <= 90) as headroom_90d,
    100 - max(f.yhat_upper) as headroom_180d,
    -- The band read as a normal 80% interval (z = 1.2816), Phi from the logistic approximation
    -- 1 / (1 + exp(-1.702 x)) (within 0.01; the real mart uses an erf accurate to 1.5e-7). The worst window
    -- day's chance: the real mart adds each day's own noise (int_series_breach_chance), which the dashboard
    -- does not need to tell apart; a plausible chance in 0..1 is all these pages read.
    coalesce(round(max(
        case
            when f.yhat_upper > f.yhat
                then 1 - 1 / (1 + exp(-1.702 * (95 - f.yhat) / ((f.yhat_upper - f.yhat) / 1.2816)))
            when f.yhat > 95 then 1.0
            else 0.0
        end
    ) filter (where f.ds - w.history_end <= 90), 4), 0) as breach_probability,
    any_value(w.history_end) as history_end
from forecasts as f cross join forecast_windows as w
group by all;

create table capacity_risks as
select
    o.host_id, o.resource, h.hostname, h.department, h.app_code, h.app_manager, h.region, h.environment,
    o.champion_model, o.backtest_mape, o.trust_level, o.first_breach_date,
    (o.first_breach_date - o.history_end)::integer as days_to_breach,
    o.expected_breach_date, (o.expected_breach_date - o.history_end)::integer as days_to_expected_breach,
    o.max_upper_90d as peak_yhat_upper, o.max_yhat_90d as peak_yhat, o.headroom_90d, o.headroom_180d,
    case when o.max_yhat_90d > 95 then 'point forecast' else 'band' end as breach_basis, o.breach_probability
from series_outlook as o join hosts as h using (host_id)
where o.first_breach_date is not null
order by days_to_breach, h.hostname, o.resource;

-- The fixture's capacity_risks flags on its band alone: no recurring peaks (the what-if reads this table).
create table recurring_peaks (
    host_id varchar, resource varchar, episode_start date, episode_end date, episode_days bigint,
    peak_y double, level_then double, level_now double, peak_height double, observed_days bigint
);

create table department_risk_summary as
with grouped as (
    select
        h.department, coalesce(h.region, 'ALL') as region,
        count(distinct h.host_id) as hosts,
        count(distinct r.host_id) as hosts_at_risk,
        count(r.resource) as series_at_risk,
        count(r.resource) filter (where r.resource = 'cpu') as cpu_series_at_risk,
        count(r.resource) filter (where r.resource = 'memory') as memory_series_at_risk,
        count(r.resource) filter (where r.resource = 'disk') as disk_series_at_risk,
        count(r.resource) filter (where r.resource = 'network') as network_series_at_risk,
        min(r.first_breach_date) as soonest_breach_date
    from hosts as h left join capacity_risks as r using (host_id)
    group by grouping sets ((h.department, h.region), (h.department))
)
select
    department, region, hosts, hosts_at_risk, round(hosts_at_risk / hosts, 4) as share_hosts_at_risk,
    series_at_risk, cpu_series_at_risk, memory_series_at_risk, disk_series_at_risk, network_series_at_risk,
    soonest_breach_date,
    row_number() over (
        partition by region = 'ALL' order by hosts_at_risk desc, soonest_breach_date nulls last, department, region
    ) as risk_rank
from grouped;

create table fleet_health as
with per_host as (
    select
        host_id,
        bool_or(first_breach_date is not null and trust_level = 'HIGH') as has_trusted_breach,
        bool_or(first_breach_180d is not null) as breaches_180d,
        max(max_upper_90d) as max_upper_90d,
        arg_max(resource, max_upper_90d) as worst_resource,
        min(first_breach_180d - history_end)::integer as days_to_upper_breach
    from series_outlook
    group by host_id
)
select
    h.host_id, h.hostname, h.department, h.region, h.environment, h.app_code, h.app_manager,
    case when p.has_trusted_breach then 'RED' when p.breaches_180d or p.max_upper_90d > 85 then 'AMBER'
         else 'GREEN' end as status,
    case when p.has_trusted_breach then 'high-trust breach within 90 days'
         when p.breaches_180d then 'breach within 180 days'
         when p.max_upper_90d > 85 then 'upper bound above 85% within 90 days'
         else 'no breach in sight' end as status_reason,
    p.worst_resource, p.days_to_upper_breach, p.max_upper_90d
from hosts as h join per_host as p using (host_id);

create table model_audit as
with calibrated as (
    select l.host_id, l.resource,
        avg(case when p.y between f.yhat - c.q and f.yhat + c.q then 1.0 else 0.0 end) as calibrated_coverage
    from model_leaderboard as l
    join calibration as c using (host_id, resource, model)
    join engine_forecasts as f
        using (host_id, resource, model)
    join processed_data as p using (host_id, resource, ds)
    where l.is_champion and f.segment = 'backtest'
    group by all
)
select
    l.model,
    coalesce(l.resource, 'ALL') as resource,
    coalesce(h.scenario, 'ALL') as scenario,
    coalesce(h.variant, 'ALL') as variant,
    count(*) as series,
    count(*) filter (where l.is_champion) as wins,
    count(*) filter (where l.is_champion) / count(*) as win_share,
    median(l.mape) as median_mape,
    avg(l.coverage) as interval_coverage,
    0.8::double as nominal_coverage,
    avg(c.calibrated_coverage) filter (where l.is_champion) as calibrated_coverage
from model_leaderboard as l
join hosts as h using (host_id)
left join calibrated as c using (host_id, resource)
-- Roll-ups like the real mart's: per model x resource and per model, 'ALL' in the rolled-up columns.
group by grouping sets ((l.model, l.resource, h.scenario, h.variant), (l.model, l.resource), (l.model))
order by all;

create table _published as select now() as published_at, 'fixture' as warehouse_path;
"""


def build_serving_copy(data_dir: Path, hosts: int = 12, history_days: int = 365, seed: int = 1) -> Path:
    """Write ``data_dir/serving/horizonscale.duckdb`` with every mart the dashboard reads; return its path."""
    target = data_dir / "serving" / "horizonscale.duckdb"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    with duckdb.connect(str(partial)) as con:
        con.execute("set enable_progress_bar = false")
        _create_inputs(con, hosts, history_days, seed)
        as_list = "[" + ", ".join(f"'{value}'" for value in RESOURCES) + "]"
        con.execute(
            HOSTS_SQL.format(
                regions="[" + ", ".join(f"'{value}'" for value in REGIONS) + "]",
                n_regions=len(REGIONS),
                environments="[" + ", ".join(f"'{value}'" for value in ENVIRONMENTS) + "]",
                n_environments=len(ENVIRONMENTS),
                resources=as_list,
                quoted=QUOTED_HOSTNAME.replace("'", "''"),
                formula=FORMULA_MANAGER,
            )
        )
        con.execute(PROCESSED_SQL)
        for model, table in MODELS.items():
            con.execute(ENGINE_SQL.format(table=table, model=model))
        con.execute(
            "create table engine_registry "
            "(model varchar, relation varchar, simplicity integer, writes_run_log boolean, description varchar)"
        )
        con.executemany(
            "insert into engine_registry values (?, ?, ?, ?, ?)",
            [[e["name"], e["relation"], e["simplicity"], e["writes_run_log"], e["description"]] for e in ENGINES],
        )
        con.execute(
            "create temp view engine_forecasts as " + " union all ".join(f"from {table}" for table in MODELS.values())
        )
        con.execute(MARTS_SQL)
        con.execute("alter table hosts drop column host")
        con.execute("checkpoint")
    partial.replace(target)
    return target


# --- the fixture checks itself: its marts must agree the way the real ones do --------------------------------


@pytest.fixture(scope="module")
def fixture_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_serving_copy(tmp_path_factory.mktemp("dashboard_fixture"))


def test_fixture_has_every_kind_of_risk(fixture_copy: Path) -> None:
    with duckdb.connect(str(fixture_copy), read_only=True) as con:
        statuses = dict(con.execute("select status, count(*) from fleet_health group by all").fetchall())
        assert set(statuses) == {"RED", "AMBER", "GREEN"}
        assert sum(statuses.values()) == 12
        champions = con.execute("select count(*) from model_leaderboard where is_champion").fetchall()[0][0]
        assert champions == 12 * len(RESOURCES)
        winners = {
            row[0] for row in con.execute("select distinct model from model_leaderboard where is_champion").fetchall()
        }
        assert winners == set(MODELS)
        breached = con.execute("select min(days_to_breach), max(days_to_breach) from capacity_risks").fetchall()[0]
        assert 0 < breached[0] <= breached[1] <= 90
        likely = con.execute("select min(breach_probability), max(breach_probability) from capacity_risks").fetchall()
        assert 0.05 < likely[0][0] <= likely[0][1] <= 1
        bases = {row[0] for row in con.execute("select distinct breach_basis from capacity_risks").fetchall()}
        assert bases <= {"point forecast", "band"} and bases


def test_fixture_summary_agrees_with_risks(fixture_copy: Path) -> None:
    with duckdb.connect(str(fixture_copy), read_only=True) as con:
        summary = con.execute(
            "select sum(series_at_risk) from department_risk_summary where region = 'ALL'"
        ).fetchall()[0]
        risks = con.execute("select count(*) from capacity_risks").fetchall()[0]
        assert summary == risks
        mean_y = con.execute("select avg(y) from processed_data").fetchall()[0][0]
        assert not math.isnan(mean_y) and 0 < mean_y < 100
