-- Every series with at least one eligible engine has exactly one champion.
select
    host_id,
    resource,
    count(*) filter (where is_champion) as champions
from {{ ref('model_leaderboard') }}
group by all
having bool_or(is_eligible) and count(*) filter (where is_champion) != 1
