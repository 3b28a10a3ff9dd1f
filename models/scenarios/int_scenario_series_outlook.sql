-- The breach facts of every scenario x series in scope, baseline and scenario side by side, by the rule of
-- int_series_breach_outlook (same vars; macros/whatif.sql, whatif_series_outlook).
{%- set interval_width = var('interval_width') | float -%}
{%- set min_probability = var('breach_alert_min_probability', none) -%}
{%- set min_days = var('breach_alert_min_days', 1) | int(1) -%}
{%- set band_max_difficulty = var('breach_alert_band_max_difficulty', none) -%}
{%- set peak_min_probability = var('recurring_peak_min_probability', none) -%}
{{- check_breach_alert_vars(
    interval_width, min_probability, min_days, band_max_difficulty, peak_min_probability) }}

with

scenario_forecasts as (
    select * from {{ ref('scenario_forecasts') }}
),

peaks as (
    select * from {{ ref('recurring_peaks') }}
)

{{ whatif_series_comparison(
    'scenario_forecasts', var('breach_threshold'), var('breach_window_days') | int,
    normal_quantile((1 + interval_width) / 2), min_probability, min_days, band_max_difficulty,
    'peaks', peak_min_probability, flag_var('breach_alert_growth_upside', false)) }}
