{#-
    Every series made continuous from its first observed day to history_end. Observed days pass through
    unchanged; each run of missing days gets rows of its own: linearly interpolated between the observed
    days around it, or, after a series' last observation, that observation carried forward to history_end.
    Set-based: one lead() per series finds the next observation, and only the few observations followed by
    a gap are expanded (unnest of a day range), so the millions of ordinary days cost a plain scan.

    Incremental (macros/incremental_refinery.sql): a run after new or undone loads rebuilds each series from
    its anchor on: its latest observed day before the change, so the interpolation into a late or new
    observation and a tail carried forward to the new history_end are recomputed from observations at or
    after it (the anchor itself is one, so no gap starts before it).
-#}
{% set floor = refinery_anchor_floor() %}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ refinery_delete_from_anchors(['series_key']) }}",
    )
}}
-- depends_on: {{ ref('int_refinery_anchors') }}
with

-- Read twice below; not materialised, since scanning the table again is cheaper than buffering it.
deduped as not materialized (

    {% if is_incremental() %}
        select observed.*
        from {{ ref('int_telemetry_deduped') }} as observed
        inner join {{ ref('int_refinery_anchors') }} as anchors
            on observed.series_key = anchors.series_key and observed.ds >= anchors.anchor_day
        where observed.ds >= {{ floor }}
    {% else %}
        select * from {{ ref('int_telemetry_deduped') }}
    {% endif %}

),

history_window as (

    select * from {{ ref('int_history_window') }}

),

observed_days as (

    select
        series_key,
        ds,
        y,
        false as is_imputed,
        raw_row_id

    from deduped

),

next_observations as (

    select
        series_key,
        ds as observed_ds,
        y as observed_y,
        lead(ds) over series as next_ds,
        lead(y) over series as next_y

    from deduped
    window series as (partition by series_key order by ds)

),

-- Observations followed by missing days: before the next observation, or before the day after history_end.
gaps as (

    select
        next_observations.*,
        coalesce(next_observations.next_ds, history_window.history_end + 1) as gap_end_exclusive

    from next_observations
    cross join history_window
    where coalesce(next_observations.next_ds, history_window.history_end + 1) > next_observations.observed_ds + 1

),

gap_days as (

    select
        *,
        unnest(range(1, datediff('day', observed_ds, gap_end_exclusive))) as days_after_observed

    from gaps

),

imputed_days as (

    select
        series_key,
        cast(observed_ds + cast(days_after_observed as integer) as date) as ds,
        case
            when next_ds is null then observed_y
            else observed_y + (next_y - observed_y) * days_after_observed / datediff('day', observed_ds, next_ds)
        end as y,
        true as is_imputed,
        cast(null as bigint) as raw_row_id

    from gap_days

),

final as (

    select * from observed_days
    union all
    select * from imputed_days

)

select * from final
