with

source as (

    select * from {{ source('ecommerce', 'orders__line_items') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as line_item_id,
        _dlt_parent_id as order_dlt_id,
        sku,
        cast(product_id as {{ dbt.type_string() }}) as shop_product_id,
        cast(quantity as integer) as quantity,
        {{ to_money('price') }} as unit_price

    from source

)

select * from renamed
