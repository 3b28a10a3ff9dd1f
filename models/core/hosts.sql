{#-
    The hand-kept business hierarchy (seed) is the reference for the synthetic fleet's ownership: when an app
    code is in it, its department and app manager win over the inventory export's copy, so a reorganisation
    edited in the seed reaches every mart without regenerating the inventory. Your own fleet's ownership is
    its inventory's (the seed describes the synthetic company only): app_name and cost_center stay null.
-#}
with

inventory as (

    select * from {{ ref('int_fleet_hosts') }}

),

hierarchy as (

    select * from {{ ref('stg_business_hierarchy') }}

),

final as (

    select
        inventory.host_id,
        inventory.hostname,
        inventory.cpu_cores,
        inventory.memory_gb,
        inventory.storage_gb,
        inventory.region,
        inventory.environment,
        coalesce(hierarchy.department, inventory.department) as department,
        inventory.app_code,
        hierarchy.app_name,
        coalesce(hierarchy.app_manager, inventory.app_manager) as app_manager,
        hierarchy.cost_center,
        inventory.scenario,
        inventory.variant,
        inventory.primary_resource,
        inventory.loaded_at,
        inventory.fleet_source

    from inventory
    left join hierarchy
        on
            inventory.app_code = hierarchy.app_code
            and inventory.fleet_source = 'synthetic'

)

select * from final
