{#-
    The analytical base table: one continuous daily series per host and resource, with its owners.
    Incremental like int_telemetry_gap_filled (macros/incremental_refinery.sql): each series' rows from the
    same anchor on are deleted and copied again from it.
-#}
{% set floor = refinery_anchor_floor() %}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ refinery_delete_from_anchors(['host_id', 'resource']) }}",
    )
}}
-- The quarantine gate: built after quarantine_summary and its reject-share test (fail fast, before any engine).
-- depends_on: {{ ref('quarantine_summary') }}
-- depends_on: {{ ref('int_refinery_anchors') }}
with

gap_filled as (

    {% if is_incremental() %}
        select gap_filled.*
        from {{ ref('int_telemetry_gap_filled') }} as gap_filled
        inner join {{ ref('int_refinery_anchors') }} as anchors
            on gap_filled.series_key = anchors.series_key and gap_filled.ds >= anchors.anchor_day
        where gap_filled.ds >= {{ floor }}
    {% else %}
        select * from {{ ref('int_telemetry_gap_filled') }}
    {% endif %}

),

series as (

    select * from {{ ref('int_telemetry_series') }}

),

hosts as (

    select * from {{ ref('hosts') }}

),

series_attributes as (

    select
        series.series_key,
        series.host_id,
        series.resource,
        hosts.department,
        hosts.app_code,
        hosts.app_manager,
        hosts.region,
        hosts.environment,
        hosts.scenario,
        hosts.variant

    from series
    inner join hosts
        on series.host_id = hosts.host_id

),

final as (

    select
        series_attributes.host_id,
        series_attributes.resource,
        gap_filled.ds,
        gap_filled.y,
        gap_filled.is_imputed,
        series_attributes.department,
        series_attributes.app_code,
        series_attributes.app_manager,
        series_attributes.region,
        series_attributes.environment,
        series_attributes.scenario,
        series_attributes.variant

    from gap_filled
    inner join series_attributes
        on gap_filled.series_key = series_attributes.series_key

)

select * from final
