{#-
    A SQL string literal of any text, a path above all: a data directory such as "team's data" (a quote) broke
    every model that reads the lake or the forecast history with "unterminated string literal".
-#}
{% macro sql_string(text) -%}
    '{{ text | string | replace("'", "''") }}'
{%- endmacro %}
