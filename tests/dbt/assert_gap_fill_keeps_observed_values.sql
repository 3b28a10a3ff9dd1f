-- Gap filling only adds days: every used observation stays in int_telemetry_gap_filled unchanged and not
-- flagged as imputed (compared in aggregate per series: count and sum of the observed values). Returns
-- the series that differ.
with

deduped as (

    select * from {{ ref('int_telemetry_deduped') }}

),

gap_filled as (

    select * from {{ ref('int_telemetry_gap_filled') }}

),

observed as (

    select
        series_key,
        count(*) as observed_days,
        sum(y) as observed_total

    from deduped
    group by series_key

),

kept as (

    select
        series_key,
        count(*) as observed_days,
        sum(y) as observed_total

    from gap_filled
    where not is_imputed
    group by series_key

),

differences as (

    select
        coalesce(observed.series_key, kept.series_key) as series_key,
        observed.observed_days,
        kept.observed_days as kept_days,
        observed.observed_total,
        kept.observed_total as kept_total

    from observed
    full outer join kept
        on observed.series_key = kept.series_key
    where
        observed.observed_days is distinct from kept.observed_days
        or abs(observed.observed_total - kept.observed_total) > 1e-6 * observed.observed_days
        or kept.observed_total is null

)

select * from differences
