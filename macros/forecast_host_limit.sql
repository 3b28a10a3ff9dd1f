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

{#-
    The hosts the forecasting engines run on: every distinct host_id of relation, or the first forecast_host_limit
    of them by host_id when the var is set (the Python engines take the same subset).
-#}
{% macro forecast_selected_hosts(relation) -%}
    {%- set host_limit = var('forecast_host_limit', none) -%}
    select distinct host_id
    from {{ relation }}
    {%- if host_limit is not none and (host_limit | string | trim) not in ('', 'none', 'None', 'null') %}
        order by host_id
        limit {{ forecast_host_limit_sql(host_limit) }}
    {%- endif %}
{%- endmacro %}
