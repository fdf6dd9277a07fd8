with

source as (

    select * from {{ source('ecommerce', 'orders') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as shop_order_id,
        _dlt_id as order_dlt_id,
        name as order_name,
        cast(customer_id as {{ dbt.type_string() }}) as shop_customer_id,
        {{ normalize_email('email') }} as email,
        {{ normalize_phone('phone') }} as phone,
        lower(source_name) as channel,
        lower(fulfillment_type) as fulfilment,
        cast(location_id as {{ dbt.type_string() }}) as store_id,
        {{ to_money('subtotal_price') }} as subtotal_price,
        {{ to_money('total_discounts') }} as total_discounts,
        {{ to_money('total_shipping') }} as total_shipping,
        {{ to_money('total_price') }} as total_price,
        upper(currency) as currency,
        financial_status,
        cast(landing_anonymous_id as {{ dbt.type_string() }}) as landing_anonymous_id,
        cancelled_at is not null as is_cancelled,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ to_utc_timestamp('cancelled_at') }} as cancelled_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
