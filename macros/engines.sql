{#-
    The engine registry (var `engines` in dbt_project.yml) and the SQL every model builds from it, so that
    no model lists the engines by hand. `ref(engine.relation)` is called inside the loops: dbt sees every
    engine model as a parent, and a relation that names no model fails the parse.
-#}

{% macro engine_list() -%}
    {%- if execute is not defined -%}
        {#- Not dbt (sqlfluff's Jinja templater, whose var() is a placeholder string): lint every branch
            against two stand-in engines, one Python (writes_run_log) and one SQL. -#}
        {{ return([
            {'name': 'python_engine', 'relation': 'python_engine_forecasts', 'simplicity': 2,
             'writes_run_log': true, 'description': 'lint stand-in'},
            {'name': 'sql_engine', 'relation': 'sql_engine_forecasts', 'simplicity': 1,
             'writes_run_log': false, 'description': 'lint stand-in'}
        ]) }}
    {%- endif -%}
    {%- set engines = var('engines', []) -%}
    {%- if engines is string or engines is mapping or engines | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "var 'engines' must be a non-empty list of engines (name, relation, simplicity, writes_run_log, "
            ~ "description): see dbt_project.yml"
        ) }}
    {%- endif -%}
    {%- set seen = {'name': [], 'relation': [], 'simplicity': []} -%}
    {%- for engine in engines -%}
        {%- for key in ['name', 'relation', 'simplicity', 'writes_run_log', 'description'] -%}
            {%- if engine is not mapping or engine.get(key) is none -%}
                {{ exceptions.raise_compiler_error(
                    "engine " ~ loop.index ~ " of var 'engines' has no '" ~ key ~ "': give every engine "
                    ~ "name, relation, simplicity, writes_run_log and description (dbt_project.yml)"
                ) }}
            {%- endif -%}
        {%- endfor -%}
        {%- if not modules.re.match('^[a-z][a-z0-9_]*$', engine.name | string) -%}
            {{ exceptions.raise_compiler_error(
                "engine name '" ~ engine.name ~ "' in var 'engines' must be lower_snake_case (it is the model value)"
            ) }}
        {%- endif -%}
        {%- if engine.writes_run_log is not sameas true and engine.writes_run_log is not sameas false -%}
            {{ exceptions.raise_compiler_error(
                "engine '" ~ engine.name ~ "' in var 'engines': writes_run_log must be true or false, got '"
                ~ engine.writes_run_log ~ "'"
            ) }}
        {%- endif -%}
        {%- set trend = engine.get('forecasts_trend', true) -%}
        {%- if trend is not sameas true and trend is not sameas false -%}
            {{ exceptions.raise_compiler_error(
                "engine '" ~ engine.name ~ "' in var 'engines': forecasts_trend (optional) must be true or false, "
                ~ "got '" ~ trend ~ "'"
            ) }}
        {%- endif -%}
        {%- if engine.simplicity is not integer -%}
            {{ exceptions.raise_compiler_error(
                "engine '" ~ engine.name ~ "' in var 'engines': simplicity must be a whole number, got '"
                ~ engine.simplicity ~ "'"
            ) }}
        {%- endif -%}
        {%- for key in ['name', 'relation', 'simplicity'] -%}
            {%- if engine[key] in seen[key] -%}
                {{ exceptions.raise_compiler_error(
                    "var 'engines' lists " ~ key ~ " '" ~ engine[key] ~ "' twice: each engine needs its own "
                    ~ key
                ) }}
            {%- endif -%}
            {%- do seen[key].append(engine[key]) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(engines) }}
{%- endmacro %}


{% macro engine_names_sql() -%}
    {%- for engine in engine_list() -%}
        '{{ engine.name }}'{% if not loop.last %}, {% endif %}
    {%- endfor -%}
{%- endmacro %}


{% macro engine_simplicity_sql(column='model') -%}
    case {{ column }}
    {%- for engine in engine_list() %} when '{{ engine.name }}' then {{ engine.simplicity | int }}{% endfor %} end
{%- endmacro %}


{% macro engine_trendless_sql(column='model') -%}
    {#- True for an engine whose forecast carries no trend by construction (registry key forecasts_trend: false,
        e.g. the seasonal naive); every other engine, and an engine without the key, is false. -#}
    {%- set trendless = [] -%}
    {%- for engine in engine_list() if engine.get('forecasts_trend', true) is sameas false -%}
        {%- do trendless.append("'" ~ engine.name ~ "'") -%}
    {%- endfor -%}
    {%- if trendless -%}
        coalesce({{ column }} in ({{ trendless | join(', ') }}), false)
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}


{% macro union_engine_forecasts(segment, columns=none) -%}
    {%- set columns = columns or ['host_id', 'resource', 'model', 'ds', 'yhat', 'yhat_lower', 'yhat_upper'] -%}
    {% for engine in engine_list() %}
        select {{ columns | join(', ') }}
        from {{ ref(engine.relation) }}
        where segment = '{{ segment }}'
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
{%- endmacro %}


{% macro engine_lake_files(suffix) -%}
    {%- set lake = var('lake_dir', none) or (env_var('HORIZONSCALE_DATA_DIR', 'data') ~ '/lake') -%}
    [
    {%- for engine in engine_list() | selectattr('writes_run_log') -%}
        {{ sql_string(lake ~ '/forecasts/' ~ engine.name ~ suffix ~ '.parquet') }}{% if not loop.last %}, {% endif %}
    {%- endfor -%}
    ]
{%- endmacro %}


{% macro engine_run_log_refs() -%}
    {%- for engine in engine_list() | selectattr('writes_run_log') %}
-- depends_on: {{ ref(engine.relation) }}
    {%- endfor %}
{%- endmacro %}

{% macro regime_engine_name() -%}
    {#- var regime_engine, checked against the registry: the engine that takes over a series whose last weeks
        broke from its backtest winner (model_leaderboard). -#}
    {%- set name = var('regime_engine', 'prophet') -%}
    {%- if name not in engine_list() | map(attribute='name') | list and execute is defined -%}
        {{ exceptions.raise_compiler_error(
            "var 'regime_engine' is '" ~ name ~ "', which is not an engine of var 'engines' (dbt_project.yml)"
        ) }}
    {%- endif -%}
    {{ return(name) }}
{%- endmacro %}

{% macro regime_engine_weight() -%}
    {#- 1 - var challenger_margin: model_leaderboard ranks regime_engine at its backtest score times this, so another
        engine must beat that score by the margin to take a series. Checked when dbt executes (a linter's var()
        placeholder is no number). -#}
    {%- set margin = var('challenger_margin') -%}
    {%- if execute and not (0 <= (margin | float(-1)) < 1) -%}
        {{ exceptions.raise_compiler_error(
            "var 'challenger_margin' is " ~ margin ~ ": it must be a number from 0 (plain lowest score) up to, not"
            ~ " including, 1 (dbt_project.yml)") }}
    {%- endif -%}
    {{ return(1 - (margin | float(0))) }}
{%- endmacro %}


{% macro regime_sharp_season_terms() -%}
    {#- The var regime_sharp_season_terms (none = the sharp-season handover off), refused by name unless it is a
        whole number: model_leaderboard compares the yearly Fourier terms of regime_engine's production fit (its
        run log's detail yearly_terms) with it. Checked when dbt executes. -#}
    {%- set terms = var('regime_sharp_season_terms', none) -%}
    {%- if terms is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if execute and (not (terms | string | trim).isdigit() or (terms | string | int(0)) < 10) -%}
        {{ exceptions.raise_compiler_error(
            "var 'regime_sharp_season_terms' is " ~ terms ~ ": it must be a whole number of at least 10 (the"
            ~ " yearly Fourier terms a season must earn in regime_engine's fit, 10 = stock Prophet's; its own fits"
            ~ " have 5, so less would count every season as sharp) or null to turn the handover off"
            ~ " (dbt_project.yml)") }}
    {%- endif -%}
    {{ return(terms | string | int(0)) }}
{%- endmacro %}


{% macro regime_curve_min_evidence() -%}
    {#- The var regime_curve_min_evidence (none = the curve handover off), refused by name unless it is a number:
        model_leaderboard compares int_series_growth_upside.evidence with it. Checked when dbt executes. -#}
    {%- set evidence = var('regime_curve_min_evidence', none) -%}
    {%- if evidence is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if execute and (evidence | string | float(none)) is none -%}
        {{ exceptions.raise_compiler_error(
            "var 'regime_curve_min_evidence' is " ~ evidence ~ ": it must be a number (the curve's BIC evidence"
            ~ " against a line and a hinge; 0 = at least as likely) or null to turn the handover off"
            ~ " (dbt_project.yml)") }}
    {%- endif -%}
    {{ return(evidence | string | float(0)) }}
{%- endmacro %}
