-- Which engine wins where: wins, median MAPE, naive-beating share and interval coverage by model x resource x
-- DNA scenario/variant, with roll-ups (value 'ALL') per model and per model x resource.
with

leaderboard as (
    select * from {{ ref('model_leaderboard') }}
),

calibration as (
    select * from {{ ref('forecast_calibration') }}
),

hosts as (
    select * from {{ ref('hosts') }}
),

scored as (
    select
        leaderboard.model,
        leaderboard.resource,
        hosts.scenario,
        hosts.variant,
        leaderboard.is_eligible,
        leaderboard.is_champion,
        leaderboard.mape,
        leaderboard.beats_naive,
        leaderboard.naive_score,
        leaderboard.selection_score,
        leaderboard.coverage,
        calibration.crossfit_coverage
    from leaderboard
    inner join hosts on leaderboard.host_id = hosts.host_id
    left join calibration
        on
            leaderboard.host_id = calibration.host_id
            and leaderboard.resource = calibration.resource
            and leaderboard.model = calibration.model
)

select
    model,
    coalesce(resource, 'ALL') as resource,
    coalesce(scenario, 'ALL') as scenario,
    coalesce(variant, 'ALL') as variant,
    count(*) as series,
    count(*) filter (where is_eligible) as eligible_series,
    count(*) filter (where is_champion) as wins,
    round(count(*) filter (where is_champion) / count(*), 4) as win_share,
    median(mape) filter (where is_eligible) as median_mape,
    avg(case when beats_naive then 1.0 else 0.0 end) filter (
        where is_eligible and model != 'seasonal_naive'
    ) as share_beating_naive,
    median(1 - selection_score / nullif(naive_score, 0)) filter (
        where is_eligible and model != 'seasonal_naive'
    ) as median_improvement_over_naive,
    cast({{ var('interval_width') }} as double) as nominal_coverage,
    avg(coverage) filter (where is_eligible) as interval_coverage,
    avg(crossfit_coverage) filter (where is_eligible) as calibrated_coverage
from scored
group by grouping sets ((model, resource, scenario, variant), (model, resource), (model))
-- A fleet without behavioral DNA (your own) has no scenario: its finest rows would repeat the roll-up.
having grouping(scenario) = 1 or scenario is not null
