{#-
    The raw feed with identifiers normalised (lower(trim())) next to the identifiers as delivered, which
    telemetry_rejects keeps. No row is dropped here: the refinery accounts for every raw row. try_cast: a
    feed landed as text may hold a day or value that does not parse; it becomes null and is rejected
    downstream (missing_value, out_of_window) instead of failing the whole build.
-#}
with

source as (

    select * from {{ source('lake', 'master_daily') }}

),

renamed as (

    select
        cast(raw_row_id as bigint) as raw_row_id,
        lower(trim(host_id)) as host_id,
        lower(trim(resource)) as resource,
        try_cast(ts as date) as ds,
        try_cast(value as double) as y,
        try_cast(loaded_at as timestamp) as loaded_at,
        cast(load_id as integer) as load_id,
        host_id as source_host_id,
        resource as source_resource

    from source

)

select * from renamed
