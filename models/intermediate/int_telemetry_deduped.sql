{#-
    One row per host, resource and day: the valid rows inside the history window, less the losers of the
    contested days (int_telemetry_duplicates). The series is kept as series_key: processed_data adds the
    host and resource text once, at the end.
-#}
with

validated as (

    select * from {{ ref('int_telemetry_validated') }}

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
