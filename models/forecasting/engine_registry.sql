{#-
    The engine registry as a table: one row per forecasting engine of var `engines` (dbt_project.yml), for
    everything outside dbt (dashboard, bench, Python tests) so that none of them lists the engines by hand.
    Every engine model is a parent, so the registry is built only once every engine table exists.
-#}
{%- for engine in engine_list() %}
-- depends_on: {{ ref(engine.relation) }}
{%- endfor %}

with

registry as (

    select
        cast(engines.model as varchar) as model,
        cast(engines.relation as varchar) as relation,
        cast(engines.simplicity as integer) as simplicity,
        cast(engines.writes_run_log as boolean) as writes_run_log,
        cast(engines.description as varchar) as description

    from (
        values
        {%- for engine in engine_list() %}
            (
                '{{ engine.name }}',
                '{{ engine.relation }}',
                {{ engine.simplicity | int }},
                {{ 'true' if engine.writes_run_log else 'false' }},
                '{{ engine.description | replace("'", "''") }}'
            ){% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as engines (model, relation, simplicity, writes_run_log, description)

)

select * from registry
