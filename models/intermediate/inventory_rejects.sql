{#-
    Every row of your own inventory that the refinery did not use, exactly as delivered, with the reason
    (int_inventory_validated): missing_<field>, invalid_<field> or duplicate_host_id. Nothing is silently
    dropped: raw.inventory rows = hosts of the own fleet + inventory_rejects rows. Telemetry of a host whose
    rows are all here is rejected as rejected_host. Empty for a synthetic fleet.
-#}
with

validated as (

    select * from {{ ref('int_inventory_validated') }}

),

inventory as (

    select * from {{ ref('stg_inventory') }}

),

final as (

    select
        inventory.raw_row_id,
        inventory.host_id,
        inventory.hostname,
        inventory.department,
        inventory.app_code,
        inventory.app_manager,
        inventory.region,
        inventory.environment,
        inventory.cpu_cores,
        inventory.memory_gb,
        inventory.storage_gb,
        inventory.source_file,
        validated.loaded_at,
        validated.reason

    from validated
    inner join inventory
        on validated.raw_row_id = inventory.raw_row_id
    where not validated.is_valid

)

select * from final
