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
        ) as net_revenue
    from orders
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
