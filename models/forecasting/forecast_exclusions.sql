-- Series of processed_data that have no golden forecast, each with the reason: nothing goes missing silently.
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
where not has_champion
