-- Per scenario x host in scope: the fleet_health RAG status under the baseline and under the scenario
-- (macros/whatif.sql, whatif_rag_reason and whatif_rag_status), and the soonest flagged breach under each.
with

scenarios as (
    select * from {{ ref('stg_whatif_scenarios') }}
),

hosts as (
    select * from {{ ref('hosts') }}
),

outlook as (
    select * from {{ ref('int_scenario_series_outlook') }}
),

exclusions as (
    select * from {{ ref('forecast_exclusions') }}
),

stale as (
    select * from {{ ref('stale_hosts') }}
),

scope_hosts as (
    {{ whatif_scope_hosts('scenarios', 'hosts') }}
)

{{ whatif_host_comparison('scope_hosts', 'outlook', 'exclusions', var('amber_threshold'), 'stale') }}
