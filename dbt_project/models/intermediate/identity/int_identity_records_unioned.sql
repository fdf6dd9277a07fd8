{#- Every source record that can belong to a person, one row each, with what the golden
    record and first_seen_at need (returns and pickups belong to whoever placed the order
    they point at). `record_key` starts with a rank so that the smallest key
    of a cluster (which names the customer) is its CRM contact when it has one: the most
    stable member. -#}
with

contacts as (

    select
        '01|crm|contacts|' || crm_contact_id as record_key,
        'crm' as source_system,
        'contacts' as source_entity,
        crm_contact_id as source_record_id,
        1 as record_rank,
        first_name,
        last_name,
        created_at as seen_at,
        updated_at,
        is_archived
    from {{ ref('stg_crm__contacts') }}

),

shop_customers as (

    select
        '02|ecommerce|customers|' || shop_customer_id as record_key,
        'ecommerce' as source_system,
        'customers' as source_entity,
        shop_customer_id as source_record_id,
        2 as record_rank,
        first_name,
        last_name,
        created_at as seen_at,
        updated_at,
        account_state = 'deleted' as is_archived
    from {{ ref('stg_ecommerce__customers') }}

),

loyalty_accounts as (

    select
        '03|crm|loyalty_accounts|' || loyalty_id as record_key,
        'crm' as source_system,
        'loyalty_accounts' as source_entity,
        loyalty_id as source_record_id,
        3 as record_rank,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        enrolled_at as seen_at,
        updated_at,
        false as is_archived
    from {{ ref('stg_crm__loyalty_accounts') }}

),

shop_orders as (

    select
        '04|ecommerce|orders|' || shop_order_id as record_key,
        'ecommerce' as source_system,
        'orders' as source_entity,
        shop_order_id as source_record_id,
        4 as record_rank,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        created_at as seen_at,
        updated_at,
        false as is_archived
    from {{ ref('stg_ecommerce__orders') }}

),

store_transactions as (

    select
        '05|pos|transactions|' || transaction_id as record_key,
        'pos' as source_system,
        'transactions' as source_entity,
        transaction_id as source_record_id,
        5 as record_rank,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        occurred_at as seen_at,
        updated_at,
        false as is_archived
    from {{ ref('stg_pos__transactions') }}

),

checkouts as (

    select
        '06|ecommerce|checkouts|' || checkout_id as record_key,
        'ecommerce' as source_system,
        'checkouts' as source_entity,
        checkout_id as source_record_id,
        6 as record_rank,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        created_at as seen_at,
        updated_at,
        false as is_archived
    from {{ ref('stg_ecommerce__checkouts') }}

),

conversations as (

    select
        '07|messaging|conversations|' || conversation_id as record_key,
        'messaging' as source_system,
        'conversations' as source_entity,
        conversation_id as source_record_id,
        7 as record_rank,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        started_at as seen_at,
        coalesce(resolved_at, started_at) as updated_at,
        false as is_archived
    from {{ ref('stg_messaging__conversations') }}

),

deliveries as (

    select
        '08|messaging|deliveries|' || delivery_event_id as record_key,
        'messaging' as source_system,
        'deliveries' as source_entity,
        delivery_event_id as source_record_id,
        8 as record_rank,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        occurred_at as seen_at,
        occurred_at as updated_at,
        false as is_archived
    from {{ ref('stg_messaging__delivery_events') }}

),

anonymous_ids as (

    select
        '09|clickstream|anonymous_ids|' || anonymous_id as record_key,
        'clickstream' as source_system,
        'anonymous_ids' as source_entity,
        anonymous_id as source_record_id,
        9 as record_rank,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        min(occurred_at) as seen_at,
        max(occurred_at) as updated_at,
        false as is_archived
    from {{ ref('stg_clickstream__events') }}
    group by anonymous_id

),

store_returns as (

    select
        '10|pos|returns|' || return_id as record_key,
        'pos' as source_system,
        'returns' as source_entity,
        return_id as source_record_id,
        10 as record_rank,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        returned_at as seen_at,
        updated_at,
        false as is_archived
    from {{ ref('stg_pos__returns') }}

),

pickups as (

    select
        '11|pos|pickups|' || pickup_id as record_key,
        'pos' as source_system,
        'pickups' as source_entity,
        pickup_id as source_record_id,
        11 as record_rank,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        ready_at as seen_at,
        updated_at,
        false as is_archived
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
