with

source as (

    select * from {{ ref('business_hierarchy') }}

),

renamed as (

    select
        upper(trim(app_code)) as app_code,
        trim(app_name) as app_name,
        trim(department) as department,
        trim(app_manager) as app_manager,
        upper(trim(cost_center)) as cost_center

    from source

)

select * from renamed
