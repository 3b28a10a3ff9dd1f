-- The track record: every past snapshot of forecast_history next to the actuals that arrived after it
-- (processed_data, observed days only: imputed days are our interpolation, not an outcome). One row per as_of,
-- horizon bucket, engine, trust level, resource and department, with the sums the ratios come from, so a
-- consumer can re-aggregate (sum the sums, then divide) over any of them.
-- MAPE is guarded as in the tournament: actuals under mape_min_actual points are left out of it.
{%- set mape_min_actual = var('mape_min_actual') %}
with

history as (
    select * from {{ ref('forecast_history') }}
),

actuals as (
    select * from {{ ref('processed_data') }}
),

scored as (
    select
        history.as_of,
        history.champion_model,
        history.trust_level,
        history.resource,
        actuals.department,
        history.host_id,
        history.horizon_days,
        actuals.y,
        history.yhat,
        abs(history.yhat - actuals.y) as absolute_error,
        actuals.y between history.yhat_lower and history.yhat_upper as is_covered,
        case
            when history.horizon_days <= 7 then '1-7'
            when history.horizon_days <= 30 then '8-30'
            when history.horizon_days <= 90 then '31-90'
            when history.horizon_days <= 180 then '91-180'
            else '181+'
        end as horizon_bucket,
        case
            when history.horizon_days <= 7 then 1
            when history.horizon_days <= 30 then 8
            when history.horizon_days <= 90 then 31
            when history.horizon_days <= 180 then 91
            else 181
        end as horizon_bucket_start
    from history
    inner join actuals
        on
            history.host_id = actuals.host_id
            and history.resource = actuals.resource
            and history.ds = actuals.ds
    where not actuals.is_imputed
),

summed as (
    select
        as_of,
        horizon_bucket,
        horizon_bucket_start,
        champion_model,
        trust_level,
        resource,
        department,
        count(*) as scored_days,
        count(distinct host_id) as hosts,
        max(horizon_days) as max_horizon_days,
        sum(absolute_error) as absolute_error_sum,
        sum(abs(y)) as actual_sum,
        sum(yhat - y) as error_sum,
        sum(absolute_error / abs(y)) filter (where abs(y) >= {{ mape_min_actual }}) as percentage_error_sum,
        count(*) filter (where abs(y) >= {{ mape_min_actual }}) as mape_days,
        count(*) filter (where is_covered) as covered_days
    from scored
    group by all
)

select
    as_of,
    horizon_bucket,
    horizon_bucket_start,
    champion_model,
    trust_level,
    resource,
    department,
    scored_days,
    hosts,
    max_horizon_days,
    absolute_error_sum,
    actual_sum,
    error_sum,
    coalesce(percentage_error_sum, 0) as percentage_error_sum,
    mape_days,
    covered_days,
    round(100 * absolute_error_sum / nullif(actual_sum, 0), 2) as wape,
    round(100 * percentage_error_sum / nullif(mape_days, 0), 2) as mape,
    round(error_sum / scored_days, 3) as bias,
    round(covered_days / scored_days, 4) as band_coverage
from summed
