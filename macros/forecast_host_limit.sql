{#-
    The forecast_host_limit var as a SQL LIMIT: a whole number of at least 1, else the compilation fails with one
    line naming the var ('abc' once became 0 hosts here while the Python engines forecast every host).
-#}
{% macro forecast_host_limit_sql(value) -%}
    {%- set text = value | string | trim -%}
    {%- if execute and not (text.isdigit() and (text | int) >= 1) -%}
        {{ exceptions.raise_compiler_error(
            "forecast_host_limit must be a whole number of at least 1, or null for every host; got " ~ value) }}
    {%- endif -%}
    {{ text | int }}
{%- endmacro %}
