{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_backfill_window('ordered_at') }}",
        post_hook="{{ delete_rows_without_source('order_id', ref('int_orders_unioned')) }}",
    )
}}
{#- One row per order: store tickets and online orders, netted by every refund and return.

    Incremental: an order is rebuilt when it changed, whatever its date. Changed means that
    dlt loaded the order, or any refund or store return of it, after the newest load this
    table holds (`loaded_at`: refunds and returns can arrive weeks after the order, so a
    date window alone would miss them), or that identity resolution moved it to another
    customer (two clusters merged, a guest order matched a person). Orders whose record is
    gone are deleted.

    Backfill (vars `backfill_start`, `backfill_end`): the orders placed on those business
    days are deleted and rebuilt, nothing else; their `loaded_at` is capped at the table's
    watermark, so a backfill never hides a load from the next normal run.

    `on_schema_change='append_new_columns'`: a warehouse built before `loaded_at` existed
    gets the column empty, and an empty watermark rebuilds everything once. -#}
{%- set window = backfill_window() %}

with

orders as (

    select * from {{ ref('int_orders_unioned') }}

),

adjustments as (

    select * from {{ ref('int_order_adjustments_aggregated') }}

),

customers as (

    select
        source_system,
        source_entity,
        source_record_id,
        customer_id
    from {{ ref('int_identity_records_resolved') }}

),

{% if is_incremental() and window is not none %}

orders_to_build as (

    select orders.order_id
    from orders
    where {{ in_backfill_window('orders.ordered_at') }}

),

{% elif is_incremental() %}

watermark as (

    select max(loaded_at) as last_loaded_at
    from {{ this }}

),

orders_to_build as (

    select orders.order_id
    from orders
    cross join watermark
    where watermark.last_loaded_at is null or orders.loaded_at > watermark.last_loaded_at

    union

    select orders.order_id
    from adjustments
    cross join watermark
    inner join orders
        on
            adjustments.source_system = orders.source_system
            and adjustments.source_order_id = orders.source_order_id
    where adjustments.loaded_at > watermark.last_loaded_at

    union

    select previous.order_id
    from {{ this }} as previous
    inner join orders
        on previous.order_id = orders.order_id
    left join customers
        on
            orders.source_system = customers.source_system
            and orders.source_entity = customers.source_entity
            and orders.source_order_id = customers.source_record_id
    where
        previous.customer_id <> customers.customer_id
        or (previous.customer_id is null) <> (customers.customer_id is null)

),

{% else %}

orders_to_build as (

    select order_id from orders

),

{% endif %}

final as (

    select
        orders.order_id,
        orders.source_system,
        customers.customer_id,
        orders.channel,
        orders.ordered_at,
        {{ business_date('orders.ordered_at') }} as order_date,
        orders.fulfilment,
        orders.store_id,
        orders.is_cancelled,
        orders.landing_anonymous_id,
        orders.gross_revenue,
        cast(
            case when not orders.is_cancelled then coalesce(adjustments.refunded_amount, 0) else 0 end
            as decimal(18, 2)
        ) as refunded_amount,
        cast(
            case when not orders.is_cancelled then coalesce(adjustments.returned_amount, 0) else 0 end
            as decimal(18, 2)
        ) as returned_amount,
        cast(
            case
                when orders.is_cancelled then 0
                else
                    orders.gross_revenue
                    - coalesce(adjustments.refunded_amount, 0)
                    - coalesce(adjustments.returned_amount, 0)
            end as decimal(18, 2)
        ) as net_revenue,
        {{ backfill_capped_loaded_at(
            'case when adjustments.loaded_at > orders.loaded_at'
            ~ ' then adjustments.loaded_at else orders.loaded_at end'
        ) }} as loaded_at
    from orders
    inner join orders_to_build
        on orders.order_id = orders_to_build.order_id
    left join adjustments
        on
            orders.source_system = adjustments.source_system
            and orders.source_order_id = adjustments.source_order_id
    left join customers
        on
            orders.source_system = customers.source_system
            and orders.source_entity = customers.source_entity
            and orders.source_order_id = customers.source_record_id

)

select * from final
