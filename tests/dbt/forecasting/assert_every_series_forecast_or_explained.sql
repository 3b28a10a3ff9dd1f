-- Every series of processed_data is either in the golden forecasts or in forecast_exclusions (never both).
with

series as (
    select distinct
        host_id,
        resource
    from {{ ref('processed_data') }}
),

forecast_series as (
    select distinct
        host_id,
        resource
    from {{ ref('forecasts') }}
),

excluded as (
    select
        host_id,
        resource
    from {{ ref('forecast_exclusions') }}
)

select
    series.host_id,
    series.resource,
    forecast_series.host_id is not null as is_forecast,
    excluded.host_id is not null as is_excluded
from series
left join forecast_series
    on
        series.host_id = forecast_series.host_id
        and series.resource = forecast_series.resource
left join excluded
    on
        series.host_id = excluded.host_id
        and series.resource = excluded.resource
where (forecast_series.host_id is null) = (excluded.host_id is null)
