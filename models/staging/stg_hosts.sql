with

source as (

    select * from {{ source('raw', 'hosts') }}

),

renamed as (

    select
        lower(trim(host_id)) as host_id,
        trim(hostname) as hostname,
        cast(cpu_cores as integer) as cpu_cores,
        cast(memory_gb as integer) as memory_gb,
        cast(storage_gb as integer) as storage_gb,
        upper(trim(region)) as region,
        upper(trim(environment)) as environment,
        trim(department) as department,
        upper(trim(app_code)) as app_code,
        trim(app_manager) as app_manager,
        upper(trim(scenario)) as scenario,
        upper(trim(variant)) as variant,
        lower(trim(primary_resource)) as primary_resource,
        cast(loaded_at as timestamp) as loaded_at

    from source

)

select * from renamed
