{#-
    Your own telemetry, one row per delivered row (nothing dropped), parsed; the text as delivered is kept
    beside it for telemetry_rejects.

    Timestamps become UTC whatever the machine's time zone: text with an offset or zone after the date
    (`Z`, `+01:00`, `-0500`, `UTC`, `Europe/London`) is read as that instant and converted to UTC; an abbreviation
    (`BST`, `IST`, `CST`) is ambiguous and read as nothing; text without one
    (`2024-02-29`, `2024-02-29 13:05:00`) is taken as UTC already. DuckDB would read zone-less text in the
    session's zone if it were cast to timestamptz, so it never is. Unparseable text gives a null ts_utc (the
    row is rejected downstream as unparseable_timestamp), never a failed build; likewise for the value.
-#}
with

source as (

    select * from {{ source('lake', 'own_telemetry') }}

),

renamed as (

    select
        cast(raw_row_id as bigint) as raw_row_id,
        lower(trim(host_id)) as host_id,
        lower(trim(resource)) as resource,
        case
            -- A zone abbreviation (BST, IST, CST, EST, CET...) is ambiguous and DuckDB guesses (BST as
            -- Asia/Dhaka, +06): not read, so the row is rejected as unparseable_timestamp. UTC and GMT are not
            -- ambiguous; a zone name has a slash (Europe/London).
            when
                regexp_matches(trim(ts), '[0-9 ][a-z]{2,}$', 'i')
                and not regexp_matches(trim(ts), '[0-9 ](utc|gmt)$', 'i')
                then null
            -- An offset or zone name after the date: any letter but the T separator, or a sign.
            when regexp_matches(substr(trim(ts), 11), '[a-su-z+-]', 'i')
                then timezone('UTC', try_cast(trim(ts) as timestamptz))
            else try_cast(trim(ts) as timestamp)
        end as ts_utc,
        nullif(trim(value), '') as value_text,
        try_cast(trim(value) as double) as value_number,
        cast(load_id as integer) as load_id,
        host_id as source_host_id,
        resource as source_resource,
        ts as source_ts,
        value as source_value,
        source_file

    from source

)

select * from renamed
