-- The series a scenario or the baseline flags (the capacity_risks rule), with owners and what the scenario
-- changes: a new breach, a cleared one, or a first breach date moved by breach_shift_days.
with

outlook as (
    select * from {{ ref('int_scenario_series_outlook') }}
),

hosts as (
    select * from {{ ref('hosts') }}
)

select
    outlook.scenario_name,
    outlook.host_id,
    outlook.resource,
    hosts.hostname,
    hosts.department,
    hosts.app_code,
    hosts.app_manager,
    outlook.baseline_is_breach_alert,
    outlook.scenario_is_breach_alert,
    outlook.baseline_first_breach_date,
    outlook.scenario_first_breach_date,
    outlook.baseline_days_to_breach,
    outlook.scenario_days_to_breach,
    outlook.breach_shift_days,
    outlook.baseline_peak_yhat_upper,
    outlook.scenario_peak_yhat_upper,
    case
        when outlook.scenario_is_breach_alert and not outlook.baseline_is_breach_alert then 'new breach'
        when outlook.baseline_is_breach_alert and not outlook.scenario_is_breach_alert then 'cleared'
        when outlook.breach_shift_days < 0 then 'earlier'
        when outlook.breach_shift_days > 0 then 'later'
        else 'unchanged'
    end as breach_change
from outlook
inner join hosts on outlook.host_id = hosts.host_id
where outlook.baseline_is_breach_alert or outlook.scenario_is_breach_alert
