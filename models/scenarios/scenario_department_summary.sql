-- Per scenario x department in scope: baseline vs scenario RAG counts, hosts that turn RED (or leave it), and
-- how far the scenario moves flagged breach dates (macros/whatif.sql, whatif_department_summary).
with

host_status as (
    select * from {{ ref('scenario_host_status') }}
)

{{ whatif_department_summary('host_status') }}
