-- The golden record: each series' champion 180-day production forecast with a calibrated interval.
with

leaderboard as (
    select * from {{ ref('model_leaderboard') }}
),

calibration as (
    select * from {{ ref('forecast_calibration') }}
),

production as (
    {{- union_engine_forecasts('forecast') }}
),

champions as (
    select
        host_id,
        resource,
        model,
        mape,
        wape
    from leaderboard
    where is_champion
),

golden as (
    select
        production.host_id,
        production.resource,
        production.ds,
        production.yhat,
        production.yhat_lower as raw_yhat_lower,
        production.yhat_upper as raw_yhat_upper,
        coalesce(calibration.interval_stretch, 1.0) as interval_stretch,
        champions.model as champion_model,
        champions.mape as backtest_mape,
        champions.wape as backtest_wape
    from production
    inner join champions
        on
            production.host_id = champions.host_id
            and production.resource = champions.resource
            and production.model = champions.model
    left join calibration
        on
            production.host_id = calibration.host_id
            and production.resource = calibration.resource
            and production.model = calibration.model
)

select
    host_id,
    resource,
    ds,
    yhat,
    -- Calibrated band: the champion's own band stretched around yhat by its group's conformal factor
    -- (forecast_calibration), never crossing the point forecast and always physical (0-100%).
    cast(greatest(0, least(yhat, yhat - (yhat - raw_yhat_lower) * interval_stretch)) as double) as yhat_lower,
    cast(least(100, greatest(yhat, yhat + (raw_yhat_upper - yhat) * interval_stretch)) as double) as yhat_upper,
    raw_yhat_lower,
    raw_yhat_upper,
    interval_stretch,
    cast({{ var('interval_width') }} as double) as interval_width,
    champion_model,
    backtest_mape,
    backtest_wape,
    case
        when backtest_mape <= {{ var('trust_high_max_mape') }} then 'HIGH'
        when backtest_mape <= {{ var('trust_medium_max_mape') }} then 'MEDIUM'
        else 'LOW'
    end as trust_level
from golden
