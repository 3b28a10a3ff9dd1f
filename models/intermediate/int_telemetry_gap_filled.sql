{#-
    Every series made continuous from its first observed day to history_end. Each observed day is expanded
    into itself plus the missing days up to the next observation (or to history_end after the last one):
    interior gaps are interpolated linearly between the two observed neighbours, trailing gaps carry the
    last observation forward. Set-based: one lead() per series and an unnest, no loops.
-#}
with

deduped as (

    select * from {{ ref('int_telemetry_deduped') }}

),

history_window as (

    select * from {{ ref('int_history_window') }}

),

observed as (

    select
        raw_row_id,
        host_id,
        resource,
        ds as observed_ds,
        y as observed_y,
        lead(ds) over series as next_ds,
        lead(y) over series as next_y

    from deduped
    window series as (partition by host_id, resource order by ds)

),

expanded as (

    select
        observed.*,
        unnest(
            range(
                0,
                datediff('day', observed.observed_ds, coalesce(observed.next_ds, history_window.history_end + 1))
            )
        ) as days_after_observed

    from observed
    cross join history_window

),

final as (

    select
        host_id,
        resource,
        cast(observed_ds + cast(days_after_observed as integer) as date) as ds,
        case
            when days_after_observed = 0 or next_ds is null then observed_y
            else
                observed_y
                + (next_y - observed_y) * days_after_observed / datediff('day', observed_ds, next_ds)
        end as y,
        days_after_observed > 0 as is_imputed,
        case when days_after_observed = 0 then raw_row_id end as raw_row_id

    from expanded

)

select * from final
