with

source as (

    select * from {{ source('ecommerce', 'customers') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as shop_customer_id,
        {{ normalize_email('email') }} as email,
        {{ normalize_phone('phone') }} as phone,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        cast(accepts_marketing as boolean) as accepts_marketing,
        lower(state) as account_state,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
