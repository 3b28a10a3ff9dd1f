{#-
    The loads the incremental refinery was last built from (macros/incremental_refinery.sql): one row per live
    load with the first and last day of its rows and the fingerprint of the refinery's other inputs. Built after processed_data,
    so it records a complete refinery run; the next run compares it with raw.load_audit to find what changed
    (new or undone loads) and from which day to reprocess.
-#}
-- depends_on: {{ ref('processed_data') }}
-- depends_on: {{ ref('telemetry_rejects') }}
-- depends_on: {{ ref('stg_resource_aliases') }}
-- depends_on: {{ ref('int_inventory_validated') }}
-- depends_on: {{ ref('int_telemetry_series') }}
with

live_loads as (

    select
        load_id,
        fleet

    from {{ ref('stg_load_audit') }}
    where is_live

),

-- Every raw row's day, per load: the synthetic feed as delivered and your own fleet's samples.
raw_days as (

    select
        load_id,
        ds

    from {{ ref('stg_telemetry') }}

    union all

    select
        load_id,
        ds

    from {{ ref('int_own_telemetry_samples') }}

),

load_days as (

    select
        load_id,
        min(ds) as first_day,
        max(ds) as last_day,
        count(*) as raw_rows

    from raw_days
    group by load_id

),

final as (

    select
        live_loads.load_id,
        live_loads.fleet,
        load_days.first_day,
        load_days.last_day,
        coalesce(load_days.raw_rows, 0) as raw_rows,
        {{ refinery_inputs_key() }} as inputs_key

    from live_loads
    left join load_days
        on live_loads.load_id = load_days.load_id

)

select * from final
