"""Every query the dashboard runs. SQL text is constant; user choices reach DuckDB only as bound parameters.

Filters become ``list_contains(?::varchar[], <column>)`` clauses over column names fixed in this module, and
host searches are bound strings, so nothing a user types is ever parsed as SQL. Aggregation happens in
DuckDB: the views receive counts, quantiles and single-host series, never the 8.8M-row telemetry table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from dashboard.warehouse import Snapshot, query

RESOURCES: tuple[str, ...] = ("cpu", "memory", "disk", "network")


@dataclass(frozen=True)
class Filters:
    """The user's selections; an empty tuple means "all"."""

    regions: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()

    def where(self, **columns: str) -> tuple[str, list[Any]]:
        """A ``where`` clause over the given columns, e.g. ``where(regions="h.region")``, and its parameters.

        Column names come from the calling code, never from the user; values are bound.
        """
        clauses, params = ["true"], []
        for field, column in columns.items():
            values = getattr(self, field)
            if values:
                clauses.append(f"list_contains(?::varchar[], {column})")
                params.append(list(values))
        return " and ".join(clauses), params


# --- windows and freshness --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Windows:
    history_start: date
    history_end: date
    backtest_start: date
    backtest_end: date  # history_end, or earlier when the build kept an earlier tournament
    forecast_start: date
    forecast_end: date


def windows(snapshot: Snapshot) -> Windows:
    frame = query(
        snapshot,
        "select history_start, history_end, backtest_start, backtest_end, forecast_start, forecast_end"
        " from forecast_windows limit 1",
    )
    return Windows(**frame.row(0, named=True))


def published_at(snapshot: Snapshot) -> str | None:
    frame = query(snapshot, "select strftime(max(published_at), '%Y-%m-%d %H:%M') as published_at from _published")
    return frame["published_at"][0]


# --- fleet health -----------------------------------------------------------------------------------------------


def fleet_dimensions(snapshot: Snapshot) -> pl.DataFrame:
    """Distinct region / department / environment combinations, for the filter choices."""
    return query(snapshot, "select region, department, environment from fleet_health group by all order by all")


def _fleet_where(filters: Filters) -> tuple[str, list[Any]]:
    # A host's status is set by its worst resource, so the resource filter selects hosts by that resource.
    return filters.where(
        regions="region", departments="department", environments="environment", resources="worst_resource"
    )


def rag_counts(snapshot: Snapshot, filters: Filters) -> pl.DataFrame:
    where, params = _fleet_where(filters)
    return query(
        snapshot,
        f"""
        select status, count(*) as hosts
        from fleet_health where {where}
        group by status
        """,
        params,
    )


def rag_by_department(snapshot: Snapshot, filters: Filters) -> pl.DataFrame:
    where, params = _fleet_where(filters)
    return query(
        snapshot,
        f"""
        select
            department,
            count(*) filter (where status = 'RED') as red,
            count(*) filter (where status = 'AMBER') as amber,
            count(*) filter (where status = 'GREEN') as green,
            count(*) as hosts,
            round(count(*) filter (where status = 'RED') / count(*), 4) as share_red
        from fleet_health where {where}
        group by department
        order by red desc, amber desc, department
        """,
        params,
    )


def soonest_breaches(snapshot: Snapshot, filters: Filters, limit: int) -> pl.DataFrame:
    where, params = filters.where(
        regions="region", departments="department", environments="environment", resources="resource"
    )
    return query(
        snapshot,
        f"""
        select
            days_to_breach, first_breach_date, expected_breach_date, breach_probability, breach_basis, hostname,
            resource, department, app_code, app_manager, region, environment, peak_yhat_upper, headroom_90d,
            trust_level, champion_model, backtest_mape, host_id
        from capacity_risks where {where}
        order by days_to_breach, breach_probability desc, hostname, resource
        limit ?
        """,
        [*params, limit],
    )


#: The dbt var breach_window_days' default, for a serving copy without whatif_rules (a partial build).
DEFAULT_BREACH_WINDOW_DAYS = 90


DEFAULT_BREACH_THRESHOLD = 95.0


def breach_window_days(snapshot: Snapshot, present: frozenset[str]) -> int:
    """The breach window the build used (whatif_rules publishes the alert's vars)."""
    if "whatif_rules" not in present:
        return DEFAULT_BREACH_WINDOW_DAYS
    rules = query(snapshot, "select breach_window_days from whatif_rules")
    return int(rules["breach_window_days"][0]) if rules.height else DEFAULT_BREACH_WINDOW_DAYS


def breach_threshold(snapshot: Snapshot, present: frozenset[str]) -> float:
    """The breach threshold (%) the build used (the dbt var breach_threshold, published in whatif_rules)."""
    if "whatif_rules" not in present:
        return DEFAULT_BREACH_THRESHOLD
    rules = query(snapshot, "select breach_threshold from whatif_rules")
    return float(rules["breach_threshold"][0]) if rules.height else DEFAULT_BREACH_THRESHOLD


def hosts_to_review(snapshot: Snapshot, filters: Filters) -> pl.DataFrame:
    """Every RED and AMBER host with the reason fleet_health gives (stale, never reported, no forecast, a
    crossing below the alert rule, ...): RED first, then the soonest crossing."""
    where, params = _fleet_where(filters)
    return query(
        snapshot,
        f"""
        select
            status, hostname, status_reason, worst_resource, days_to_upper_breach, department, app_manager,
            region, environment, host_id
        from fleet_health where status <> 'GREEN' and {where}
        order by status = 'RED' desc, days_to_upper_breach nulls last, hostname
        """,
        params,
    )


def breach_count(snapshot: Snapshot, filters: Filters) -> int:
    where, params = filters.where(
        regions="region", departments="department", environments="environment", resources="resource"
    )
    frame = query(snapshot, f"select count(*) as series from capacity_risks where {where}", params)
    return int(frame["series"][0])


# --- risk heatmap -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Rows and columns of the risk heatmap; both are host attributes or ``resource``."""

    row: str
    column: str
    total_label: str


LAYOUTS: dict[str, Layout] = {
    "Department by resource": Layout("department", "resource", "any resource"),
    "Region by resource": Layout("region", "resource", "any resource"),
    "Department by region": Layout("department", "region", "all regions"),
}


def _heatmap_base(filters: Filters) -> tuple[str, list[Any]]:
    """Hosts in scope, and the at-risk series of those hosts (host attributes from ``hosts``)."""
    host_where, host_params = filters.where(regions="region", departments="department", environments="environment")
    risk_where, risk_params = filters.where(resources="r.resource")
    sql = f"""
        base as (
            select host_id, department, region, environment from hosts where {host_where}
        ),
        risk as (
            select b.*, r.resource, r.first_breach_date, r.days_to_breach
            from capacity_risks as r join base as b using (host_id)
            where {risk_where}
        )"""
    return sql, [*host_params, *risk_params]


def risk_matrix(snapshot: Snapshot, layout: Layout, filters: Filters) -> pl.DataFrame:
    """Hosts at risk per heatmap cell, with the hosts in the cell and the share; plus a total column."""
    base, params = _heatmap_base(filters)
    resources = list(filters.resources or RESOURCES)
    if layout.column == "resource":
        denominator = f"""
            select b.{layout.row} as row_key, c.resource as column_key, count(distinct b.host_id) as hosts
            from base as b cross join (select unnest(?::varchar[]) as resource) as c
            group by grouping sets ((b.{layout.row}, c.resource), (b.{layout.row}))"""
        params = [*params, resources]
    else:
        denominator = f"""
            select b.{layout.row} as row_key, b.{layout.column} as column_key, count(distinct b.host_id) as hosts
            from base as b
            group by grouping sets ((b.{layout.row}, b.{layout.column}), (b.{layout.row}))"""
    return query(
        snapshot,
        f"""
        with {base},
        cells as (
            select {layout.row} as row_key, {layout.column} as column_key, count(distinct host_id) as hosts_at_risk,
                min(days_to_breach) as soonest_days
            from risk
            group by grouping sets (({layout.row}, {layout.column}), ({layout.row}))
        ),
        denominators as ({denominator})
        select
            d.row_key, coalesce(d.column_key, ?) as column_key, d.hosts,
            coalesce(c.hosts_at_risk, 0) as hosts_at_risk,
            round(coalesce(c.hosts_at_risk, 0) / d.hosts, 4) as share_at_risk,
            c.soonest_days
        from denominators as d
        left join cells as c on d.row_key = c.row_key and d.column_key is not distinct from c.column_key
        order by d.row_key, d.column_key nulls last
        """,
        [*params, layout.total_label],
    )


def drill_down(
    snapshot: Snapshot, layout: Layout, filters: Filters, row_key: str, column_key: str | None
) -> pl.DataFrame:
    """The at-risk series behind one heatmap cell (``column_key`` None: the whole row), likeliest breach first."""
    base, params = _heatmap_base(filters)
    column_clause = f"and r.{layout.column} = ?" if column_key is not None else ""
    column_params = [column_key] if column_key is not None else []
    return query(
        snapshot,
        f"""
        with {base}
        select
            c.breach_probability, c.breach_basis, r.days_to_breach, r.first_breach_date, h.hostname, r.resource,
            r.department, r.region, r.environment, h.app_code, h.app_manager, c.peak_yhat_upper, c.trust_level,
            c.champion_model, r.host_id
        from risk as r
        join hosts as h using (host_id)
        join capacity_risks as c using (host_id, resource)
        where r.{layout.row} = ? {column_clause}
        order by c.breach_probability desc, r.days_to_breach, h.hostname, r.resource
        """,
        [*params, row_key, *column_params],
    )


def department_summary(snapshot: Snapshot, region: str | None) -> pl.DataFrame:
    where = "region = ?" if region is not None else "true"
    return query(
        snapshot,
        f"""
        select
            risk_rank, department, region, hosts, hosts_at_risk, share_hosts_at_risk, series_at_risk,
            cpu_series_at_risk, memory_series_at_risk, disk_series_at_risk, network_series_at_risk,
            soonest_breach_date
        from department_risk_summary
        where {where}
        order by region = 'ALL' desc, region, risk_rank, department
        """,
        [region] if region is not None else [],
    )


def summary_regions(snapshot: Snapshot) -> list[str]:
    frame = query(snapshot, "select distinct region from department_risk_summary order by region = 'ALL' desc, region")
    return frame["region"].to_list()


# --- right-sizing -----------------------------------------------------------------------------------------------

#: How the right-sizing view groups its roll-up: a label for the user, a ``rightsizing`` column fixed here.
SIZING_GROUPS: dict[str, str] = {"Department": "department", "App owner": "app_manager", "Application": "app_code"}
#: The sized resources and their units (the rightsizing mart; network is not sized).
SIZED_UNITS: dict[str, str] = {"cpu": "cores", "memory": "GB", "disk": "GB"}


def _sizing_where(filters: Filters) -> tuple[str, list[Any]]:
    return filters.where(regions="region", departments="department", environments="environment", resources="resource")


def sizing_targets(snapshot: Snapshot) -> dict[str, float]:
    """Target utilization (%) per sized resource, as the build's vars set them."""
    frame = query(
        snapshot,
        "select resource, any_value(target_utilization) as target from rightsizing "
        "where target_utilization is not null group by all",
    )
    targets = dict(frame.iter_rows())
    return {resource: targets[resource] for resource in SIZED_UNITS if resource in targets}


def sizing_dimensions(snapshot: Snapshot) -> pl.DataFrame:
    return query(snapshot, "select region, department, environment from rightsizing group by all order by all")


#: Hosts to resize and the cores / GB they give back or need: the measures every right-sizing roll-up shows.
_SIZING_MEASURES = """
    count(distinct host_id) filter (where action = 'downsize') as hosts_to_downsize,
    count(distinct host_id) filter (where action = 'upsize') as hosts_to_upsize,
    coalesce(sum(reclaimable_capacity) filter (where resource = 'cpu'), 0) as reclaimable_cores,
    coalesce(sum(reclaimable_capacity) filter (where resource = 'memory'), 0) as reclaimable_memory_gb,
    coalesce(sum(reclaimable_capacity) filter (where resource = 'disk'), 0) as reclaimable_disk_gb,
    coalesce(sum(capacity_to_add) filter (where resource = 'cpu'), 0) as cores_to_add,
    coalesce(sum(capacity_to_add) filter (where resource = 'memory'), 0) as memory_gb_to_add,
    coalesce(sum(capacity_to_add) filter (where resource = 'disk'), 0) as disk_gb_to_add,
    min(needed_by_date) as soonest_needed_by_date"""


def sizing_totals(snapshot: Snapshot, filters: Filters) -> dict[str, Any]:
    """Hosts to downsize and upsize, and the cores and GB they give back or need, over the filtered series."""
    where, params = _sizing_where(filters)
    frame = query(
        snapshot,
        f"""
        select
            count(distinct host_id) as hosts,
            count(*) filter (where action = 'no_recommendation' and resource <> 'network')
                as series_without_recommendation,
            {_SIZING_MEASURES}
        from rightsizing where {where}
        """,
        params,
    )
    return frame.row(0, named=True)


def sizing_by_group(snapshot: Snapshot, group: str, filters: Filters) -> pl.DataFrame:
    """The roll-up per ``group`` (a value of SIZING_GROUPS), most cores to give back first."""
    column = SIZING_GROUPS[group]  # a KeyError, never SQL, for anything else
    where, params = _sizing_where(filters)
    return query(
        snapshot,
        f"""
        select
            coalesce({column}, '(none)') as owner,
            count(distinct host_id) as hosts,
            {_SIZING_MEASURES}
        from rightsizing where {where}
        group by all
        order by reclaimable_cores desc, cores_to_add desc, owner
        """,
        params,
    )


def sizing_actions(snapshot: Snapshot, action: str, filters: Filters, limit: int) -> pl.DataFrame:
    """Upsizes soonest needed first, or downsizes with the largest share of capacity given back first."""
    order = {
        "upsize": "needed_by_date, capacity_to_add / current_capacity desc, hostname, resource",
        "downsize": "reclaimable_capacity / current_capacity desc, reclaimable_capacity desc, hostname, resource",
    }[action]
    where, params = _sizing_where(filters)
    return query(
        snapshot,
        f"""
        select
            needed_by_date, hostname, resource, current_capacity, recommended_capacity, capacity_change,
            capacity_unit, peak_yhat_upper, projected_peak_utilization, first_breach_date, is_breach_alert,
            trust_level, department, app_code, app_manager, reason, host_id
        from rightsizing where action = ? and {where}
        order by {order}
        limit ?
        """,
        [action, *params, limit],
    )


def sizing_action_count(snapshot: Snapshot, action: str, filters: Filters) -> int:
    where, params = _sizing_where(filters)
    sql = f"select count(*) as series from rightsizing where action = ? and {where}"
    frame = query(snapshot, sql, [action, *params])
    return int(frame["series"][0])


def sizing_blockers(snapshot: Snapshot, filters: Filters) -> pl.DataFrame:
    """Why sized series (cpu, memory, disk) got no recommendation: the reason's lead words, with counts."""
    where, params = _sizing_where(filters)
    return query(
        snapshot,
        f"""
        select split_part(reason, ':', 1) as why, count(*) as series, count(distinct host_id) as hosts
        from rightsizing
        where action = 'no_recommendation' and resource <> 'network' and {where}
        group by all
        order by series desc, why
        """,
        params,
    )


# --- model audit ------------------------------------------------------------------------------------------------


# model_audit holds its own roll-ups (grouping sets): per model x resource x scenario x variant, then per model x
# resource and per model, with 'ALL' in the rolled-up columns. The views sum the finest rows only: those with a
# scenario, or, for a fleet without DNA (scenario 'ALL' throughout), the model x resource rows, deduplicated.
AUDIT_DETAIL = """
    audit as (select distinct * from model_audit where resource <> 'ALL'),
    detail as (
        select * from audit as a
        where a.scenario <> 'ALL' or not exists (
            select 1 from audit as b where b.model = a.model and b.resource = a.resource and b.scenario <> 'ALL'
        )
    )"""


def audit_dimensions(snapshot: Snapshot) -> pl.DataFrame:
    return query(snapshot, f"with {AUDIT_DETAIL} select scenario, variant from detail group by all order by all")


def _audit_where(filters: Filters) -> tuple[str, list[Any]]:
    return filters.where(resources="resource", scenarios="scenario", variants="variant")


def model_audit(snapshot: Snapshot, filters: Filters) -> pl.DataFrame:
    """The finest rows of ``model_audit`` (every column the mart has), for the chart and the table."""
    where, params = _audit_where(filters)
    return query(
        snapshot,
        f"with {AUDIT_DETAIL} select * from detail where {where} order by scenario, variant, resource, model",
        params,
    )


def wins_by_model(snapshot: Snapshot, filters: Filters) -> pl.DataFrame:
    where, params = _audit_where(filters)
    return query(
        snapshot,
        f"""
        with {AUDIT_DETAIL}
        select model, sum(wins)::bigint as wins, sum(series)::bigint as series,
            round(sum(wins) / nullif(sum(series), 0), 4) as win_share
        from detail where {where}
        group by model
        order by wins desc, model
        """,
        params,
    )


def mape_quantiles(snapshot: Snapshot, filters: Filters) -> pl.DataFrame:
    """Per model and resource: quantiles of backtest MAPE over the series, computed in DuckDB."""
    where, params = filters.where(resources="l.resource", scenarios="h.scenario", variants="h.variant")
    return query(
        snapshot,
        f"""
        select
            l.model, l.resource, count(*) as series,
            quantile_cont(l.mape, 0.05) as p05, quantile_cont(l.mape, 0.25) as p25,
            quantile_cont(l.mape, 0.5) as median, quantile_cont(l.mape, 0.75) as p75,
            quantile_cont(l.mape, 0.95) as p95, avg(l.mape) as mean
        from model_leaderboard as l
        join hosts as h using (host_id)
        where l.mape is not null and isfinite(l.mape) and {where}
        group by all
        order by l.resource, l.model
        """,
        params,
    )


def coverage(snapshot: Snapshot, filters: Filters) -> pl.DataFrame:
    """Nominal vs measured interval coverage per model and resource (series-weighted over scenarios)."""
    where, params = _audit_where(filters)
    return query(
        snapshot,
        f"""
        with {AUDIT_DETAIL}
        select
            model, resource, sum(series)::bigint as series,
            max(nominal_coverage)::double as nominal_coverage,
            sum(interval_coverage * series) / nullif(sum(series) filter (where interval_coverage is not null), 0)
                as measured_coverage,
            sum(calibrated_coverage * series)
                / nullif(sum(series) filter (where calibrated_coverage is not null), 0) as calibrated_coverage
        from detail where {where}
        group by all
        order by resource, model
        """,
        params,
    )


# --- host deep dive ---------------------------------------------------------------------------------------------

HOST_COLUMNS = """
    host_id, hostname, department, app_code, app_name, app_manager, region, environment,
    cpu_cores, memory_gb, storage_gb, scenario, variant"""


def search_hosts(snapshot: Snapshot, text: str, limit: int = 50) -> pl.DataFrame:
    """Hosts whose id equals, or whose hostname contains, ``text`` (case-insensitive, literal; no wildcards)."""
    needle = text.strip().lower()
    return query(
        snapshot,
        f"""
        select {HOST_COLUMNS}
        from hosts
        where host_id = ? or contains(lower(hostname), ?)
        order by host_id = ? desc, lower(hostname) = ? desc, hostname
        limit ?
        """,
        [needle, needle, needle, needle, limit],
    )


def soonest_hosts(snapshot: Snapshot, limit: int = 25) -> pl.DataFrame:
    """The hosts that breach soonest: the deep dive's starting list before anything is typed."""
    return query(
        snapshot,
        f"""
        select {HOST_COLUMNS}
        from hosts
        join (select host_id, min(days_to_breach) as days from capacity_risks group by host_id) using (host_id)
        order by days, hostname
        limit ?
        """,
        [limit],
    )


def host_health(snapshot: Snapshot, host_id: str) -> pl.DataFrame:
    return query(
        snapshot,
        """
        select status, status_reason, worst_resource, days_to_upper_breach, max_upper_90d
        from fleet_health where host_id = ?
        """,
        [host_id],
    )


def host_history(snapshot: Snapshot, host_id: str) -> pl.DataFrame:
    return query(
        snapshot,
        "select resource, ds, y, is_imputed from processed_data where host_id = ? order by resource, ds",
        [host_id],
    )


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def engine_tables(snapshot: Snapshot, present: frozenset[str]) -> tuple[str, ...]:
    """The published engine tables, in the registry's order (``engine_registry``: the one list of engines).

    Only names that are tables of the serving copy are returned, so what reaches SQL text below is always an
    existing table name, never free text.
    """
    if "engine_registry" not in present:
        return ()
    frame = query(snapshot, "select relation from engine_registry order by simplicity, relation")
    return tuple(name for name in frame["relation"].to_list() if name in present)


def host_backtests(snapshot: Snapshot, host_id: str, present: frozenset[str]) -> pl.DataFrame:
    """Backtest predictions of every engine of ``engine_registry`` whose table is published."""
    parts = [
        f"select resource, model, ds, yhat, yhat_lower, yhat_upper from {_identifier(table)} "
        "where host_id = ? and segment = 'backtest'"
        for table in engine_tables(snapshot, present)
    ]
    if not parts:
        return pl.DataFrame(
            schema={
                "resource": pl.String,
                "model": pl.String,
                "ds": pl.Date,
                "yhat": pl.Float64,
                "yhat_lower": pl.Float64,
                "yhat_upper": pl.Float64,
            }
        )
    sql = " union all ".join(parts) + " order by resource, model, ds"
    return query(snapshot, sql, [host_id] * len(parts))


def host_forecast(snapshot: Snapshot, host_id: str, present: frozenset[str]) -> pl.DataFrame:
    """The golden forecast of the host's series (empty while the serving copy has no ``forecasts``)."""
    if "forecasts" not in present:
        return pl.DataFrame(
            schema={
                "resource": pl.String,
                "ds": pl.Date,
                "yhat": pl.Float64,
                "yhat_lower": pl.Float64,
                "yhat_upper": pl.Float64,
                "champion_model": pl.String,
                "backtest_mape": pl.Float64,
                "trust_level": pl.String,
                "champion_reason": pl.String,
                "is_regime_override": pl.Boolean,
                "band_source": pl.String,
                "is_trend_stop_lower": pl.Boolean,
                "is_trend_stop_upper": pl.Boolean,
                "has_wander_band": pl.Boolean,
            }
        )
    return query(
        snapshot,
        """
        select resource, ds, yhat, yhat_lower, yhat_upper, champion_model, backtest_mape, trust_level, champion_reason,
            is_regime_override, band_source, is_trend_stop_lower, is_trend_stop_upper, has_wander_band
        from forecasts where host_id = ? order by resource, ds
        """,
        [host_id],
    )


def host_risks(snapshot: Snapshot, host_id: str) -> pl.DataFrame:
    return query(
        snapshot,
        """
        select resource, first_breach_date, days_to_breach, breach_basis, breach_probability, peak_yhat_upper,
            peak_yhat, headroom_90d, headroom_180d, trust_level, champion_model, backtest_mape
        from capacity_risks where host_id = ? order by resource
        """,
        [host_id],
    )


def host_exclusions(snapshot: Snapshot, host_id: str, present: frozenset[str]) -> dict[str, str]:
    """Why each of the host's series has no golden forecast (forecast_exclusions' reason and detail)."""
    if "forecast_exclusions" not in present:
        return {}
    rows = query(
        snapshot,
        "select resource, reason || coalesce(': ' || detail, '') as why from forecast_exclusions where host_id = ?",
        [host_id],
    )
    return dict(rows.iter_rows())


def host_leaderboard(snapshot: Snapshot, host_id: str) -> pl.DataFrame:
    return query(
        snapshot,
        """
        select resource, rank, model, is_champion, status, run_error, mape, wape, mae, bias, coverage
        from model_leaderboard where host_id = ? order by resource, rank, model
        """,
        [host_id],
    )


# --- track record (forecast_accuracy, risk_changes) -------------------------------------------------------------

#: WAPE, MAPE, bias and coverage recomputed from forecast_accuracy's sums, so any roll-up is exact.
_ACCURACY_MEASURES = """
    sum(scored_days) as scored_days,
    round(100 * sum(absolute_error_sum) / nullif(sum(actual_sum), 0), 2) as wape,
    round(100 * sum(percentage_error_sum) / nullif(sum(mape_days), 0), 2) as mape,
    round(sum(error_sum) / sum(scored_days), 3) as bias,
    round(sum(covered_days) / sum(scored_days), 4) as band_coverage
"""


def accuracy_dimensions(snapshot: Snapshot) -> pl.DataFrame:
    return query(snapshot, "select resource, department from forecast_accuracy group by all order by all")


def _accuracy_where(filters: Filters) -> tuple[str, list[Any]]:
    return filters.where(resources="resource", departments="department")


def accuracy_over_time(snapshot: Snapshot, filters: Filters) -> pl.DataFrame:
    """Per snapshot (as_of) and engine, all horizons together."""
    where, params = _accuracy_where(filters)
    return query(
        snapshot,
        f"select as_of, champion_model as model, {_ACCURACY_MEASURES} from forecast_accuracy where {where} "
        "group by all order by as_of, model",
        params,
    )


def accuracy_by_horizon(snapshot: Snapshot, filters: Filters) -> pl.DataFrame:
    """Per horizon bucket, engine and trust level, all snapshots together."""
    where, params = _accuracy_where(filters)
    return query(
        snapshot,
        f"select horizon_bucket_start, horizon_bucket, champion_model as model, trust_level, {_ACCURACY_MEASURES} "
        f"from forecast_accuracy where {where} group by all order by horizon_bucket_start, model, trust_level",
        params,
    )


def risk_changes(snapshot: Snapshot) -> pl.DataFrame:
    return query(
        snapshot,
        "select change_type, hostname, resource, department, previous_breach_date, current_breach_date, days_moved, "
        "previous_trust_level, current_trust_level, current_champion, previous_as_of, current_as_of "
        "from risk_changes order by change_type, coalesce(current_breach_date, previous_breach_date), hostname",
    )
