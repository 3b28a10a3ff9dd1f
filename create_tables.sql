-- Raw layer of the HorizonScale warehouse, created by `horizonscale generate` and `horizonscale load`.
-- Both create every table; the generator fills the synthetic ones, the loader your own fleet's. dbt only reads.
create schema if not exists raw;

-- Enterprise inventory: one row per host as the CMDB export delivers it.
create table raw.hosts (
    host_id varchar not null,          -- lower-case UUID
    hostname varchar not null,
    cpu_cores integer not null,
    memory_gb integer not null,
    storage_gb integer not null,
    region varchar not null,
    environment varchar not null,
    department varchar not null,
    app_code varchar not null,
    app_manager varchar not null,
    scenario varchar not null,         -- behavioral DNA, UPPER_CASE (synthetic fleets only)
    variant varchar not null,          -- behavioral DNA, UPPER_CASE (synthetic fleets only)
    primary_resource varchar not null, -- resource that carries the DNA most strongly
    loaded_at timestamp not null
);

-- One row per generator run: what was asked for and what was produced.
create table raw.generation_audit (
    run_id varchar not null,
    seed bigint not null,
    hosts_requested integer not null,
    hosts_written integer not null,
    dna_combinations integer not null,
    start_date date not null,
    end_date date not null,
    telemetry_rows bigint,
    telemetry_path varchar,
    duplicate_rows bigint,
    missing_rows bigint,
    mixed_case_rows bigint,
    out_of_range_rows bigint,
    null_value_rows bigint,
    created_at timestamp not null,
    -- Days after the generated window the fleet was continued by (`generate --extend-days`); end_date includes
    -- them, so the anchored window ends at end_date - extend_days.
    extend_days integer not null default 0
);

-- Bring your own fleet (`horizonscale load`): the team's inventory export, one row per delivered row, every
-- cell as text exactly as delivered (the refinery validates it; bad rows go to inventory_rejects).
-- Empty for a synthetic fleet. The telemetry lands in the lake: lake/own_telemetry.parquet.
create table raw.inventory (
    raw_row_id bigint not null,        -- row number in the file, from 1
    host_id varchar,
    hostname varchar,
    department varchar,
    app_code varchar,
    app_manager varchar,
    region varchar,
    environment varchar,               -- optional columns: null when the file has no such column
    cpu_cores varchar,
    memory_gb varchar,
    storage_gb varchar,
    source_file varchar not null
);

-- One row per load of telemetry into the lake, either fleet: `horizonscale load` (replace: the first load of
-- your own fleet; append: `load --append`) and `horizonscale generate` (replace) / `generate --extend-days`
-- (append). Every raw telemetry row carries the load_id of the load that landed it; `load --undo LOAD_ID`
-- deletes that load's lake file and stamps undone_at here (the row stays, so the history of loads is kept).
create table raw.load_audit (
    load_id integer not null,          -- 1 for the load that created the raw layer, then 2, 3, ... (never reused)
    fleet varchar not null,            -- synthetic | own
    load_mode varchar not null,        -- replace | append
    loaded_at timestamp not null,      -- UTC; own telemetry timestamped after it is rejected as future_timestamp
    inventory_file varchar,            -- own fleet: the inventory file (of the replace load; null for appends)
    telemetry_pattern varchar not null,
    telemetry_files integer not null,
    inventory_rows bigint not null,
    telemetry_rows bigint not null,
    value_scale varchar not null,      -- percent (0-100) or fraction (0-1, multiplied by 100)
    lake_file varchar not null,        -- the lake file holding this load's rows (name inside the lake directory)
    undone_at timestamp                -- set by `load --undo`: the load's rows are gone from the lake
);

-- Synthetic fleets only: the breaches the generator planted (CAPACITY_BREACH primaries), i.e. the day after
-- the last day of history at which the DNA's trend reaches 95%. Ground truth for benchmarks; dbt does not read it.
create table raw.planted_breaches (
    host_id varchar not null,
    resource varchar not null,
    days_after_end double not null,
    breach_date date not null
);
