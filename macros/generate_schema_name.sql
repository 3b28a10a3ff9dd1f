{#-
    Use a model's or seed's custom schema name as it is (`reference`, not `main_reference`), so that
    warehouse users find tables at `raw.*` (generator), `reference.*` (seeds) and `main.*` (models).
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
