{#-
    Whether each series has enough real history to be backtested, by the same rule the Python engines apply
    (python_engines.forecasting.series.history_problem, fed the same vars): at least min_history_days
    observed (not imputed) days before the backtest starts, at most max_imputed_share of the training days
    imputed, and not constant. The seasonal naive and engine_runs read it, so every engine skips the same
    series with the same reason, with one exception: a constant series (enough real history, one value) is
    is_baseline_eligible. The model engines have nothing to fit there, but the seasonal naive forecasts it where
    it is: a disk stuck at 98% or a CPU pinned at 100% every day is a breach to flag, not a series to leave
    without a forecast (it was AMBER "without a forecast" and never RED).
-#}
{%- set min_days = var('min_history_days') | int -%}
{%- set max_share = var('max_imputed_share') | float -%}

with

processed_data as (

    select * from {{ ref('processed_data') }}

),

windows as (

    select * from {{ ref('forecast_windows') }}

),

training as (

    select
        processed_data.host_id,
        processed_data.resource,
        count(*) filter (where not processed_data.is_imputed) as history_observed_days,
        min(processed_data.ds) filter (where not processed_data.is_imputed) as first_observed_day,
        count(*) filter (where processed_data.ds <= windows.train_end) as training_days,
        count(*) filter (
            where processed_data.ds <= windows.train_end and not processed_data.is_imputed
        ) as observed_days,
        count(distinct processed_data.y) filter (
            where processed_data.ds <= windows.train_end and not processed_data.is_imputed
        ) as distinct_values,
        min(processed_data.y) filter (
            where processed_data.ds <= windows.train_end and not processed_data.is_imputed
        ) as lowest_value,
        any_value(windows.backtest_start) as backtest_start

    from processed_data
    cross join windows
    group by all

),

judged as (

    select
        host_id,
        resource,
        history_observed_days,
        first_observed_day,
        training_days,
        observed_days,
        case when training_days > 0 then 1 - observed_days / training_days end as imputed_share,
        -- Enough real history, whatever its values: what the seasonal naive needs (a constant series too).
        observed_days >= {{ min_days }} and observed_days > 0
        and 1 - observed_days / training_days <= {{ max_share }} as has_enough_history,
        case
            when observed_days = 0
                then 'no observed values before ' || strftime(backtest_start, '%Y-%m-%d')
            when observed_days < {{ min_days }}
                then
                    'only ' || observed_days || ' observed days before ' || strftime(backtest_start, '%Y-%m-%d')
                    || ' (need {{ min_days }})'
            when 1 - observed_days / training_days > {{ max_share }}
                then
                    cast(round(100 * (1 - observed_days / training_days)) as integer)
                    || '% of the training days are imputed (limit {{ (max_share * 100) | round | int }}%)'
            when distinct_values < 2
                then 'constant series: every observed value is ' || lowest_value
        end as history_problem

    from training

)

select
    *,
    history_problem is null as is_eligible,
    coalesce(has_enough_history, false) as is_baseline_eligible

from judged
