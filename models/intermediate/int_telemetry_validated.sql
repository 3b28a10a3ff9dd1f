{#-
    Every raw telemetry row with the verdict of the row-level checks: validity_reason is null for a valid
    row, else the first check it fails. The window and the duplicate rules come after (int_telemetry_deduped,
    telemetry_rejects), so a valid re-send always beats an invalid one for the same host, resource and day.
-#}
with

telemetry as (

    select * from {{ ref('stg_telemetry') }}

),

known_hosts as (

    select distinct host_id from {{ ref('stg_hosts') }}

),

checked as (

    select
        telemetry.raw_row_id,
        telemetry.host_id,
        telemetry.resource,
        telemetry.ds,
        telemetry.y,
        telemetry.loaded_at,
        telemetry.source_host_id,
        telemetry.source_resource,
        case
            when telemetry.y is null then 'missing_value'
            when telemetry.y < 0 or telemetry.y > 100 then 'out_of_range'
            when known_hosts.host_id is null then 'unknown_host'
            when telemetry.resource is null then 'unknown_resource'
            when telemetry.resource not in ('cpu', 'memory', 'disk', 'network') then 'unknown_resource'
        end as validity_reason

    from telemetry
    left join known_hosts
        on telemetry.host_id = known_hosts.host_id

),

final as (

    select
        *,
        validity_reason is null as is_valid

    from checked

)

select * from final
