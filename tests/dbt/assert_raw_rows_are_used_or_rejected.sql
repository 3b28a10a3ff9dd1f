-- Every raw telemetry row of either fleet is accounted for exactly once: raw rows = used rows + rejected rows,
-- and no row is both used and rejected. A used synthetic row is a row of int_telemetry_deduped; a used row of
-- your own fleet is a valid row of a day that int_telemetry_deduped kept (the day stands for raw_rows rows).
-- Returns one row describing the mismatch when the invariant breaks.
with

raw_rows as (

    select
        (select count(*) from {{ source('lake', 'master_daily') }})
        + (select count(*) from {{ source('lake', 'own_telemetry') }}) as raw_count

),

deduped as (

    select raw_row_id from {{ ref('int_telemetry_deduped') }}

),

own_used_days as (

    select own_daily.*

    from {{ ref('int_own_telemetry_daily') }} as own_daily
    semi join deduped
        on own_daily.raw_row_id = deduped.raw_row_id

),

own_used_rows as (

    select own_samples.raw_row_id

    from {{ ref('int_own_telemetry_samples') }} as own_samples
    semi join own_used_days
        on
            own_samples.host_id = own_used_days.host_id
            and own_samples.resource = own_used_days.resource
            and own_samples.ds = own_used_days.ds
    where own_samples.is_valid

),

used_rows as (

    select
        (select count(*) from deduped)
        + (select coalesce(sum(raw_rows - 1), 0) from own_used_days) as used_count,
        (select coalesce(sum(raw_rows), 0) from own_used_days) as own_used_count,
        (select count(*) from own_used_rows) as own_used_rows_count

),

rejected_rows as (

    select count(*) as rejected_count from {{ ref('telemetry_rejects') }}

),

used_ids as (

    select raw_row_id from deduped
    union all
    select raw_row_id from own_used_rows

),

used_and_rejected as (

    select count(*) as overlap_count

    from used_ids
    semi join {{ ref('telemetry_rejects') }} as rejected
        on used_ids.raw_row_id = rejected.raw_row_id

),

accounting as (

    select
        raw_rows.raw_count,
        used_rows.used_count,
        rejected_rows.rejected_count,
        used_and_rejected.overlap_count,
        used_rows.own_used_count,
        used_rows.own_used_rows_count

    from raw_rows
    cross join used_rows
    cross join rejected_rows
    cross join used_and_rejected

)

select * from accounting
where
    raw_count <> used_count + rejected_count
    or overlap_count > 0
    or own_used_count <> own_used_rows_count
