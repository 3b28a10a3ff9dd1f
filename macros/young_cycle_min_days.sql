{#-
    The var young_cycle_min_days as a whole number of days, at least 14 (two of each weekday): the fewest fitted
    days a young series' weekly cycle is read from (int_young_series_forecasts). Fewer would leave the
    cycle-free noise with no degrees of freedom (8 are spent). Anything else fails the compilation with a
    one-line message naming the var.
-#}
{% macro young_cycle_min_days() -%}
    {%- set value = var('young_cycle_min_days', 28) -%}
    {%- set days = value | int(0) -%}
    {%- if days < 14 and execute -%}
        {{ exceptions.raise_compiler_error(
            "young_cycle_min_days must be a whole number of days, at least 14 (two of each weekday), got '"
            ~ value ~ "'") }}
    {%- endif -%}
    {{- return(days) -}}
{%- endmacro %}
