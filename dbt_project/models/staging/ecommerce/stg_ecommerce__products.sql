with

source as (

    select * from {{ source('ecommerce', 'products') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as shop_product_id,
        sku,
        title as product_title,
        category,
        {{ to_money('price') }} as price,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
