{{ config(severity='warn') }}
{#- A refund or return that points at no known order cannot be netted anywhere: it is money
    out that the revenue marts do not show (usually an order not loaded yet). -#}
with

adjustments as (

    select * from {{ ref('int_order_adjustments_aggregated') }}

),

orders as (

    select
        source_system,
        source_order_id
    from {{ ref('int_orders_unioned') }}

)

select adjustments.*
from adjustments
left join orders
    on
        adjustments.source_system = orders.source_system
        and adjustments.source_order_id = orders.source_order_id
where orders.source_order_id is null
