with

source as (

    select * from {{ source('pos', 'transactions') }}

),

renamed as (

    select
        cast(transaction_id as {{ dbt.type_string() }}) as transaction_id,
        cast(store_id as {{ dbt.type_string() }}) as store_id,
        {{ local_to_utc_timestamp('occurred_at', 'Europe/Madrid') }} as occurred_at,
        nullif(trim(cast(loyalty_card as {{ dbt.type_string() }})), '') as loyalty_id,
        {{ normalize_phone('phone_typed') }} as phone,
        {{ normalize_email('receipt_email') }} as email,
        nullif(trim(card_fingerprint), '') as card_fingerprint,
        lower(payment_method) as payment_method,
        {{ to_money('total_amount') }} as total_amount,
        cast(staff_id as {{ dbt.type_string() }}) as staff_id,
        {{ local_to_utc_timestamp('updated_at', 'Europe/Madrid') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
