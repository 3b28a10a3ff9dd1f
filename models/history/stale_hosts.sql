-- Hosts that stopped reporting: no observed (not imputed) day on any resource in the last stale_after_days
-- days before history_end. The refinery carries their last value forward to history_end, so their forecast
-- starts from old data; fleet_health shows them AMBER with this reason instead of trusting it.
-- And hosts of the inventory that never reported: no row of theirs reached processed_data (the export left
-- them out, or every row was rejected). Without this they had no series, hence nothing to flag, and
-- fleet_health called them GREEN with "headroom on every resource".
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
    hosts.host_id,
    hosts.hostname,
    hosts.department,
    hosts.app_manager,
    last_seen.last_reported_date,
    windows.history_end,
    datediff('day', last_seen.last_reported_date, windows.history_end) as days_silent
from hosts
cross join windows
left join last_seen on hosts.host_id = last_seen.host_id
where
    last_seen.last_reported_date is null
    or datediff('day', last_seen.last_reported_date, windows.history_end) > {{ var('stale_after_days') | int }}
