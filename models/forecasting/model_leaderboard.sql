-- The tournament: every engine of the registry (var `engines`) scored on every series' backtest window,
-- ranked, one champion per series.
with

processed as (
    select * from {{ ref('processed_data') }}
),

errors as (
    select * from {{ ref('int_backtest_errors') }}
),

runs as (
    select * from {{ ref('engine_runs') }}
),

forecast_rows as (
    select
        host_id,
        resource,
        model,
        count(*) as forecast_points
    from (
        {{- union_engine_forecasts('forecast', ['host_id', 'resource', 'model']) }}
    )
    group by all
),

series as (
    select distinct
        host_id,
        resource
    from processed
),

models as (
    select unnest([{{ engine_names_sql() }}]) as model
),

entries as (
    select
        series.host_id,
        series.resource,
        models.model
    from series
    cross join models
),

scored as (
    select
        host_id,
        resource,
        model,
        count(*) as backtest_points,
        count(*) filter (where y >= {{ var('mape_min_actual') }}) as mape_points,
        100 * avg(absolute_error / y) filter (where y >= {{ var('mape_min_actual') }}) as strict_mape,
        100 * sum(absolute_error) / nullif(sum(abs(y)), 0) as wape,
        avg(absolute_error) as mae,
        avg(error) as bias,
        avg(case when is_covered then 1.0 else 0.0 end) as coverage
    from errors
    group by all
),

guarded as (
    select
        *,
        -- MAPE guard: on near-idle series most actuals sit under mape_min_actual points, where a percentage
        -- error explodes. If fewer than half of the backtest days qualify, MAPE falls back to WAPE.
        mape_points < 0.5 * backtest_points as is_mape_fallback,
        case when mape_points < 0.5 * backtest_points then wape else strict_mape end as mape
    from scored
),

joined as (
    select
        entries.host_id,
        entries.resource,
        entries.model,
        coalesce(
            runs.status,
            case when guarded.backtest_points is not null then 'ok' else 'missing' end
        ) as status,
        runs.error as run_error,
        guarded.backtest_points,
        guarded.mape_points,
        guarded.mape,
        guarded.is_mape_fallback,
        guarded.wape,
        guarded.mae,
        guarded.bias,
        guarded.coverage,
        coalesce(forecast_rows.forecast_points, 0) as forecast_points
    from entries
    left join runs
        on
            entries.host_id = runs.host_id
            and entries.resource = runs.resource
            and entries.model = runs.model
    left join guarded
        on
            entries.host_id = guarded.host_id
            and entries.resource = guarded.resource
            and entries.model = guarded.model
    left join forecast_rows
        on
            entries.host_id = forecast_rows.host_id
            and entries.resource = forecast_rows.resource
            and entries.model = forecast_rows.model
),

eligibility as (
    select
        *,
        -- Only an engine that ran cleanly, was scored and produced a production forecast can win.
        status = 'ok' and backtest_points > 0 and forecast_points > 0 and mape is not null as is_eligible,
        case when '{{ var("selection_metric") }}' = 'wape' then wape else mape end as selection_score,
        -- Tie-break: the simpler model wins an exact tie (the registry's simplicity: seasonal naive, then
        -- XGBoost, then Prophet).
        {{ engine_simplicity_sql('model') }} as simplicity_order
    from joined
),

ranked as (
    select
        *,
        row_number() over (
            partition by host_id, resource
            order by is_eligible desc, selection_score asc nulls last, simplicity_order asc
        ) as rank
    from eligibility
),

naive as (
    select
        host_id,
        resource,
        selection_score as naive_score
    from ranked
    where model = 'seasonal_naive' and is_eligible
)

select
    ranked.host_id,
    ranked.resource,
    ranked.model,
    ranked.status,
    ranked.run_error,
    ranked.backtest_points,
    ranked.mape_points,
    ranked.mape,
    ranked.is_mape_fallback,
    ranked.wape,
    ranked.mae,
    ranked.bias,
    ranked.coverage,
    ranked.forecast_points,
    ranked.is_eligible,
    '{{ var("selection_metric") }}' as selection_metric,
    ranked.selection_score,
    ranked.rank,
    ranked.rank = 1 and ranked.is_eligible as is_champion,
    naive.naive_score,
    ranked.is_eligible and ranked.selection_score < naive.naive_score as beats_naive
from ranked
left join naive
    on
        ranked.host_id = naive.host_id
        and ranked.resource = naive.resource
