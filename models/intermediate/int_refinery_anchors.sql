{#-
    Per series, the day int_telemetry_gap_filled and processed_data rebuild it from in an incremental run:
    its latest observation before int_refinery_change's cutoff (so the interpolation into a new observation,
    or a tail carried forward to the new history_end, is recomputed whole), else the cutoff. Computed once per
    run, after int_telemetry_deduped (its rows before the cutoff are the same before and after the run). No
    rows when nothing changed.
-#}
with

change as (

    select cutoff from {{ ref('int_refinery_change') }}
    where cutoff is not null

),

series as (

    select * from {{ ref('int_telemetry_series') }}

),

last_before_cutoff as (

    select
        deduped.series_key,
        max(deduped.ds) as last_day

    from {{ ref('int_telemetry_deduped') }} as deduped
    inner join change
        on deduped.ds < change.cutoff
    group by deduped.series_key

),

final as (

    select
        series.series_key,
        series.host_id,
        series.resource,
        coalesce(last_before_cutoff.last_day, change.cutoff) as anchor_day

    from series
    cross join change
    left join last_before_cutoff
        on series.series_key = last_before_cutoff.series_key

)

select * from final
