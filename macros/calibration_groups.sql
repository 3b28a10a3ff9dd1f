-- Calibration groups of forecast_calibration: the checks on their vars and the difficulty band of a series.

{#- The vars calibration_grouping, calibration_difficulty_edges, calibration_group_weight and
    calibration_narrow_weight as {'grouping': .., 'edges': [..], 'weight': .., 'narrow_weight': ..}, checked. -#}
{% macro calibration_settings() -%}
    {%- if execute is not defined -%}
        {#- Not dbt (sqlfluff's Jinja templater, whose var() is a placeholder string): lint the default. -#}
        {{ return({'grouping': 'engine_difficulty', 'edges': [0.5, 1, 2, 4], 'weight': 0.6,
            'narrow_weight': 'backtest_halves'}) }}
    {%- endif -%}
    {%- set grouping = var('calibration_grouping') -%}
    {%- set edges = var('calibration_difficulty_edges') -%}
    {%- set weight = var('calibration_group_weight') -%}
    {%- set narrow_weight = var('calibration_narrow_weight') -%}
    {{- check_calibration_vars(grouping, edges, weight, narrow_weight) -}}
    {{ return({'grouping': grouping, 'edges': edges, 'weight': weight, 'narrow_weight': narrow_weight}) }}
{%- endmacro %}

{% macro check_calibration_vars(grouping, edges, weight, narrow_weight='backtest_halves') -%}
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
    {%- if narrow_weight != 'backtest_halves' and (narrow_weight is string or narrow_weight is sameas true
        or narrow_weight is sameas false or narrow_weight is not number or narrow_weight < 0 or narrow_weight > 1) -%}
        {{ exceptions.raise_compiler_error(
            "calibration_narrow_weight must be 'backtest_halves' (read from the backtest's two halves) or a number "
            ~ "from 0 to 1 like calibration_group_weight, got " ~ narrow_weight) }}
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

{#- Finite-sample conformal quantile of a sorted list of n scores: its ceil((n + 1) * level)-th smallest (capped at
    n; null for an empty or null list). -#}
{% macro conformal_quantile(sorted_scores, level) -%}
    {{ sorted_scores }}[
        cast(least(len({{ sorted_scores }}), ceil((len({{ sorted_scores }}) + 1) * {{ level }})) as bigint)
    ]
{%- endmacro %}
