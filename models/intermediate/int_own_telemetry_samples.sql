{#-
    Every row of your own telemetry (one per raw_row_id: a daily value or a raw sample) with its UTC day,
    its value in percent and the verdict: reason is null for a row that goes into its day's P95, else the
    first check it fails, in this order:

    unparseable_timestamp, future_timestamp (after raw.load_audit.loaded_at), too_old_timestamp (more than
    max_sample_age_days before it: a placeholder date would stretch the history window), missing_value,
    non_numeric_value (NaN included), out_of_range (outside 0-100 after the value scale), unknown_resource
    (not in the resource_aliases seed), unknown_host (not in the inventory), rejected_host (its inventory
    rows are all in inventory_rejects), then duplicate_sample: of several valid rows for the same host,
    resource and instant, the highest value wins (capacity planning never understates a measurement), then
    the lowest raw_row_id. Only the few repeated instants are ranked.
-#}
with

telemetry as (

    select * from {{ ref('stg_own_telemetry') }}

),

-- One row whatever the load audit holds (empty for a synthetic fleet, whose own telemetry is empty too).
load_settings as (

    select
        max(loaded_at) as loaded_at,
        coalesce(max(value_scale), 'percent') as value_scale

    from {{ ref('stg_load_audit') }}

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
    cross join load_settings
    left join aliases
        on telemetry.resource = aliases.alias
    left join inventory_hosts
        on telemetry.host_id = inventory_hosts.host_id

),

checked as (

    select
        raw_row_id,
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
        row_number() over (
            partition by checked.host_id, checked.resource, checked.ts_utc
            order by checked.y desc, checked.raw_row_id asc
        ) as duplicate_rank

    from checked
    semi join repeated_instants
        on
            checked.host_id = repeated_instants.host_id
            and checked.resource = repeated_instants.resource
            and checked.ts_utc = repeated_instants.ts_utc
    where checked.row_reason is null

),

final as (

    select
        checked.raw_row_id,
        checked.host_id,
        checked.resource,
        checked.ts_utc,
        checked.ds,
        checked.y,
        checked.loaded_at,
        coalesce(checked.row_reason, case when duplicates.duplicate_rank > 1 then 'duplicate_sample' end) as reason

    from checked
    left join duplicates
        on checked.raw_row_id = duplicates.raw_row_id

)

select
    *,
    reason is null as is_valid

from final
