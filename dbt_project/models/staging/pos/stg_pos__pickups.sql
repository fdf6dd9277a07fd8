with

source as (

    select * from {{ source('pos', 'pickups') }}

),

renamed as (

    select
        cast(pickup_id as {{ dbt.type_string() }}) as pickup_id,
        cast(order_id as {{ dbt.type_string() }}) as shop_order_id,
        cast(store_id as {{ dbt.type_string() }}) as store_id,
        {{ local_to_utc_timestamp('ready_at', 'Europe/Madrid') }} as ready_at,
        {{ local_to_utc_timestamp('picked_up_at', 'Europe/Madrid') }} as picked_up_at,
        lower(status) as pickup_status,
        {{ local_to_utc_timestamp('updated_at', 'Europe/Madrid') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
