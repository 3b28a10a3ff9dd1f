{#- The analytical base table: one continuous daily series per host and resource, with its owners. -#}
with

gap_filled as (

    select * from {{ ref('int_telemetry_gap_filled') }}

),

hosts as (

    select * from {{ ref('hosts') }}

),

final as (

    select
        gap_filled.host_id,
        gap_filled.resource,
        gap_filled.ds,
        gap_filled.y,
        gap_filled.is_imputed,
        hosts.department,
        hosts.app_code,
        hosts.app_manager,
        hosts.region,
        hosts.environment,
        hosts.scenario,
        hosts.variant

    from gap_filled
    inner join hosts
        on gap_filled.host_id = hosts.host_id

)

select * from final
