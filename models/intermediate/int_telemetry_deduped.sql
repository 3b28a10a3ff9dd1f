{#-
    One row per host, resource and day: among the valid rows inside the history window, the latest
    loaded_at wins, then the higher value, then the lowest raw_row_id (deterministic on any re-run).
-#}
with

validated as (

    select * from {{ ref('int_telemetry_validated') }}

),

history_window as (

    select * from {{ ref('int_history_window') }}

),

in_window as (

    select
        validated.raw_row_id,
        validated.host_id,
        validated.resource,
        validated.ds,
        validated.y,
        validated.loaded_at

    from validated
    cross join history_window
    where
        validated.is_valid
        and validated.ds between history_window.history_start and history_window.history_end

),

final as (

    select *

    from in_window
    qualify row_number() over (
        partition by host_id, resource, ds
        order by loaded_at desc nulls last, y desc, raw_row_id asc
    ) = 1

)

select * from final
