{#- Madrid day the conversation started × service channel. Medians over the conversations
    that have the timestamp (an unanswered one has no first response). A repeat contact:
    the same resolved customer starts another conversation, on any channel, within
    `service_repeat_contact_days` after this one started; the rate is over conversations
    whose customer is known. -#}
with

conversations as (

    select
        conversations.conversation_id,
        conversations.channel,
        conversations.started_at,
        conversations.first_response_at,
        conversations.resolved_at,
        conversations.csat_score,
        resolved.customer_id
    from {{ ref('stg_messaging__conversations') }} as conversations
    left join {{ ref('int_identity_records_resolved') }} as resolved
        on
            resolved.source_system = 'messaging'
            and resolved.source_entity = 'conversations'
            and conversations.conversation_id = resolved.source_record_id

),

repeats as (

    select
        conversations.conversation_id,
        max(case when later.conversation_id is not null then 1 else 0 end) as is_repeated
    from conversations
    left join conversations as later
        on
            conversations.customer_id = later.customer_id
            and conversations.conversation_id <> later.conversation_id
            and conversations.started_at <= later.started_at
            and {{ dbt.dateadd('day', var('service_repeat_contact_days'), 'conversations.started_at') }}
            >= later.started_at
    where conversations.customer_id is not null
    group by conversations.conversation_id

),

measured as (

    select
        {{ business_date('conversations.started_at') }} as started_date,
        conversations.channel,
        conversations.conversation_id,
        conversations.customer_id,
        repeats.is_repeated,
        conversations.csat_score,
        {{ dbt.datediff('conversations.started_at', 'conversations.first_response_at', 'second') }} / 60.0
            as first_response_minutes,
        {{ dbt.datediff('conversations.started_at', 'conversations.resolved_at', 'second') }} / 60.0
            as resolution_minutes
    from conversations
    left join repeats
        on conversations.conversation_id = repeats.conversation_id

),

final as (

    select
        started_date as date,  -- noqa: RF04
        channel,
        cast(count(*) as bigint) as conversations,
        cast(count(customer_id) as bigint) as identified_conversations,
        cast({{ median_of('first_response_minutes') }} as double) as median_first_response_minutes,
        cast({{ median_of('resolution_minutes') }} as double) as median_resolution_minutes,
        cast(sum(is_repeated) * 1.0 / nullif(count(customer_id), 0) as double)
            as repeat_contact_rate,
        cast(count(csat_score) as bigint) as csat_responses,
        cast(avg(csat_score) as double) as avg_csat
    from measured
    group by started_date, channel

)

select * from final
