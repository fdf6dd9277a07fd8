with

source as (

    select * from {{ source('ecommerce', 'inventory_levels') }}

),

renamed as (

    select
        sku,
        cast(location_id as {{ dbt.type_string() }}) as location_id,
        cast(available as integer) as available_quantity,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
