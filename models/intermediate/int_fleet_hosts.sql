{#-
    The inventory the refinery builds on, whichever fleet the raw layer holds: the synthetic inventory
    (stg_hosts) and the usable rows of your own (int_inventory_validated), one of them empty (generate and
    load each replace the whole raw layer). Own fleets carry no behavioral DNA: scenario, variant and
    primary_resource are null. fleet_source says where each host came from.
-#}
{{ config(materialized='view') }}

with

synthetic_hosts as (

    select * from {{ ref('stg_hosts') }}

),

own_hosts as (

    select * from {{ ref('int_inventory_validated') }}
    where is_valid

),

-- By name: own hosts have no DNA columns, which come out null.
final as (

    select
        *,
        'synthetic' as fleet_source

    from synthetic_hosts

    union all by name

    select
        host_id,
        hostname,
        cpu_cores,
        memory_gb,
        storage_gb,
        region,
        environment,
        department,
        app_code,
        app_manager,
        loaded_at,
        'own' as fleet_source

    from own_hosts

)

select * from final
