{#-
    Your own inventory, one row per delivered row, every cell as delivered (text): int_inventory_validated
    normalises and checks it, and inventory_rejects shows a rejected row exactly as it came.
-#}
with

source as (

    select * from {{ source('raw', 'inventory') }}

),

renamed as (

    select
        cast(raw_row_id as bigint) as raw_row_id,
        host_id,
        hostname,
        department,
        app_code,
        app_manager,
        region,
        environment,
        cpu_cores,
        memory_gb,
        storage_gb,
        source_file

    from source

)

select * from renamed
