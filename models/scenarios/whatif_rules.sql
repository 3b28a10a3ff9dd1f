-- The breach and RAG rule values the scenario models were built with, in one row, so `horizonscale whatif`
-- and the dashboard apply the same rule to an ad-hoc scenario on the serving copy (which holds no dbt vars).
{%- set min_probability = var('breach_alert_min_probability', none) %}
{%- set band_max_difficulty = var('breach_alert_band_max_difficulty', none) %}
{%- set peak_min_probability = var('recurring_peak_min_probability', none) %}
select
    cast({{ var('breach_threshold') }} as double) as breach_threshold,
    cast({{ var('breach_window_days') }} as integer) as breach_window_days,
    cast({{ var('amber_threshold') }} as double) as amber_threshold,
    cast({{ var('interval_width') }} as double) as interval_width,
    {{ normal_quantile((1 + var('interval_width') | float) / 2) }} as band_z,
    cast({{ 'null' if min_probability is none else min_probability }} as double) as breach_alert_min_probability,
    cast({{ var('breach_alert_min_days', 1) | int(1) }} as integer) as breach_alert_min_days,
    cast({{ 'null' if band_max_difficulty is none else band_max_difficulty }} as double)
        as breach_alert_band_max_difficulty,
    cast({{ 'null' if peak_min_probability is none else peak_min_probability }} as double)
        as recurring_peak_min_probability,
    {{ 'true' if flag_var('breach_alert_growth_upside', false) else 'false' }} as breach_alert_growth_upside
