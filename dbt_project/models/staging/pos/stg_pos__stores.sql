with

source as (

    select * from {{ source('pos', 'stores') }}

),

renamed as (

    select
        cast(store_id as {{ dbt.type_string() }}) as store_id,
        name as store_name,
        city,
        province,
        {{ normalize_phone('phone') }} as phone,
        cast(opened_on as date) as opened_on,
        {{ local_to_utc_timestamp('updated_at', 'Europe/Madrid') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
