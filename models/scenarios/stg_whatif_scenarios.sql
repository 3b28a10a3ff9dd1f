-- The what-if scenarios of the seed whatif_scenarios, normalised by the macro that also reads the CLI's and the
-- dashboard's ad-hoc scenario (macros/whatif.sql): trimmed names, lower-case scope kind and resource, missing
-- effects neutral (0 growth, 0 step, capacity factor 1).
{{ whatif_normalized(ref('whatif_scenarios')) }}
