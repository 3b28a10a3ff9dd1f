{#-
    Every series the refinery accepts: one row per known host and resource, with an integer series_key.
    The big telemetry tables carry series_key instead of two strings: DuckDB sorts, groups and writes
    integers many times faster than 36-character host ids, which keeps the refinery within seconds.
-#}
with

hosts as (

    select distinct host_id from {{ ref('int_fleet_hosts') }}

),

resources as (

    select
        resource_list.resource,
        resource_list.resource_order

    from (values ('cpu', 1), ('memory', 2), ('disk', 3), ('network', 4)) as resource_list (resource, resource_order)

),

final as (

    select
        cast(row_number() over (order by hosts.host_id, resources.resource_order) as integer) as series_key,
        hosts.host_id,
        resources.resource

    from hosts
    cross join resources

)

select * from final
