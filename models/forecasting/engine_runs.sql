{#-
    The run log: one row per series and engine of the registry (var `engines`) with its status
    (ok | failed | insufficient_history), the error or reason, and the seconds spent on it.

    The Python engines (writes_run_log) write their log next to their forecasts in the lake (one Parquet file
    each, replaced whole on every run); a SQL engine's status is derived here from what its model produced.
-#}
{{- engine_run_log_refs() }}
{%- set sql_engines = engine_list() | rejectattr('writes_run_log') | list %}

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

    from read_parquet({{ engine_lake_files('_runs') }}, union_by_name = true)

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

sql_engines as (

    {% for engine in sql_engines %}
        select '{{ engine.name }}' as model
        {% if not loop.last %}union all{% endif %}
    {% else %}
        select cast(null as varchar) as model
        where false
    {% endfor %}

),

sql_engine_rows as (

    {% for engine in sql_engines %}
        select
            host_id,
            resource,
            '{{ engine.name }}' as model,
            count(*) filter (where segment = 'backtest') as backtest_rows,
            count(*) filter (where segment = 'forecast') as forecast_rows

        from {{ ref(engine.relation) }}
        group by all
        {% if not loop.last %}union all{% endif %}
    {% else %}
        select
            cast(null as varchar) as host_id,
            cast(null as varchar) as resource,
            cast(null as varchar) as model,
            0 as backtest_rows,
            0 as forecast_rows
        where false
    {% endfor %}

),

sql_runs as (

    select
        python_series.host_id,
        python_series.resource,
        sql_engines.model,
        case
            when
                eligibility.is_baseline_eligible
                and sql_engine_rows.backtest_rows = windows.backtest_end - windows.train_end
                and sql_engine_rows.forecast_rows = windows.forecast_end - windows.history_end
                then 'ok'
            else 'insufficient_history'
        end as status,
        case
            when not coalesce(eligibility.is_baseline_eligible, false)
                then coalesce(eligibility.history_problem, 'no history before the backtest')
            when
                coalesce(sql_engine_rows.backtest_rows, 0) < windows.backtest_end - windows.train_end
                then 'no complete week of history before ' || strftime(windows.backtest_start, '%Y-%m-%d')
        end as error,
        0.0 as fit_seconds,
        eligibility.history_observed_days as observed_days,
        cast(null as varchar) as detail,
        cast(null as timestamp) as run_started_at

    from python_series
    cross join sql_engines
    cross join windows
    left join sql_engine_rows
        on
            python_series.host_id = sql_engine_rows.host_id
            and python_series.resource = sql_engine_rows.resource
            and sql_engines.model = sql_engine_rows.model
    left join eligibility
        on
            python_series.host_id = eligibility.host_id
            and python_series.resource = eligibility.resource

),

final as (

    select * from python_runs

    union all

    select * from sql_runs

)

select * from final
