{#-
    The dates every forecasting and risk model agrees on, in one row. Backtest = the last backtest_months
    calendar months of history (the month of history_end counts as the last one); training = everything
    before it; the production forecast covers forecast_horizon_days days after history_end.
-#}
{%- set backtest_months = var('backtest_months') | int -%}
{%- set forecast_horizon_days = var('forecast_horizon_days') | int -%}
-- The quarantine gate: built after quarantine_summary and its reject-share test (fail fast, before any engine).
-- depends_on: {{ ref('quarantine_summary') }}

with

history_window as (

    select * from {{ ref('int_history_window') }}

),

backtest as (

    select
        history_start,
        history_end,
        cast(
            date_trunc('month', history_end) - to_months({{ backtest_months - 1 }}) as date
        ) as backtest_start

    from history_window

),

final as (

    select
        history_start,
        history_end,
        history_start as train_start,
        cast(backtest_start - 1 as date) as train_end,
        backtest_start,
        history_end as backtest_end,
        cast(history_end + 1 as date) as forecast_start,
        cast(history_end + {{ forecast_horizon_days }} as date) as forecast_end,
        {{ backtest_months }} as backtest_months,
        {{ forecast_horizon_days }} as forecast_horizon_days,
        datediff('day', history_start, history_end) + 1 as history_days

    from backtest

)

select * from final
