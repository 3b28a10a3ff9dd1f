-- Every series of processed_data has exactly one row per day from its first observed day to history_end:
-- it starts on the first day the feed delivered a used value, ends on history_end and has no hole.
-- Returns the series that break it.
with

processed as (

    select * from {{ ref('processed_data') }}

),

deduped as (

    select * from {{ ref('int_telemetry_deduped') }}

),

series_keys as (

    select * from {{ ref('int_telemetry_series') }}

),

windows as (

    select * from {{ ref('forecast_windows') }}

),

series as (

    select
        host_id,
        resource,
        min(ds) as first_ds,
        max(ds) as last_ds,
        count(*) as day_count

    from processed
    group by host_id, resource

),

first_observed_by_key as (

    select
        series_key,
        min(ds) as first_observed_ds

    from deduped
    group by series_key

),

first_observed as (

    select
        series_keys.host_id,
        series_keys.resource,
        first_observed_by_key.first_observed_ds

    from first_observed_by_key
    inner join series_keys
        on first_observed_by_key.series_key = series_keys.series_key

),

broken as (

    select
        series.*,
        first_observed.first_observed_ds,
        windows.history_end

    from series
    full outer join first_observed
        on
            series.host_id = first_observed.host_id
            and series.resource = first_observed.resource
    cross join windows
    where
        series.first_ds is distinct from first_observed.first_observed_ds
        or series.last_ds is distinct from windows.history_end
        or series.day_count is distinct from datediff('day', series.first_ds, series.last_ds) + 1

)

select * from broken
