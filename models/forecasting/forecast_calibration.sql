-- Interval calibration per series and engine (split-conformal, CQR style) from backtest residuals.
-- interval_score = how far outside its own interval an actual fell; its conformal quantile is the offset that
-- widens (or, if negative, narrows) the interval so that it covers `interval_width` of backtest actuals.
-- The honest check is cross-fitted: calibrate on one half of the backtest, measure coverage on the other.
with

errors as (
    select
        *,
        row_number() over (partition by host_id, resource, model order by ds) as day_number,
        count(*) over (partition by host_id, resource, model) as points
    from {{ ref('int_backtest_errors') }}
),

halves as (
    select
        *,
        case when day_number <= points / 2 then 'first' else 'second' end as half,
        row_number() over (partition by host_id, resource, model order by interval_score, ds) as score_rank
    from errors
),

{% set level = var('interval_width') %}

offsets as (
    select
        host_id,
        resource,
        model,
        count(*) as points,
        -- Finite-sample conformal quantile: the ceil((n + 1) * level)-th smallest score (capped at n).
        max(interval_score) filter (
            where score_rank = least(points, ceil((points + 1) * {{ level }}))
        ) as calibration_offset,
        quantile_disc(interval_score, {{ level }}) filter (where half = 'first') as first_half_offset,
        quantile_disc(interval_score, {{ level }}) filter (where half = 'second') as second_half_offset,
        avg(case when is_covered then 1.0 else 0.0 end) as raw_coverage
    from halves
    group by all
),

crossfit as (
    select
        halves.host_id,
        halves.resource,
        halves.model,
        avg(
            case
                when halves.half = 'first' then (halves.interval_score <= offsets.second_half_offset)::int
                else (halves.interval_score <= offsets.first_half_offset)::int
            end
        ) as crossfit_coverage
    from halves
    inner join offsets
        on
            halves.host_id = offsets.host_id
            and halves.resource = offsets.resource
            and halves.model = offsets.model
    group by all
)

select
    offsets.host_id,
    offsets.resource,
    offsets.model,
    offsets.points,
    {{ level }} as nominal_coverage,
    offsets.raw_coverage,
    offsets.calibration_offset,
    crossfit.crossfit_coverage
from offsets
inner join crossfit
    on
        offsets.host_id = crossfit.host_id
        and offsets.resource = crossfit.resource
        and offsets.model = crossfit.model
