{#-
    The dates every forecasting and risk model agrees on, in one row. Backtest = the last backtest_months
    calendar months of history (the month of history_end counts as the last one); training = everything
    before it; the production forecast covers forecast_horizon_days days after history_end.

    The tournament (backtest, champions, band calibration) may be kept from an earlier build: when this
    table's previous row (the last build's) has the same history_start and backtest_months and its
    backtest_end is at most tournament_max_age_days before the new history_end (and not after it), its
    backtest_start, train_end and backtest_end stay, and only the production forecast moves with history_end.
    The engines then refit only the production forecast of a series whose history up to train_end is
    unchanged (python_engines.forecasting.backtest_reuse). A daily build so re-runs the tournament once a week
    with the default of 6; 0, `--full-refresh` or a new warehouse (generate, load) start a fresh one.
-#}
{%- set backtest_months = var('backtest_months') | int -%}
{%- set forecast_horizon_days = var('forecast_horizon_days') | int -%}
{%- set max_age = var('tournament_max_age_days') | int -%}
{%- set previous = none -%}
{%- if execute and max_age > 0 and not flags.FULL_REFRESH and this is not none -%}
    {#- `this` is none in a dbt unit test: no previous row there -#}
    {%- set previous = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) -%}
{%- endif -%}
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

-- The last build's row (none on a new warehouse, with --full-refresh or tournament_max_age_days 0).
previous_tournament as (

    {% if previous is not none -%}
        select
            history_start,
            backtest_start,
            backtest_end,
            backtest_months
        from {{ this }}
    {%- else -%}
        select
            cast(null as date) as history_start,
            cast(null as date) as backtest_start,
            cast(null as date) as backtest_end,
            cast(null as integer) as backtest_months
        where false
    {%- endif %}

),

tournament as (

    select
        backtest.history_start,
        backtest.history_end,
        coalesce(previous_tournament.backtest_start, backtest.backtest_start) as backtest_start,
        coalesce(previous_tournament.backtest_end, backtest.history_end) as backtest_end,
        previous_tournament.backtest_start is not null as is_tournament_kept

    from backtest
    left join previous_tournament
        on
            backtest.history_start = previous_tournament.history_start
            and previous_tournament.backtest_months = {{ backtest_months }}
            and backtest.history_end >= previous_tournament.backtest_end
            and datediff('day', previous_tournament.backtest_end, backtest.history_end) <= {{ max_age }}

),

final as (

    select
        history_start,
        history_end,
        history_start as train_start,
        cast(backtest_start - 1 as date) as train_end,
        backtest_start,
        backtest_end,
        cast(history_end + 1 as date) as forecast_start,
        cast(history_end + {{ forecast_horizon_days }} as date) as forecast_end,
        {{ backtest_months }} as backtest_months,
        {{ forecast_horizon_days }} as forecast_horizon_days,
        datediff('day', history_start, history_end) + 1 as history_days,
        is_tournament_kept,
        datediff('day', backtest_end, history_end) as tournament_age_days

    from tournament

)

select * from final
