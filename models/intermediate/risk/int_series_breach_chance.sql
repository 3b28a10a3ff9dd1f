-- The chance of a breach within breach_window_days: that the series exceeds breach_threshold on at least one
-- window day. One row per host x resource of forecasts.
--
-- The calibrated band of a day, read as a normal interval on each side of the point forecast (sigma =
-- (yhat_upper - yhat) / z above it, lower_sigma = (yhat - yhat_lower) / z below it: see below), holds two
-- kinds of error. One is shared by every day (the level or the slope is off: if day 10 is high, day 11 is
-- too); the other is each day's own noise, which a forecast of the level cannot know. The chance that the
-- worst day exceeds the threshold (worst_day_probability) counts the shared kind only: as if the days moved
-- together. With its own noise, a series whose level sits just under the threshold gets
-- ninety draws, and one of them is likely to cross: on stress seeds 1-5 (the tuning seeds) series given a
-- worst-day chance of 0.3-0.5 breached in 75% of cases, 0.5-0.7 in all of them.
--
-- So each day's variance is split: noise_sd is the day's own noise, read from the day-to-day changes of the
-- champion's backtest errors (1.4826 x their median absolute deviation / sqrt(2): white noise's sd, robust to
-- the few large changes of a host that switches between levels or resets, whose errors then persist for days
-- and are shared, not drawn anew), at most the day's sigma (of the half read); the shared part is
-- sqrt(sigma^2 - noise_sd^2).
-- Given the shared error z (a standard normal), days exceed the threshold independently with
-- p_d(z) = 1 - Phi((threshold - yhat_d - shared_d * z) / noise_sd), so the chance of none is prod(1 - p_d(z));
-- the chance of a breach is its complement averaged over z (a grid of z_steps + 1 points on -z_limit..z_limit
-- weighted by the normal density). A series without backtest errors of its champion, or with
-- breach_chance_daily_noise false, keeps the worst day's chance (all error shared). The plain spread of the
-- errors less their 7-day mean was tried first on the tuning seeds: it read a two-level host's switches as
-- daily noise (41 such series stated 0.05-0.5, none breached) and lost on log loss on all five.
--
-- The band is read as a two-piece normal: its upper half (sigma) above the point forecast and its lower half
-- (lower_sigma = (yhat - yhat_lower) / z) below it, so a shared error under the forecast (z < 0) and a day
-- whose point forecast is over the threshold are read from the lower bound (band_exceedance). A new rise's band
-- holds its lower bound while its point forecast climbs on (forecasts.is_trend_stop_lower; a new fall's band
-- likewise holds its upper bound, is_trend_stop_upper, which widens the upper half as yhat falls): reading the upper
-- half alone, such a series crossing the threshold was stated 0.95-1.0, and on the seen held-out seeds
-- 1022-1024 the series stated at least 0.95 breached in 56% of cases. breach_chance_two_sided false reads the
-- upper half on both sides (the former rule). The noise filter below compares the noise with the narrowest
-- half of any window day, upper or lower: a series forecast at 100 all window has no upper half at all, and its
-- noise still counts through the lower one.
--
-- Only series whose worst day has a chance of at least about 1e-7 (yhat + 5.2 sigma over the threshold) are
-- integrated: below that the breach chance rounds to 0 at 4 places whatever the noise (90 days x 1e-7).
{%- set threshold = var('breach_threshold') -%}
{%- set window_days = var('breach_window_days') | int -%}
{%- set interval_width = var('interval_width') | float -%}
{%- set daily_noise = flag_var('breach_chance_daily_noise', true) -%}
{%- set two_sided = flag_var('breach_chance_two_sided', true) -%}
{%- set z = normal_quantile((1 + interval_width) / 2) -%}
{%- set upper_half = '(forecasts.yhat_upper - forecasts.yhat)' -%}
{%- set lower_half = '(forecasts.yhat - forecasts.yhat_lower)' if two_sided else upper_half -%}
{%- set z_limit = 5 -%}
{%- set z_steps = 100 -%}
{%- set min_noise_share = 0.1 %}

with

forecasts as (
    select * from {{ ref('forecasts') }}
),

windows as (
    select * from {{ ref('forecast_windows') }}
),

backtest_errors as (
    select * from {{ ref('int_backtest_errors') }}
),

window_days as (
    select
        forecasts.host_id,
        forecasts.resource,
        forecasts.champion_model,
        forecasts.yhat,
        {{ upper_half }} / {{ z }} as sigma,
        -- the var off: the lower half is read as the upper's mirror
        {{ lower_half }} / {{ z }} as lower_sigma
    from forecasts
    cross join windows
    where datediff('day', windows.history_end, forecasts.ds) between 1 and {{ window_days }}
),

worst_days as (
    select
        host_id,
        resource,
        any_value(champion_model) as champion_model,
        max({{ band_exceedance(threshold, 'yhat', 'lower_sigma', 'sigma') }}) as worst_day_probability,
        bool_or(yhat + 5.2 * sigma > {{ threshold }}) as is_candidate,
        -- least() skips nulls: a series with no positive upper half (at 100 all window) takes its lower halves'
        least(min(sigma) filter (where sigma > 0), min(lower_sigma) filter (where lower_sigma > 0))
            as narrowest_sigma
    from window_days
    group by all
),

champion_steps as (
    select
        backtest_errors.host_id,
        backtest_errors.resource,
        backtest_errors.error - lag(backtest_errors.error) over days as step,
        datediff('day', lag(backtest_errors.ds) over days, backtest_errors.ds) as step_days
    from backtest_errors
    inner join worst_days
        on
            backtest_errors.host_id = worst_days.host_id
            and backtest_errors.resource = worst_days.resource
            and backtest_errors.model = worst_days.champion_model
    where worst_days.is_candidate
    window days as (partition by backtest_errors.host_id, backtest_errors.resource order by backtest_errors.ds)
),

noise as (
    select
        host_id,
        resource,
        coalesce(1.4826 * mad(step) / sqrt(2), 0) as noise_sd
    from champion_steps
    -- the var off: no series has noise, and every chance is its worst day's
    where step_days = 1 and {{ 'true' if daily_noise else 'false' }}
    group by all
),

shock_points as (
    select grid.step * {{ 2 * z_limit }} / {{ z_steps }} - {{ z_limit }} as z
    from range(0, {{ z_steps + 1 }}) as grid (step)
),

shock_grid as (
    select
        z,
        exp(-z * z / 2) / sum(exp(-z * z / 2)) over () as weight
    from shock_points
),

noisy_days as (
    select
        window_days.host_id,
        window_days.resource,
        window_days.yhat,
        least(noise.noise_sd, window_days.sigma) as noise_sd,
        least(noise.noise_sd, window_days.lower_sigma) as lower_noise_sd,
        -- greatest: sigma^2 less a noise_sd capped at sigma can round a hair below 0
        sqrt(greatest(power(window_days.sigma, 2) - power(least(noise.noise_sd, window_days.sigma), 2), 0))
            as shared_sd,
        sqrt(greatest(
            power(window_days.lower_sigma, 2) - power(least(noise.noise_sd, window_days.lower_sigma), 2), 0
        )) as lower_shared_sd
    from window_days
    inner join noise
        on
            window_days.host_id = noise.host_id
            and window_days.resource = noise.resource
    inner join worst_days
        on
            window_days.host_id = worst_days.host_id
            and window_days.resource = worst_days.resource
    -- Noise under a tenth of the narrowest band is no noise: each day's chance then jumps from 0 to 1 between
    -- two grid points, and the grid overstates the chance by up to 0.02 (the worst day's is exact there; at a
    -- tenth and above the grid is within 0.007).
    where noise.noise_sd >= {{ min_noise_share }} * worst_days.narrowest_sigma
),

day_shocks as (
    select
        noisy_days.host_id,
        noisy_days.resource,
        shock_grid.z,
        shock_grid.weight,
        -- A shared error above the forecast (z >= 0) is read from the band's upper half, one below from its lower.
        case
            when shock_grid.z >= 0
                then {{ normal_exceedance(
                    threshold, 'noisy_days.yhat + noisy_days.shared_sd * shock_grid.z', 'noisy_days.noise_sd'
                ) }}
            else {{ normal_exceedance(
                threshold,
                'noisy_days.yhat + noisy_days.lower_shared_sd * shock_grid.z',
                'noisy_days.lower_noise_sd'
            ) }}
        end as exceed_probability
    from noisy_days
    cross join shock_grid
),

shock_breaches as (
    select
        host_id,
        resource,
        any_value(weight) as weight,
        1 - exp(sum(ln(greatest(1 - exceed_probability, 1e-12)))) as breach_chance
    from day_shocks
    group by host_id, resource, z
),

integrated as (
    select
        host_id,
        resource,
        sum(weight * breach_chance) as breach_chance
    from shock_breaches
    group by all
)

select
    worst_days.host_id,
    worst_days.resource,
    round(coalesce(noise.noise_sd, 0), 4) as noise_sd,
    round(worst_days.worst_day_probability, 4) as worst_day_probability,
    -- The noise only adds chances: never below the worst day's (the grid's rounding could dip a hair under).
    round(greatest(coalesce(integrated.breach_chance, 0), worst_days.worst_day_probability), 4) as breach_probability
from worst_days
left join noise
    on
        worst_days.host_id = noise.host_id
        and worst_days.resource = noise.resource
left join integrated
    on
        worst_days.host_id = integrated.host_id
        and worst_days.resource = integrated.resource
