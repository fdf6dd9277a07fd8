with

source as (

    select * from {{ source('ecommerce', 'orders__refunds') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as refund_id,
        _dlt_parent_id as order_dlt_id,
        {{ to_utc_timestamp('created_at') }} as refunded_at,
        {{ to_money('amount') }} as refund_amount,
        reason as refund_reason

    from source

)

select * from renamed
