{#-
    The contested days: every valid row inside the history window whose host, resource and day were
    delivered more than once, ranked. Rank 1 wins: the latest load (a later `generate --extend-days` or
    `load --append` that re-sends a day corrects it), then the latest loaded_at, then the higher value, then
    the lowest raw_row_id (deterministic on any re-run). Only these few rows (well under 1% of the feed) are
    ranked.

    Incremental (macros/incremental_refinery.sql), like int_telemetry_deduped: a run after new or undone loads
    deletes and ranks again the days from the earliest day they touch (a contested day is one host, resource
    and day, so the days before it keep their rows; the window's ends only move with a change at or before it).
-#}
{% set change = refinery_change() %}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ refinery_delete_from('ds', refinery_change().cutoff) }}",
    )
}}

with

-- Read twice below; not materialised, since scanning the table again is cheaper than buffering it.
validated as not materialized (

    select * from {{ ref('int_telemetry_validated') }}
    {% if is_incremental() %}
        where ds >= {{ change.cutoff }}
    {% endif %}

),

history_window as (

    select * from {{ ref('int_history_window') }}

),

series as (

    select * from {{ ref('int_telemetry_series') }}

),

-- Days delivered more than once, among the valid rows inside the window.
repeated_days as (

    select
        validated.series_key,
        validated.ds

    from validated
    cross join history_window
    where
        validated.is_valid
        and validated.ds between history_window.history_start and history_window.history_end
    group by validated.series_key, validated.ds
    having count(*) > 1

),

ranked as (

    select
        validated.raw_row_id,
        validated.series_key,
        validated.ds,
        validated.y,
        validated.loaded_at,
        validated.load_id,
        row_number() over (
            partition by validated.series_key, validated.ds
            order by
                validated.load_id desc nulls last,
                validated.loaded_at desc nulls last,
                validated.y desc,
                validated.raw_row_id asc
        ) as duplicate_rank,
        max(validated.load_id) over (partition by validated.series_key, validated.ds) as latest_load_id

    from validated
    semi join repeated_days
        on
            validated.series_key = repeated_days.series_key
            and validated.ds = repeated_days.ds
    where validated.is_valid

),

final as (

    select
        ranked.raw_row_id,
        ranked.series_key,
        series.host_id,
        series.resource,
        ranked.ds,
        ranked.y,
        ranked.loaded_at,
        ranked.load_id,
        ranked.latest_load_id,
        ranked.duplicate_rank,
        ranked.duplicate_rank = 1 as is_winner

    from ranked
    inner join series
        on ranked.series_key = series.series_key

)

select * from final
