{#-
    Where the forecast history lives: Parquet outside the warehouse, one file per snapshot at
    <history_dir>/as_of=YYYY-MM-DD/forecasts0.parquet. The warehouse file is recreated by every `generate` and
    `load`; the history must outlive it, so it sits beside the lake (var history_dir, default
    $HORIZONSCALE_DATA_DIR/forecast_history; its parent directory must exist).
-#}
{% macro forecast_history_dir() -%}
    {{- var('history_dir', none) or (env_var('HORIZONSCALE_DATA_DIR', 'data') ~ '/forecast_history') -}}
{%- endmacro %}

{#-
    Pre-hook of forecast_history: write this build's golden forecast (with its series' breach facts) as the
    snapshot of its as_of (= forecast_windows.history_end). A partitioned COPY with a fixed file name replaces
    the file of that as_of only; every other snapshot stays as it was. The forecast values are kept to 0.01
    points (the telemetry's own precision) as 4-byte floats: a third of the size of full doubles (2,000 hosts:
    8.9 MB per snapshot instead of 30.5 MB).
-#}
{% macro write_forecast_snapshot() -%}
    copy (
        select * from (
            select
                forecasts.host_id,
                forecasts.resource,
                forecasts.ds,
                cast(round(forecasts.yhat, 2) as float) as yhat,
                cast(round(forecasts.yhat_lower, 2) as float) as yhat_lower,
                cast(round(forecasts.yhat_upper, 2) as float) as yhat_upper,
                forecasts.champion_model,
                forecasts.trust_level,
                forecasts.band_source,
                outlook.first_upper_breach_date,
                outlook.first_point_breach_date,
                outlook.first_breach_date,
                outlook.is_breach_alert,
                windows.history_end as as_of,
                '{{ invocation_id }}' as run_id,
                cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as built_at
            from {{ ref('forecasts') }} as forecasts
            cross join {{ ref('forecast_windows') }} as windows
            left join {{ ref('int_series_breach_outlook') }} as outlook
                on
                    forecasts.host_id = outlook.host_id
                    and forecasts.resource = outlook.resource
            order by forecasts.host_id, forecasts.resource, forecasts.ds
        )
        -- One all-null row with a null as_of (folder as_of=__HIVE_DEFAULT_PARTITION__): the history always has a
        -- file to read, even before a build that forecast any series; forecast_history leaves it out.
        union all by name
        select cast(null as date) as as_of
    ) to {{ sql_string(forecast_history_dir()) }} (
        format parquet, compression zstd, partition_by (as_of), overwrite_or_ignore,
        filename_pattern 'forecasts', write_partition_columns true
    )
{%- endmacro %}
