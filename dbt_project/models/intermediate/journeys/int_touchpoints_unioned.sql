{{ config(materialized='view') }}
{#- Every interaction with the retailer, one row each, before journeys: clickstream events,
    store tickets, online orders, abandoned checkouts, online refunds, collected
    click-and-collect pickups, store returns (also of online orders: a store touchpoint),
    service conversations and calls, and marketing messages delivered, opened, clicked or
    unsubscribed from. A view, so that fct_touchpoints' incremental filters reach the
    staging tables.

    `customer_id` comes from the identity record behind the touchpoint (for clickstream the
    device's anonymous id, so a visitor's events before login are stitched to the person
    once the device logs in). `is_in_journey` is false for what the customer did not choose
    to do (a message delivered, not opened; an unsubscribe) and for the pickup of an order
    already placed: those never start or extend a journey. -#}
with

resolved as (

    select
        source_system,
        source_entity,
        source_record_id,
        customer_id
    from {{ ref('int_identity_records_resolved') }}

),

events as (

    select
        'clickstream' as source_system,
        'events' as source_entity,
        event_id as source_record_id,
        'clickstream' as identity_source_system,
        'anonymous_ids' as identity_source_entity,
        anonymous_id as identity_source_record_id,
        anonymous_id,
        platform as channel,
        event_type as touchpoint_type,
        occurred_at,
        coalesce(
            {{ paid_channel_from_utm('utm_medium', 'utm_source') }},
            case when utm_medium in ('email', 'sms', 'whatsapp', 'push') then utm_medium end
        ) as campaign_channel,
        shop_order_id as order_id,
        false as is_conversion,
        true as is_in_journey,
        loaded_at
    from {{ ref('stg_clickstream__events') }}

),

store_purchases as (

    select
        'pos' as source_system,
        'transactions' as source_entity,
        transaction_id as source_record_id,
        'pos' as identity_source_system,
        'transactions' as identity_source_entity,
        transaction_id as identity_source_record_id,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        'store' as channel,
        'store_purchase' as touchpoint_type,
        occurred_at,
        cast(null as {{ dbt.type_string() }}) as campaign_channel,
        transaction_id as order_id,
        true as is_conversion,
        true as is_in_journey,
        loaded_at
    from {{ ref('stg_pos__transactions') }}

),

online_orders as (

    select
        'ecommerce' as source_system,
        'orders' as source_entity,
        shop_order_id as source_record_id,
        'ecommerce' as identity_source_system,
        'orders' as identity_source_entity,
        shop_order_id as identity_source_record_id,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        channel,
        'online_order' as touchpoint_type,
        created_at as occurred_at,
        cast(null as {{ dbt.type_string() }}) as campaign_channel,
        shop_order_id as order_id,
        -- A cancelled order was an interaction, not a purchase: the journey goes on.
        not is_cancelled as is_conversion,
        true as is_in_journey,
        loaded_at
    from {{ ref('stg_ecommerce__orders') }}

),

pickups as (

    select
        'pos' as source_system,
        'pickups' as source_entity,
        pickup_id as source_record_id,
        'pos' as identity_source_system,
        'pickups' as identity_source_entity,
        pickup_id as identity_source_record_id,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        'store' as channel,
        'store_pickup' as touchpoint_type,
        picked_up_at as occurred_at,
        cast(null as {{ dbt.type_string() }}) as campaign_channel,
        shop_order_id as order_id,
        false as is_conversion,
        false as is_in_journey,
        loaded_at
    from {{ ref('stg_pos__pickups') }}
    where picked_up_at is not null

),

refunds as (

    -- A refund belongs to the person of its order and happens on the order's channel.
    select
        'ecommerce' as source_system,
        'refunds' as source_entity,
        refunds.refund_id as source_record_id,
        'ecommerce' as identity_source_system,
        'orders' as identity_source_entity,
        orders.shop_order_id as identity_source_record_id,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        orders.channel,
        'online_refund' as touchpoint_type,
        refunds.refunded_at as occurred_at,
        cast(null as {{ dbt.type_string() }}) as campaign_channel,
        orders.shop_order_id as order_id,
        false as is_conversion,
        true as is_in_journey,
        orders.loaded_at
    from {{ ref('stg_ecommerce__order_refunds') }} as refunds
    inner join {{ ref('stg_ecommerce__orders') }} as orders
        on refunds.order_dlt_id = orders.order_dlt_id

),

abandoned_checkouts as (

    -- The shop lists only checkouts left without an order; a later order that completed
    -- one is its `order_id` (the purchase itself is the online_order touchpoint).
    select
        'ecommerce' as source_system,
        'checkouts' as source_entity,
        checkout_id as source_record_id,
        'ecommerce' as identity_source_system,
        'checkouts' as identity_source_entity,
        checkout_id as identity_source_record_id,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        channel,
        'checkout_abandoned' as touchpoint_type,
        created_at as occurred_at,
        cast(null as {{ dbt.type_string() }}) as campaign_channel,
        recovered_shop_order_id as order_id,
        false as is_conversion,
        true as is_in_journey,
        loaded_at
    from {{ ref('stg_ecommerce__checkouts') }}

),

store_returns as (

    select
        'pos' as source_system,
        'returns' as source_entity,
        return_id as source_record_id,
        'pos' as identity_source_system,
        'returns' as identity_source_entity,
        return_id as identity_source_record_id,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        'store' as channel,
        'store_return' as touchpoint_type,
        returned_at as occurred_at,
        cast(null as {{ dbt.type_string() }}) as campaign_channel,
        coalesce(original_transaction_id, original_shop_order_id) as order_id,
        false as is_conversion,
        true as is_in_journey,
        loaded_at
    from {{ ref('stg_pos__returns') }}

),

conversations as (

    select
        'messaging' as source_system,
        'conversations' as source_entity,
        conversation_id as source_record_id,
        'messaging' as identity_source_system,
        'conversations' as identity_source_entity,
        conversation_id as identity_source_record_id,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        channel,
        case when channel = 'phone' then 'service_call' else 'service_conversation' end
            as touchpoint_type,
        started_at as occurred_at,
        cast(null as {{ dbt.type_string() }}) as campaign_channel,
        cast(null as {{ dbt.type_string() }}) as order_id,
        false as is_conversion,
        true as is_in_journey,
        loaded_at
    from {{ ref('stg_messaging__conversations') }}

),

deliveries as (

    select
        'messaging' as source_system,
        'deliveries' as source_entity,
        delivery_event_id as source_record_id,
        'messaging' as identity_source_system,
        'deliveries' as identity_source_entity,
        delivery_event_id as identity_source_record_id,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        channel,
        'marketing_' || event_type as touchpoint_type,
        occurred_at,
        cast(null as {{ dbt.type_string() }}) as campaign_channel,
        cast(null as {{ dbt.type_string() }}) as order_id,
        false as is_conversion,
        event_type in ('opened', 'clicked') as is_in_journey,
        loaded_at
    from {{ ref('stg_messaging__delivery_events') }}
    -- `sent` and `bounced` never reached the person.
    where event_type in ('delivered', 'opened', 'clicked', 'unsubscribed')

),

unioned as (

    select * from events
    union all
    select * from store_purchases
    union all
    select * from online_orders
    union all
    select * from refunds
    union all
    select * from abandoned_checkouts
    union all
    select * from pickups
    union all
    select * from store_returns
    union all
    select * from conversations
    union all
    select * from deliveries

),

final as (

    select
        unioned.source_system || ':' || unioned.source_entity || ':' || unioned.source_record_id
            as touchpoint_id,
        resolved.customer_id,
        unioned.channel,
        unioned.touchpoint_type,
        unioned.occurred_at,
        unioned.campaign_channel,
        unioned.order_id,
        unioned.is_conversion,
        unioned.is_in_journey,
        unioned.source_system,
        unioned.source_entity,
        unioned.source_record_id,
        unioned.identity_source_system,
        unioned.identity_source_entity,
        unioned.identity_source_record_id,
        unioned.anonymous_id,
        unioned.loaded_at
    from unioned
    left join resolved
        on
            unioned.identity_source_system = resolved.source_system
            and unioned.identity_source_entity = resolved.source_entity
            and unioned.identity_source_record_id = resolved.source_record_id

)

select * from final
