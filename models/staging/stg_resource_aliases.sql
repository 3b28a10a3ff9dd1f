with

source as (

    select * from {{ ref('resource_aliases') }}

),

renamed as (

    select
        lower(trim(alias)) as alias,  -- noqa: RF04
        lower(trim(resource)) as resource

    from source

)

select * from renamed
