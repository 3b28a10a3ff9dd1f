{#-
    A dbt var holding an optional date, rendered as a SQL date expression: `cast('2025-10-31' as date)`,
    or `cast(null as date)` when the var is empty (the model then derives the date from the data).
-#}
{% macro date_var(name) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none or (value | string | trim) in ('', 'none', 'None', 'null') -%}
        cast(null as date)
    {%- else -%}
        cast('{{ value | string | trim }}' as date)
    {%- endif -%}
{%- endmacro %}
