-- Per department and region (plus an 'ALL' region roll-up per department): how much of the fleet is at risk.
with

hosts as (
    select * from {{ ref('hosts') }}
),

risks as (
    select * from {{ ref('capacity_risks') }}
),

host_risk as (
    select
        host_id,
        count(*) as series_at_risk,
        count(*) filter (where resource = 'cpu') as cpu_series_at_risk,
        count(*) filter (where resource = 'memory') as memory_series_at_risk,
        count(*) filter (where resource = 'disk') as disk_series_at_risk,
        count(*) filter (where resource = 'network') as network_series_at_risk,
        min(first_breach_date) as soonest_breach_date
    from risks
    group by all
),

per_host as (
    select
        hosts.department,
        hosts.region,
        hosts.host_id,
        coalesce(host_risk.series_at_risk, 0) as series_at_risk,
        coalesce(host_risk.cpu_series_at_risk, 0) as cpu_series_at_risk,
        coalesce(host_risk.memory_series_at_risk, 0) as memory_series_at_risk,
        coalesce(host_risk.disk_series_at_risk, 0) as disk_series_at_risk,
        coalesce(host_risk.network_series_at_risk, 0) as network_series_at_risk,
        host_risk.soonest_breach_date
    from hosts
    left join host_risk on hosts.host_id = host_risk.host_id
),

rolled_up as (
    select
        department,
        coalesce(region, 'ALL') as region,
        count(*) as hosts,
        count(*) filter (where series_at_risk > 0) as hosts_at_risk,
        sum(series_at_risk) as series_at_risk,
        sum(cpu_series_at_risk) as cpu_series_at_risk,
        sum(memory_series_at_risk) as memory_series_at_risk,
        sum(disk_series_at_risk) as disk_series_at_risk,
        sum(network_series_at_risk) as network_series_at_risk,
        min(soonest_breach_date) as soonest_breach_date
    from per_host
    group by grouping sets ((department, region), (department))
)

select
    department,
    region,
    hosts,
    hosts_at_risk,
    round(hosts_at_risk / hosts, 4) as share_hosts_at_risk,
    series_at_risk,
    cpu_series_at_risk,
    memory_series_at_risk,
    disk_series_at_risk,
    network_series_at_risk,
    soonest_breach_date,
    -- Rank within the same roll-up level: most hosts at risk first, then the soonest breach.
    row_number() over (
        partition by region = 'ALL'
        order by hosts_at_risk desc, soonest_breach_date asc nulls last, department asc, region asc
    ) as risk_rank
from rolled_up
