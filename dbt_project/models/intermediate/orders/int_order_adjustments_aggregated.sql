{{ config(materialized='view') }}
{#- Money given back per order, whichever system handled it: shop refunds (child rows of the
    order) and store returns that point at a store ticket or at an online order (an online
    order brought back to a shop). Keyed by the order's id in its own system.

    `loaded_at` is when dlt last delivered any of them: a refund arrives inside its order's
    document (the order is loaded again), a store return on its own, possibly weeks after
    the order; fct_orders rebuilds an order whose adjustments were loaded after its last
    build. -#}
with

shop_orders as (

    select
        shop_order_id,
        order_dlt_id,
        loaded_at
    from {{ ref('stg_ecommerce__orders') }}

),

shop_refunds as (

    select
        'ecommerce' as source_system,
        shop_orders.shop_order_id as source_order_id,
        refunds.refund_amount as refunded_amount,
        cast(0 as decimal(18, 2)) as returned_amount,
        shop_orders.loaded_at
    from {{ ref('stg_ecommerce__order_refunds') }} as refunds
    inner join shop_orders
        on refunds.order_dlt_id = shop_orders.order_dlt_id

),

store_returns as (

    select
        case
            when original_transaction_id is not null then 'pos' else 'ecommerce'
        end as source_system,
        coalesce(original_transaction_id, original_shop_order_id) as source_order_id,
        cast(0 as decimal(18, 2)) as refunded_amount,
        refund_amount as returned_amount,
        loaded_at
    from {{ ref('stg_pos__returns') }}
    where coalesce(original_transaction_id, original_shop_order_id) is not null

),

adjustments as (

    select * from shop_refunds
    union all
    select * from store_returns

),

aggregated as (

    select
        source_system,
        source_order_id,
        cast(sum(refunded_amount) as decimal(18, 2)) as refunded_amount,
        cast(sum(returned_amount) as decimal(18, 2)) as returned_amount,
        max(loaded_at) as loaded_at
    from adjustments
    group by source_system, source_order_id

)

select * from aggregated
