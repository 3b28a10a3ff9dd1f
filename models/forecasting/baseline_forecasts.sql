{#-
    Seasonal naive (weekly): the yardstick every engine must beat. Each forecast day repeats the same weekday
    of the last week before the cut (train_end for the backtest, history_end for the forecast). Like the
    Python engines it only forecasts series with enough history (int_series_eligibility).

    Interval: the same recipe as the Python engines (python_engines.forecasting.intervals). The naive
    forecast is made once more from a calibration cut forecast_horizon_days before train_end; its errors on
    the days after that cut, divided by each series' scale (mean |y(t) - y(t - 7)| up to the cut), give
    fleet-wide quantiles per horizon day (pooled over +-3 days, widening with the horizon). A band is
    yhat + quantile[h] * scale. It replaced the series' own quantiles of k-week differences, which read a
    trend the series had in the past year as upside risk: on growth that had levelled off the upper bound sat
    20-30 points over a flat forecast (false breach alarms). Without calibration errors (a history too short
    for the calibration cut) the band is a random walk in scale units, +-1.28 * scale * sqrt(weeks ahead).

    Bounded memory: the calibration errors come from at most naive_calibration_series eligible series, chosen
    by a hash of their keys (every series on fleets up to 2,000 hosts). Pooling all of them made this one
    statement hold every series' errors seven times over beside the scales' window, and at 8,000 hosts it ran
    out of memory under a 3 GB limit; with the sample it passed under 2 GB (bench/README.md "Cost curve").
-#}
{%- set width = var('interval_width') | float -%}
{%- set alpha = (1 - width) / 2 -%}
{%- set calibration_series = var('naive_calibration_series') | int -%}
{#- The smallest scale a band is drawn in, points (python_engines.forecasting.series.MIN_SCALE). -#}
{%- set min_scale = 0.05 -%}

with

all_series_days as (

    select
        host_id,
        resource,
        ds,
        y,
        is_imputed

    from {{ ref('processed_data') }}

),

selected_hosts as (

    {{ forecast_selected_hosts('all_series_days') }}

),

-- Constant series too (is_baseline_eligible): forecast where they are, but kept out of the calibration sample,
-- whose zero errors would narrow every other series' band.
eligible_series as (

    select
        host_id,
        resource,
        is_eligible

    from {{ ref('int_series_eligibility') }}
    where is_baseline_eligible

),

processed_data as (

    select all_series_days.*

    from all_series_days
    semi join selected_hosts
        on all_series_days.host_id = selected_hosts.host_id
    semi join eligible_series
        on
            all_series_days.host_id = eligible_series.host_id
            and all_series_days.resource = eligible_series.resource

),

windows as (

    select * from {{ ref('forecast_windows') }}

),

cuts as (

    select
        'backtest' as segment,
        train_end as cut,
        backtest_start as first_day,
        backtest_end as last_day

    from windows

    union all

    select
        'forecast' as segment,
        history_end as cut,
        forecast_start as first_day,
        forecast_end as last_day

    from windows

),

calibration_sample as (

    select
        host_id,
        resource

    from eligible_series
    where is_eligible
    order by hash(host_id, resource), host_id, resource
    limit {{ calibration_series }}

),

calibration as (

    select
        cast(train_end - forecast_horizon_days as date) as cut,
        forecast_horizon_days as horizon_days

    from windows

),

-- Weekly changes of every eligible series (processed_data is continuous per series: lag 7 = a week ago).
weekly_changes as (

    select
        host_id,
        resource,
        ds,
        abs(y - lag(y, 7) over (partition by host_id, resource order by ds)) as weekly_change

    from processed_data

),

scales as (

    select
        weekly_changes.host_id,
        weekly_changes.resource,
        greatest(
            coalesce(avg(weekly_changes.weekly_change) filter (where weekly_changes.ds <= calibration.cut), 0),
            {{ min_scale }}
        ) as calibration_scale,
        greatest(
            coalesce(avg(weekly_changes.weekly_change) filter (where weekly_changes.ds <= windows.train_end), 0),
            {{ min_scale }}
        ) as backtest_scale,
        greatest(
            coalesce(avg(weekly_changes.weekly_change) filter (where weekly_changes.ds <= windows.history_end), 0),
            {{ min_scale }}
        ) as forecast_scale

    from weekly_changes
    cross join windows
    cross join calibration
    group by all

),

-- The last week up to the calibration cut: the days the calibration forecast repeats.
calibration_week as (

    select
        processed_data.host_id,
        processed_data.resource,
        processed_data.ds,
        processed_data.y

    from processed_data
    cross join calibration
    semi join calibration_sample
        on
            processed_data.host_id = calibration_sample.host_id
            and processed_data.resource = calibration_sample.resource
    where processed_data.ds between calibration.cut - 6 and calibration.cut

),

-- The naive forecast from the calibration cut, scored on the real (not imputed) days after it.
calibration_errors as (

    select
        datediff('day', calibration.cut, actual.ds) as horizon_day,
        (actual.y - week_before.y) / scales.calibration_scale as normalised_error

    from processed_data as actual
    cross join calibration
    inner join calibration_week as week_before
        on
            actual.host_id = week_before.host_id
            and actual.resource = week_before.resource
            and week_before.ds = actual.ds - 7 * cast(ceil(datediff('day', calibration.cut, actual.ds) / 7) as integer)
    inner join scales
        on
            actual.host_id = scales.host_id
            and actual.resource = scales.resource
    where
        actual.ds > calibration.cut
        and actual.ds <= calibration.cut + calibration.horizon_days
        and not actual.is_imputed

),

horizon_days as (

    select unnest(range(1, (select calibration.horizon_days from calibration) + 1)) as horizon_day

),

pooled_quantiles as (

    select
        horizon_days.horizon_day,
        quantile_cont(calibration_errors.normalised_error, {{ alpha }}) as lower_quantile,
        quantile_cont(calibration_errors.normalised_error, {{ 1 - alpha }}) as upper_quantile

    from horizon_days
    inner join calibration_errors
        on calibration_errors.horizon_day between horizon_days.horizon_day - 3 and horizon_days.horizon_day + 3
    group by all

),

-- Never narrower further ahead, never on the wrong side of the point forecast.
quantiles as (

    select
        horizon_day,
        min(least(lower_quantile, 0)) over widening as lower_quantile,
        max(greatest(upper_quantile, 0)) over widening as upper_quantile

    from pooled_quantiles
    window widening as (order by horizon_day rows between unbounded preceding and current row)

),

last_week as (

    select
        processed_data.host_id,
        processed_data.resource,
        cuts.segment,
        processed_data.ds,
        processed_data.y

    from processed_data
    inner join cuts
        on processed_data.ds between cuts.cut - 6 and cuts.cut

),

horizon as (

    select
        cuts.segment,
        cuts.cut,
        cast(unnest(range(cuts.first_day, cuts.last_day + 1, interval 1 day)) as date) as ds

    from cuts

),

horizon_steps as (

    select
        segment,
        cut,
        ds,
        cast(ds - 7 * cast(ceil((ds - cut) / 7) as integer) as date) as source_ds

    from horizon

),

points as (

    select
        last_week.host_id,
        last_week.resource,
        horizon_steps.segment,
        horizon_steps.ds,
        datediff('day', horizon_steps.cut, horizon_steps.ds) as horizon_day,
        least(greatest(last_week.y, 0), 100) as yhat

    from horizon_steps
    inner join last_week
        on
            horizon_steps.segment = last_week.segment
            and horizon_steps.source_ds = last_week.ds

),

final as (

    select
        points.host_id,
        points.resource,
        'seasonal_naive' as model,
        points.segment,
        points.ds,
        points.yhat,
        points.yhat + coalesce(quantiles.lower_quantile, -1.2816 * sqrt(ceil(points.horizon_day / 7)))
        * case points.segment when 'backtest' then scales.backtest_scale else scales.forecast_scale end
            as raw_lower,
        points.yhat + coalesce(quantiles.upper_quantile, 1.2816 * sqrt(ceil(points.horizon_day / 7)))
        * case points.segment when 'backtest' then scales.backtest_scale else scales.forecast_scale end
            as raw_upper

    from points
    inner join scales
        on
            points.host_id = scales.host_id
            and points.resource = scales.resource
    left join quantiles
        on points.horizon_day = quantiles.horizon_day

)

select
    host_id,
    resource,
    model,
    segment,
    ds,
    yhat,
    least(yhat, greatest(raw_lower, 0)) as yhat_lower,
    greatest(yhat, least(raw_upper, 100)) as yhat_upper

from final
