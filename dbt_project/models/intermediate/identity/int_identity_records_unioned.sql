{#- Every source record that can belong to a person, one row each, with what the golden
    record and first_seen_at need (returns and pickups belong to whoever placed the order
    they point at). `record_key` starts with a rank so that the smallest key
    of a cluster (which names the customer) is its CRM contact when it has one: the most
    stable member. A view: read once by `int_identity_records_resolved`, which keeps every
    column, and for its named records by `int_identity_named_records`. -#}
{{ config(materialized='view') }}

with

contacts as (

    select
        {{ identity_record_key(1, 'crm', 'contacts', 'crm_contact_id') }} as record_key,
        'crm' as source_system,
        'contacts' as source_entity,
        crm_contact_id as source_record_id,
        1 as record_rank,
        first_name,
        last_name,
        created_at as seen_at,
        updated_at,
        is_archived,
        cast(null as {{ dbt.type_string() }}) as grouped_record_key
    from {{ ref('stg_crm__contacts') }}

),

shop_customers as (

    select
        {{ identity_record_key(2, 'ecommerce', 'customers', 'shop_customer_id') }} as record_key,
        'ecommerce' as source_system,
        'customers' as source_entity,
        shop_customer_id as source_record_id,
        2 as record_rank,
        first_name,
        last_name,
        created_at as seen_at,
        updated_at,
        account_state = 'deleted' as is_archived,
        cast(null as {{ dbt.type_string() }}) as grouped_record_key
    from {{ ref('stg_ecommerce__customers') }}

),

loyalty_accounts as (

    select
        {{ identity_record_key(3, 'crm', 'loyalty_accounts', 'loyalty_id') }} as record_key,
        'crm' as source_system,
        'loyalty_accounts' as source_entity,
        loyalty_id as source_record_id,
        3 as record_rank,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        enrolled_at as seen_at,
        updated_at,
        false as is_archived,
        cast(null as {{ dbt.type_string() }}) as grouped_record_key
    from {{ ref('stg_crm__loyalty_accounts') }}

),

shop_orders as (

    select
        {{ identity_record_key(4, 'ecommerce', 'orders', 'shop_order_id') }} as record_key,
        'ecommerce' as source_system,
        'orders' as source_entity,
        shop_order_id as source_record_id,
        4 as record_rank,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        created_at as seen_at,
        updated_at,
        false as is_archived,
        cast(null as {{ dbt.type_string() }}) as grouped_record_key
    from {{ ref('stg_ecommerce__orders') }}

),

store_transactions as (

    select
        {{ identity_record_key(5, 'pos', 'transactions', 'transaction_id') }} as record_key,
        'pos' as source_system,
        'transactions' as source_entity,
        transaction_id as source_record_id,
        5 as record_rank,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        occurred_at as seen_at,
        updated_at,
        false as is_archived,
        cast(null as {{ dbt.type_string() }}) as grouped_record_key
    from {{ ref('stg_pos__transactions') }}

),

checkouts as (

    select
        {{ identity_record_key(6, 'ecommerce', 'checkouts', 'checkout_id') }} as record_key,
        'ecommerce' as source_system,
        'checkouts' as source_entity,
        checkout_id as source_record_id,
        6 as record_rank,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        created_at as seen_at,
        updated_at,
        false as is_archived,
        cast(null as {{ dbt.type_string() }}) as grouped_record_key
    from {{ ref('stg_ecommerce__checkouts') }}

),

conversations as (

    select
        {{ identity_record_key(7, 'messaging', 'conversations', 'conversation_id') }} as record_key,
        'messaging' as source_system,
        'conversations' as source_entity,
        conversation_id as source_record_id,
        7 as record_rank,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        started_at as seen_at,
        coalesce(resolved_at, started_at) as updated_at,
        false as is_archived,
        cast(null as {{ dbt.type_string() }}) as grouped_record_key
    from {{ ref('stg_messaging__conversations') }}

),

deliveries as (

    select
        {{ identity_record_key(8, 'messaging', 'deliveries', 'delivery_event_id') }} as record_key,
        'messaging' as source_system,
        'deliveries' as source_entity,
        delivery_event_id as source_record_id,
        8 as record_rank,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        occurred_at as seen_at,
        occurred_at as updated_at,
        false as is_archived,
        case
            when crm_contact_id is not null
                then {{ identity_record_key(8, 'messaging', 'deliveries_of_contact', 'crm_contact_id') }}
        end as grouped_record_key
    from {{ ref('stg_messaging__delivery_events') }}

),

anonymous_ids as (

    select
        {{ identity_record_key(9, 'clickstream', 'anonymous_ids', 'anonymous_id') }} as record_key,
        'clickstream' as source_system,
        'anonymous_ids' as source_entity,
        anonymous_id as source_record_id,
        9 as record_rank,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        min(occurred_at) as seen_at,
        max(occurred_at) as updated_at,
        false as is_archived,
        cast(null as {{ dbt.type_string() }}) as grouped_record_key
    from {{ ref('stg_clickstream__events') }}
    group by anonymous_id

),

store_returns as (

    select
        {{ identity_record_key(10, 'pos', 'returns', 'return_id') }} as record_key,
        'pos' as source_system,
        'returns' as source_entity,
        return_id as source_record_id,
        10 as record_rank,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        returned_at as seen_at,
        updated_at,
        false as is_archived,
        cast(null as {{ dbt.type_string() }}) as grouped_record_key
    from {{ ref('stg_pos__returns') }}

),

pickups as (

    select
        {{ identity_record_key(11, 'pos', 'pickups', 'pickup_id') }} as record_key,
        'pos' as source_system,
        'pickups' as source_entity,
        pickup_id as source_record_id,
        11 as record_rank,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        ready_at as seen_at,
        updated_at,
        false as is_archived,
        cast(null as {{ dbt.type_string() }}) as grouped_record_key
    from {{ ref('stg_pos__pickups') }}

),

unioned as (

    select * from contacts
    union all
    select * from shop_customers
    union all
    select * from loyalty_accounts
    union all
    select * from shop_orders
    union all
    select * from store_transactions
    union all
    select * from checkouts
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
