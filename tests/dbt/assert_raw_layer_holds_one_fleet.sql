-- `horizonscale generate` and `horizonscale load` each replace the whole raw layer, so it holds one fleet:
-- the synthetic one or your own. Returns a row when both hold rows (a raw layer written by hand, or mixed
-- files in the lake): regenerate or load again.
with

fleets as (

    select
        (select count(*) from {{ source('raw', 'hosts') }})
        + (select count(*) from {{ source('lake', 'master_daily') }}) as synthetic_raw_rows,
        (select count(*) from {{ source('raw', 'inventory') }})
        + (select count(*) from {{ source('lake', 'own_telemetry') }}) as own_raw_rows

)

select * from fleets
where synthetic_raw_rows > 0 and own_raw_rows > 0
