{{ config(materialized='view') }}
{#- Store tickets and online orders as one set of orders, with the revenue definitions of
    SOURCES.md: a ticket's gross is its total, an online order's gross is its total price,
    a cancelled order counts with gross = net = 0. A view, so that fct_orders' incremental
    filters reach the staging tables. -#}
with

store_tickets as (

    select
        transaction_id as order_id,
        'pos' as source_system,
        'transactions' as source_entity,
        transaction_id as source_order_id,
        'store' as channel,
        occurred_at as ordered_at,
        'in_store' as fulfilment,
        store_id,
        false as is_cancelled,
        total_amount as gross_revenue,
        cast(null as {{ dbt.type_string() }}) as landing_anonymous_id,
        loaded_at
    from {{ ref('stg_pos__transactions') }}

),

online_orders as (

    select
        shop_order_id as order_id,
        'ecommerce' as source_system,
        'orders' as source_entity,
        shop_order_id as source_order_id,
        channel,
        created_at as ordered_at,
        fulfilment,
        store_id,
        is_cancelled,
        case when is_cancelled then cast(0 as decimal(18, 2)) else total_price end as gross_revenue,
        landing_anonymous_id,
        loaded_at
    from {{ ref('stg_ecommerce__orders') }}

),

unioned as (

    select * from store_tickets
    union all
    select * from online_orders

)

select * from unioned
