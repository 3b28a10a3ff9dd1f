{#-
    A band stretched around its point forecast by a calibration factor (forecast_calibration.interval_stretch):
    each side's half-width times the factor, never crossing yhat and always physical (0-100%). forecasts builds
    the golden band with it, and int_series_history_band rebuilds the same band on the backtest days.
-#}
{% macro stretched_lower(yhat, lower, stretch) -%}
    greatest(0, least({{ yhat }}, {{ yhat }} - ({{ yhat }} - {{ lower }}) * {{ stretch }}))
{%- endmacro %}


{% macro stretched_upper(yhat, upper, stretch) -%}
    least(100, greatest({{ yhat }}, {{ yhat }} + ({{ upper }} - {{ yhat }}) * {{ stretch }}))
{%- endmacro %}
