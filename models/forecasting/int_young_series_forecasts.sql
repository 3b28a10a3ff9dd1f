{#-
    A forecast for the series too young to be backtested. A host that joined a few months ago has fewer than
    min_history_days observed days before the backtest starts, so no engine fits it and no tournament can
    judge one; it used to get no forecast at all (forecast_exclusions, AMBER "without a forecast" in
    fleet_health), so a new host ramping into its ceiling raised no breach alert. Such a series, with at least
    young_min_days observed days and still reporting (at least young_min_recent_days observed days in the
    last 28), gets a line instead: ordinary least squares over its last young_trend_days days of observed
    values, continued to forecast_horizon_days (or their level, and with the host's weekly cycle: below).

    The first days of the window are left out of that fit where they are far off the series' robust line: the
    Theil-Sen line (the median of the slopes between every two days, the median intercept) is read first, a day
    whose residual exceeds young_outlier_z robust standard deviations (1.4826 x the median absolute residual:
    Iglewicz and Hoaglin's modified z-score, whose usual cut is 3.5) is off the line, and the leading run of
    such days does not enter the least squares. A host migrated onto new hardware takes its load over in a few
    days and then runs level; those cut-over days, at the start of a young series, had pulled the line up by
    about a quarter of a point a day and flagged level hosts at 80 RED on day 1 (the blind stress set, session
    34). A day off the line later in the window stays in: a shift or a ramp in the last weeks is news, and the
    robust line, following the majority, would not see it. A straight ramp has no such days: its fit is what it
    was. A series of fewer than 10 days keeps every day (so few cannot say which is out of line); null: every
    day enters the fit.

    The slope goes on only where it is significant, more than young_trend_min_z standard errors (the slope's,
    inflated for autocorrelation as below) from 0, or where the level would not explain the last 28 days:
    their mean lies outside the level's own one-day band (t * s * sqrt(1 + 1/n)). Else the forecast is the level
    of the fitted days (their mean, where the line passes at their mean day): a migrated host runs level, and a
    slope read from a few noisy weeks of a level drifts a few points up or down over the horizon by chance (on
    the migrated hosts' series of read blind seeds 2042-2059, 53 of 812 slopes passed 2 standard errors, a few
    more than chance's 40 or so, and the level's 180-day WAPE was 2.28% against the line's 2.93%). The second
    test keeps a ramp of the last weeks: a level for 70 days, then 1.5 points a day for 20, fits a line so
    badly that the residuals' persistence inflates the slope's error past the bar (1.9 standard errors), yet
    its last weeks sit far above the 90 days' mean. null: always the line.

    The level's band is the level's own: t * s * sqrt(1 + k / n), the day's noise and the uncertainty of a mean
    of n days whose noise persists (k below), the same at every horizon (wider than the one-day band the
    second test above reads, which leaves persistence out). It used to keep the line's band, the
    slope's uncertainty widening it around a level the slope test had just set aside. On the migrated hosts of
    read blind seeds 2072-2080 (369 level series) that band covered 0.95 of days 91-180 at 6.0 points wide
    (Winkler 6.3), the level's own 0.79 at 3.5 (Winkler 4.9-5.0; the generator's own band 4.2 on 2078-2080). On
    seen seed 206's 13 level late joiners the level's own band scored worse over all (Winkler over days 91-180
    13.4 -> 13.8), carried by one that grows, whose slope read from 90 noisy days failed the test and which
    every band misses; on the other 12 it covered 0.73-0.89 of the horizon where the line's covered 0.84-0.97
    (docs/trust_log.md, session 50). young_level_slope_band true: the level keeps the line's band.

    A host's weekly cycle (young_weekly_cycle): where the fit has at least young_cycle_min_days days (four of
    each weekday), each weekday's mean residual from the line or level, centred over the weekdays, goes onto
    that weekday's forecast days, and s and k are read from the residuals less it (6 more degrees of freedom
    spent). A flat forecast averaged the cycle away and its band carried it as noise: on read blind seeds
    2072-2083's 487 migrated-host levels, WAPE 1.95% -> 1.72% and Winkler 4.82 -> 4.30 at the same coverage
    (0.79); seen seed 206's late joiners and held-out 1030-1031's young ramps gained too (Winkler 11.4 -> 10.5,
    14.0 -> 13.2, 3.74 -> 3.59). The slope test reads the residual as before. With the cycle, a level's s is read
    around the level itself (a set-aside slope counts as noise), the 8 degrees of freedom spent are one too many
    for a level, and the weekday means' own uncertainty is left out (about 10% of the band at 28 days).
    young_cycle_min_days must be at least 14 (two of each weekday).

    The line's band: the regression's own prediction interval, yhat +- t * s * sqrt(1 + 1/n + (h - mean_x)^2 /
    Sxx * k), t the Student t quantile of interval_width with n - 2 degrees of freedom, s the residual standard
    deviation, and k = (1 + r) / (1 - r) the variance inflation of the slope (and of a mean) under AR(1)
    residuals with lag-1 autocorrelation r (clipped to 0..0.9):
    daily utilisation is persistent, and a slope read from n correlated days is less certain than from n
    independent ones. Nothing here is calibrated on a backtest (there is none): the series is LOW trust,
    champion_model 'young_trend', and champion_reason says how young it is. The alert reads it like any
    other series (int_series_breach_outlook); the band rule applies (no backtest difficulty).
-#}
{%- set min_days = var('min_history_days') | int -%}
{%- set young_min_days = var('young_min_days') | int -%}
{%- set trend_days = var('young_trend_days') | int -%}
{%- set min_recent_days = var('young_min_recent_days') | int -%}
{%- set horizon = var('forecast_horizon_days') | int -%}
{%- set width = var('interval_width') | float -%}
{%- set outlier_z = var('young_outlier_z') -%}
{%- set min_z = var('young_trend_min_z') -%}
{%- set level_slope_band = flag_var('young_level_slope_band', false) -%}
{%- set weekly_cycle = flag_var('young_weekly_cycle', true) -%}
{%- set cycle_min_days = young_cycle_min_days() -%}
{#- The band's quantile is Student's t with n - 2 degrees of freedom (s is estimated from the n fitted days), by
    the Cornish-Fisher expansion of t around z in powers of 1 / nu: within 0.1% of the exact t quantile from
    nu = 3 (80-95% bands), 0.1-0.8% at nu = 2, 2-11% at nu = 1. The normal z alone is 0.8% narrow at n = 90,
    5.5% at n = 14 (the fewest days young_min_recent_days allows by default) and 58% at n = 3 (the var
    lowered): a line read from a few days is that much less certain. -#}

with

processed_data as (

    select * from {{ ref('processed_data') }}

),

eligibility as (

    select * from {{ ref('int_series_eligibility') }}

),

windows as (

    select * from {{ ref('forecast_windows') }}

),

selected_hosts as (

    {{ forecast_selected_hosts('processed_data') }}

),

-- Started too late to have min_history_days observed days before the backtest (a young host, not an old
-- series with gaps: those keep their reason in forecast_exclusions), yet enough days in all.
young as (

    select
        eligibility.host_id,
        eligibility.resource,
        eligibility.observed_days

    from eligibility
    inner join selected_hosts on eligibility.host_id = selected_hosts.host_id
    cross join windows
    where
        eligibility.observed_days < {{ min_days }}
        and eligibility.first_observed_day > windows.backtest_start - {{ min_days }}
        and eligibility.history_observed_days >= {{ young_min_days }}

),

-- Observed days of the fit window; x counts days from history_end (0 on it, negative before).
points as (

    select
        processed_data.host_id,
        processed_data.resource,
        young.observed_days as observed_before_backtest,
        cast(datediff('day', windows.history_end, processed_data.ds) as double) as x,
        processed_data.y

    from processed_data
    inner join young
        on
            processed_data.host_id = young.host_id
            and processed_data.resource = young.resource
    cross join windows
    where
        not processed_data.is_imputed
        and processed_data.ds > windows.history_end - {{ trend_days }}

),

-- The Theil-Sen line: the median of the slopes between every two of a series' days.
robust_slopes as (

    select
        earlier.host_id,
        earlier.resource,
        median((later.y - earlier.y) / (later.x - earlier.x)) as robust_slope

    from points as earlier
    inner join points as later
        on
            earlier.host_id = later.host_id
            and earlier.resource = later.resource
            and earlier.x < later.x
    group by all

),

robust_intercepts as (

    select
        points.host_id,
        points.resource,
        any_value(robust_slopes.robust_slope) as robust_slope,
        median(points.y - robust_slopes.robust_slope * points.x) as robust_intercept

    from points
    inner join robust_slopes
        on
            points.host_id = robust_slopes.host_id
            and points.resource = robust_slopes.resource
    group by all

),

robust_residuals as (

    select
        points.*,
        points.y - (robust_intercepts.robust_intercept + robust_intercepts.robust_slope * points.x)
            as robust_residual

    from points
    inner join robust_intercepts
        on
            points.host_id = robust_intercepts.host_id
            and points.resource = robust_intercepts.resource

),

-- Whether a day lies on the robust line: its residual is no outlier by the modified z-score.
lined_points as (

    select
        robust_residuals.host_id,
        robust_residuals.resource,
        robust_residuals.observed_before_backtest,
        robust_residuals.x,
        robust_residuals.y,
        {%- if outlier_z is none %}
            true as is_on_line
        {%- else %}
            -- Under 10 days the median absolute residual is too unsteady to call any day an outlier.
            count(*) over series_days < 10
            or abs(robust_residuals.robust_residual)
            <= {{ outlier_z }} * 1.4826 * median(abs(robust_residuals.robust_residual)) over series_days
            + 1e-9 as is_on_line
        {%- endif %}

    from robust_residuals
    window series_days as (partition by robust_residuals.host_id, robust_residuals.resource)

),

-- Only the leading run of days off the line is left out (a cut-over comes first). A later day off the line is
-- news (a shift or a ramp in the last weeks, which the robust line, following the majority, does not follow)
-- and stays in.
fitted_points as (

    select
        *,
        x >= min(x) filter (where is_on_line) over (partition by host_id, resource) as is_fitted

    from lined_points

),

fits as (

    select
        host_id,
        resource,
        any_value(observed_before_backtest) as observed_before_backtest,
        count(*) filter (where is_fitted) as n,
        count(*) filter (where not is_fitted) as left_out_days,
        count(*) filter (where x > -28) as recent_days,
        regr_slope(y, x) filter (where is_fitted) as slope,
        regr_intercept(y, x) filter (where is_fitted) as intercept,
        avg(x) filter (where is_fitted) as mean_x,
        avg(y) filter (where is_fitted) as mean_y,
        avg(y) filter (where is_fitted and x > -28) as recent_mean,
        regr_sxx(y, x) filter (where is_fitted) as sxx

    from fitted_points
    group by all

),

residuals as (

    select
        points.host_id,
        points.resource,
        points.x,
        points.y - (fits.intercept + fits.slope * points.x) as residual

    from fitted_points as points
    inner join fits
        on
            points.host_id = fits.host_id
            and points.resource = fits.resource
    where points.is_fitted and fits.n >= 3 and fits.sxx > 0

),

lagged as (

    select
        host_id,
        resource,
        residual,
        lag(residual) over (partition by host_id, resource order by x) as previous_residual

    from residuals

),

noise as (

    select
        host_id,
        resource,
        sqrt(sum(residual * residual) / (count(*) - 2)) as residual_sd,
        least(greatest(coalesce(corr(residual, previous_residual), 0), 0), 0.9) as lag1_correlation

    from lagged
    group by all

),

band_quantile as (

    select {{ normal_quantile((1 + width) / 2) }} as z

),

usable as (

    select
        fits.*,
        noise.residual_sd,
        noise.lag1_correlation,
        -- Student's t quantile with nu = n - 2 degrees of freedom, Cornish-Fisher in powers of 1 / nu.
        band_quantile.z
        + (power(band_quantile.z, 3) + band_quantile.z) / 4 / (fits.n - 2)
        + (5 * power(band_quantile.z, 5) + 16 * power(band_quantile.z, 3) + 3 * band_quantile.z)
        / 96 / power(fits.n - 2, 2)
        + (
            3 * power(band_quantile.z, 7) + 19 * power(band_quantile.z, 5) + 17 * power(band_quantile.z, 3)
            - 15 * band_quantile.z
        ) / 384 / power(fits.n - 2, 3)
        + (
            79 * power(band_quantile.z, 9) + 776 * power(band_quantile.z, 7) + 1482 * power(band_quantile.z, 5)
            - 1920 * power(band_quantile.z, 3) - 945 * band_quantile.z
        ) / 92160 / power(fits.n - 2, 4) as t_quantile,
        -- The slope's variance inflation under lag-1 autocorrelated residuals.
        (1 + noise.lag1_correlation) / (1 - noise.lag1_correlation) as slope_inflation

    from fits
    inner join noise
        on
            fits.host_id = noise.host_id
            and fits.resource = noise.resource
    cross join band_quantile
    where fits.recent_days >= {{ min_recent_days }}

),

-- The slope goes on where it is significant or the level does not explain the last 28 days (their mean outside
-- its one-day band); else the level of the fitted days (their mean: the line at their mean day).
gated as (

    select
        *,
        {%- if min_z is none %}
            true as is_sloped
        {%- else %}
            -- the slope's standard error: residual_sd / sqrt(sxx), inflated
            abs(slope) > {{ min_z }} * residual_sd / sqrt(sxx) * sqrt(slope_inflation)
            or abs(coalesce(recent_mean, mean_y) - mean_y) > t_quantile * residual_sd * sqrt(1 + 1 / n) as is_sloped
        {%- endif %}

    from usable

),

-- The weekly cycle (young_weekly_cycle, where the fit has at least cycle_min_days days): each weekday's mean
-- residual from the forecast (the line, or the level), centred over the weekdays, goes onto the forecast days of
-- that weekday, and the band reads the noise left once it is taken out.
fit_residuals as (

    select
        points.host_id,
        points.resource,
        points.x,
        dayofweek(windows.history_end + cast(points.x as integer)) as day_of_week,
        points.y - case
            when gated.is_sloped then gated.intercept + gated.slope * points.x
            else gated.mean_y
        end as residual

    from fitted_points as points
    inner join gated
        on
            points.host_id = gated.host_id
            and points.resource = gated.resource
    cross join windows
    where
        points.is_fitted
        and {{ 'true' if weekly_cycle else 'false' }}
        and gated.n >= {{ cycle_min_days }}

),

weekday_means as (

    select
        host_id,
        resource,
        day_of_week,
        avg(residual) as weekday_mean

    from fit_residuals
    group by all

),

weekly_cycle as (

    select
        host_id,
        resource,
        day_of_week,
        weekday_mean - avg(weekday_mean) over (partition by host_id, resource) as cycle_effect

    from weekday_means

),

cycle_free as (

    select
        fit_residuals.host_id,
        fit_residuals.resource,
        fit_residuals.residual - weekly_cycle.cycle_effect as residual,
        lag(fit_residuals.residual - weekly_cycle.cycle_effect)
            over (partition by fit_residuals.host_id, fit_residuals.resource order by fit_residuals.x)
            as previous_residual

    from fit_residuals
    inner join weekly_cycle
        on
            fit_residuals.host_id = weekly_cycle.host_id
            and fit_residuals.resource = weekly_cycle.resource
            and fit_residuals.day_of_week = weekly_cycle.day_of_week

),

-- The noise left: its standard deviation (the line's or level's 2 parameters and the cycle's 6 spent) and the
-- variance inflation of its lag-1 persistence, as `noise` reads them for the line.
cycle_noise as (

    select
        host_id,
        resource,
        sqrt(sum(residual * residual) / (count(*) - 8)) as residual_sd,
        (1 + least(greatest(coalesce(corr(residual, previous_residual), 0), 0), 0.9))
        / (1 - least(greatest(coalesce(corr(residual, previous_residual), 0), 0), 0.9)) as inflation

    from cycle_free
    group by all

),

days as (

    select
        gated.host_id,
        gated.resource,
        windows.history_end + cast(horizon_days.h as integer) as ds,
        case
            when gated.is_sloped then gated.intercept + gated.slope * horizon_days.h
            else gated.mean_y
        end + coalesce(weekly_cycle.cycle_effect, 0) as trend_value,
        gated.t_quantile * coalesce(cycle_noise.residual_sd, gated.residual_sd) * case
            -- the level's own band: the day's noise and the mean's uncertainty under persistent noise
            when not gated.is_sloped and not {{ 'true' if level_slope_band else 'false' }}
                then sqrt(1 + coalesce(cycle_noise.inflation, gated.slope_inflation) / gated.n)
            else sqrt(
                1 + 1 / gated.n
                + power(horizon_days.h - gated.mean_x, 2) / gated.sxx
                * coalesce(cycle_noise.inflation, gated.slope_inflation)
            )
        end as half_width,
        gated.n,
        gated.left_out_days,
        gated.observed_before_backtest,
        gated.is_sloped,
        gated.slope,
        cycle_noise.residual_sd is not null as has_weekly_cycle

    from gated
    cross join windows
    cross join range(1, {{ horizon + 1 }}) as horizon_days (h)
    left join weekly_cycle
        on
            gated.host_id = weekly_cycle.host_id
            and gated.resource = weekly_cycle.resource
            and dayofweek(windows.history_end + cast(horizon_days.h as integer)) = weekly_cycle.day_of_week
    left join cycle_noise
        on
            gated.host_id = cycle_noise.host_id
            and gated.resource = cycle_noise.resource

),

bounded as (

    select
        *,
        least(greatest(trend_value, 0), 100) as yhat

    from days

)

select
    host_id,
    resource,
    cast(ds as date) as ds,
    cast(yhat as double) as yhat,
    cast(least(greatest(trend_value - half_width, 0), yhat) as double) as yhat_lower,
    cast(greatest(least(trend_value + half_width, 100), yhat) as double) as yhat_upper,
    cast(n as integer) as fit_observed_days,
    cast(observed_before_backtest as integer) as observed_before_backtest,
    'young series: ' || observed_before_backtest || ' observed days before the backtest (need {{ min_days }}); '
    || case
        when is_sloped then 'a straight line over its last ' || (n + left_out_days) || ' observed days'
        else
            'the level of its last ' || (n + left_out_days) || ' observed days (their slope, '
            || cast(round(slope, 3) as varchar) || ' a day, is within {{ min_z }} standard errors of 0)'
    end
    || case
        when left_out_days > 0
            then ' (' || left_out_days || ' far off its robust line left out, e.g. a cut-over)'
        else ''
    end
    || case when has_weekly_cycle then ', with its weekly cycle' else '' end
    || ', no backtest' as champion_reason

from bounded
