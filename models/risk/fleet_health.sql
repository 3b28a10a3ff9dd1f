-- One Red/Amber/Green status per host. Rules (thresholds are dbt vars):
--   RED   = the calibrated upper bound crosses breach_threshold within breach_window_days (a capacity_risks row);
--   AMBER = it crosses breach_threshold later in the forecast horizon, or exceeds amber_threshold within
--           breach_window_days, or the host has a series with no forecast at all (unknown = to review);
--   GREEN = otherwise.
with

hosts as (
    select * from {{ ref('hosts') }}
),

forecasts as (
    select * from {{ ref('forecasts') }}
),

exclusions as (
    select * from {{ ref('forecast_exclusions') }}
),

windows as (
    select * from {{ ref('forecast_windows') }}
),

per_series as (
    select
        forecasts.host_id,
        forecasts.resource,
        min(datediff('day', windows.history_end, forecasts.ds)) filter (
            where forecasts.yhat_upper > {{ var('breach_threshold') }}
        ) as days_to_breach,
        max(forecasts.yhat_upper) filter (
            where datediff('day', windows.history_end, forecasts.ds) <= {{ var('breach_window_days') }}
        ) as max_upper_in_window
    from forecasts
    cross join windows
    group by all
),

per_host as (
    select
        host_id,
        min(days_to_breach) as days_to_breach,
        max(max_upper_in_window) as max_upper_90d,
        arg_min(resource, coalesce(days_to_breach, 100000) * 1000 - max_upper_in_window) as worst_resource
    from per_series
    group by all
),

excluded_hosts as (
    select
        host_id,
        count(*) as unforecast_series
    from exclusions
    group by all
)

select
    hosts.host_id,
    hosts.hostname,
    hosts.department,
    hosts.region,
    hosts.environment,
    hosts.app_code,
    hosts.app_manager,
    case
        when per_host.days_to_breach <= {{ var('breach_window_days') }} then 'RED'
        when per_host.days_to_breach is not null then 'AMBER'
        when per_host.max_upper_90d > {{ var('amber_threshold') }} then 'AMBER'
        when excluded_hosts.unforecast_series > 0 then 'AMBER'
        else 'GREEN'
    end as status,
    case
        when per_host.days_to_breach <= {{ var('breach_window_days') }}
            then
                per_host.worst_resource || ' crosses {{ var("breach_threshold") }}% in '
                || per_host.days_to_breach || ' days'
        when per_host.days_to_breach is not null
            then
                per_host.worst_resource || ' crosses {{ var("breach_threshold") }}% in '
                || per_host.days_to_breach || ' days (beyond {{ var("breach_window_days") }})'
        when per_host.max_upper_90d > {{ var('amber_threshold') }}
            then
                per_host.worst_resource || ' upper bound reaches ' || round(per_host.max_upper_90d, 1)
                || '% within {{ var("breach_window_days") }} days'
        when excluded_hosts.unforecast_series > 0
            then excluded_hosts.unforecast_series || ' series without a forecast (see forecast_exclusions)'
        else 'headroom on every resource'
    end as status_reason,
    per_host.worst_resource,
    per_host.days_to_breach,
    per_host.max_upper_90d
from hosts
left join per_host on hosts.host_id = per_host.host_id
left join excluded_hosts on hosts.host_id = excluded_hosts.host_id
