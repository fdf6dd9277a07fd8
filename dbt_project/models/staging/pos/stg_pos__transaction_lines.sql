with

source as (

    select * from {{ source('pos', 'transaction_lines') }}

),

renamed as (

    select
        cast(transaction_id as {{ dbt.type_string() }}) as transaction_id,
        cast(line_no as integer) as line_no,
        sku,
        cast(quantity as integer) as quantity,
        {{ to_money('unit_price') }} as unit_price,
        {{ to_money('line_amount') }} as line_amount

    from source

)

select * from renamed
