{#- One row per source record × identifier it carries, before any matching decision, with
    the record's `record_key` (the same key as in `int_identity_records_unioned`, so later
    steps join on one column). Besides person identifiers, order keys (`shop_order_id`,
    `pos_transaction_id`) tie returns, pickups, recovered checkouts and the ordering device
    to their order; like `anonymous_id` they link records but never make a cluster a
    customer on their own. `identifier_rank` orders a record's identifiers by how much we
    trust them as contact data (the primary email before additional ones, the mobile before
    the landline; on a device, the account that logged in last before earlier ones).
    `grouped_record_key`: the one node of the matching graph that stands for all marketing
    deliveries to a CRM contact (null: the record is its own node). Each delivery event
    carries its contact's id, which is never excluded, so its identifiers join the contact's
    anyway: one node per contact links exactly the same records as one per event, with a
    tenth of the nodes. -#}
{%- set delivery_group = identity_record_key(8, 'messaging', 'deliveries_of_contact', 'crm_contact_id') %}
with

contacts as (

    -- A contact may repeat its primary email among the additional ones (or give one phone
    -- twice): only here can a record carry the same identifier twice.
    select
        record_key,
        source_system,
        source_entity,
        source_record_id,
        identifier_type,
        identifier_value,
        min(identifier_rank) as identifier_rank,
        cast(null as {{ dbt.type_string() }}) as grouped_record_key
    from (
        {{ identifier_rows('stg_crm__contacts', 1, 'crm', 'contacts', 'crm_contact_id', [
            ['crm_contact_id', 'crm_contact_id'],
            ['email', 'email'],
            ['email', 'additional_email_1'],
            ['email', 'additional_email_2'],
            ['email', 'additional_email_3'],
            ['phone', 'mobile_phone'],
            ['phone', 'phone'],
            ['loyalty_id', 'loyalty_id'],
        ]) }}
    ) as contact_identifiers
    group by
        record_key,
        source_system,
        source_entity,
        source_record_id,
        identifier_type,
        identifier_value

),

loyalty_accounts as (
    {{ identifier_rows('stg_crm__loyalty_accounts', 3, 'crm', 'loyalty_accounts', 'loyalty_id', [
        ['loyalty_id', 'loyalty_id'],
        ['crm_contact_id', 'crm_contact_id'],
    ]) }}
),

shop_customers as (
    {{ identifier_rows('stg_ecommerce__customers', 2, 'ecommerce', 'customers', 'shop_customer_id', [
        ['shop_customer_id', 'shop_customer_id'],
        ['email', 'email'],
        ['phone', 'phone'],
    ]) }}
),

shop_orders as (
    {{ identifier_rows('stg_ecommerce__orders', 4, 'ecommerce', 'orders', 'shop_order_id', [
        ['shop_customer_id', 'shop_customer_id'],
        ['email', 'email'],
        ['phone', 'phone'],
        ['anonymous_id', 'landing_anonymous_id'],
        ['shop_order_id', 'shop_order_id'],
    ]) }}
),

store_transactions as (
    {{ identifier_rows('stg_pos__transactions', 5, 'pos', 'transactions', 'transaction_id', [
        ['loyalty_id', 'loyalty_id'],
        ['email', 'email'],
        ['phone', 'phone'],
        ['pos_transaction_id', 'transaction_id'],
    ]) }}
),

checkouts as (
    {{ identifier_rows('stg_ecommerce__checkouts', 6, 'ecommerce', 'checkouts', 'checkout_id', [
        ['shop_customer_id', 'shop_customer_id'],
        ['email', 'email'],
        ['phone', 'phone'],
        ['shop_order_id', 'recovered_shop_order_id'],
    ]) }}
),

conversations as (
    {{ identifier_rows('stg_messaging__conversations', 7, 'messaging', 'conversations',
        'conversation_id', [
        ['email', 'email'],
        ['phone', 'phone'],
        ['social_handle', 'social_handle'],
    ]) }}
),

deliveries as (
    {{ identifier_rows('stg_messaging__delivery_events', 8, 'messaging', 'deliveries',
        'delivery_event_id', [
        ['crm_contact_id', 'crm_contact_id'],
        ['email', 'recipient_email'],
        ['phone', 'recipient_phone'],
    ], grouped_record_key=delivery_group) }}
),

store_returns as (
    {{ identifier_rows('stg_pos__returns', 10, 'pos', 'returns', 'return_id', [
        ['pos_transaction_id', 'original_transaction_id'],
        ['shop_order_id', 'original_shop_order_id'],
    ]) }}
),

pickups as (
    {{ identifier_rows('stg_pos__pickups', 11, 'pos', 'pickups', 'pickup_id', [
        ['shop_order_id', 'shop_order_id'],
    ]) }}
),

device_events as (

    select
        anonymous_id,
        shop_customer_id,
        shop_order_id,
        occurred_at
    from {{ ref('stg_clickstream__events') }}

),

device_logins as (

    -- Every account that logged in on the device, the latest login first.
    select
        anonymous_id,
        shop_customer_id,
        row_number() over (
            partition by anonymous_id
            order by max(occurred_at) desc, shop_customer_id asc
        ) as login_recency
    from device_events
    where shop_customer_id is not null
    group by anonymous_id, shop_customer_id

),

anonymous_ids as (

    select distinct
        {{ identity_record_key(9, 'clickstream', 'anonymous_ids', 'anonymous_id') }} as record_key,
        'clickstream' as source_system,
        'anonymous_ids' as source_entity,
        anonymous_id as source_record_id,
        'anonymous_id' as identifier_type,
        anonymous_id as identifier_value,
        1 as identifier_rank,
        cast(null as {{ dbt.type_string() }}) as grouped_record_key
    from device_events

    union all

    select
        {{ identity_record_key(9, 'clickstream', 'anonymous_ids', 'anonymous_id') }} as record_key,
        'clickstream' as source_system,
        'anonymous_ids' as source_entity,
        anonymous_id as source_record_id,
        'shop_customer_id' as identifier_type,
        shop_customer_id as identifier_value,
        1 + login_recency as identifier_rank,
        cast(null as {{ dbt.type_string() }}) as grouped_record_key
    from device_logins

    union all

    -- The order-confirmation event ties the device to the order even without a login.
    select distinct
        {{ identity_record_key(9, 'clickstream', 'anonymous_ids', 'anonymous_id') }} as record_key,
        'clickstream' as source_system,
        'anonymous_ids' as source_entity,
        anonymous_id as source_record_id,
        'shop_order_id' as identifier_type,
        shop_order_id as identifier_value,
        2 as identifier_rank,
        cast(null as {{ dbt.type_string() }}) as grouped_record_key
    from device_events
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

)

select * from unioned
