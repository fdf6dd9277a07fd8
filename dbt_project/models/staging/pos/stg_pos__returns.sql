with

source as (

    select * from {{ source('pos', 'returns') }}

),

renamed as (

    select
        cast(return_id as {{ dbt.type_string() }}) as return_id,
        cast(store_id as {{ dbt.type_string() }}) as store_id,
        {{ local_to_utc_timestamp('returned_at', 'Europe/Madrid') }} as returned_at,
        cast(original_transaction_id as {{ dbt.type_string() }}) as original_transaction_id,
        cast(original_order_id as {{ dbt.type_string() }}) as original_shop_order_id,
        sku,
        cast(quantity as integer) as quantity,
        {{ to_money('refund_amount') }} as refund_amount,
        {{ local_to_utc_timestamp('updated_at', 'Europe/Madrid') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
