{#-
    The daily telemetry the shared refinery validates, deduplicates and gap-fills, whichever fleet the raw
    layer holds: the synthetic feed as delivered (stg_telemetry, one raw row per host, resource and day) and
    your own fleet's daily P95 (int_own_telemetry_daily, already validated), one of them empty. A view: the
    synthetic path reads its Parquet lake exactly as before.
-#}
{{ config(materialized='view') }}

with

synthetic_feed as (

    select * from {{ ref('stg_telemetry') }}

),

own_daily as (

    select * from {{ ref('int_own_telemetry_daily') }}

),

final as (

    select
        raw_row_id,
        host_id,
        resource,
        ds,
        y,
        loaded_at,
        load_id

    from synthetic_feed

    union all

    select
        raw_row_id,
        host_id,
        resource,
        ds,
        y,
        loaded_at,
        load_id

    from own_daily

)

select * from final
