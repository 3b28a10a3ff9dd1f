-- Every raw inventory row of either fleet is accounted for exactly once: raw rows = hosts + inventory_rejects
-- rows. Returns one row describing the mismatch when the invariant breaks.
with

raw_rows as (

    select
        (select count(*) from {{ source('raw', 'hosts') }})
        + (select count(*) from {{ source('raw', 'inventory') }}) as raw_count

),

used_rows as (

    select count(*) as used_count from {{ ref('hosts') }}

),

rejected_rows as (

    select count(*) as rejected_count from {{ ref('inventory_rejects') }}

),

accounting as (

    select
        raw_rows.raw_count,
        used_rows.used_count,
        rejected_rows.rejected_count

    from raw_rows
    cross join used_rows
    cross join rejected_rows

)

select * from accounting
where raw_count <> used_count + rejected_count
