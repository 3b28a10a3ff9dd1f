-- Hosts that stopped reporting: no observed (not imputed) day on any resource in the last stale_after_days
-- days before history_end. The refinery carries their last value forward to history_end, so their forecast
-- starts from old data; fleet_health shows them AMBER with this reason instead of trusting it.
with

processed as (
    select * from {{ ref('processed_data') }}
),

windows as (
    select * from {{ ref('forecast_windows') }}
),

hosts as (
    select * from {{ ref('hosts') }}
),

last_seen as (
    select
        host_id,
        max(ds) filter (where not is_imputed) as last_reported_date
    from processed
    group by all
)

select
    last_seen.host_id,
    hosts.hostname,
    hosts.department,
    hosts.app_manager,
    last_seen.last_reported_date,
    windows.history_end,
    datediff('day', last_seen.last_reported_date, windows.history_end) as days_silent
from last_seen
cross join windows
inner join hosts on last_seen.host_id = hosts.host_id
where datediff('day', last_seen.last_reported_date, windows.history_end) > {{ var('stale_after_days') | int }}
