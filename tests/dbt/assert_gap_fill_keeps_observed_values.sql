-- Gap filling only adds days: every used observation reaches processed_data unchanged and not flagged as
-- imputed (compared in aggregate per series: count and sum of the observed values). Returns the series
-- that differ.
with

deduped as (

    select * from {{ ref('int_telemetry_deduped') }}

),

processed as (

    select * from {{ ref('processed_data') }}

),

observed as (

    select
        host_id,
        resource,
        count(*) as observed_days,
        sum(y) as observed_total

    from deduped
    group by host_id, resource

),

kept as (

    select
        host_id,
        resource,
        count(*) as observed_days,
        sum(y) as observed_total

    from processed
    where not is_imputed
    group by host_id, resource

),

differences as (

    select
        observed.host_id,
        observed.resource,
        observed.observed_days,
        kept.observed_days as kept_days,
        observed.observed_total,
        kept.observed_total as kept_total

    from observed
    full outer join kept
        on
            observed.host_id = kept.host_id
            and observed.resource = kept.resource
    where
        observed.observed_days is distinct from kept.observed_days
        or abs(observed.observed_total - kept.observed_total) > 1e-6 * observed.observed_days
        or kept.observed_total is null

)

select * from differences
