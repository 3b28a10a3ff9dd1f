{#-
    Every row of your own telemetry (one per raw_row_id: a daily value or a raw sample) with its UTC day,
    its value in percent and the verdict: reason is null for a row that goes into its day's P95, else the
    first check it fails, in this order:

    unparseable_timestamp, future_timestamp (after raw.load_audit.loaded_at), too_old_timestamp (more than
    max_sample_age_days before it: a placeholder date would stretch the history window), missing_value,
    non_numeric_value (NaN included), out_of_range (outside 0-100 after the value scale), unknown_resource
    (not in the resource_aliases seed), unknown_host (not in the inventory), rejected_host (its inventory
    rows are all in inventory_rejects), then for several valid rows of the same host, resource and instant:
    the row of the latest load wins (`load --append` re-sending an instant corrects it), and the earlier
    loads' rows are superseded_by_later_load; within one load the highest value wins (capacity planning never
    understates a measurement), then the lowest raw_row_id, and the others are duplicate_sample. Only the few
    repeated instants are ranked. Each row is checked against its own load (loaded_at, value scale).
-#}
with

telemetry as (

    select * from {{ ref('stg_own_telemetry') }}

),

-- Each own load's reference instant and value scale (no rows for a synthetic fleet, whose own telemetry is
-- empty too).
load_settings as (

    select
        load_id,
        loaded_at,
        value_scale

    from {{ ref('stg_load_audit') }}
    where fleet = 'own'

),

aliases as (

    select * from {{ ref('stg_resource_aliases') }}

),

inventory_hosts as (

    select
        host_id,
        bool_or(is_valid) as has_valid_row

    from {{ ref('int_inventory_validated') }}
    where host_id is not null
    group by host_id

),

scaled as (

    select
        telemetry.raw_row_id,
        telemetry.load_id,
        telemetry.host_id,
        aliases.resource,
        telemetry.ts_utc,
        cast(telemetry.ts_utc as date) as ds,
        case
            when load_settings.value_scale = 'fraction' then telemetry.value_number * 100
            else telemetry.value_number
        end as y,
        load_settings.loaded_at,
        telemetry.value_text,
        inventory_hosts.host_id is not null as is_inventory_host,
        coalesce(inventory_hosts.has_valid_row, false) as has_valid_inventory_row

    from telemetry
    left join load_settings
        on telemetry.load_id = load_settings.load_id
    left join aliases
        on telemetry.resource = aliases.alias
    left join inventory_hosts
        on telemetry.host_id = inventory_hosts.host_id

),

checked as (

    select
        raw_row_id,
        load_id,
        host_id,
        resource,
        ts_utc,
        ds,
        y,
        loaded_at,
        case
            when ts_utc is null then 'unparseable_timestamp'
            when ts_utc > loaded_at then 'future_timestamp'
            when ts_utc < loaded_at - to_days({{ var('max_sample_age_days') | int }}) then 'too_old_timestamp'
            when value_text is null then 'missing_value'
            when y is null or isnan(y) then 'non_numeric_value'
            when y < 0 or y > 100 then 'out_of_range'
            when resource is null then 'unknown_resource'
            when not is_inventory_host then 'unknown_host'
            when not has_valid_inventory_row then 'rejected_host'
        end as row_reason

    from scaled

),

repeated_instants as (

    select
        host_id,
        resource,
        ts_utc

    from checked
    where row_reason is null
    group by host_id, resource, ts_utc
    having count(*) > 1

),

duplicates as (

    select
        checked.raw_row_id,
        checked.load_id,
        row_number() over instant as duplicate_rank,
        max(checked.load_id) over (partition by checked.host_id, checked.resource, checked.ts_utc) as latest_load_id

    from checked
    semi join repeated_instants
        on
            checked.host_id = repeated_instants.host_id
            and checked.resource = repeated_instants.resource
            and checked.ts_utc = repeated_instants.ts_utc
    where checked.row_reason is null
    window instant as (
        partition by checked.host_id, checked.resource, checked.ts_utc
        order by checked.load_id desc, checked.y desc, checked.raw_row_id asc
    )

),

final as (

    select
        checked.raw_row_id,
        checked.load_id,
        checked.host_id,
        checked.resource,
        checked.ts_utc,
        checked.ds,
        checked.y,
        checked.loaded_at,
        coalesce(
            checked.row_reason,
            case
                when duplicates.load_id < duplicates.latest_load_id then 'superseded_by_later_load'
                when duplicates.duplicate_rank > 1 then 'duplicate_sample'
            end
        ) as reason

    from checked
    left join duplicates
        on checked.raw_row_id = duplicates.raw_row_id

)

select
    *,
    reason is null as is_valid

from final
