{#-
    Seasonal naive (weekly): the yardstick every engine must beat. Each forecast day repeats the same weekday
    of the last week before the cut (train_end for the backtest, history_end for the forecast). Like the
    Python engines it only forecasts series with enough history (int_series_eligibility).

    Interval: the forecast k weeks ahead errs by y(t) - y(t - 7k), so the band is the series' own quantiles
    of k-week differences over the year before the cut, for k in 1, 2, 4, 8, 13, 26 weeks (a horizon uses
    the next k at or above it: conservative between the steps).
-#}
{%- set width = var('interval_width') | float -%}
{%- set alpha = (1 - width) / 2 -%}
{%- set host_limit = var('forecast_host_limit', none) -%}

with

all_series_days as (

    select
        host_id,
        resource,
        ds,
        y

    from {{ ref('processed_data') }}

),

selected_hosts as (

    select distinct host_id

    from all_series_days
    {%- if host_limit is not none and (host_limit | string | trim) not in ('', 'none', 'None', 'null') %}
        order by host_id
        limit {{ host_limit | int }}
    {%- endif %}

),

eligible_series as (

    select
        host_id,
        resource

    from {{ ref('int_series_eligibility') }}
    where is_eligible

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
        history_end as last_day

    from windows

    union all

    select
        'forecast' as segment,
        history_end as cut,
        forecast_start as first_day,
        forecast_end as last_day

    from windows

),

lagged as (

    select
        host_id,
        resource,
        ds,
        y - lag(y, 7) over series_days as diff_1w,
        y - lag(y, 14) over series_days as diff_2w,
        y - lag(y, 28) over series_days as diff_4w,
        y - lag(y, 56) over series_days as diff_8w,
        y - lag(y, 91) over series_days as diff_13w,
        y - lag(y, 182) over series_days as diff_26w

    from processed_data
    -- Only the year before each cut is used, plus 26 weeks of lag before it: skip older history.
    where ds > (select windows.train_end - 364 - 182 from windows)
    window series_days as (partition by host_id, resource order by ds)

),

differences as (

    unpivot lagged
    on diff_1w, diff_2w, diff_4w, diff_8w, diff_13w, diff_26w
    into name lag_name value difference

),

spreads as (

    -- One pass per cut with plain range filters (a range join against the cuts was ~10x slower).
    {% for segment, cut in [('backtest', 'train_end'), ('forecast', 'history_end')] %}
        select
            differences.host_id,
            differences.resource,
            '{{ segment }}' as segment,
            cast(regexp_extract(differences.lag_name, '(\d+)', 1) as integer) as weeks,
            quantile_cont(differences.difference, {{ alpha }}) as lower_offset,
            quantile_cont(differences.difference, {{ 1 - alpha }}) as upper_offset

        from differences
        cross join windows
        where
            differences.ds <= windows.{{ cut }}
            and differences.ds > windows.{{ cut }} - 364
        group by all
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

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
        ds,
        cast(ds - 7 * cast(ceil((ds - cut) / 7) as integer) as date) as source_ds,
        case
            when ceil((ds - cut) / 7) <= 1 then 1
            when ceil((ds - cut) / 7) <= 2 then 2
            when ceil((ds - cut) / 7) <= 4 then 4
            when ceil((ds - cut) / 7) <= 8 then 8
            when ceil((ds - cut) / 7) <= 13 then 13
            else 26
        end as weeks

    from horizon

),

points as (

    select
        last_week.host_id,
        last_week.resource,
        horizon_steps.segment,
        horizon_steps.ds,
        horizon_steps.weeks,
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
        least(points.yhat, greatest(points.yhat + coalesce(spreads.lower_offset, 0), 0)) as yhat_lower,
        greatest(points.yhat, least(points.yhat + coalesce(spreads.upper_offset, 0), 100)) as yhat_upper

    from points
    left join spreads
        on
            points.host_id = spreads.host_id
            and points.resource = spreads.resource
            and points.segment = spreads.segment
            and points.weeks = spreads.weeks

)

select * from final
