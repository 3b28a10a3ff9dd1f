-- The list an application manager receives: every at-risk series of their applications, soonest first (the
-- likelier first on the same day).
with

risks as (
    select * from {{ ref('capacity_risks') }}
)

select
    app_code,
    app_name,
    app_manager,
    department,
    host_id,
    hostname,
    resource,
    region,
    environment,
    first_breach_date,
    days_to_breach,
    peak_yhat_upper,
    headroom_90d,
    champion_model,
    trust_level,
    backtest_mape,
    breach_basis,
    breach_probability,
    row_number() over (
        partition by app_code
        order by days_to_breach asc, breach_probability desc, peak_yhat_upper desc, hostname asc, resource asc
    ) as priority
from risks
