-- One Red/Amber/Green status per host, from the per-series breach facts (int_series_breach_outlook; thresholds
-- and the alert rule are dbt vars):
--   RED   = a series is flagged by the breach alert (is_breach_alert: by default its calibrated upper bound
--           crosses breach_threshold within breach_window_days, or its recurring peaks over it make another
--           within the window more likely than not; the capacity_risks rows);
--   AMBER = the host stopped reporting or never did (stale_hosts: its forecast starts from old data, or it has
--           none), or an upper bound
--           crosses breach_threshold later in the forecast horizon (or within the window without
--           meeting a tuned alert rule, or on a band too uncertain to alert on), or exceeds amber_threshold
--           within breach_window_days, or the host has a series with no forecast at all (unknown = to review);
--   GREEN = otherwise.
with

hosts as (
    select * from {{ ref('hosts') }}
),

outlook as (
    select * from {{ ref('int_series_breach_outlook') }}
),

exclusions as (
    select * from {{ ref('forecast_exclusions') }}
),

stale as (
    select * from {{ ref('stale_hosts') }}
),

ranked as (
    select
        *,
        -- Flagged series first, then the soonest breach (the alert's date, else the upper bound's), then the
        -- highest upper bound.
        (case when is_breach_alert then 0 else 1 end) * 1000000000
        + coalesce(days_to_breach, 100000) * 1000
        - coalesce(peak_yhat_upper, 0) as worst_key
    from outlook
),

per_host as (
    select
        host_id,
        bool_or(is_breach_alert) as has_breach_alert,
        min(days_to_breach) filter (where is_breach_alert) as days_to_alert_breach,
        arg_min(breach_basis, worst_key) as worst_breach_basis,
        arg_min(recurring_peak_probability, worst_key) as worst_recurring_peak_probability,
        min(days_to_upper_breach) as days_to_upper_breach,
        max(peak_yhat_upper) as max_upper_90d,
        arg_min(resource, worst_key) as worst_resource,
        arg_min(is_band_informative, worst_key) as is_worst_band_informative,
        arg_min(champion_difficulty, worst_key) as worst_champion_difficulty
    from ranked
    group by all
),

flagged_phrases as (
    select
        host_id,
        case
            when worst_breach_basis = 'recurring peaks'
                then
                    worst_resource || ' has recurring peaks over {{ var("breach_threshold") }}%: a '
                    || cast(round(100 * worst_recurring_peak_probability) as integer) || '% chance of one within '
                    || '{{ var("breach_window_days") }} days, likelier than not by day ' || days_to_alert_breach
            else worst_resource || ' crosses {{ var("breach_threshold") }}% in ' || days_to_alert_breach || ' days'
        end as flagged_phrase
    from per_host
    where has_breach_alert
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
        when stale.host_id is not null then 'AMBER'
        when per_host.has_breach_alert then 'RED'
        when per_host.days_to_upper_breach is not null then 'AMBER'
        when per_host.max_upper_90d > {{ var('amber_threshold') }} then 'AMBER'
        when excluded_hosts.unforecast_series > 0 then 'AMBER'
        else 'GREEN'
    end as status,
    case
        when stale.host_id is not null and stale.last_reported_date is null
            then
                'no telemetry: none of its rows reached the warehouse (left out of the export, or every row '
                || 'rejected: see telemetry_rejects)'
        when stale.host_id is not null
            then
                'no telemetry since ' || stale.last_reported_date || ' (' || stale.days_silent
                || ' days): forecast from old data, check the collector'
                -- capacity_risks still lists its flagged series: say so, or the two disagree unexplained.
                || case
                    when per_host.has_breach_alert
                        then '; on that data ' || flagged_phrases.flagged_phrase || ' (in capacity_risks)'
                    else ''
                end
        when per_host.has_breach_alert then flagged_phrases.flagged_phrase
        when per_host.days_to_upper_breach > {{ var('breach_window_days') }}
            then
                per_host.worst_resource || ' crosses {{ var("breach_threshold") }}% in '
                || per_host.days_to_upper_breach || ' days (beyond {{ var("breach_window_days") }})'
        when per_host.days_to_upper_breach is not null and not per_host.is_worst_band_informative
            then
                per_host.worst_resource || ' upper bound crosses {{ var("breach_threshold") }}% in '
                || per_host.days_to_upper_breach || ' days, but its champion missed the backtest by '
                || round(per_host.worst_champion_difficulty, 1) || ' bands: too uncertain to alert'
        when per_host.days_to_upper_breach is not null
            then
                per_host.worst_resource || ' crosses {{ var("breach_threshold") }}% in '
                || per_host.days_to_upper_breach || ' days (below the alert rule)'
        when per_host.max_upper_90d > {{ var('amber_threshold') }}
            then
                per_host.worst_resource || ' upper bound reaches ' || round(per_host.max_upper_90d, 1)
                || '% within {{ var("breach_window_days") }} days'
        when excluded_hosts.unforecast_series > 0
            then excluded_hosts.unforecast_series || ' series without a forecast (see forecast_exclusions)'
        else 'headroom on every resource'
    end as status_reason,
    per_host.worst_resource,
    per_host.days_to_upper_breach,
    per_host.max_upper_90d
from hosts
left join per_host on hosts.host_id = per_host.host_id
left join flagged_phrases on hosts.host_id = flagged_phrases.host_id
left join excluded_hosts on hosts.host_id = excluded_hosts.host_id
left join stale on hosts.host_id = stale.host_id
