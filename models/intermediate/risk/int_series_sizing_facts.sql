-- What right-sizing needs to know of every series of processed_data, computed once: its forecast peak over the
-- whole horizon (point and calibrated upper bound), the first day the upper bound exceeds the resource's target
-- utilization and the breach threshold, how far the forecast deserves trust, how much real history it has and
-- when it was last observed. A series without a golden forecast keeps its row, with the exclusion reason.
-- One row per host x resource of processed_data.
with

series as (
    select * from {{ ref('int_series_eligibility') }}
),

processed_data as (
    select * from {{ ref('processed_data') }}
),

forecasts as (
    select * from {{ ref('forecasts') }}
),

outlook as (
    select * from {{ ref('int_series_breach_outlook') }}
),

leaderboard as (
    select * from {{ ref('model_leaderboard') }}
),

exclusions as (
    select * from {{ ref('forecast_exclusions') }}
),

windows as (
    select * from {{ ref('forecast_windows') }}
),

settings as (
    {{ rightsizing_settings_sql() }}
),

last_observed as (
    select
        host_id,
        resource,
        max(ds) filter (where not is_imputed) as last_observed_date
    from processed_data
    group by all
),

peaks as (
    select
        forecasts.host_id,
        forecasts.resource,
        max(forecasts.yhat) as peak_yhat,
        max(forecasts.yhat_upper) as peak_yhat_upper,
        min(forecasts.ds) filter (where forecasts.yhat_upper > settings.target_utilization) as first_over_target_date
    from forecasts
    left join settings on forecasts.resource = settings.resource
    group by all
),

champions as (
    select
        host_id,
        resource,
        is_regime_override
    from leaderboard
    where is_champion
)

select
    series.host_id,
    series.resource,
    outlook.host_id is not null as has_forecast,
    exclusions.reason as no_forecast_reason,
    peaks.peak_yhat,
    peaks.peak_yhat_upper,
    peaks.first_over_target_date,
    datediff('day', windows.history_end, peaks.first_over_target_date) as days_to_over_target,
    outlook.first_breach_date,
    outlook.days_to_breach,
    coalesce(outlook.is_breach_alert, false) as is_breach_alert,
    -- Peaks that recur often enough to flag the series: sized on, beside the band's peak (rightsizing).
    case when outlook.is_recurring_peak_alert then outlook.recurring_peak_height end as recurring_peak_height,
    case when outlook.is_recurring_peak_alert then outlook.recurring_peak_date end as recurring_peak_date,
    case when outlook.is_recurring_peak_alert then outlook.days_to_recurring_peak end as days_to_recurring_peak,
    outlook.trust_level,
    outlook.champion_model,
    outlook.backtest_mape,
    coalesce(champions.is_regime_override, false) as is_regime_override,
    series.history_observed_days,
    last_observed.last_observed_date,
    datediff('day', last_observed.last_observed_date, windows.history_end) as days_since_observed
from series
cross join windows
left join outlook
    on
        series.host_id = outlook.host_id
        and series.resource = outlook.resource
left join peaks
    on
        series.host_id = peaks.host_id
        and series.resource = peaks.resource
left join champions
    on
        series.host_id = champions.host_id
        and series.resource = champions.resource
left join exclusions
    on
        series.host_id = exclusions.host_id
        and series.resource = exclusions.resource
left join last_observed
    on
        series.host_id = last_observed.host_id
        and series.resource = last_observed.resource
