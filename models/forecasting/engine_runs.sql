{#-
    The run log: one row per series and engine (prophet, xgboost, seasonal_naive) with its status
    (ok | failed | insufficient_history), the error or reason, and the seconds spent on it.

    The Python engines write their log next to their forecasts in the lake (one Parquet file each, replaced
    whole on every run); the seasonal naive's status is derived here from what baseline_forecasts produced.
-#}
-- depends_on: {{ ref('prophet_forecasts') }}
-- depends_on: {{ ref('xgboost_forecasts') }}
{% set lake = var('lake_dir', none) or (env_var('HORIZONSCALE_DATA_DIR', 'data') ~ '/lake') -%}

with

python_runs as (

    select
        host_id,
        resource,
        model,
        status,
        error,
        fit_seconds,
        observed_days,
        detail,
        run_started_at

    from read_parquet(
        ['{{ lake }}/forecasts/prophet_runs.parquet', '{{ lake }}/forecasts/xgboost_runs.parquet'],
        union_by_name = true
    )

),

baseline_forecasts as (

    select * from {{ ref('baseline_forecasts') }}

),

windows as (

    select * from {{ ref('forecast_windows') }}

),

eligibility as (

    select * from {{ ref('int_series_eligibility') }}

),

python_series as (

    select distinct
        host_id,
        resource

    from python_runs

),

baseline_rows as (

    select
        host_id,
        resource,
        count(*) filter (where segment = 'backtest') as backtest_rows,
        count(*) filter (where segment = 'forecast') as forecast_rows

    from baseline_forecasts
    group by all

),

baseline_runs as (

    select
        python_series.host_id,
        python_series.resource,
        'seasonal_naive' as model,
        case
            when
                eligibility.is_eligible
                and baseline_rows.backtest_rows = windows.history_end - windows.train_end
                and baseline_rows.forecast_rows = windows.forecast_end - windows.history_end
                then 'ok'
            else 'insufficient_history'
        end as status,
        case
            when not coalesce(eligibility.is_eligible, false)
                then coalesce(eligibility.history_problem, 'no history before the backtest')
            when
                coalesce(baseline_rows.backtest_rows, 0) < windows.history_end - windows.train_end
                then 'no complete week of history before ' || strftime(windows.backtest_start, '%Y-%m-%d')
        end as error,
        0.0 as fit_seconds,
        eligibility.history_observed_days as observed_days,
        cast(null as varchar) as detail,
        cast(null as timestamp) as run_started_at

    from python_series
    cross join windows
    left join baseline_rows
        on
            python_series.host_id = baseline_rows.host_id
            and python_series.resource = baseline_rows.resource
    left join eligibility
        on
            python_series.host_id = eligibility.host_id
            and python_series.resource = eligibility.resource

),

final as (

    select * from python_runs

    union all

    select * from baseline_runs

)

select * from final
