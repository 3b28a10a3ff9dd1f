-- The champion of every series has the lowest ranking score among its eligible engines (its selection score,
-- regime_engine's less challenger_margin), unless the backtest winner broke from the series in its last weeks
-- and regime_engine took over (is_regime_override).
with

leaderboard as (
    select * from {{ ref('model_leaderboard') }}
),

best as (
    select
        host_id,
        resource,
        min(ranking_score) as best_score
    from leaderboard
    where is_eligible
    group by all
)

select leaderboard.*
from leaderboard
inner join best
    on
        leaderboard.host_id = best.host_id
        and leaderboard.resource = best.resource
where
    leaderboard.is_champion
    and leaderboard.ranking_score > best.best_score
    and not (leaderboard.is_regime_override and leaderboard.model = '{{ var("regime_engine") }}')
