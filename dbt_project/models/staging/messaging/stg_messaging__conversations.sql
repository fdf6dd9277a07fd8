with

source as (

    select * from {{ source('messaging', 'conversations') }}

),

renamed as (

    select
        cast(conversation_id as {{ dbt.type_string() }}) as conversation_id,
        _dlt_id as conversation_dlt_id,
        lower(channel) as channel,
        {{ normalize_email('customer_email') }} as email,
        {{ normalize_phone('customer_phone') }} as phone,
        nullif(lower(trim(customer_handle)), '') as social_handle,
        topic,
        {{ to_utc_timestamp('started_at') }} as started_at,
        {{ to_utc_timestamp('first_response_at') }} as first_response_at,
        {{ to_utc_timestamp('resolved_at') }} as resolved_at,
        cast(csat as integer) as csat_score,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
