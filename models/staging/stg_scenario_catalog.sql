with

source as (

    select * from {{ ref('scenario_catalog') }}

),

renamed as (

    select
        upper(trim(scenario)) as scenario,
        upper(trim(variant)) as variant,
        cast(weight as double) as weight,
        trim(description) as description

    from source

)

select * from renamed
