with

source as (

    select * from {{ source('raw', 'load_audit') }}

),

renamed as (

    select
        cast(load_id as integer) as load_id,
        lower(trim(fleet)) as fleet,
        lower(trim(load_mode)) as load_mode,
        cast(loaded_at as timestamp) as loaded_at,
        inventory_file,
        telemetry_pattern,
        cast(telemetry_files as integer) as telemetry_files,
        cast(inventory_rows as bigint) as inventory_rows,
        cast(telemetry_rows as bigint) as telemetry_rows,
        lower(trim(value_scale)) as value_scale,
        lake_file,
        cast(undone_at as timestamp) as undone_at,
        undone_at is null as is_live

    from source

)

select * from renamed
