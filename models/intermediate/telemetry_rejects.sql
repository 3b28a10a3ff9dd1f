{#-
    Every raw row that int_telemetry_deduped does not use, exactly as delivered, with the reason: the failed
    row-level check, else out_of_window (valid but outside the history window), else duplicate_superseded
    (valid, in the window, but another row won its host, resource and day).
-#}
with

validated as (

    select * from {{ ref('int_telemetry_validated') }}

),

deduped as (

    select * from {{ ref('int_telemetry_deduped') }}

),

history_window as (

    select * from {{ ref('int_history_window') }}

),

not_used as (

    select validated.*

    from validated
    anti join deduped
        on validated.raw_row_id = deduped.raw_row_id

),

final as (

    select
        not_used.raw_row_id,
        not_used.source_host_id as host_id,
        not_used.source_resource as resource,
        not_used.ds as ts,  -- noqa: RF04
        not_used.y as value,  -- noqa: RF04
        not_used.loaded_at,
        case
            when not not_used.is_valid then not_used.validity_reason
            when
                not_used.ds is null
                or not_used.ds < history_window.history_start
                or not_used.ds > history_window.history_end
                then 'out_of_window'
            else 'duplicate_superseded'
        end as reason

    from not_used
    cross join history_window

)

select * from final
