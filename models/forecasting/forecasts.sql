-- The golden record: each series' champion 180-day production forecast with a calibrated interval.
--
-- Range guard: a series whose point forecast never rises above what it reached in the last range_guard_days
-- (no growth beyond its own past) gets an upper bound no higher than that year's maximum plus the gap between
-- its maximum and 95th percentile (at least 1 point). A flat forecast gives no reason to expect values the
-- series has not shown, and pooled bands are drawn for the fleet, not for a host whose load alternates between
-- two levels or sits steady near its ceiling (both raised false breach alarms on fleets we did not generate).
--
-- Growth upside: where the series' last weeks fit a rising compounding curve at least as well as a line or a
-- hinge (int_series_growth_upside.evidence >= growth_upside_min_evidence), or its last two years do and that
-- curve still keeps a band's tail chance over the last weeks (long_evidence), the upper bound is at least that
-- curve plus the band's own upper half-width (capped at 100). Prophet forecasts the curve itself only on strong
-- evidence; below that the curve is still a likely path, and a band drawn around the line alone missed slow
-- compounding growth that more than doubled within the horizon. The point forecast and lower bound stay.
-- upper_without_upside is the upper bound the band would have without it (yhat_upper on days it did not lift):
-- the breach alert reads that one (var breach_alert_growth_upside), so the curve widens the band, not the alert.
-- A curve whose doubling time sits in the outermost step of the searched grid (is_edge_rate: the search found
-- no rate clearly inside 25-400 days) lifts nothing (var growth_upside_edge_rates: true lets it): at the fast end
-- it is a calm host's last high days read as growth doubling monthly, lifting the bound by tens of points; at the
-- slow end growth slower than any curve searched, which the 400-day curve outruns. Without a curve, such a series
-- may take the history band.
--
-- History band: a flat forecast (the range guard applies) of a series without a growth-upside curve, whose last
-- year was stationary and whose own range beat the champion's band on the backtest
-- (int_series_history_band.uses_history_band), takes that range as its band; on a side where yhat leaves the
-- range, the calibrated bound stays. A restart sawtooth, a disk with cleanups or a host flipping between two
-- levels has a range, not a path, a few weeks out; the engines' bands were too wide for the first two shapes'
-- far days and too narrow for the cleanups.
--
-- Trend stop: where the champion's series has a new rise (model_leaderboard.has_recent_trend with a positive
-- recent_trend_per_day, at least trend_stop_min_acceleration times the slope of the year before the
-- recent_trend_days window), the lower bound follows it for trend_stop_days and then holds at that day's lower
-- bound (is_trend_stop_lower): a rise seen over a few weeks may stop at any time, and a band whose lower bound
-- climbs with it for six months states a certainty no history of weeks gives. Growth that has lasted a year
-- (a line, a compounding curve) keeps its band. The point forecast and the upper bound (the breach alert's
-- side) stay. A ramp that levelled off after the history ended sat under such a band on three days in four.
-- A new fall (trend_stop_falls) is the mirror: the upper bound holds from trend_stop_days ahead
-- (is_trend_stop_upper). A drain forecast on to 0 may settle anywhere above it, and its band had sat under a host
-- still idling at a few percent; the held value is one of the first trend_stop_days' upper bounds, so the
-- baseline alert (breach_alert_min_days 1) gains no day. A what-if growth factor multiplies the held bound like
-- any other, so a scenario may cross where the falling band did not: if the fall stops, the growth starts there.
--
-- Wander band: a series whose level regime_engine read as wandering (model_leaderboard.has_wandering_level)
-- gets at least regime_engine's calibrated half-widths on each side of its champion's point forecast, on every
-- day, past the range guard and the history band (var wander_band; false: off). That band grows with the
-- wander's own past misses week by week ahead; an XGBoost or seasonal-naive champion's stays as wide as a few
-- weeks' noise, and a level that wanders leaves a year's range. On read blind seeds 2033-2035 the wandering
-- family's non-Prophet champions covered 0.34-0.71 of their future, Prophet's band on the same series 0.58-0.93.
-- The point forecast stays, and so does upper_without_upside: the alert reads the band without it, as it does
-- without the growth upside (a wander is as likely to go down as up; it widens the band, not the alert).
--
-- At a limit (a point forecast of 0 or 100) a band keeps its first day's half-width on the open side: a drain
-- forecast to 0 gets an upper bound over 0 (hosts emptied still idle at a few percent), a ramp forecast to 100
-- a lower bound under it. Clipped at the limit, the band had shrunk to one value.
{%- set upside_evidence = var('growth_upside_min_evidence', none) %}
{%- set upside_edge_rates = flag_var('growth_upside_edge_rates', false) %}
{%- set stop_days = var('trend_stop_days', none) %}
{%- set stop_falls = flag_var('trend_stop_falls', true) %}
{%- set wander_band = flag_var('wander_band', true) %}
{%- set regime_engine = regime_engine_name() %}
with

leaderboard as (
    select * from {{ ref('model_leaderboard') }}
),

calibration as (
    select * from {{ ref('forecast_calibration') }}
),

windows as (
    select * from {{ ref('forecast_windows') }}
),

-- One read of each series' recent observed history: its last range_guard_days' maximum and 95th percentile
-- (range guard), and the slope of the year before the recent_trend_days window (trend stop: a rise or fall it
-- treats as new must be trend_stop_min_acceleration times steeper than that).
{%- set range_days = var('range_guard_days') | int %}
{%- set trend_days = var('recent_trend_days') | int %}
recent_history as (
    select
        history.host_id,
        history.resource,
        max(history.y) filter (where history.ds > windows.history_end - {{ range_days }}) as recent_max,
        quantile_cont(history.y, 0.95) filter (
            where history.ds > windows.history_end - {{ range_days }}
        ) as recent_p95,
        regr_slope(history.y, datediff('day', windows.history_end, history.ds)) filter (
            where
            history.ds <= windows.history_end - {{ trend_days }}
            and history.ds > windows.history_end - {{ trend_days + 365 }}
        ) as prior_slope_per_day
    from {{ ref('processed_data') }} as history
    cross join windows
    where
        not history.is_imputed
        and history.ds > windows.history_end - {{ [range_days, trend_days + 365] | max }}
    group by all
),

production as (
    {{- union_engine_forecasts('forecast') }}
),

upside as (
    select * from {{ ref('int_series_growth_upside') }}
    {%- if upside_evidence is none %}
        where false
    {%- else %}
        where
            (evidence >= {{ upside_evidence }} or long_evidence >= {{ upside_evidence }})
            and (is_edge_rate is not true or {{ upside_edge_rates }})
    {%- endif %}
),

history_band as (
    select * from {{ ref('int_series_history_band') }}
    where uses_history_band
),

-- regime_engine's calibrated half-widths, day by day, for the series whose level it read as wandering.
wander_bands as (
    select
        production.host_id,
        production.resource,
        production.ds,
        greatest(production.yhat - production.yhat_lower, 0)
        * coalesce(calibration.interval_stretch, 1.0) as wander_lower_half,
        greatest(production.yhat_upper - production.yhat, 0)
        * coalesce(calibration.interval_stretch, 1.0) as wander_upper_half
    from production
    inner join leaderboard
        on
            production.host_id = leaderboard.host_id
            and production.resource = leaderboard.resource
            and production.model = leaderboard.model
    left join calibration
        on
            production.host_id = calibration.host_id
            and production.resource = calibration.resource
            and production.model = calibration.model
    where
        production.model = '{{ regime_engine }}'
        and leaderboard.has_wandering_level
        -- the var off: no series has a wander band
        and {{ 'true' if wander_band else 'false' }}
),

champions as (
    select
        host_id,
        resource,
        model,
        mape,
        wape,
        champion_reason,
        is_regime_override,
        has_recent_break,
        has_recent_trend,
        recent_trend_per_day
    from leaderboard
    where is_champion
),

golden as (
    select
        production.host_id,
        production.resource,
        production.ds,
        production.yhat,
        production.yhat_lower as raw_yhat_lower,
        production.yhat_upper as raw_yhat_upper,
        coalesce(calibration.interval_stretch, 1.0) as interval_stretch,
        calibration.difficulty_score as champion_difficulty,
        champions.model as champion_model,
        champions.mape as backtest_mape,
        champions.wape as backtest_wape,
        champions.champion_reason,
        champions.is_regime_override,
        champions.has_recent_break,
        wander_bands.wander_lower_half,
        wander_bands.wander_upper_half,
        coalesce(
            champions.has_recent_trend
            and champions.recent_trend_per_day > 0
            and champions.recent_trend_per_day
            > {{ var('trend_stop_min_acceleration') }} * coalesce(recent_history.prior_slope_per_day, 0),
            false
        ) as has_new_rise,
        {%- if stop_falls %}
            coalesce(
                champions.has_recent_trend
                and champions.recent_trend_per_day < 0
                and champions.recent_trend_per_day
                < {{ var('trend_stop_min_acceleration') }} * coalesce(recent_history.prior_slope_per_day, 0),
                false
            )
        {%- else %}
            false
        {%- endif %} as has_new_fall,
        datediff('day', windows.history_end, production.ds) as day_ahead,
        case
            when max(production.yhat) over series <= recent_history.recent_max
                then recent_history.recent_max + greatest(recent_history.recent_max - recent_history.recent_p95, 1.0)
        end as upper_ceiling
    from production
    inner join champions
        on
            production.host_id = champions.host_id
            and production.resource = champions.resource
            and production.model = champions.model
    left join calibration
        on
            production.host_id = calibration.host_id
            and production.resource = calibration.resource
            and production.model = calibration.model
    left join recent_history
        on
            production.host_id = recent_history.host_id
            and production.resource = recent_history.resource
    left join wander_bands
        on
            production.host_id = wander_bands.host_id
            and production.resource = wander_bands.resource
            and production.ds = wander_bands.ds
    cross join windows
    window series as (partition by production.host_id, production.resource)
),

banded as (
    select
        *,
        -- Calibrated band: the champion's own band stretched around yhat by its conformal factor
        -- (forecast_calibration), never crossing the point forecast and always physical (0-100%).
        {{ stretched_lower('yhat', 'raw_yhat_lower', 'interval_stretch') }} as calibrated_lower,
        {{ stretched_upper('yhat', 'raw_yhat_upper', 'interval_stretch') }} as calibrated_upper
    from golden
),

guarded as (
    select
        *,
        greatest(yhat, least(calibrated_upper, coalesce(upper_ceiling, 100))) as guarded_upper
    from banded
),

lifted as (
    select
        guarded.*,
        -- least() and greatest() skip nulls: without a curve, null, never 100.
        case
            when upside.host_id is not null
                then least(
                    100,
                    upside.curve_floor
                    + upside.curve_scale
                    * exp(least(upside.growth_rate * datediff('day', upside.anchor_date, guarded.ds), 50))
                    + (guarded.guarded_upper - guarded.yhat)
                )
        end as upside_upper
    from guarded
    left join upside
        on
            guarded.host_id = upside.host_id
            and guarded.resource = upside.resource
),

-- A series takes the history band on every day or on none: upper_ceiling and the curve are per series.
placed as (
    select
        lifted.*,
        history_band.host_id is not null
        and lifted.upper_ceiling is not null
        and lifted.upside_upper is null as uses_history_band,
        history_band.band_lower as history_lower,
        history_band.band_upper as history_upper
    from lifted
    left join history_band
        on
            lifted.host_id = history_band.host_id
            and lifted.resource = history_band.resource
),

-- The lower bound a new rise's band and the upper bound a new fall's band hold from trend_stop_days ahead on
-- (null: no new rise or fall, or trend stop off).
stopped as (
    select
        *,
        coalesce(uses_history_band and yhat >= history_lower, false) as takes_history_lower,
        -- The wander band's bounds (null without one: greatest() and least() would read a null half as 0 / 100).
        case when wander_lower_half is not null then greatest(0, yhat - wander_lower_half) end as wander_lower,
        case when wander_upper_half is not null then least(100, yhat + wander_upper_half) end as wander_upper,
        coalesce(uses_history_band and yhat <= history_upper, false) as takes_history_upper,
        {%- if stop_days is none %}
            cast(null as double) as stop_lower,
            cast(null as double) as stop_upper
        {%- else %}
            case
                when has_new_rise and day_ahead > {{ stop_days | int }}
                    then max(calibrated_lower) filter (where day_ahead = {{ stop_days | int }}) over series
            end as stop_lower,
            case
                when has_new_fall and day_ahead > {{ stop_days | int }}
                    then max(guarded_upper) filter (where day_ahead = {{ stop_days | int }}) over series
            end as stop_upper
        {%- endif %}
    from placed
    window series as (partition by host_id, resource)
),

engine_golden as (
    select
        host_id,
        resource,
        ds,
        yhat,
        -- least() and greatest() skip nulls: no wander band (null bounds), the bound as it was.
        cast(least(
            case
                when takes_history_lower then greatest(0, history_lower) else least(calibrated_lower, stop_lower)
            end,
            wander_lower
        ) as double) as yhat_lower,
        cast(greatest(
            case
                when takes_history_upper then least(100, history_upper)
                else greatest(guarded_upper, upside_upper, stop_upper)
            end,
            wander_upper
        ) as double) as yhat_upper,
        raw_yhat_lower,
        raw_yhat_upper,
        interval_stretch,
        cast(champion_difficulty as double) as champion_difficulty,
        cast({{ var('interval_width') }} as double) as interval_width,
        champion_model,
        backtest_mape,
        backtest_wape,
        case
            -- The series left the model that won its backtest, or the champion's own band missed most of its last
            -- weeks (no other engine could take over): its backtest score says nothing about the forecast.
            when is_regime_override or has_recent_break then 'LOW'
            when backtest_mape <= {{ var('trust_high_max_mape') }} then 'HIGH'
            when backtest_mape <= {{ var('trust_medium_max_mape') }} then 'MEDIUM'
            else 'LOW'
        end as trust_level,
        champion_reason,
        is_regime_override,
        cast(upper_ceiling as double) as upper_ceiling,
        cast(case when upside_upper > guarded_upper then upside_upper end as double) as growth_upside,
        -- yhat_upper as it would be without the upside and the wander band (the same on every day they did not lift).
        cast(case
            when takes_history_upper then least(100, history_upper) else greatest(guarded_upper, stop_upper)
        end as double) as upper_without_upside,
        case when uses_history_band then 'history' else 'engine' end as band_source,
        wander_upper_half is not null as has_wander_band,
        not takes_history_lower and coalesce(stop_lower < calibrated_lower, false) as is_trend_stop_lower,
        not takes_history_upper
        and coalesce(stop_upper > greatest(guarded_upper, upside_upper), false) as is_trend_stop_upper
    from stopped
),

-- Series too young for a backtest (no champion above): a straight line with its own band, LOW trust.
young as (
    select
        host_id,
        resource,
        ds,
        yhat,
        yhat_lower,
        yhat_upper,
        yhat_lower as raw_yhat_lower,
        yhat_upper as raw_yhat_upper,
        cast(1.0 as double) as interval_stretch,
        cast(null as double) as champion_difficulty,
        cast({{ var('interval_width') }} as double) as interval_width,
        'young_trend' as champion_model,
        cast(null as double) as backtest_mape,
        cast(null as double) as backtest_wape,
        'LOW' as trust_level,
        champion_reason,
        false as is_regime_override,
        cast(null as double) as upper_ceiling,
        cast(null as double) as growth_upside,
        yhat_upper as upper_without_upside,
        'engine' as band_source,
        false as has_wander_band,
        false as is_trend_stop_lower,
        false as is_trend_stop_upper
    from {{ ref('int_young_series_forecasts') }}
),

golden_and_young as (
    select * from engine_golden
    union all
    select * from young
),

first_days as (
    select
        *,
        first_value(yhat - yhat_lower) over first_day as first_lower_half,
        first_value(yhat_upper - yhat) over first_day as first_upper_half
    from golden_and_young
    window first_day as (partition by host_id, resource order by ds)
)

select
    * exclude (first_lower_half, first_upper_half)
    replace (
        case when yhat >= 100 then least(yhat_lower, 100 - first_lower_half) else yhat_lower end as yhat_lower,
        case when yhat <= 0 then greatest(yhat_upper, first_upper_half) else yhat_upper end as yhat_upper,
        case
            when yhat <= 0 then greatest(upper_without_upside, first_upper_half) else upper_without_upside
        end as upper_without_upside
    )
from first_days
