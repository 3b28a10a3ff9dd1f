{#-
    Every raw telemetry row the refinery does not use, exactly as delivered (as text, with its file), and the
    reason. The shared refinery judges daily rows (int_fleet_telemetry): the failed row-level check, else
    after_fleet_end (valid, but after the derived history_end: the last day on which most of the fleet
    reported, int_history_window), else out_of_window (valid but outside the history window), else duplicate_superseded (valid, in the window,
    but another row of the same load won its host, resource and day), or superseded_by_later_load (a later
    load re-sent the day and won it). Your own fleet's rows are judged first, row by row, in
    int_own_telemetry_samples; when the shared refinery then rejects one of its days, every raw row of that
    day is listed with the day's reason.

    Incremental (macros/incremental_refinery.sql), with the rule of int_telemetry_validated: a run after new or
    undone loads judges again the synthetic rows from the earliest day they touch (and the undated rows of new
    loads), and drops the rows of undone loads; a row's reason only changes with a change at or before its day.
    Your own fleet's rows (their verdicts come from int_own_telemetry_samples, which is rebuilt whole) are all
    judged again on every run.
-#}
{% set change = refinery_change() %}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{% if is_incremental() %}{% set change = refinery_change() %}delete from {{ this }} where "
            ~ "try_cast(ts as date) >= {{ change.cutoff }} or load_id in {{ refinery_id_list(change.gone) }} or "
            ~ "load_id in (select load_id from {{ refinery_relation('stg_load_audit') }} where fleet = 'own')"
            ~ "{% else %}select 1{% endif %}",
    )
}}

with

validated as (

    select validated.* from {{ ref('int_telemetry_validated') }} as validated
    {% if is_incremental() %}
        where
            validated.ds >= {{ change.cutoff }}
            or (validated.ds is null and validated.load_id in {{ refinery_id_list(change.new) }})
            or validated.load_id in (
                select own_loads.load_id
                from {{ ref('stg_load_audit') }} as own_loads
                where own_loads.fleet = 'own'
            )
    {% endif %}

),

history_window as (

    select * from {{ ref('int_history_window') }}

),

superseded as (

    select
        raw_row_id,
        load_id < latest_load_id as is_from_earlier_load

    from {{ ref('int_telemetry_duplicates') }}
    where not is_winner

),

synthetic_feed as (

    select * from {{ ref('stg_telemetry') }}
    {% if is_incremental() %}
        where ds >= {{ change.cutoff }} or ds is null
    {% endif %}

),

own_telemetry as (

    select * from {{ ref('stg_own_telemetry') }}

),

load_audit as (

    select * from {{ ref('stg_load_audit') }}

),

own_samples as (

    select * from {{ ref('int_own_telemetry_samples') }}

),

own_daily as (

    select * from {{ ref('int_own_telemetry_daily') }}

),

classified as (

    select
        validated.raw_row_id,
        case
            when not validated.is_valid then validated.validity_reason
            -- After the last day most of the fleet reported (the end was derived, not set): a clock ahead?
            when history_window.is_end_derived and validated.ds > history_window.history_end
                then 'after_fleet_end'
            when
                validated.ds is null
                or validated.ds < history_window.history_start
                or validated.ds > history_window.history_end
                then 'out_of_window'
            when superseded.is_from_earlier_load then 'superseded_by_later_load'
            when superseded.raw_row_id is not null then 'duplicate_superseded'
        end as reason

    from validated
    cross join history_window
    left join superseded
        on validated.raw_row_id = superseded.raw_row_id

),

rejected_days as (

    select * from classified
    where reason is not null

),

synthetic_rejects as (

    select
        synthetic_feed.raw_row_id,
        synthetic_feed.source_host_id as host_id,
        synthetic_feed.source_resource as resource,
        cast(synthetic_feed.ds as varchar) as ts,  -- noqa: RF04
        cast(synthetic_feed.y as varchar) as value,  -- noqa: RF04
        synthetic_feed.loaded_at,
        synthetic_feed.load_id,
        coalesce(load_audit.lake_file, 'master_daily_2023_2025.parquet') as source_file,
        rejected_days.reason

    from rejected_days
    inner join synthetic_feed
        on rejected_days.raw_row_id = synthetic_feed.raw_row_id
    left join load_audit
        on synthetic_feed.load_id = load_audit.load_id

),

-- Own rows rejected on their own, and the valid rows of own days that the shared refinery rejected.
own_rejected_rows as (

    select
        raw_row_id,
        reason

    from own_samples
    where not is_valid

    union all

    select
        own_samples.raw_row_id,
        rejected_days.reason

    from rejected_days
    inner join own_daily
        on rejected_days.raw_row_id = own_daily.raw_row_id
    inner join own_samples
        on
            own_daily.host_id = own_samples.host_id
            and own_daily.resource = own_samples.resource
            and own_daily.ds = own_samples.ds
    where own_samples.is_valid

),

own_rejects as (

    select
        own_telemetry.raw_row_id,
        own_telemetry.source_host_id as host_id,
        own_telemetry.source_resource as resource,
        own_telemetry.source_ts as ts,  -- noqa: RF04
        own_telemetry.source_value as value,  -- noqa: RF04
        own_samples.loaded_at,
        own_telemetry.load_id,
        own_telemetry.source_file,
        own_rejected_rows.reason

    from own_rejected_rows
    inner join own_telemetry
        on own_rejected_rows.raw_row_id = own_telemetry.raw_row_id
    inner join own_samples
        on own_rejected_rows.raw_row_id = own_samples.raw_row_id

),

final as (

    select * from synthetic_rejects
    union all
    select * from own_rejects

)

select * from final
