with

source as (

    select * from {{ source('messaging', 'conversations__messages') }}

),

renamed as (

    select
        cast(message_id as {{ dbt.type_string() }}) as message_id,
        _dlt_parent_id as conversation_dlt_id,
        lower(sender) as sender,
        {{ to_utc_timestamp('sent_at') }} as sent_at,
        body

    from source

)

select * from renamed
