{{ config(materialized='view', pre_hook="{{ write_forecast_snapshot() }}") }}
-- Every build's golden forecast, kept: the pre-hook writes this build's snapshot to the Parquet history
-- (macros/forecast_history.sql), and the view reads every snapshot in place. A rebuild of the same as_of
-- replaces that snapshot only. The Parquet outlives the warehouse, which `generate` and `load` recreate; a
-- view keeps the warehouse and the serving copy from growing with every build.
-- depends_on: {{ ref('forecasts') }}
-- depends_on: {{ ref('forecast_windows') }}
-- depends_on: {{ ref('int_series_breach_outlook') }}
select
    host_id,
    resource,
    ds,
    as_of,
    datediff('day', as_of, ds) as horizon_days,
    cast(yhat as double) as yhat,
    cast(yhat_lower as double) as yhat_lower,
    cast(yhat_upper as double) as yhat_upper,
    champion_model,
    trust_level,
    -- Null in snapshots written before the history kept it.
    band_source,
    first_upper_breach_date,
    first_point_breach_date,
    -- Snapshots written before the recurring-peak alert lack it: their alerts were all the upper bound's.
    coalesce(first_breach_date, first_upper_breach_date) as first_breach_date,
    coalesce(is_breach_alert, false) as is_breach_alert,
    run_id,
    built_at
from
    read_parquet(
        {{ sql_string(forecast_history_dir() ~ '/*/*.parquet') }}, hive_partitioning = false, union_by_name = true
    )
where as_of is not null
