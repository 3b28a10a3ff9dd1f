{#-
    The incremental refinery (int_telemetry_validated, int_telemetry_deduped, int_telemetry_gap_filled,
    processed_data). A load (raw.load_audit) is the unit of change: int_refinery_loads records, after each
    complete refinery run, which loads it was built from and the day range of each. The next run compares:

    - new loads (live now, not recorded) and gone loads (recorded, since undone) are the change;
    - refinery_change().cutoff = the earliest day any of them touches (new loads: their rows' first day in
      int_fleet_telemetry, so a late row for an old day pulls the cutoff back to that day; gone loads: their
      recorded first day). Every model deletes its rows from the cutoff on and inserts them again from its
      inputs, so late rows, re-sent rows, new days and undone loads are all handled by the same rule;
    - refinery_anchor(): gap filling reaches back further, to the latest observed day before the cutoff of the
      series that stopped earliest (min over series): the interpolation into the first new observation and a
      tail carried forward to the new history_end both start there.

    When the window vars (history_start, history_end) differ from the recorded run, or nothing is recorded,
    the cutoff is 0001-01-01: the whole history is reprocessed (the same rows as `--full-refresh`, which also
    rebuilds the tables from nothing). Queries run at execution only (`execute`), never at parse time.
-#}

{% macro refinery_relation(name) %}
    {{- return(api.Relation.create(database=this.database, schema=this.schema, identifier=name)) -}}
{% endmacro %}


{% macro refinery_window_key() %}
    {{- return((var('history_start') or '') ~ '/' ~ (var('history_end') or '')) -}}
{% endmacro %}


{% macro refinery_change() %}
    {#- {'cutoff': "date 'YYYY-MM-DD'" or 'null', 'new': '3, 4' (load ids), 'gone': '2'} -#}
    {% set nothing = {'cutoff': 'null', 'new': '', 'gone': ''} %}
    {% if not execute %}
        {{ return(nothing) }}
    {% endif %}
    {% set state = adapter.get_relation(database=this.database, schema=this.schema, identifier='int_refinery_loads') %}
    {% set everything = {'cutoff': "date '0001-01-01'", 'new': '', 'gone': ''} %}
    {% if state is none %}
        {{ return(everything) }}
    {% endif %}
    {% set query %}
        with
        live as (
            select load_id from {{ this.database }}.raw.load_audit where undone_at is null
        ),
        seen as (
            select load_id, first_day, window_key from {{ state }}
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
            (select count(*) from seen where window_key <> '{{ refinery_window_key() }}') as window_changed
    {% endset %}
    {% set row = run_query(query).rows[0] %}
    {% if row['window_changed'] > 0 %}
        {{ return(everything) }}
    {% endif %}
    {% set days = [row['new_first_day'], row['gone_first_day']] | reject('none') | list %}
    {{ return({
        'cutoff': ("date '" ~ (days | min) ~ "'") if days else 'null',
        'new': row['new_ids'] or '',
        'gone': row['gone_ids'] or '',
    }) }}
{% endmacro %}


{% macro refinery_anchor(cutoff) %}
    {#- The latest observed day before the cutoff of the series that stopped earliest (or the cutoff). -#}
    {% if not execute or cutoff == 'null' %}
        {{ return(cutoff) }}
    {% endif %}
    {% set query %}
        select min(last_before) from (
            select max(ds) as last_before
            from {{ refinery_relation('int_telemetry_deduped') }}
            where ds < {{ cutoff }}
            group by series_key
        )
    {% endset %}
    {% set anchor = run_query(query).rows[0][0] %}
    {{ return(("date '" ~ anchor ~ "'") if anchor is not none else cutoff) }}
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
