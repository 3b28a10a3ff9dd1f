-- Right-sizing: for every host x resource, the size that keeps its forecast peak at or under the resource's target
-- utilization, and what to do about it.
--
-- Rule (vars in dbt_project.yml): peak = the calibrated upper bound's highest value over the whole forecast
-- horizon or, for a series its recurring peaks flag (int_series_breach_outlook), the higher of that and its
-- highest recurring peak on today's level; clipped to 100% (a peak that reaches 100% says the demand is at least
-- the whole host: the size is then a floor, is_peak_capped). required = capacity x peak / target. right size =
-- required rounded up to a multiple of the resource's purchasable step, never below its minimum size.
--   upsize    the peak exceeds the target: buy right size - capacity, needed by the first day the upper bound
--             exceeds the target (sized on recurring peaks: that day or the peaks' date, the earlier);
--   downsize  the right size gives back at least rightsizing_min_reclaim_share of the capacity;
--   keep      otherwise (the peak fits, the host is at its minimum size, or the change is not worth a resize).
-- Only series that deserve action are sized; the others get 'no_recommendation' and the first reason that
-- applies: no telemetry (an inventory host none of whose rows reached the warehouse still gets a row per resource
-- the fleet reports, so that no host drops out of the list), network (not sized), no forecast, unknown capacity,
-- stale or short history, a recent break, LOW trust (the last two only without a breach alert: an alerted series
-- is upsized, its reason saying low confidence).
{%- set reclaim_share = var('rightsizing_min_reclaim_share') -%}
{%- set min_history_days = var('rightsizing_min_history_days') -%}
{%- set max_stale_days = var('rightsizing_max_stale_days') %}

with

facts as (
    select * from {{ ref('int_series_sizing_facts') }}
),

hosts as (
    select * from {{ ref('hosts') }}
),

settings as (
    {{ rightsizing_settings_sql() }}
),

fleet_resources as (
    select distinct resource from facts
),

-- Inventory hosts without a single row in processed_data: nothing to size, but a planner must see them.
silent_hosts as (
    select
        hosts.host_id,
        fleet_resources.resource,
        false as has_forecast,
        0 as history_observed_days,
        false as is_breach_alert,
        true as has_no_telemetry
    from hosts
    cross join fleet_resources
    where hosts.host_id not in (select facts.host_id from facts)
),

all_series as (
    select * from facts
    union all by name
    select * from silent_hosts
),

joined as (
    select
        facts.*,
        hosts.hostname,
        hosts.department,
        hosts.app_code,
        hosts.app_name,
        hosts.app_manager,
        hosts.region,
        hosts.environment,
        settings.capacity_unit,
        settings.target_utilization,
        settings.size_step,
        settings.min_size,
        case facts.resource
            {%- for item in rightsizing_resources() %}
                when '{{ item.resource }}' then cast(hosts.{{ item.capacity_column }} as double)
            {%- endfor %}
        end as current_capacity,
        -- least() skips nulls: least(null, 100) would give a series without a forecast a 100% peak.
        case when facts.peak_yhat is not null then least(facts.peak_yhat, 100) end as peak_point,
        case
            when facts.peak_yhat_upper is not null
                then least(greatest(facts.peak_yhat_upper, coalesce(facts.recurring_peak_height, 0)), 100)
        end as peak_upper,
        coalesce(greatest(facts.peak_yhat_upper, coalesce(facts.recurring_peak_height, 0)) >= 100, false)
            as is_peak_capped,
        coalesce(facts.recurring_peak_height > facts.peak_yhat_upper, false) as is_sized_on_peaks,
        -- The size is needed by the band's first day over the target or, sized on recurring peaks, by the
        -- peaks' date when that is earlier (or the band never gets there).
        coalesce(
            facts.recurring_peak_height > facts.peak_yhat_upper
            and coalesce(facts.recurring_peak_date < facts.first_over_target_date, true),
            false
        ) as is_due_on_peaks,
        case facts.resource
            {%- for item in rightsizing_resources() %}
                when '{{ item.resource }}' then '{{ item.capacity_column }}'
            {%- endfor %}
        end as capacity_column
    from all_series as facts
    inner join hosts on facts.host_id = hosts.host_id
    left join settings on facts.resource = settings.resource
),

sized as (
    select
        *,
        case when is_due_on_peaks then recurring_peak_date else first_over_target_date end as sizing_date,
        case when is_due_on_peaks then days_to_recurring_peak else days_to_over_target end as days_to_sizing_date,
        current_capacity * peak_upper / 100 as peak_demand,
        current_capacity * peak_upper / target_utilization as required_capacity,
        -- Rounded to 6 places first: capacity x peak / target lands a hair above a whole step in floating point.
        greatest(
            min_size, ceil(round(current_capacity * peak_upper / target_utilization / size_step, 6)) * size_step
        ) as right_size
    from joined
),

decided as (
    select
        *,
        case
            when coalesce(has_no_telemetry, false)
                then
                    'no telemetry: none of its rows reached the warehouse (left out of the export, or every row '
                    || 'rejected: see telemetry_rejects)'
            when target_utilization is null
                then 'network is not sized: inventories carry no link capacity (its breaches are in capacity_risks)'
            when not has_forecast
                then 'no forecast: ' || coalesce(no_forecast_reason, 'no golden forecast')
            when current_capacity is null or current_capacity <= 0
                then 'capacity unknown: the inventory gives no ' || capacity_column || ' for this host'
            when last_observed_date is null or days_since_observed > {{ max_stale_days }}
                then
                    'stale: last observed ' || coalesce(strftime(last_observed_date, '%Y-%m-%d'), 'never') || ', '
                    || coalesce(days_since_observed || ' days', 'ever') || ' before history_end (limit '
                    || {{ max_stale_days }} || ' days)'
            when history_observed_days < {{ min_history_days }}
                then
                    'short history: ' || history_observed_days || ' observed days (need '
                    || {{ min_history_days }} || ')'
            -- A breach alert is acted on whatever the trust: the alert rule already weighs the band, and the
            -- series that broke from their backtest (late ramps) are the ones that most need capacity.
            when is_regime_override and not coalesce(is_breach_alert, false)
                then
                    'handed over: the series left its backtest winner (its band, or a trend, season, curve or '
                    || 'steps it cannot forecast), so its forecast has no track record yet'
            -- LOW with a MAPE under the MEDIUM bar: the champion's band missed most of its last weeks.
            when
                trust_level = 'LOW' and not coalesce(is_breach_alert, false)
                and backtest_mape <= {{ var('trust_medium_max_mape') }}
                then
                    'recent break: the last weeks left the champion''s band, so its backtest MAPE of '
                    || {{ rightsizing_number('round(backtest_mape, 1)') }} || '% says nothing about the forecast'
            -- LOW without a backtest MAPE: a young series' straight line (int_young_series_forecasts) has no backtest;
            -- the MAPE text below would be null, and a null blocker sizes the series.
            when trust_level = 'LOW' and not coalesce(is_breach_alert, false) and backtest_mape is null
                then
                    'LOW trust: no backtest (champion ' || coalesce(champion_model, 'unknown')
                    || case when champion_model = 'young_trend' then ': a series too young for one' else '' end
                    || ')'
            when trust_level = 'LOW' and not coalesce(is_breach_alert, false)
                then
                    'LOW trust: backtest MAPE ' || {{ rightsizing_number('round(backtest_mape, 1)') }}
                    || '% (above {{ var("trust_medium_max_mape") }}%)'
        end as blocker
    from sized
),

actions as (
    select
        *,
        case
            when blocker is not null then 'no_recommendation'
            when peak_upper > target_utilization then 'upsize'
            when right_size <= current_capacity * (1 - {{ reclaim_share }}) then 'downsize'
            else 'keep'
        end as action
    from decided
),

recommended as (
    select
        *,
        case
            when action in ('upsize', 'downsize') then right_size
            when action = 'keep' then current_capacity
        end as recommended_capacity,
        case when is_sized_on_peaks then 'recurring peaks reach ' else 'peak upper bound ' end
        || {{ rightsizing_number('round(peak_upper, 1)') }} || '% of '
        || {{ rightsizing_number('current_capacity') }} || ' ' || capacity_unit as peak_text,
        ' at the ' || {{ rightsizing_number('target_utilization') }} || '% target' as target_text
    from actions
)

select
    host_id,
    resource,
    hostname,
    department,
    app_code,
    app_name,
    app_manager,
    region,
    environment,
    action,
    case action
        when 'no_recommendation' then blocker
        when 'upsize'
            then
                peak_text || ' needs ' || case when is_peak_capped then 'at least ' else '' end
                || {{ rightsizing_number('right_size') }} || target_text || ': add '
                || {{ rightsizing_number('right_size - current_capacity') }} || ' ' || capacity_unit || ' by '
                || strftime(sizing_date, '%Y-%m-%d')
                || case
                    when is_regime_override
                        then ' (low confidence: a recent break, sized on its breach alert)'
                    when trust_level = 'LOW' then ' (low confidence: LOW trust, sized on its breach alert)'
                    else ''
                end
        when 'downsize'
            then
                peak_text || ' fits ' || {{ rightsizing_number('right_size') }} || target_text || ': give back '
                || {{ rightsizing_number('current_capacity - right_size') }} || ' ' || capacity_unit
        else
            case
                when
                    peak_upper <= target_utilization and right_size >= current_capacity
                    and current_capacity <= min_size
                    then
                        peak_text || ' fits' || target_text || ', at or under the minimum size of '
                        || {{ rightsizing_number('min_size') }} || ' ' || capacity_unit
                when right_size >= current_capacity
                    then peak_text || ' fits' || target_text
                else
                    peak_text || ' fits ' || {{ rightsizing_number('right_size') }} || target_text
                    || ', but giving back ' || {{ rightsizing_number('current_capacity - right_size') }} || ' '
                    || capacity_unit || ' is under the ' || cast(round(100 * {{ reclaim_share }}) as integer)
                    || '% of capacity worth a resize'
            end
    end as reason,
    capacity_unit,
    current_capacity,
    target_utilization,
    peak_point as peak_yhat,
    peak_upper as peak_yhat_upper,
    is_peak_capped,
    peak_demand,
    case when action <> 'no_recommendation' then required_capacity end as required_capacity,
    recommended_capacity,
    recommended_capacity - current_capacity as capacity_change,
    case
        when action = 'downsize' then current_capacity - recommended_capacity
        when action in ('upsize', 'keep') then 0
    end as reclaimable_capacity,
    case
        when action = 'upsize' then recommended_capacity - current_capacity
        when action in ('downsize', 'keep') then 0
    end as capacity_to_add,
    case when recommended_capacity > 0 then peak_demand / recommended_capacity * 100 end as projected_peak_utilization,
    case when action = 'upsize' then sizing_date end as needed_by_date,
    case when action = 'upsize' then days_to_sizing_date end as days_to_needed_by,
    first_breach_date,
    days_to_breach,
    is_breach_alert,
    trust_level,
    champion_model,
    backtest_mape,
    is_regime_override,
    history_observed_days,
    last_observed_date
from recommended
