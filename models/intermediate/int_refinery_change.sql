{#-
    What changed since the incremental refinery's last complete run, computed once per run (one row): the
    incremental models read it (refinery_change() in macros/incremental_refinery.sql) instead of each working
    it out again. new_load_ids / gone_load_ids: live loads not recorded in int_refinery_loads, and recorded
    loads since undone. cutoff: the earliest day they touch (a new load's first day in int_fleet_telemetry, so
    a late row for an old day pulls it back; an undone load's recorded first day), null when nothing changed,
    0001-01-01 (reprocess the whole history) when nothing is recorded, on --full-refresh, or when the
    refinery's other inputs differ from the recorded run (refinery_inputs_key()). Runs before
    int_telemetry_validated and after the models refinery_inputs_key() reads.
-#}
-- depends_on: {{ ref('int_telemetry_series') }}
-- depends_on: {{ ref('int_inventory_validated') }}
-- depends_on: {{ ref('stg_resource_aliases') }}
-- depends_on: {{ ref('stg_load_audit') }}
-- depends_on: {{ ref('int_fleet_telemetry') }}
{%- set state = refinery_recorded_state() %}
{% if state is none %}

    select
        date '0001-01-01' as cutoff,
        cast(null as varchar) as new_load_ids,
        cast(null as varchar) as gone_load_ids

{% else %}

    with

    live_loads as (

        select load_id from {{ ref('stg_load_audit') }}
        where is_live

    ),

    recorded_loads as (

        select
            load_id,
            first_day,
            inputs_key

        from {{ state }}

    ),

    new_loads as (

        select live_loads.load_id

        from live_loads
        anti join recorded_loads
            on live_loads.load_id = recorded_loads.load_id

    ),

    gone_loads as (

        select
            recorded_loads.load_id,
            recorded_loads.first_day

        from recorded_loads
        anti join live_loads
            on recorded_loads.load_id = live_loads.load_id

    ),

    new_first_day as (

        select min(telemetry.ds) as first_day

        from {{ ref('int_fleet_telemetry') }} as telemetry
        semi join new_loads
            on telemetry.load_id = new_loads.load_id

    ),

    inputs as (

        select count(*) > 0 as changed

        from recorded_loads
        where inputs_key <> {{ refinery_inputs_key() }}

    ),

    final as (

        select
            case
                when inputs.changed then date '0001-01-01'
                else least(new_first_day.first_day, (select min(gone_loads.first_day) from gone_loads))
            end as cutoff,
            (select string_agg(cast(new_loads.load_id as varchar), ', ' order by new_loads.load_id) from new_loads)
                as new_load_ids,
            (select string_agg(cast(gone_loads.load_id as varchar), ', ' order by gone_loads.load_id) from gone_loads)
                as gone_load_ids

        from inputs
        cross join new_first_day

    )

    select * from final

{% endif %}
