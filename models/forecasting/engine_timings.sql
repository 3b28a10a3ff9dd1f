{#-
    How long each engine took, by phase (train: XGBoost's global models; calibrate: the interval
    calibration run on a sample; forecast: backtest + production for every series), from the timing files
    the Python engines write next to their forecasts. For performance audits across runs and machines.
-#}
-- depends_on: {{ ref('prophet_forecasts') }}
-- depends_on: {{ ref('xgboost_forecasts') }}
{% set lake = var('lake_dir', none) or (env_var('HORIZONSCALE_DATA_DIR', 'data') ~ '/lake') -%}

with

timings as (

    select
        model,
        phase,
        series,
        wall_seconds,
        series_per_second,
        workers,
        backend,
        run_started_at

    from read_parquet(
        ['{{ lake }}/forecasts/prophet_timings.parquet', '{{ lake }}/forecasts/xgboost_timings.parquet'],
        union_by_name = true
    )

),

final as (

    select * from timings

)

select * from final
