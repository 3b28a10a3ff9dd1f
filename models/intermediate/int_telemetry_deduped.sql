{#-
    One row per host, resource and day: the valid rows inside the history window, less the losers of the
    contested days (int_telemetry_duplicates). The series is kept as series_key: processed_data adds the
    host and resource text once, at the end.

    Incremental (macros/incremental_refinery.sql): a run after new or undone loads deletes and rebuilds the
    days from the earliest day they touch.
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

validated as (

    select * from {{ ref('int_telemetry_validated') }}
    {% if is_incremental() %}
        where ds >= {{ change.cutoff }}
    {% endif %}

),

history_window as (

    select * from {{ ref('int_history_window') }}

),

superseded as (

    select raw_row_id from {{ ref('int_telemetry_duplicates') }}
    where not is_winner

),

used as (

    select validated.*

    from validated
    cross join history_window
    anti join superseded
        on validated.raw_row_id = superseded.raw_row_id
    where
        validated.is_valid
        and validated.ds between history_window.history_start and history_window.history_end

),

final as (

    select
        raw_row_id,
        series_key,
        ds,
        y,
        loaded_at

    from used

)

select * from final
