{#- Every interaction of a resolved customer, one row each, on a canonical channel: orders
    (their sales channel), web/app activity of their devices, visits a paid ad or one of
    our messages brought (UTM),
    service conversations, and marketing messages they opened or clicked. Building block
    for journeys and multichannel KPIs. -#}
with

resolved as (

    select
        source_system,
        source_entity,
        source_record_id,
        customer_id
    from {{ ref('int_identity_records_resolved') }}
    where customer_id is not null

),

orders as (

    select
        resolved.customer_id,
        orders.channel,
        'order' as touchpoint_type,
        orders.ordered_at as occurred_at,
        orders.order_id as source_record_id
    from {{ ref('int_orders_unioned') }} as orders
    inner join resolved
        on
            orders.source_system = resolved.source_system
            and orders.source_entity = resolved.source_entity
            and orders.source_order_id = resolved.source_record_id

),

device_events as (

    select
        resolved.customer_id,
        events.platform,
        events.event_type,
        events.occurred_at,
        events.event_id,
        coalesce(
            {{ paid_channel_from_utm('events.utm_medium', 'events.utm_source') }},
            case when events.utm_medium in ('email', 'sms', 'whatsapp', 'push') then events.utm_medium end
        ) as landing_channel
    from {{ ref('stg_clickstream__events') }} as events
    inner join resolved
        on
            resolved.source_system = 'clickstream'
            and resolved.source_entity = 'anonymous_ids'
            and events.anonymous_id = resolved.source_record_id

),

web_and_app as (

    select
        customer_id,
        platform as channel,
        event_type as touchpoint_type,
        occurred_at,
        event_id as source_record_id
    from device_events

),

campaign_landings as (

    -- A visit that a paid ad or one of our own messages brought (UTM-tagged link).
    select
        customer_id,
        landing_channel as channel,
        'campaign_landing' as touchpoint_type,
        occurred_at,
        event_id as source_record_id
    from device_events
    where landing_channel is not null

),

conversations as (

    select
        resolved.customer_id,
        conversations.channel,
        'service_conversation' as touchpoint_type,
        conversations.started_at as occurred_at,
        conversations.conversation_id as source_record_id
    from {{ ref('stg_messaging__conversations') }} as conversations
    inner join resolved
        on
            resolved.source_system = 'messaging'
            and resolved.source_entity = 'conversations'
            and conversations.conversation_id = resolved.source_record_id

),

engaged_deliveries as (

    select
        resolved.customer_id,
        deliveries.channel,
        'marketing_' || deliveries.event_type as touchpoint_type,
        deliveries.occurred_at,
        deliveries.delivery_event_id as source_record_id
    from {{ ref('stg_messaging__delivery_events') }} as deliveries
    inner join resolved
        on
            resolved.source_system = 'messaging'
            and resolved.source_entity = 'deliveries'
            and deliveries.delivery_event_id = resolved.source_record_id
    where deliveries.event_type in ('opened', 'clicked')

),

unioned as (

    select * from orders
    union all
    select * from web_and_app
    union all
    select * from campaign_landings
    union all
    select * from conversations
    union all
    select * from engaged_deliveries

)

select * from unioned
