{#-
    A dbt var that switches something on or off, read as a boolean: true or false, unquoted or quoted in any
    case (`--vars '{wander_band: "false"}'` is false, not a non-empty string that Jinja reads as true). Any other
    value fails the compilation with a one-line message naming the var. The engines' switches are read the same
    way (python_engines.forecasting.dbt_bridge.flag_var).
-#}
{% macro flag_var(name, default) -%}
    {%- set value = var(name, default) -%}
    {%- if value is sameas true or value is sameas false -%}
        {{- return(value) -}}
    {%- endif -%}
    {%- set text = value | string | trim | lower -%}
    {%- if text in ('true', 'false') -%}
        {{- return(text == 'true') -}}
    {%- endif -%}
    {#- Checked when dbt executes (a linter's var() placeholder is no boolean). -#}
    {%- if execute -%}
        {{ exceptions.raise_compiler_error(
            name ~ " must be true or false, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{- return(default) -}}
{%- endmacro %}
