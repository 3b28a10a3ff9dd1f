-- Every raw telemetry row is accounted for exactly once: raw rows = used rows + rejected rows, and no
-- row is both used and rejected. Returns one row describing the mismatch when the invariant breaks.
with

raw_rows as (

    select count(*) as raw_count from {{ source('lake', 'master_daily') }}

),

used_rows as (

    select count(*) as used_count from {{ ref('int_telemetry_deduped') }}

),

rejected_rows as (

    select count(*) as rejected_count from {{ ref('telemetry_rejects') }}

),

used_and_rejected as (

    select count(*) as overlap_count

    from {{ ref('int_telemetry_deduped') }} as used
    semi join {{ ref('telemetry_rejects') }} as rejected
        on used.raw_row_id = rejected.raw_row_id

),

accounting as (

    select
        raw_rows.raw_count,
        used_rows.used_count,
        rejected_rows.rejected_count,
        used_and_rejected.overlap_count

    from raw_rows
    cross join used_rows
    cross join rejected_rows
    cross join used_and_rejected

)

select * from accounting
where raw_count <> used_count + rejected_count or overlap_count > 0
