{#- One row per source record × identifier it carries, before any matching decision.
    Besides person identifiers, order keys (`shop_order_id`, `pos_transaction_id`) tie
    returns, pickups, recovered checkouts and the ordering device to their order; like
    `anonymous_id` they link records but never make a cluster a customer on their own.
    `identifier_rank` orders a record's identifiers by how much we trust them as contact
    data (the primary email before additional ones, the mobile before the landline). -#}
with

contacts as (
    {{ identifier_rows('stg_crm__contacts', 'crm', 'contacts', 'crm_contact_id', [
        ['crm_contact_id', 'crm_contact_id'],
        ['email', 'email'],
        ['email', 'additional_email_1'],
        ['email', 'additional_email_2'],
        ['email', 'additional_email_3'],
        ['phone', 'mobile_phone'],
        ['phone', 'phone'],
        ['loyalty_id', 'loyalty_id'],
    ]) }}
),

loyalty_accounts as (
    {{ identifier_rows('stg_crm__loyalty_accounts', 'crm', 'loyalty_accounts', 'loyalty_id', [
        ['loyalty_id', 'loyalty_id'],
        ['crm_contact_id', 'crm_contact_id'],
    ]) }}
),

shop_customers as (
    {{ identifier_rows('stg_ecommerce__customers', 'ecommerce', 'customers', 'shop_customer_id', [
        ['shop_customer_id', 'shop_customer_id'],
        ['email', 'email'],
        ['phone', 'phone'],
    ]) }}
),

shop_orders as (
    {{ identifier_rows('stg_ecommerce__orders', 'ecommerce', 'orders', 'shop_order_id', [
        ['shop_customer_id', 'shop_customer_id'],
        ['email', 'email'],
        ['phone', 'phone'],
        ['anonymous_id', 'landing_anonymous_id'],
        ['shop_order_id', 'shop_order_id'],
    ]) }}
),

checkouts as (
    {{ identifier_rows('stg_ecommerce__checkouts', 'ecommerce', 'checkouts', 'checkout_id', [
        ['shop_customer_id', 'shop_customer_id'],
        ['email', 'email'],
        ['phone', 'phone'],
        ['shop_order_id', 'recovered_shop_order_id'],
    ]) }}
),

store_transactions as (
    {{ identifier_rows('stg_pos__transactions', 'pos', 'transactions', 'transaction_id', [
        ['loyalty_id', 'loyalty_id'],
        ['email', 'email'],
        ['phone', 'phone'],
        ['pos_transaction_id', 'transaction_id'],
    ]) }}
),

store_returns as (
    {{ identifier_rows('stg_pos__returns', 'pos', 'returns', 'return_id', [
        ['pos_transaction_id', 'original_transaction_id'],
        ['shop_order_id', 'original_shop_order_id'],
    ]) }}
),

pickups as (
    {{ identifier_rows('stg_pos__pickups', 'pos', 'pickups', 'pickup_id', [
        ['shop_order_id', 'shop_order_id'],
    ]) }}
),

conversations as (
    {{ identifier_rows('stg_messaging__conversations', 'messaging', 'conversations',
        'conversation_id', [
        ['email', 'email'],
        ['phone', 'phone'],
        ['social_handle', 'social_handle'],
    ]) }}
),

deliveries as (
    {{ identifier_rows('stg_messaging__delivery_events', 'messaging', 'deliveries',
        'delivery_event_id', [
        ['crm_contact_id', 'crm_contact_id'],
        ['email', 'recipient_email'],
        ['phone', 'recipient_phone'],
    ]) }}
),

anonymous_ids as (

    select distinct
        'clickstream' as source_system,
        'anonymous_ids' as source_entity,
        anonymous_id as source_record_id,
        'anonymous_id' as identifier_type,
        anonymous_id as identifier_value,
        1 as identifier_rank
    from {{ ref('stg_clickstream__events') }}

    union all

    select distinct
        'clickstream' as source_system,
        'anonymous_ids' as source_entity,
        anonymous_id as source_record_id,
        'shop_customer_id' as identifier_type,
        shop_customer_id as identifier_value,
        2 as identifier_rank
    from {{ ref('stg_clickstream__events') }}
    where shop_customer_id is not null

    union all

    -- The order-confirmation event ties the device to the order even without a login.
    select distinct
        'clickstream' as source_system,
        'anonymous_ids' as source_entity,
        anonymous_id as source_record_id,
        'shop_order_id' as identifier_type,
        shop_order_id as identifier_value,
        3 as identifier_rank
    from {{ ref('stg_clickstream__events') }}
    where shop_order_id is not null

),

unioned as (

    select * from contacts
    union all
    select * from loyalty_accounts
    union all
    select * from shop_customers
    union all
    select * from shop_orders
    union all
    select * from checkouts
    union all
    select * from store_transactions
    union all
    select * from conversations
    union all
    select * from deliveries
    union all
    select * from anonymous_ids
    union all
    select * from store_returns
    union all
    select * from pickups

),

deduplicated as (

    -- A contact may repeat its primary email among the additional ones.
    select
        source_system,
        source_entity,
        source_record_id,
        identifier_type,
        identifier_value,
        min(identifier_rank) as identifier_rank
    from unioned
    group by 1, 2, 3, 4, 5

)

select * from deduplicated
