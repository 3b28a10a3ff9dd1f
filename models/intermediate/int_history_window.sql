{#-
    The history window in one row. The history_start / history_end vars win; an empty var is derived from
    the valid telemetry (its first / last day).
-#}
with

validated as (

    select * from {{ ref('int_telemetry_validated') }}

),

final as (

    select
        coalesce({{ date_var('history_start') }}, min(ds)) as history_start,
        coalesce({{ date_var('history_end') }}, max(ds)) as history_end

    from validated
    where is_valid

)

select * from final
