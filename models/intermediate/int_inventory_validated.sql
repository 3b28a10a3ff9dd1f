{#-
    Every row of your own inventory (one per raw_row_id), normalised like the synthetic inventory (host_id
    lower(trim()); region, environment and app_code upper(trim()); names trimmed; blank = missing), with the
    verdict: reason is null for a usable row, else the first check it fails, in this order:
    missing_<field> for the required fields (host_id, hostname, department, app_code, app_manager, region),
    invalid_<field> for an optional capacity field that is present but not a positive number (cpu_cores must
    be whole), then duplicate_host_id: of several usable rows for one host_id the first in the file (lowest
    raw_row_id) wins. Memory and storage are rounded to whole GB (the hosts columns are integers).
-#}
with

inventory as (

    select * from {{ ref('stg_inventory') }}

),

load_audit as (

    -- The load that delivered the inventory (appended loads bring telemetry only).
    select max(loaded_at) as loaded_at from {{ ref('stg_load_audit') }}
    where fleet = 'own' and load_mode = 'replace'

),

normalised as (

    select
        inventory.raw_row_id,
        nullif(lower(trim(inventory.host_id)), '') as host_id,
        nullif(trim(inventory.hostname), '') as hostname,
        nullif(trim(inventory.department), '') as department,
        nullif(upper(trim(inventory.app_code)), '') as app_code,
        nullif(trim(inventory.app_manager), '') as app_manager,
        nullif(upper(trim(inventory.region)), '') as region,
        nullif(upper(trim(inventory.environment)), '') as environment,
        nullif(trim(inventory.cpu_cores), '') as cpu_cores_text,
        nullif(trim(inventory.memory_gb), '') as memory_gb_text,
        nullif(trim(inventory.storage_gb), '') as storage_gb_text,
        try_cast(trim(inventory.cpu_cores) as double) as cpu_cores_number,
        try_cast(trim(inventory.memory_gb) as double) as memory_gb_number,
        try_cast(trim(inventory.storage_gb) as double) as storage_gb_number,
        load_audit.loaded_at

    from inventory
    cross join load_audit

),

sized as (

    select
        *,
        -- try_cast: NaN, infinity or a number too large for an integer gives null (and is rejected below).
        try_cast(cpu_cores_number as integer) as cpu_cores,
        -- Whole GB, and a positive size never rounds down to 0: a 0.4 GB host still has memory.
        try_cast(
            case when memory_gb_number > 0 then greatest(round(memory_gb_number), 1) else round(memory_gb_number) end
            as integer
        ) as memory_gb,
        try_cast(
            case
                when storage_gb_number > 0 then greatest(round(storage_gb_number), 1) else round(storage_gb_number)
            end
            as integer
        ) as storage_gb

    from normalised

),

checked as (

    select
        *,
        case
            when host_id is null then 'missing_host_id'
            when hostname is null then 'missing_hostname'
            when department is null then 'missing_department'
            when app_code is null then 'missing_app_code'
            when app_manager is null then 'missing_app_manager'
            when region is null then 'missing_region'
            when cpu_cores_text is not null and not coalesce(cpu_cores >= 1 and cpu_cores = cpu_cores_number, false)
                then 'invalid_cpu_cores'
            when memory_gb_text is not null and not coalesce(memory_gb_number > 0 and memory_gb is not null, false)
                then 'invalid_memory_gb'
            when storage_gb_text is not null and not coalesce(storage_gb_number > 0 and storage_gb is not null, false)
                then 'invalid_storage_gb'
        end as field_reason

    from sized

),

-- Of several usable rows for one host, the first in the file wins; the others are duplicate_host_id.
ranked as (

    select
        *,
        coalesce(
            field_reason,
            case
                when
                    field_reason is null
                    and row_number() over (partition by host_id, field_reason is null order by raw_row_id) > 1
                    then 'duplicate_host_id'
            end
        ) as reason

    from checked

),

final as (

    select
        raw_row_id,
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
        loaded_at,
        reason,
        reason is null as is_valid

    from ranked

)

select * from final
