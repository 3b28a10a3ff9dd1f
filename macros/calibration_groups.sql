-- Calibration groups of forecast_calibration: the checks on their vars and the difficulty band of a series.

{#- The vars calibration_grouping, calibration_difficulty_edges and calibration_group_weight as
    {'grouping': .., 'edges': [..], 'weight': ..}, checked. -#}
{% macro calibration_settings() -%}
    {%- if execute is not defined -%}
        {#- Not dbt (sqlfluff's Jinja templater, whose var() is a placeholder string): lint the default. -#}
        {{ return({'grouping': 'engine_difficulty', 'edges': [0.5, 1, 2, 4], 'weight': 0.6}) }}
    {%- endif -%}
    {%- set grouping = var('calibration_grouping') -%}
    {%- set edges = var('calibration_difficulty_edges') -%}
    {%- set weight = var('calibration_group_weight') -%}
    {{- check_calibration_vars(grouping, edges, weight) -}}
    {{ return({'grouping': grouping, 'edges': edges, 'weight': weight}) }}
{%- endmacro %}

{% macro check_calibration_vars(grouping, edges, weight) -%}
    {%- set known = ['engine_difficulty', 'engine_trust', 'engine'] -%}
    {%- if grouping not in known -%}
        {{ exceptions.raise_compiler_error(
            "calibration_grouping must be one of " ~ known | join(', ') ~ ", got '" ~ grouping ~ "'") }}
    {%- endif -%}
    {%- if edges is string or edges | length == 0 or edges | sort != edges or edges[0] <= 0 -%}
        {{ exceptions.raise_compiler_error(
            "calibration_difficulty_edges must be a non-empty ascending list of positive numbers "
            ~ "(median backtest stretch scores, e.g. [0.5, 1, 2, 4]), got " ~ edges) }}
    {%- endif -%}
    {%- if weight is string or weight is sameas true or weight is sameas false or weight is not number
        or weight < 0 or weight > 1 -%}
        {{ exceptions.raise_compiler_error(
            "calibration_group_weight must be a number from 0 (one factor per engine) to 1 (each group's own "
            ~ "factor), got " ~ weight) }}
    {%- endif -%}
{%- endmacro %}

{#- The band of a median stretch score between ascending edges: 'score<e1', 'score e1-e2', ..., 'score>=en'. -#}
{% macro calibration_difficulty_group(score, edges) -%}
    case
    {%- for edge in edges %}
        when {{ score }} < {{ edge }}
            then '{{ "score<" ~ edge if loop.first else "score " ~ edges[loop.index0 - 1] ~ "-" ~ edge }}'
    {%- endfor %}
        else '{{ "score>=" ~ edges[-1] }}'
    end
{%- endmacro %}
