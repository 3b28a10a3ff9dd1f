{#-
    Fails the compilation with a one-line message when the breach alert vars cannot mean anything:
    breach_alert_min_days below 1, or breach_alert_min_probability (when set) outside
    ((1 - interval_width) / 2, 1]: at or below the band's own tail it would flag days whose upper bound does not
    cross, which the upper-bound facts (first breach date, days over) cannot describe; or
    breach_alert_band_max_difficulty (when set) not a positive number of half-widths; or
    recurring_peak_min_probability (when set) outside (0, 1): a chance of 1 is never reached. (The switch
    breach_alert_growth_upside is read through flag_var, which refuses anything but true or false.) Renders
    nothing.
-#}
{% macro check_breach_alert_vars(interval_width, min_probability, min_days, band_max_difficulty=none,
    peak_min_probability=none) -%}
    {%- set band_level = (1 - interval_width) / 2 -%}
    {%- if min_days < 1 -%}
        {{ exceptions.raise_compiler_error(
            "breach_alert_min_days must be a whole number of days >= 1, got " ~ min_days) }}
    {%- endif -%}
    {%- if min_probability is not none and not (band_level < (min_probability | float(1)) <= 1) -%}
        {{ exceptions.raise_compiler_error(
            "breach_alert_min_probability must lie in (" ~ (band_level | round(6)) ~ ", 1] (above the band's own tail, "
            ~ "(1 - interval_width) / 2), got " ~ min_probability ~ "; leave it null for the upper-bound rule") }}
    {%- endif -%}
    {#- Checked when dbt executes (a linter's var() placeholder is no number). -#}
    {%- if execute and band_max_difficulty is not none and not ((band_max_difficulty | float(-1)) > 0) -%}
        {{ exceptions.raise_compiler_error(
            "breach_alert_band_max_difficulty must be a positive number of half-widths (a champion's median "
            ~ "backtest miss), got " ~ band_max_difficulty ~ "; leave it null to let every band alert") }}
    {%- endif -%}
    {%- if execute and peak_min_probability is not none and not (0 < (peak_min_probability | float(-1)) < 1) -%}
        {{ exceptions.raise_compiler_error(
            "recurring_peak_min_probability must lie strictly between 0 and 1 (the chance of another peak over "
            ~ "the threshold within the window), got " ~ peak_min_probability ~ "; leave it null to turn the "
            ~ "recurring-peak alert off") }}
    {%- endif -%}
{%- endmacro %}

{#- Fails the compilation when recurring_peaks' windows are not whole numbers of days >= 1. Renders nothing. -#}
{% macro check_recurring_peak_vars(lookback_days, level_days) -%}
    {%- if execute and (lookback_days < 1 or level_days < 1) -%}
        {{ exceptions.raise_compiler_error(
            "recurring_peak_lookback_days and recurring_peak_level_days must be whole numbers of days >= 1, got "
            ~ lookback_days ~ " and " ~ level_days) }}
    {%- endif -%}
{%- endmacro %}
