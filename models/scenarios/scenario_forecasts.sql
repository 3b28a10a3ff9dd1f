-- Every golden forecast row of the hosts in each scenario's scope, the scenario's yhat and band beside the
-- baseline's (formula: macros/whatif.sql, whatif_adjust). One row per scenario x host x resource x day.
with

scenarios as (
    select * from {{ ref('stg_whatif_scenarios') }}
),

hosts as (
    select * from {{ ref('hosts') }}
),

forecasts as (
    select * from {{ ref('forecasts') }}
),

windows as (
    select * from {{ ref('forecast_windows') }}
),

scope_hosts as (
    {{ whatif_scope_hosts('scenarios', 'hosts') }}
)

{{ whatif_forecasts('scenarios', 'scope_hosts', 'forecasts', 'windows') }}
