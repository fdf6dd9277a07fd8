with

source as (

    select * from {{ source('messaging', 'deliveries') }}

),

renamed as (

    select
        cast(event_id as {{ dbt.type_string() }}) as delivery_event_id,
        cast(delivery_id as {{ dbt.type_string() }}) as delivery_id,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
        lower(channel) as channel,
        cast(contact_id as {{ dbt.type_string() }}) as crm_contact_id,
        {{ normalize_email('recipient') }} as recipient_email,
        {{ normalize_phone('recipient') }} as recipient_phone,
        lower(event_type) as event_type,
        {{ to_utc_timestamp('occurred_at') }} as occurred_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
