-- The breach facts of every forecast series, computed once: when its calibrated upper bound (the earliest
-- plausible date) and its point forecast (the expected date) first cross breach_threshold, how likely it is to
-- exceed the threshold within breach_window_days, and the alert rule (is_breach_alert) that capacity_risks and
-- fleet_health read. One row per host x resource of forecasts.
--
-- The day rule reads the calibrated band as a central interval_width interval of a normal distribution per
-- day: sigma = (upper - yhat) / z, z = Phi^-1((1 + interval_width) / 2), and P(y > threshold) =
-- 1 - Phi((threshold - yhat) / sigma), where upper is the band the alert reads (by default the band without
-- the growth upside, below). So upper > threshold <=> P > (1 - interval_width) / 2. The series' chances,
-- worst_day_probability (the likeliest window day's P) and breach_probability (of exceeding the threshold on at
-- least one window day: the days' own noise gives more than one chance; both read yhat_upper, the growth upside
-- included), come from int_series_breach_chance, which reads the band the same way above the point forecast,
-- and through its lower half on a day whose point forecast is over the threshold (a two-piece normal; the
-- alert's day rule here reads the upper half on every day, and such a day has P >= 0.5 either way).
--
-- Alert rule: a window day is an alert day when the upper bound it reads exceeds breach_threshold (and, only if
-- the var breach_alert_min_probability is set, its probability is at least that); a series is flagged when it
-- has at least breach_alert_min_days consecutive alert days within the window. With that var null, 1 day and
-- breach_alert_growth_upside true this is exactly "the upper bound crosses on some day 1..breach_window_days";
-- the project's defaults are 0.15, 1 day and false.
--
-- A curve that may come is not a breach: on days the compounding-growth upside lifted the upper bound
-- (forecasts.growth_upside), the day rule reads the band without it (forecasts.upper_without_upside: its upper
-- bound and, through it, the day's chance), unless breach_alert_growth_upside is true. The upside is a path as
-- likely as a line by the curve's own test, so it widens the band and the breach chance; as an alert on its own
-- it was false in 19 of the 27 cases on record (docs/trust_log.md, session 39). A series only the upside takes
-- over the threshold keeps its first_upper_breach_date and stays AMBER in fleet_health. first_breach_date of a
-- flagged series is still the first crossing of yhat_upper, the upside included (the earliest plausible date).
-- The same holds for a wandering level's band (forecasts.has_wander_band): it widens yhat_upper, not
-- upper_without_upside, so it counts in breach_probability and first_breach_date but raises no alert alone.
--
-- A band that says "unknown" is not a breach: when only the band crosses (the point forecast stays at or under
-- the threshold through the window), the series is flagged only if its champion's band was informative, i.e.
-- the champion's typical backtest miss (forecasts.champion_difficulty = forecast_calibration.difficulty_score:
-- the median backtest miss in units of its own half-width) was under breach_alert_band_max_difficulty. A
-- champion that missed its backtest by more than that many bands gets the widest stretch its calibration group
-- allows, and an upper bound over the threshold then says how little we know, not that a breach is coming;
-- fleet_health shows it AMBER. Null turns the rule off; a series without a calibration row keeps the band rule.
--
-- Recurring peaks (recurring_peaks; recurring_peak_outlook in macros/whatif.sql): days over the threshold that
-- no forecast of the level places on a day, but that recur. Their rate per observed day, read as a Poisson
-- process, gives recurring_peak_probability (of at least one within the window) and recurring_peak_date (the
-- day that chance reaches recurring_peak_min_probability); a series is also flagged when that day falls in the
-- window. breach_probability is the larger of the band's chance and the peaks' (they are not independent).
--
-- breach_basis says why a series was flagged: 'point forecast' (yhat itself crosses in the window), 'band' (the
-- band without the growth upside would carry the alert by the same day rule), 'growth upside' (it would not:
-- with breach_alert_growth_upside true only), or 'recurring peaks' (only its recurring peaks).
-- first_breach_date is the date the alert is about: the first upper-bound crossing, or recurring_peak_date when
-- only the recurring peaks flag the series (for a series not flagged: the first upper-bound crossing).
{%- set threshold = var('breach_threshold') -%}
{%- set window_days = var('breach_window_days') | int -%}
{%- set interval_width = var('interval_width') | float -%}
{%- set min_probability = var('breach_alert_min_probability', none) -%}
{%- set min_days = var('breach_alert_min_days', 1) | int(1) -%}
{%- set band_max_difficulty = var('breach_alert_band_max_difficulty', none) -%}
{%- set peak_min_probability = var('recurring_peak_min_probability', none) -%}
{%- set upside_alerts = flag_var('breach_alert_growth_upside', false) -%}
{#- The upper bound the alert's day rule reads (see above). -#}
{%- set alert_upper = 'yhat_upper' if upside_alerts else 'upper_without_upside' -%}
{%- set z = normal_quantile((1 + interval_width) / 2) -%}
{#- By default the band the alert reads is the band without the upside: its alert days and runs are the same. -#}
{%- set own_day_rule = breach_alert_day('upper_without_upside', threshold, z, min_probability)
    if upside_alerts else 'is_alert_day' -%}
{%- set own_alert_runs = 'runs.longest_own_alert_run_days' if upside_alerts else 'runs.longest_alert_run_days' -%}
{{- check_breach_alert_vars(
    interval_width, min_probability, min_days, band_max_difficulty, peak_min_probability) }}

with

forecasts as (
    select * from {{ ref('forecasts') }}
),

windows as (
    select * from {{ ref('forecast_windows') }}
),

chances as (
    select * from {{ ref('int_series_breach_chance') }}
),

peaks as (
    select * from {{ ref('recurring_peaks') }}
),

daily as (
    select
        forecasts.host_id,
        forecasts.resource,
        forecasts.ds,
        forecasts.yhat,
        forecasts.yhat_upper,
        forecasts.champion_model,
        forecasts.backtest_mape,
        forecasts.trust_level,
        forecasts.champion_reason,
        forecasts.champion_difficulty,
        forecasts.growth_upside,
        coalesce(forecasts.upper_without_upside, forecasts.yhat_upper) as upper_without_upside,
        datediff('day', windows.history_end, forecasts.ds) as days_ahead
    from forecasts
    cross join windows
),

scored as (
    select
        *,
        -- Day breach_window_days counts, the day after does not.
        days_ahead between 1 and {{ window_days }} as is_in_window,
        yhat_upper > {{ threshold }} as is_upper_breach,
        yhat > {{ threshold }} as is_point_breach,
        {{ breach_alert_day(alert_upper, threshold, z, min_probability) }} as is_alert_day,
        -- The same rule on the band without the upside: does it carry the alert too (breach_basis)?
        {{ own_day_rule }} as is_own_alert_day
    from daily
),

-- Gaps and islands: consecutive qualifying window days share days_ahead - row_number().
islands as (
    select
        host_id,
        resource,
        'upper' as day_kind,
        days_ahead - row_number() over (partition by host_id, resource order by days_ahead) as island
    from scored
    where is_in_window and is_upper_breach
    union all
    select
        host_id,
        resource,
        'alert' as day_kind,
        days_ahead - row_number() over (partition by host_id, resource order by days_ahead) as island
    from scored
    where is_in_window and is_alert_day
    {%- if upside_alerts %}
        union all
        select
            host_id,
            resource,
            'own' as day_kind,
            days_ahead - row_number() over (partition by host_id, resource order by days_ahead) as island
        from scored
        where is_in_window and is_own_alert_day
    {%- endif %}
),

peak_outlook as (
    {{ recurring_peak_outlook(
        'daily', 'peaks', [], 'peaks.peak_height', threshold, window_days, peak_min_probability) }}
),

highest_peaks as (
    select
        host_id,
        resource,
        max(peak_height) as recurring_peak_height
    from peaks
    group by all
),

runs as (
    select
        host_id,
        resource,
        max(run_days) filter (where day_kind = 'upper') as longest_breach_run_days,
        max(run_days) filter (where day_kind = 'alert') as longest_alert_run_days,
        max(run_days) filter (where day_kind = 'own') as longest_own_alert_run_days
    from (
        select
            host_id,
            resource,
            day_kind,
            island,
            count(*) as run_days
        from islands
        group by all
    ) as island_lengths
    group by all
),

per_series as (
    select
        host_id,
        resource,
        any_value(champion_model) as champion_model,
        any_value(backtest_mape) as backtest_mape,
        any_value(trust_level) as trust_level,
        any_value(champion_reason) as champion_reason,
        any_value(champion_difficulty) as champion_difficulty,
        min(ds) filter (where is_upper_breach) as first_upper_breach_date,
        min(days_ahead) filter (where is_upper_breach) as days_to_upper_breach,
        min(ds) filter (where is_point_breach) as first_point_breach_date,
        min(days_ahead) filter (where is_point_breach) as days_to_point_breach,
        max(yhat) filter (where is_in_window) as peak_yhat,
        max(yhat_upper) filter (where is_in_window) as peak_yhat_upper,
        any_value({{ threshold }} - yhat_upper) filter (where days_ahead = 90) as headroom_90d,
        any_value({{ threshold }} - yhat_upper) filter (where days_ahead = 180) as headroom_180d,
        count(*) filter (where is_in_window and is_upper_breach) as breach_days_in_window,
        coalesce(bool_or(is_in_window and is_point_breach), false) as is_point_breach_in_window
    from scored
    group by all
),

with_runs as (
    select
        per_series.*,
        coalesce(runs.longest_breach_run_days, 0) as longest_breach_run_days,
        coalesce(runs.longest_alert_run_days, 0) as longest_alert_run_days,
        -- The band without the growth upside would carry the alert too (breach_basis 'band'); by default that is
        -- the band the alert reads, whose runs are the alert's.
        coalesce({{ own_alert_runs }}, 0) >= {{ min_days }} as has_own_band_alert,
        {{ band_is_informative('per_series.champion_difficulty', band_max_difficulty) }} as is_band_informative,
        -- A series with no window day has no chance row, and no chance.
        coalesce(chances.worst_day_probability, 0) as worst_day_probability,
        coalesce(chances.breach_probability, 0) as band_breach_probability,
        coalesce(peak_outlook.recurring_peak_episodes, 0) as recurring_peak_episodes,
        coalesce(peak_outlook.recurring_peak_probability, 0) as recurring_peak_probability,
        peak_outlook.recurring_peak_date,
        peak_outlook.days_to_recurring_peak,
        coalesce(peak_outlook.is_recurring_peak_alert, false) as is_recurring_peak_alert,
        highest_peaks.recurring_peak_height
    from per_series
    left join runs
        on
            per_series.host_id = runs.host_id
            and per_series.resource = runs.resource
    left join chances
        on
            per_series.host_id = chances.host_id
            and per_series.resource = chances.resource
    left join peak_outlook
        on
            per_series.host_id = peak_outlook.host_id
            and per_series.resource = peak_outlook.resource
    left join highest_peaks
        on
            per_series.host_id = highest_peaks.host_id
            and per_series.resource = highest_peaks.resource
),

band_rule as (
    select
        *,
        longest_alert_run_days >= {{ min_days }}
        and (is_point_breach_in_window or is_band_informative) as is_band_alert
    from with_runs
),

final as (
    select
        *,
        is_band_alert or is_recurring_peak_alert as is_breach_alert,
        -- Rounded once here, so the chance a planner sorts by is the one the marts show.
        round(greatest(band_breach_probability, recurring_peak_probability), 4) as breach_probability
    from band_rule
)

select
    host_id,
    resource,
    champion_model,
    backtest_mape,
    trust_level,
    champion_reason,
    case
        when not is_band_alert and is_recurring_peak_alert then recurring_peak_date
        else first_upper_breach_date
    end as first_breach_date,
    case
        when not is_band_alert and is_recurring_peak_alert then days_to_recurring_peak
        else days_to_upper_breach
    end as days_to_breach,
    first_upper_breach_date,
    days_to_upper_breach,
    first_point_breach_date,
    days_to_point_breach,
    peak_yhat,
    peak_yhat_upper,
    headroom_90d,
    headroom_180d,
    worst_day_probability,
    breach_probability,
    recurring_peak_episodes,
    round(recurring_peak_probability, 4) as recurring_peak_probability,
    recurring_peak_date,
    days_to_recurring_peak,
    is_recurring_peak_alert,
    round(recurring_peak_height, 4) as recurring_peak_height,
    breach_days_in_window,
    longest_breach_run_days,
    longest_alert_run_days,
    is_point_breach_in_window,
    round(champion_difficulty, 4) as champion_difficulty,
    is_band_informative,
    is_breach_alert,
    case
        when not is_breach_alert then null
        when not is_band_alert then 'recurring peaks'
        when is_point_breach_in_window then 'point forecast'
        when has_own_band_alert then 'band'
        else 'growth upside'
    end as breach_basis
from final
