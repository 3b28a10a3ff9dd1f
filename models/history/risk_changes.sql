-- What changed between this build's snapshot of forecast_history and the one before it, per series
-- (host x resource):
--   NEW_BREACH     the breach alert (int_series_breach_outlook.is_breach_alert) is raised now, not before;
--   RESOLVED       it was raised before and is not now (the series is still forecast);
--   EARLIER/LATER  raised in both, and the alert's breach date (forecast_history.first_breach_date) moved by
--                  more than risk_change_min_days days; only when both are upper-bound crossings: the date of
--                  a recurring-peaks alert is a waiting time counted from history_end, which moves with every
--                  build, and a date of one kind against one of the other compares two different things;
--   TRUST_CHANGED  the trust level of the forecast changed;
--   NO_FORECAST    it was raised before and the series has no forecast now (see forecast_exclusions).
-- One row per series and change (a series can both move and change trust). Empty without an earlier snapshot.
{%- set min_days = var('risk_change_min_days') | int %}
with

history as (
    select * from {{ ref('forecast_history') }}
),

hosts as (
    select * from {{ ref('hosts') }}
),

windows as (
    select * from {{ ref('forecast_windows') }}
),

-- This build's snapshot (as_of = history_end) and the latest one before it. Snapshots of builds with a later
-- history_end (a history_end var set back, say) are never compared.
compared as (
    select
        max(history.as_of) filter (where history.as_of < windows.history_end) as previous_as_of,
        windows.history_end as current_as_of
    from history
    cross join windows
    group by windows.history_end
    having
        bool_or(history.as_of = windows.history_end)
        and count(*) filter (where history.as_of < windows.history_end) > 0
),

series as (
    select
        history.host_id,
        history.resource,
        history.as_of,
        any_value(history.champion_model) as champion_model,
        any_value(history.trust_level) as trust_level,
        any_value(history.first_breach_date) as first_breach_date,
        -- The alert's date is the upper bound's crossing (not the recurring peaks' waiting time).
        bool_and(history.first_breach_date is not distinct from history.first_upper_breach_date) as is_band_date,
        bool_or(history.is_breach_alert) as is_breach_alert
    from history
    inner join compared on history.as_of in (compared.previous_as_of, compared.current_as_of)
    group by all
),

current_series as (
    select series.*
    from series
    inner join compared on series.as_of = compared.current_as_of
),

previous_series as (
    select series.*
    from series
    inner join compared on series.as_of = compared.previous_as_of
),

paired as (
    select
        coalesce(current_series.host_id, previous_series.host_id) as host_id,
        coalesce(current_series.resource, previous_series.resource) as resource,
        compared.previous_as_of,
        compared.current_as_of,
        current_series.host_id is not null as is_forecast_now,
        coalesce(previous_series.is_breach_alert, false) as was_alert,
        coalesce(current_series.is_breach_alert, false) as is_alert,
        case when previous_series.is_breach_alert then previous_series.first_breach_date end
            as previous_breach_date,
        case when current_series.is_breach_alert then current_series.first_breach_date end
            as current_breach_date,
        coalesce(previous_series.is_band_date and current_series.is_band_date, false) as are_band_dates,
        previous_series.trust_level as previous_trust_level,
        current_series.trust_level as current_trust_level,
        previous_series.champion_model as previous_champion,
        current_series.champion_model as current_champion
    from current_series
    full outer join previous_series
        on
            current_series.host_id = previous_series.host_id
            and current_series.resource = previous_series.resource
    cross join compared
),

changes as (
    select
        *,
        'NEW_BREACH' as change_type
    from paired
    where is_alert and not was_alert
    union all
    select
        *,
        'RESOLVED' as change_type
    from paired
    where was_alert and not is_alert and is_forecast_now
    union all
    select
        *,
        'NO_FORECAST' as change_type
    from paired
    where was_alert and not is_forecast_now
    union all
    select
        *,
        case when current_breach_date < previous_breach_date then 'EARLIER' else 'LATER' end as change_type
    from paired
    where
        was_alert and is_alert and are_band_dates
        and abs(datediff('day', previous_breach_date, current_breach_date)) > {{ min_days }}
    union all
    select
        *,
        'TRUST_CHANGED' as change_type
    from paired
    where
        previous_trust_level is not null
        and current_trust_level is not null
        and previous_trust_level != current_trust_level
)

select
    changes.host_id,
    changes.resource,
    changes.change_type,
    hosts.hostname,
    hosts.department,
    hosts.app_manager,
    changes.previous_as_of,
    changes.current_as_of,
    changes.previous_breach_date,
    changes.current_breach_date,
    datediff('day', changes.previous_breach_date, changes.current_breach_date) as days_moved,
    changes.previous_trust_level,
    changes.current_trust_level,
    changes.previous_champion,
    changes.current_champion
from changes
left join hosts on changes.host_id = hosts.host_id
