{#-
    The sized resources of right-sizing, one list read by int_series_sizing_facts and rightsizing: which
    inventory column holds each one's capacity, in which unit, and its rule from the vars rightsizing_targets,
    rightsizing_steps and rightsizing_min_sizes (dbt_project.yml). Network is not sized: inventories carry no
    link capacity. A var that cannot mean anything fails the compilation with a one-line message.
-#}

{% macro rightsizing_resources() -%}
    {%- set sized = [
        {'resource': 'cpu', 'unit': 'cores', 'capacity_column': 'cpu_cores'},
        {'resource': 'memory', 'unit': 'GB', 'capacity_column': 'memory_gb'},
        {'resource': 'disk', 'unit': 'GB', 'capacity_column': 'storage_gb'},
    ] -%}
    {%- if execute is not defined -%}
        {#- Not dbt (sqlfluff's Jinja templater, whose var() is a placeholder string): lint stand-in values. -#}
        {%- for item in sized -%}
            {%- do item.update({'target': 70, 'step': 2, 'min_size': 2}) -%}
        {%- endfor -%}
        {{ return(sized) }}
    {%- endif -%}
    {%- set settings = {
        'target': var('rightsizing_targets'),
        'step': var('rightsizing_steps'),
        'min_size': var('rightsizing_min_sizes'),
    } -%}
    {%- set names = {
        'target': 'rightsizing_targets',
        'step': 'rightsizing_steps',
        'min_size': 'rightsizing_min_sizes',
    } -%}
    {%- for item in sized -%}
        {%- for key, values in settings.items() -%}
            {%- set value = values.get(item.resource) if values is mapping else none -%}
            {%- if value is none or value is string or (value | float(0)) <= 0
                or (key == 'target' and (value | float) > 100) -%}
                {{ exceptions.raise_compiler_error(
                    "var " ~ names[key] ~ " needs a positive number for " ~ item.resource
                    ~ (" (a utilization in %, at most 100)" if key == 'target' else " (" ~ item.unit ~ ")")
                    ~ ", got " ~ (value if value is not none else 'nothing')
                    ~ ": give cpu, memory and disk, e.g. {cpu: 70, memory: 70, disk: 85}") }}
            {%- endif -%}
            {%- do item.update({key: value}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(sized) }}
{%- endmacro %}


{#- The sized resources as rows (resource, capacity_unit, target_utilization, size_step, min_size). -#}
{% macro rightsizing_settings_sql() -%}
    select *
    from (
        values
    {%- for item in rightsizing_resources() %}
            (
                '{{ item.resource }}',
                '{{ item.unit }}',
                cast({{ item.target }} as double),
                cast({{ item.step }} as double),
                cast({{ item.min_size }} as double)
            ){{ ',' if not loop.last }}
    {%- endfor %}
    ) as settings (resource, capacity_unit, target_utilization, size_step, min_size)
{%- endmacro %}


{#- A capacity or percentage as text for a reason: whole numbers without decimals, others to one decimal. -#}
{% macro rightsizing_number(expression) -%}
    case
        when {{ expression }} = round({{ expression }}) then cast(cast(round({{ expression }}) as bigint) as varchar)
        else printf('%.1f', {{ expression }})
    end
{%- endmacro %}
