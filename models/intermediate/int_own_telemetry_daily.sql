{#-
    Your own telemetry as the refinery's daily grain: per host, resource and UTC day, the P95 of every valid
    row of that day (int_own_telemetry_samples), defined as DuckDB's quantile_cont(value, 0.95): linear
    interpolation between the two nearest ranks. A feed of one row per day (already a P95) gives back its own
    value; raw samples at any frequency (5-minute Prometheus or CloudWatch exports) are aggregated here.
    raw_row_id is the day's lowest sample id: it stands for the day in the shared refinery, and raw_rows says
    how many raw rows the day accounts for.
-#}
with

samples as (

    select * from {{ ref('int_own_telemetry_samples') }}

),

final as (

    select
        min(raw_row_id) as raw_row_id,
        host_id,
        resource,
        ds,
        quantile_cont(y, 0.95) as y,
        count(*) as raw_rows,
        max(loaded_at) as loaded_at,
        max(load_id) as load_id

    from samples
    where is_valid
    group by host_id, resource, ds

)

select * from final
