with

windows as (

    select * from {{ ref('forecast_windows') }}

),

days as (

    select cast(unnest(range(windows.history_start, windows.history_end + 1, interval 1 day)) as date) as ds

    from windows

),

final as (

    select
        days.ds,
        strftime(days.ds, '%Y-%m') as yearmonth,
        year(days.ds) as year,  -- noqa: RF04
        quarter(days.ds) as quarter,  -- noqa: RF04
        month(days.ds) as month,  -- noqa: RF04
        monthname(days.ds) as month_name,
        day(days.ds) as day_of_month,
        isodow(days.ds) as day_of_week,
        dayname(days.ds) as day_name,
        weekofyear(days.ds) as iso_week,
        dayofyear(days.ds) as day_of_year,
        isodow(days.ds) >= 6 as is_weekend,
        days.ds = last_day(days.ds) as is_month_end,
        days.ds = last_day(days.ds) and month(days.ds) % 3 = 0 as is_quarter_end,
        datediff('day', windows.history_start, days.ds) as day_index,
        days.ds between windows.backtest_start and windows.backtest_end as is_backtest

    from days
    cross join windows

)

select * from final
