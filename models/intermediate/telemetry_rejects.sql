{#-
    Every raw row that int_telemetry_deduped does not use, exactly as delivered, with the reason: the failed
    row-level check, else out_of_window (valid but outside the history window), else duplicate_superseded
    (valid, in the window, but another row won its host, resource and day).
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

telemetry as (

    select * from {{ ref('stg_telemetry') }}

),

classified as (

    select
        validated.raw_row_id,
        case
            when not validated.is_valid then validated.validity_reason
            when
                validated.ds is null
                or validated.ds < history_window.history_start
                or validated.ds > history_window.history_end
                then 'out_of_window'
            when superseded.raw_row_id is not null then 'duplicate_superseded'
        end as reason

    from validated
    cross join history_window
    left join superseded
        on validated.raw_row_id = superseded.raw_row_id

),

rejected as (

    select * from classified
    where reason is not null

),

final as (

    select
        telemetry.raw_row_id,
        telemetry.source_host_id as host_id,
        telemetry.source_resource as resource,
        telemetry.ds as ts,  -- noqa: RF04
        telemetry.y as value,  -- noqa: RF04
        telemetry.loaded_at,
        rejected.reason

    from rejected
    inner join telemetry
        on rejected.raw_row_id = telemetry.raw_row_id

)

select * from final
