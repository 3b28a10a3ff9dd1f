-- Every engine table of the registry (var `engines`) holds its own engine's rows only: its `model` values are
-- the registry name, so the unions downstream attribute every forecast to the engine that made it.
{%- for engine in engine_list() %}
    select
        '{{ engine.relation }}' as relation,
        '{{ engine.name }}' as expected_model,
        model,
        count(*) as row_count
    from {{ ref(engine.relation) }}
    where model is distinct from '{{ engine.name }}'
    group by all
    {%- if not loop.last %}
        union all
    {%- endif %}
{%- endfor %}
