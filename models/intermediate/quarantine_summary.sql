{#-
    How much of the delivered data the refinery quarantined, per rejects table: raw rows, rejected rows by
    reason, and the reject share that the test reject_share_within_max_reject_share holds to the var
    max_reject_share (default 0.05). out_of_window and superseded_by_later_load rows are listed in
    telemetry_rejects but do not count towards the share: a history window set with the history_start /
    history_end vars is a choice, and a value a later load corrected is not bad data. example_row shows the first rejected row of the most frequent counted reason, as delivered, so the
    build's one-line advice can show what is wrong. The reject-share test is the quarantine gate: processed_data
    and forecast_windows depend on this model, so a failing share stops the build before any engine runs.
-#}
{%- set max_reject_share = var('max_reject_share') | float -%}

with

raw_counts as (

    select
        'telemetry_rejects' as rejects_table,
        (select count(*) from {{ ref('stg_telemetry') }})
        + (select count(*) from {{ ref('stg_own_telemetry') }}) as raw_rows

    union all

    select
        'inventory_rejects' as rejects_table,
        (select count(*) from {{ ref('stg_hosts') }})
        + (select count(*) from {{ ref('stg_inventory') }}) as raw_rows

),

rejects as (

    select
        'telemetry_rejects' as rejects_table,
        reason

    from {{ ref('telemetry_rejects') }}

    union all

    select
        'inventory_rejects' as rejects_table,
        reason

    from {{ ref('inventory_rejects') }}

),

-- Every counted rejected row, its fields as delivered in one line, e.g. {'host_id': h0, 'resource': cpu, ...}.
examples as (

    select
        'telemetry_rejects' as rejects_table,
        reason,
        raw_row_id,
        cast(struct_pack(host_id, resource, ts, value) as varchar)
        || ' in ' || coalesce(regexp_extract(source_file, '[^/]+$'), 'an unknown file') as example_row

    from {{ ref('telemetry_rejects') }}
    where reason not in ('out_of_window', 'superseded_by_later_load')

    union all

    select
        'inventory_rejects' as rejects_table,
        reason,
        raw_row_id,
        cast(struct_pack(host_id, hostname, department, region, environment, cpu_cores, memory_gb) as varchar)
        || ' in ' || coalesce(regexp_extract(source_file, '[^/]+$'), 'an unknown file') as example_row

    from {{ ref('inventory_rejects') }}

),

by_reason as (

    select
        rejects_table,
        reason,
        count(*) as rejected_rows

    from rejects
    group by rejects_table, reason

),

per_table as (

    select
        rejects_table,
        sum(rejected_rows) as rejected_rows,
        sum(rejected_rows) filter (where reason not in ('out_of_window', 'superseded_by_later_load')) as counted_rows,
        string_agg(reason || ': ' || rejected_rows, ', ' order by rejected_rows desc, reason asc) as rejects_by_reason,
        arg_min(
            reason, (reason in ('out_of_window', 'superseded_by_later_load'), -rejected_rows, reason)
        ) as top_reason

    from by_reason
    group by rejects_table

),

top_examples as (

    select
        examples.rejects_table,
        arg_min(examples.example_row, examples.raw_row_id) as example_row

    from examples
    inner join per_table
        on
            examples.rejects_table = per_table.rejects_table
            and examples.reason = per_table.top_reason
    group by examples.rejects_table

),

final as (

    select
        raw_counts.rejects_table,
        raw_counts.raw_rows,
        coalesce(per_table.rejected_rows, 0) as rejected_rows,
        coalesce(per_table.counted_rows, 0) as counted_rejected_rows,
        coalesce(round(per_table.counted_rows / nullif(raw_counts.raw_rows, 0), 6), 0) as reject_share,
        cast({{ max_reject_share }} as double) as max_reject_share,
        per_table.rejects_by_reason,
        per_table.top_reason,
        top_examples.example_row,
        'select reason, count(*) from ' || raw_counts.rejects_table || ' group by reason: fix the export and '
        || 'load it again, or raise the dbt var max_reject_share' as what_to_do

    from raw_counts
    left join per_table
        on raw_counts.rejects_table = per_table.rejects_table
    left join top_examples
        on raw_counts.rejects_table = top_examples.rejects_table

)

select * from final
