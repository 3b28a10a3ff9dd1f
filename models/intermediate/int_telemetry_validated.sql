{#-
    Every raw telemetry row with the verdict of the row-level checks: validity_reason is null for a valid
    row, else the first check it fails. The window and the duplicate rules come after (int_telemetry_deduped,
    telemetry_rejects), so a valid re-send always beats an invalid one for the same host, resource and day.
    Identifiers are kept as series_key (see int_telemetry_series); telemetry_rejects keeps the delivered text.

    Incremental (macros/incremental_refinery.sql): a run after new loads re-checks the rows from the earliest
    day they touch (and the undated rows of new loads); the rows of undone loads are deleted.
-#}
{% set change = refinery_change() %}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}{% set change = refinery_change() %}delete from {{ this }} where ds >= "
            ~ "{{ change.cutoff }} or load_id in {{ refinery_id_list(change.gone) }}{% else %}select 1{% endif %}",
    )
}}
-- What changed since the last run, computed once for the whole refinery.
-- depends_on: {{ ref('int_refinery_change') }}
with

telemetry as (

    select * from {{ ref('int_fleet_telemetry') }}
    {% if is_incremental() %}
        where ds >= {{ change.cutoff }} or (ds is null and load_id in {{ refinery_id_list(change.new) }})
    {% endif %}

),

series as (

    select * from {{ ref('int_telemetry_series') }}

),

checked as (

    select
        telemetry.raw_row_id,
        series.series_key,
        telemetry.ds,
        telemetry.y,
        telemetry.loaded_at,
        telemetry.load_id,
        case
            when telemetry.y is null then 'missing_value'
            when telemetry.y < 0 or telemetry.y > 100 then 'out_of_range'
            when series.series_key is not null then null
            when
                telemetry.resource is null
                or telemetry.resource not in ('cpu', 'memory', 'disk', 'network')
                then 'unknown_resource'
            else 'unknown_host'
        end as validity_reason

    from telemetry
    left join series
        on
            telemetry.host_id = series.host_id
            and telemetry.resource = series.resource

),

final as (

    select
        *,
        validity_reason is null as is_valid

    from checked

)

select * from final
