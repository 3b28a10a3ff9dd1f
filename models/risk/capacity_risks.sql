-- Capacity risks at any trust level (trust_level says how far to trust each one): the series the breach alert
-- flags (int_series_breach_outlook.is_breach_alert; by default, the calibrated upper bound without the growth
-- upside crosses breach_threshold within breach_window_days of the end of history on a day whose chance of
-- exceeding it is at least breach_alert_min_probability, 0.15, and an uninformative band alone does not flag;
-- or its recurring peaks
-- over the threshold make another within the window more likely than not), with their owners.
-- One row per at-risk host x resource.
with

outlook as (
    select * from {{ ref('int_series_breach_outlook') }}
),

hosts as (
    select * from {{ ref('hosts') }}
)

select
    outlook.host_id,
    outlook.resource,
    hosts.hostname,
    hosts.department,
    hosts.app_code,
    hosts.app_name,
    hosts.app_manager,
    hosts.region,
    hosts.environment,
    outlook.champion_model,
    outlook.backtest_mape,
    outlook.trust_level,
    outlook.champion_reason,
    -- A window day: the upper bound's first crossing of a flagged series, or its recurring peaks' date.
    outlook.first_breach_date,
    outlook.days_to_breach,
    outlook.first_point_breach_date as expected_breach_date,
    outlook.days_to_point_breach as days_to_expected_breach,
    outlook.peak_yhat_upper,
    outlook.peak_yhat,
    outlook.headroom_90d,
    outlook.headroom_180d,
    outlook.breach_basis,
    outlook.breach_probability
from outlook
inner join hosts on outlook.host_id = hosts.host_id
where outlook.is_breach_alert
