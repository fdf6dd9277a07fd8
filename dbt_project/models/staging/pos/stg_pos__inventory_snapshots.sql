with

source as (

    select * from {{ source('pos', 'inventory_daily') }}

),

renamed as (

    select
        cast(snapshot_date as date) as snapshot_date,
        cast(store_id as {{ dbt.type_string() }}) as store_id,
        sku,
        cast(on_hand as integer) as on_hand_quantity,
        {{ local_to_utc_timestamp('updated_at', 'Europe/Madrid') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
