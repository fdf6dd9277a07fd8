{#- Day × store for click-and-collect (online orders with fulfilment pickup_in_store), by the
    Madrid day the order was placed and the store it is collected from. Metric definitions:
    `_kpis__metrics.md`. -#}
with

orders as (

    select
        order_id,
        order_date,
        store_id
    from {{ ref('fct_orders') }}
    where fulfilment = 'pickup_in_store' and not is_cancelled

),

pickups as (

    select
        shop_order_id,
        pickup_status,
        ready_at,
        picked_up_at
    from {{ ref('stg_pos__pickups') }}

),

joined as (

    select
        orders.order_date,
        orders.store_id,
        orders.order_id,
        pickups.ready_at,
        pickups.pickup_status,
        {{ dbt.datediff('pickups.ready_at', 'pickups.picked_up_at', 'second') }} / 3600.0
            as hours_to_pickup
    from orders
    left join pickups
        on orders.order_id = pickups.shop_order_id

),

aggregated as (

    select
        order_date as date,  -- noqa: RF04
        store_id,
        count(distinct order_id) as orders,
        count(ready_at) as ready,
        sum(case when pickup_status = 'picked_up' then 1 else 0 end) as picked_up,
        sum(case when pickup_status = 'expired' then 1 else 0 end) as expired,
        {{ median_of("case when pickup_status = 'picked_up' then hours_to_pickup end") }}
            as median_hours_to_pickup
    from joined
    group by order_date, store_id

),

final as (

    select
        date,
        store_id,
        cast(orders as bigint) as orders,
        cast(ready as bigint) as ready,
        cast(picked_up as bigint) as picked_up,
        cast(expired as bigint) as expired,
        cast(
            case when picked_up + expired > 0 then picked_up * 1.0 / (picked_up + expired) end
            as double
        ) as pickup_rate,
        cast(median_hours_to_pickup as double) as median_hours_to_pickup
    from aggregated

)

select * from final
