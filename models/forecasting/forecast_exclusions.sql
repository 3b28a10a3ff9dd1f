-- Series of processed_data that have no golden forecast, each with the reason: nothing goes missing silently.
-- A series too young for a backtest that still got a straight line (int_young_series_forecasts) is not listed.
with

leaderboard as (
    select * from {{ ref('model_leaderboard') }}
),

per_series as (
    select
        host_id,
        resource,
        bool_or(is_champion) as has_champion,
        string_agg(
            model || ': ' || status || coalesce(' (' || run_error || ')', ''), '; ' order by model
        ) as engine_statuses,
        bool_and(status = 'insufficient_history') as is_insufficient_history
    from leaderboard
    where model in ({{ engine_names_sql() }})
    group by all
),

-- A young series has no champion but a straight-line forecast of its own (int_young_series_forecasts).
young as (
    select distinct
        host_id,
        resource
    from {{ ref('int_young_series_forecasts') }}
)

select
    host_id,
    resource,
    case
        when is_insufficient_history then 'insufficient_history'
        else 'no_eligible_engine'
    end as reason,
    engine_statuses as detail
from per_series
where
    not has_champion
    and not exists (
        select 1 from young
        where young.host_id = per_series.host_id and young.resource = per_series.resource
    )
