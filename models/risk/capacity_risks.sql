-- High-trust capacity risks: series whose calibrated upper bound crosses breach_threshold within
-- breach_window_days of the end of history. One row per at-risk host x resource.
with

forecasts as (
    select * from {{ ref('forecasts') }}
),

windows as (
    select * from {{ ref('forecast_windows') }}
),

hosts as (
    select * from {{ ref('hosts') }}
),

horizon as (
    select
        forecasts.*,
        datediff('day', windows.history_end, forecasts.ds) as days_ahead
    from forecasts
    cross join windows
),

per_series as (
    select
        host_id,
        resource,
        any_value(champion_model) as champion_model,
        any_value(backtest_mape) as backtest_mape,
        any_value(trust_level) as trust_level,
        min(ds) filter (
            where yhat_upper > {{ var('breach_threshold') }} and days_ahead <= {{ var('breach_window_days') }}
        ) as first_breach_date,
        min(days_ahead) filter (
            where yhat_upper > {{ var('breach_threshold') }} and days_ahead <= {{ var('breach_window_days') }}
        ) as days_to_breach,
        -- When the point forecast itself crosses (anywhere in the horizon): the expected date, where
        -- first_breach_date is the earliest plausible one.
        min(ds) filter (where yhat > {{ var('breach_threshold') }}) as expected_breach_date,
        min(days_ahead) filter (where yhat > {{ var('breach_threshold') }}) as days_to_expected_breach,
        max(yhat_upper) filter (where days_ahead <= {{ var('breach_window_days') }}) as peak_yhat_upper,
        max(yhat) filter (where days_ahead <= {{ var('breach_window_days') }}) as peak_yhat,
        -- Headroom: points left between the upper bound and the threshold on that day (negative = over it).
        any_value({{ var('breach_threshold') }} - yhat_upper) filter (where days_ahead = 90) as headroom_90d,
        any_value({{ var('breach_threshold') }} - yhat_upper) filter (where days_ahead = 180) as headroom_180d
    from horizon
    group by all
)

select
    per_series.host_id,
    per_series.resource,
    hosts.hostname,
    hosts.department,
    hosts.app_code,
    hosts.app_name,
    hosts.app_manager,
    hosts.region,
    hosts.environment,
    per_series.champion_model,
    per_series.backtest_mape,
    per_series.trust_level,
    per_series.first_breach_date,
    per_series.days_to_breach,
    per_series.expected_breach_date,
    per_series.days_to_expected_breach,
    per_series.peak_yhat_upper,
    per_series.peak_yhat,
    per_series.headroom_90d,
    per_series.headroom_180d
from per_series
inner join hosts on per_series.host_id = hosts.host_id
where per_series.first_breach_date is not null
