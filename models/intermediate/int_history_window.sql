{#-
    The history window in one row. The history_start / history_end vars win; an empty var is derived from
    the valid telemetry. The start is its first day. The end is the last day on which at least
    history_end_min_series_share of the series of the fleet's busiest day reported: a few rows dated later (a
    host whose clock runs ahead, a year typed wrong) would otherwise stretch every series of the fleet to their
    day with made-up values. Those rows are rejected as after_fleet_end (telemetry_rejects).
-#}
with

validated as (

    select * from {{ ref('int_telemetry_validated') }}
    where is_valid

),

daily_series as (

    select
        ds,
        count(distinct series_key) as series

    from validated
    group by ds

),

busiest as (

    select max(series) as series from daily_series

),

derived as (

    select
        min(daily_series.ds) as first_day,
        max(daily_series.ds) filter (
            where daily_series.series >= {{ var('history_end_min_series_share') }} * busiest.series
        ) as last_day

    from daily_series
    cross join busiest

),

final as (

    select
        coalesce({{ date_var('history_start') }}, first_day) as history_start,
        coalesce({{ date_var('history_end') }}, last_day) as history_end,
        {{ date_var('history_end') }} is null as is_end_derived

    from derived

)

select * from final
