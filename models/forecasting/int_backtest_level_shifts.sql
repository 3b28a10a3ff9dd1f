-- One row per series and engine (with two segments' worth of scored days): the single level shift that best
-- explains the engine's backtest errors, and whether it is a clean one (is_level_shift) that the refit on the
-- whole history has already seen.
--
-- Why: the backtest origin sits backtest_months before the end of the history. A load that stepped up or down
-- once after that origin (a workload moved on or off the host) makes every later backtest day miss by the
-- step, so the series looked as hard as a host that swings between two levels and took that group's wide
-- stretch (measured on stress seeds 1-5: such series covered 0.96 of their future with bands 14-15 points
-- wide, where their engines' own bands covered 0.85-0.90 at 6 points). The refit has the step in its
-- history, so forecast_calibration scores these series' backtest days after the step with the step taken out.
--
-- The fit: for every split day k (at least level_shift_min_segment_days, and 2, on each side) the two segment
-- means of the errors, keeping the split with the least squared error left (of equal ones, the earliest). The
-- shift is clean when it is large against what is left (z = |shift| / residual sd >= level_shift_min_z), when
-- at least level_shift_min_post_days scored days follow it (the refit has seen the new level for a while), and
-- when neither segment drifts (a straight line through it, its slope times its days, moves less than
-- level_shift_max_drift residual sds). The drift check keeps ramps out: a ramp that hits 100 also looks like a
-- step, but its errors keep growing before it does.
{%- set min_segment = [var('level_shift_min_segment_days') | int, 2] | max %}
{%- set min_z = var('level_shift_min_z') %}
with

errors as (
    select
        host_id,
        resource,
        model,
        ds,
        error,
        row_number() over series_days - 1 as day_index,
        count(*) over (partition by host_id, resource, model) as scored_days,
        sum(error) over series_days as running_sum,
        sum(error * error) over series_days as running_squares
    from {{ ref('int_backtest_errors') }}
    window series_days as (partition by host_id, resource, model order by ds rows unbounded preceding)
),

totals as (
    select
        host_id,
        resource,
        model,
        any_value(scored_days) as scored_days,
        sum(error) as total_sum,
        sum(error * error) as total_squares
    from errors
    group by all
),

-- Each candidate split k = day_index + 1: days 0..day_index before it, the rest after.
splits as (
    select
        errors.host_id,
        errors.resource,
        errors.model,
        errors.day_index + 1 as split_index,
        errors.scored_days,
        errors.running_sum / (errors.day_index + 1) as mean_before,
        (totals.total_sum - errors.running_sum) / (errors.scored_days - errors.day_index - 1) as mean_after,
        errors.running_squares - errors.running_sum * errors.running_sum / (errors.day_index + 1)
        + (totals.total_squares - errors.running_squares)
        - pow(totals.total_sum - errors.running_sum, 2) / (errors.scored_days - errors.day_index - 1)
            as split_squares
    from errors
    inner join totals
        on
            errors.host_id = totals.host_id
            and errors.resource = totals.resource
            and errors.model = totals.model
    where
        errors.day_index + 1 >= {{ min_segment }}
        and errors.scored_days - errors.day_index - 1 >= {{ min_segment }}
),

-- The split with the least squared error left; of equal ones the earliest, so that every run picks the same.
best as (
    select
        host_id,
        resource,
        model,
        scored_days,
        split_index,
        mean_before,
        mean_after,
        greatest(split_squares, 0) as split_squares
    from splits
    qualify row_number() over (partition by host_id, resource, model order by split_squares, split_index) = 1
),

-- A straight line through each segment's errors: its slope times the segment's days, in residual sds.
segments as (
    select
        best.host_id,
        best.resource,
        best.model,
        errors.day_index >= best.split_index as is_after,
        count(*) as segment_days,
        regr_slope(errors.error, errors.day_index) as line_slope,
        regr_syy(errors.error, errors.day_index) as error_squares,
        regr_sxy(errors.error, errors.day_index) as cross_products,
        regr_sxx(errors.error, errors.day_index) as day_squares
    from best
    inner join errors
        on
            best.host_id = errors.host_id
            and best.resource = errors.resource
            and best.model = errors.model
    group by all
),

drift as (
    select
        host_id,
        resource,
        model,
        max(case when is_after then segment_days end) as days_after,
        max(
            abs(line_slope) * segment_days
            / greatest(
                sqrt(
                    greatest(error_squares - coalesce(cross_products * cross_products / nullif(day_squares, 0), 0), 0)
                    / segment_days
                ),
                1e-9
            )
        ) as max_drift
    from segments
    group by all
),

scored as (
    select
        best.host_id,
        best.resource,
        best.model,
        best.scored_days,
        best.split_index,
        drift.days_after,
        best.mean_after - best.mean_before as shift,
        sqrt(best.split_squares / best.scored_days) as residual_sd,
        abs(best.mean_after - best.mean_before) / greatest(sqrt(best.split_squares / best.scored_days), 1e-9)
            as shift_z,
        drift.max_drift
    from best
    inner join drift
        on
            best.host_id = drift.host_id
            and best.resource = drift.resource
            and best.model = drift.model
)

select
    scored.host_id,
    scored.resource,
    scored.model,
    scored.scored_days,
    scored.split_index,
    errors.ds as shift_date,
    scored.days_after,
    scored.shift,
    scored.residual_sd,
    scored.shift_z,
    scored.max_drift,
    {%- if min_z is none %}
        false as is_level_shift
    {%- else %}
        scored.shift_z >= {{ min_z }}
        and scored.days_after >= {{ var('level_shift_min_post_days') }}
        and scored.max_drift < {{ var('level_shift_max_drift') }} as is_level_shift
    {%- endif %}
from scored
inner join errors
    on
        scored.host_id = errors.host_id
        and scored.resource = errors.resource
        and scored.model = errors.model
        and scored.split_index = errors.day_index
