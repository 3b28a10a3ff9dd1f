-- Raw layer of the HorizonScale warehouse, created by `horizonscale init`.
-- The generator (or a user's own loader) writes here; dbt only reads it as a source.
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
    created_at timestamp not null
);

-- Synthetic fleets only: the breaches the generator planted (CAPACITY_BREACH primaries), i.e. the day after
-- the last day of history at which the DNA's trend reaches 95%. Ground truth for benchmarks; dbt does not read it.
create table raw.planted_breaches (
    host_id varchar not null,
    resource varchar not null,
    days_after_end double not null,
    breach_date date not null
);
