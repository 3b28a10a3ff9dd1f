{#-
    The incremental refinery (int_telemetry_validated, int_telemetry_duplicates, int_telemetry_deduped,
    int_telemetry_gap_filled, processed_data, telemetry_rejects). A load (raw.load_audit) is the unit of change: int_refinery_loads records, after each
    complete refinery run, which loads it was built from and the day range of each. The next run compares:

    - new loads (live now, not recorded) and gone loads (recorded, since undone) are the change;
    - int_refinery_change (a one-row model, computed once at the start of the run; refinery_change() reads it)
      holds the cutoff = the earliest day any of them touches (new loads: their rows' first day in
      int_fleet_telemetry, so a late row for an old day pulls the cutoff back to that day; gone loads: their
      recorded first day). Every model deletes its rows from the cutoff on and inserts them again from its
      inputs (append after a delete pre-hook: the rows to replace are known, so no merge on keys is needed),
      so late rows, re-sent rows, new days and undone loads are all handled by the same rule;
    - int_refinery_anchors: gap filling reaches back further, per series to its latest observed day before
      the cutoff: the interpolation into the first new observation and a tail carried forward to the new
      history_end both start there.

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


{% macro refinery_recorded_state() %}
    {#- int_refinery_loads as the last complete run recorded it, or none (parsing, --full-refresh, a first build,
        or a table from before the inputs fingerprint): int_refinery_change then reprocesses everything. -#}
    {% if not execute or this is none or flags.FULL_REFRESH %}
        {{ return(none) }}
    {% endif %}
    {% set state = adapter.get_relation(database=this.database, schema=this.schema, identifier='int_refinery_loads') %}
    {% if state is none or 'inputs_key' not in (adapter.get_columns_in_relation(state) | map(attribute='name')) %}
        {{ return(none) }}
    {% endif %}
    {{ return(state) }}
{% endmacro %}


{% macro refinery_change() %}
    {#- {'cutoff': "date 'YYYY-MM-DD'" or 'null', 'new': '3, 4' (load ids), 'gone': '2'}, read from the one row
        int_refinery_change computed at the start of the run (one small query, the same answer for every model
        and hook of the run). -#}
    {% set nothing = {'cutoff': 'null', 'new': '', 'gone': ''} %}
    {#- Parsing, a unit test (its model is not incremental there), a first build or --full-refresh. -#}
    {% if not execute or this is none or not is_incremental() %}
        {{ return(nothing) }}
    {% endif %}
    {% set change = refinery_relation('int_refinery_change') %}
    {% if adapter.get_relation(database=change.database, schema=change.schema, identifier=change.identifier) is none %}
        {{ return({'cutoff': "date '0001-01-01'", 'new': '', 'gone': ''}) }}
    {% endif %}
    {% set row = run_query(
        'select cast(cutoff as varchar) as cutoff, new_load_ids, gone_load_ids from ' ~ change
    ).rows[0] %}
    {{ return({
        'cutoff': ("date '" ~ row['cutoff'] ~ "'") if row['cutoff'] else 'null',
        'new': row['new_load_ids'] or '',
        'gone': row['gone_load_ids'] or '',
    }) }}
{% endmacro %}


{% macro refinery_anchor_floor() %}
    {#- The earliest anchor of int_refinery_anchors as a date literal ('null' when nothing changed): a plain
        predicate on ds that DuckDB applies in the scan, before the join on each series' own anchor. -#}
    {% if not execute or this is none or not is_incremental() %}
        {{ return('null') }}
    {% endif %}
    {% set row = run_query(
        'select cast(min(anchor_day) as varchar) as floor from ' ~ refinery_relation('int_refinery_anchors')
    ).rows[0] %}
    {{ return(("date '" ~ row['floor'] ~ "'") if row['floor'] else 'null') }}
{% endmacro %}


{% macro refinery_delete_from_anchors(key_columns) %}
    {#- pre_hook of int_telemetry_gap_filled and processed_data: drop each series' rows from its anchor on, and
        every row of a series that is gone (an undone load brought its only rows, or the host left the inventory),
        which no anchor names. -#}
    {% set floor = refinery_anchor_floor() %}
    {% if is_incremental() and floor != 'null' %}
        delete from {{ this }}
        where
            (
                {{ this }}.ds >= {{ floor }}
                and exists (
                    select 1 from {{ refinery_relation('int_refinery_anchors') }} as anchors
                    where
                        {% for column in key_columns %}{{ this }}.{{ column }} = anchors.{{ column }} and {% endfor %}
                        {{ this }}.ds >= anchors.anchor_day
                )
            )
            or not exists (
                select 1 from {{ refinery_relation('int_telemetry_series') }} as series
                where
                    {% for column in key_columns %}{{ this }}.{{ column }} = series.{{ column }}{% if not loop.last %}
                        and {% endif %}{% endfor %}
            )
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
