-- Right-sizing rolled up per department and application (with its manager), plus a roll-up row per department
-- with app_code 'ALL': hosts to downsize and to upsize, the cores and GB they give back or need, and the soonest
-- date an upsize is needed. One row per department x application, and per department.
with

rightsizing as (
    select * from {{ ref('rightsizing') }}
),

rolled_up as (
    select
        department,
        case when grouping(app_code) = 1 then 'ALL' else app_code end as app_code,
        case when grouping(app_code) = 0 then any_value(app_name) end as app_name,
        case when grouping(app_code) = 0 then any_value(app_manager) end as app_manager,
        count(distinct host_id) as hosts,
        count(distinct host_id) filter (where action = 'downsize') as hosts_to_downsize,
        count(distinct host_id) filter (where action = 'upsize') as hosts_to_upsize,
        count(distinct host_id) filter (
            where action = 'no_recommendation' and resource <> 'network'
        ) as hosts_without_recommendation,
        coalesce(sum(reclaimable_capacity) filter (where resource = 'cpu'), 0) as reclaimable_cores,
        coalesce(sum(reclaimable_capacity) filter (where resource = 'memory'), 0) as reclaimable_memory_gb,
        coalesce(sum(reclaimable_capacity) filter (where resource = 'disk'), 0) as reclaimable_disk_gb,
        coalesce(sum(capacity_to_add) filter (where resource = 'cpu'), 0) as cores_to_add,
        coalesce(sum(capacity_to_add) filter (where resource = 'memory'), 0) as memory_gb_to_add,
        coalesce(sum(capacity_to_add) filter (where resource = 'disk'), 0) as disk_gb_to_add,
        min(needed_by_date) as soonest_needed_by_date
    from rightsizing
    group by grouping sets ((department, app_code), (department))
)

select * from rolled_up
