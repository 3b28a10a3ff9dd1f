{#-
    How long each engine took, by phase (train: XGBoost's global models; calibrate: the interval
    calibration run on a sample; forecast: backtest + production for every series), from the timing files
    the Python engines of the registry (writes_run_log) write next to their forecasts. For performance audits
    across runs and machines.
-#}
{{- engine_run_log_refs() }}

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

    from read_parquet({{ engine_lake_files('_timings') }}, union_by_name = true)

),

final as (

    select * from timings

)

select * from final
