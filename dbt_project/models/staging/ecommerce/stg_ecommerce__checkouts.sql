with

source as (

    select * from {{ source('ecommerce', 'checkouts') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as checkout_id,
        cast(customer_id as {{ dbt.type_string() }}) as shop_customer_id,
        {{ normalize_email('email') }} as email,
        {{ normalize_phone('phone') }} as phone,
        lower(source_name) as channel,
        {{ to_money('total_price') }} as total_price,
        cast(recovered_order_id as {{ dbt.type_string() }}) as recovered_shop_order_id,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
