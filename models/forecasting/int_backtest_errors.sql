-- Every engine's (var `engines`) backtest prediction next to the actual it tried to predict.
-- Imputed days are left out: they are our own interpolation, not something a model can be scored on.
with

actuals as (
    select * from {{ ref('processed_data') }}
),

backtests as (
    {{- union_engine_forecasts('backtest') }}
)

select
    backtests.host_id,
    backtests.resource,
    backtests.model,
    backtests.ds,
    actuals.y,
    backtests.yhat,
    backtests.yhat_lower,
    backtests.yhat_upper,
    backtests.yhat - actuals.y as error,
    abs(backtests.yhat - actuals.y) as absolute_error,
    actuals.y between backtests.yhat_lower and backtests.yhat_upper as is_covered,
    -- Conformal score: by how much the interval must be stretched around yhat (each side in proportion to its
    -- own width) to reach the actual; <= 1 means covered. A side narrower than 0.05 points counts as 0.05.
    case
        when actuals.y >= backtests.yhat
            then (actuals.y - backtests.yhat) / greatest(backtests.yhat_upper - backtests.yhat, 0.05)
        else (backtests.yhat - actuals.y) / greatest(backtests.yhat - backtests.yhat_lower, 0.05)
    end as stretch_score
from backtests
inner join actuals
    on
        backtests.host_id = actuals.host_id
        and backtests.resource = actuals.resource
        and backtests.ds = actuals.ds
where not actuals.is_imputed
