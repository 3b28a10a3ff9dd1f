{#-
    The incremental refinery (int_telemetry_validated, int_telemetry_deduped, int_telemetry_gap_filled,
    processed_data). A load (raw.load_audit) is the unit of change: int_refinery_loads records, after each
    complete refinery run, which loads it was built from and the day range of each. The next run compares:

    - new loads (live now, not recorded) and gone loads (recorded, since undone) are the change;
    - refinery_change().cutoff = the earliest day any of them touches (new loads: their rows' first day in
      int_fleet_telemetry, so a late row for an old day pulls the cutoff back to that day; gone loads: their
      recorded first day). Every model deletes its rows from the cutoff on and inserts them again from its
      inputs, so late rows, re-sent rows, new days and undone loads are all handled by the same rule;
    - refinery_series_anchors(): gap filling reaches back further, per series to its latest observed day
      before the cutoff: the interpolation into the first new observation and a tail carried forward to the
      new history_end both start there.

    When anything else the refinery reads differs from the recorded run (refinery_inputs_key: the window vars,
    the hosts, the own inventory's verdicts, the resource aliases), or nothing is recorded, the cutoff is
    0001-01-01: the whole history is reprocessed (the same rows as `--full-refresh`, which also
    rebuilds the tables from nothing). Queries run at execution only (`execute`), never at parse time.
-#}
{#- Jinja control flow is indented for reading; sqlfluff renders these bodies empty and asks for no indent. -#}
-- noqa: disable=LT02

{% macro refinery_relation(name) %}
    {#- A model of the refinery by name, without ref() (no edge in the DAG); the bare name when not executing. -#}
    {% if not execute or this is none %}
        {{ return(name) }}
    {% endif %}
    {{- return(api.Relation.create(database=this.database, schema=this.schema, identifier=name)) -}}
{% endmacro %}


{% macro refinery_inputs_key() %}
    {#- A SQL expression: the fingerprint of what the refinery reads besides the loads, i.e. the window vars,
        max_sample_age_days, the series (hosts x resources), the own inventory's verdicts and the resource
        aliases. A run whose fingerprint differs from the recorded one reprocesses the whole history
        (e.g. after a new row in seeds/resource_aliases.csv and `dbt seed`). -#}
    md5(concat_ws(
        '|',
        '{{ var('history_start') or '' }}/{{ var('history_end') or '' }}/{{ var('max_sample_age_days') }}',
        (
            select string_agg(series_key || ':' || host_id || ':' || resource, ',' order by series_key)
            from {{ refinery_relation('int_telemetry_series') }}
        ),
        (
            select string_agg(raw_row_id || ':' || coalesce(host_id, '') || ':' || coalesce(reason, ''), ','
                order by raw_row_id)
            from {{ refinery_relation('int_inventory_validated') }}
        ),
        (
            select string_agg(alias || '=' || resource, ',' order by alias)
            from {{ refinery_relation('stg_resource_aliases') }}
        )
    ))
{%- endmacro %}


{% macro refinery_change() %}
    {#- {'cutoff': "date 'YYYY-MM-DD'" or 'null', 'new': '3, 4' (load ids), 'gone': '2'} -#}
    {% set nothing = {'cutoff': 'null', 'new': '', 'gone': ''} %}
    {#- Parsing, a unit test (its model is not incremental there), a first build or --full-refresh. -#}
    {% if not execute or this is none or not is_incremental() %}
        {{ return(nothing) }}
    {% endif %}
    {% set state = adapter.get_relation(database=this.database, schema=this.schema, identifier='int_refinery_loads') %}
    {% set everything = {'cutoff': "date '0001-01-01'", 'new': '', 'gone': ''} %}
    {% if state is none or 'inputs_key' not in (adapter.get_columns_in_relation(state) | map(attribute='name')) %}
        {{ return(everything) }}
    {% endif %}
    {% set query %}
        with
        live as (
            select load_id from {{ this.database }}.raw.load_audit where undone_at is null
        ),
        seen as (
            select load_id, first_day, inputs_key from {{ state }}
        ),
        new_loads as (
            select load_id from live
            except
            select load_id from seen
        ),
        gone_loads as (
            select load_id, first_day from seen
            where load_id not in (select load_id from live)
        )
        select
            (
                select min(ds) from {{ refinery_relation('int_fleet_telemetry') }}
                where load_id in (select load_id from new_loads)
            ) as new_first_day,
            (select min(first_day) from gone_loads) as gone_first_day,
            (select string_agg(cast(load_id as varchar), ', ' order by load_id) from new_loads) as new_ids,
            (select string_agg(cast(load_id as varchar), ', ' order by load_id) from gone_loads) as gone_ids,
            (select count(*) from seen where inputs_key <> {{ refinery_inputs_key() }}) as inputs_changed
    {% endset %}
    {% set row = run_query(query).rows[0] %}
    {% if row['inputs_changed'] > 0 %}
        {{ return(everything) }}
    {% endif %}
    {% set days = [row['new_first_day'], row['gone_first_day']] | reject('none') | list %}
    {{ return({
        'cutoff': ("date '" ~ (days | min) ~ "'") if days else 'null',
        'new': row['new_ids'] or '',
        'gone': row['gone_ids'] or '',
    }) }}
{% endmacro %}


{% macro refinery_series_anchors(cutoff) %}
    {#- Per series, the day gap filling restarts from: its latest observation before the cutoff (so the
        interpolation into a new observation, or a tail carried forward, is recomputed whole), else the
        cutoff. A subquery (series_key, host_id, resource, anchor_day); rows before the cutoff are unchanged
        by the run, so the pre-hook and the model body see the same anchors. -#}
    (
        select
            series.series_key,
            series.host_id,
            series.resource,
            coalesce(max(deduped.ds), {{ cutoff }}) as anchor_day
        from {{ refinery_relation('int_telemetry_series') }} as series
        left join {{ refinery_relation('int_telemetry_deduped') }} as deduped
            on series.series_key = deduped.series_key and deduped.ds < {{ cutoff }}
        group by series.series_key, series.host_id, series.resource
    )
{%- endmacro %}


{% macro refinery_delete_from_anchors(key_columns) %}
    {#- pre_hook of int_telemetry_gap_filled and processed_data: drop each series' rows from its anchor on. -#}
    {% set cutoff = refinery_change().cutoff %}
    {% if is_incremental() and cutoff != 'null' %}
        delete from {{ this }} using {{ refinery_series_anchors(cutoff) }} as anchors
        where
            {% for column in key_columns %}{{ this }}.{{ column }} = anchors.{{ column }} and {% endfor %}
            {{ this }}.ds >= anchors.anchor_day
    {% else %}
        select 1
    {% endif %}
{% endmacro %}


{% macro refinery_id_list(ids) %}
    {#- '3, 4' -> (3, 4); '' -> (null), which matches nothing. -#}
    {{- return('(' ~ (ids or 'null') ~ ')') -}}
{% endmacro %}


{% macro refinery_delete_from(day_column, boundary) %}
    {#- pre_hook of an incremental refinery model: drop the rows that will be inserted again. -#}
    {% if is_incremental() and boundary != 'null' %}
        delete from {{ this }} where {{ day_column }} >= {{ boundary }}
    {% else %}
        select 1
    {% endif %}
{% endmacro %}
