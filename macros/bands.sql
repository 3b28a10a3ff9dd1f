{#-
    Band arithmetic shared by the models that build or judge bands.

    stretched_lower / stretched_upper: a band stretched around its point forecast by a calibration factor
    (forecast_calibration.interval_stretch): each side's half-width times the factor, never crossing yhat and
    always physical (0-100%). forecasts builds the golden band with them, and int_series_history_band rebuilds
    the same band on the backtest days.

    winkler_score: Winkler's interval score of one day for a central band of nominal coverage `level`: its width
    plus 2 / (1 - level) times by how much the actual fell outside it (lower is better; bench/trust_metrics.py
    scores the same way).
-#}
{% macro stretched_lower(yhat, lower, stretch) -%}
    greatest(0, least({{ yhat }}, {{ yhat }} - ({{ yhat }} - {{ lower }}) * {{ stretch }}))
{%- endmacro %}


{% macro stretched_upper(yhat, upper, stretch) -%}
    least(100, greatest({{ yhat }}, {{ yhat }} + ({{ upper }} - {{ yhat }}) * {{ stretch }}))
{%- endmacro %}


{% macro winkler_score(lower, upper, actual, level) -%}
    ({{ upper }} - {{ lower }})
    + {{ 2 / (1 - level) }} * (greatest({{ lower }} - {{ actual }}, 0) + greatest({{ actual }} - {{ upper }}, 0))
{%- endmacro %}
