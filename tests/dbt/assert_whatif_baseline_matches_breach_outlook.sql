-- The what-if macros applied to the unchanged golden forecasts reproduce the breach facts of
-- int_series_breach_outlook and the status of fleet_health: the scenario models apply the same rule.
{%- set interval_width = var("interval_width") | float %}

with

windows as (
    select * from {{ ref('forecast_windows') }}
),

identity_scenario as (
    select
        '__baseline__' as scenario_name,
        'fleet' as scope_kind,
        null as scope_value,
        'all' as resource,
        null as start_date,
        null as growth_pct_per_month,
        null as step_points,
        null as step_pct,
        null as capacity_factor,
        null as description
),

scenarios as (
    {{ whatif_normalized('identity_scenario') }}
),

hosts as (
    select * from {{ ref('hosts') }}
),

forecasts as (
    select * from {{ ref('forecasts') }}
),

exclusions as (
    select * from {{ ref('forecast_exclusions') }}
),

scope_hosts as (
    {{ whatif_scope_hosts('scenarios', 'hosts') }}
),

scenario_forecasts as (
    {{ whatif_forecasts('scenarios', 'scope_hosts', 'forecasts', 'windows') }}
),

peaks as (
    select * from {{ ref('recurring_peaks') }}
),

series as (
    {{ whatif_series_comparison(
        'scenario_forecasts', var('breach_threshold'), var('breach_window_days') | int,
        normal_quantile((1 + interval_width) / 2), var('breach_alert_min_probability', none),
        var('breach_alert_min_days', 1) | int(1), var('breach_alert_band_max_difficulty', none),
        'peaks', var('recurring_peak_min_probability', none), flag_var('breach_alert_growth_upside', false)) }}
),

stale as (
    select * from {{ ref('stale_hosts') }}
),

host_status as (
    {{ whatif_host_comparison('scope_hosts', 'series', 'exclusions', var('amber_threshold'), 'stale') }}
),

outlook as (
    select * from {{ ref('int_series_breach_outlook') }}
),

fleet_health as (
    select * from {{ ref('fleet_health') }}
)

select
    'series' as kind,
    coalesce(series.host_id, outlook.host_id) as host_id,
    coalesce(series.resource, outlook.resource) as resource
from series
full outer join outlook
    on
        series.host_id = outlook.host_id
        and series.resource = outlook.resource
where
    series.host_id is null
    or outlook.host_id is null
    or series.baseline_is_breach_alert is distinct from outlook.is_breach_alert
    or series.scenario_is_breach_alert is distinct from outlook.is_breach_alert
    or series.baseline_first_breach_date is distinct from outlook.first_breach_date
    or series.baseline_days_to_breach is distinct from outlook.days_to_breach
    or series.baseline_expected_breach_date is distinct from outlook.first_point_breach_date
    or series.baseline_peak_yhat_upper is distinct from outlook.peak_yhat_upper
union all
select
    'host' as kind,
    coalesce(host_status.host_id, fleet_health.host_id) as host_id,
    null as resource
from host_status
full outer join fleet_health on host_status.host_id = fleet_health.host_id
where
    host_status.host_id is null
    or fleet_health.host_id is null
    or host_status.baseline_status is distinct from fleet_health.status
    or host_status.scenario_status is distinct from fleet_health.status
