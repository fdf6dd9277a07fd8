with

source as (

    select * from {{ source('clickstream', 'events') }}

),

renamed as (

    select
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        cast(anonymous_id as {{ dbt.type_string() }}) as anonymous_id,
        cast(user_id as {{ dbt.type_string() }}) as shop_customer_id,
        lower(platform) as platform,
        lower(event_type) as event_type,
        {{ to_utc_timestamp('occurred_at') }} as occurred_at,
        page_url,
        sku,
        cast(order_id as {{ dbt.type_string() }}) as shop_order_id,
        lower(utm_source) as utm_source,
        lower(utm_medium) as utm_medium,
        utm_campaign,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
