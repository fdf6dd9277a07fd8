{#- Month (Madrid) of the order: orders and net revenue that came after the customer touched
    two or more channels versus one, looking back `multichannel_lookback_days` days from the
    order (the order's own channel counts as a touch). Orders without a resolved customer
    cannot be traced and are reported apart. -#}
with

orders as (

    select
        order_id,
        customer_id,
        channel,
        ordered_at,
        order_date,
        net_revenue
    from {{ ref('fct_orders') }}
    where not is_cancelled

),

touchpoints as (

    -- The channel of every journey touchpoint, and the campaign's channel that brought a visit.
    select
        customer_id,
        occurred_at,
        channel
    from {{ ref('fct_touchpoints') }}
    where customer_id is not null and is_in_journey

    union all

    select
        customer_id,
        occurred_at,
        campaign_channel as channel
    from {{ ref('fct_touchpoints') }}
    where customer_id is not null and is_in_journey and campaign_channel is not null

),

channels_before_order as (

    select
        orders.order_id,
        count(distinct touchpoints.channel) as channels_touched
    from orders
    inner join touchpoints
        on
            orders.customer_id = touchpoints.customer_id
            and orders.ordered_at >= touchpoints.occurred_at
            and {{ dbt.dateadd('day', -var('multichannel_lookback_days'), 'orders.ordered_at') }}
            <= touchpoints.occurred_at
    group by orders.order_id

),

classified as (

    select
        {{ dbt.date_trunc('month', 'orders.order_date') }} as order_month,
        orders.net_revenue,
        case
            when orders.customer_id is null then 'anonymous'
            when coalesce(channels_before_order.channels_touched, 1) >= 2 then 'multiple'
            else 'one'
        end as channels_bucket
    from orders
    left join channels_before_order
        on orders.order_id = channels_before_order.order_id

),

final as (

    select
        cast(order_month as date) as month,  -- noqa: RF04
        cast(sum(case when channels_bucket = 'multiple' then 1 else 0 end) as bigint)
            as orders_after_multiple_channels,
        cast(sum(case when channels_bucket = 'multiple' then net_revenue else 0 end) as decimal(18, 2))
            as net_revenue_after_multiple_channels,
        cast(sum(case when channels_bucket = 'one' then 1 else 0 end) as bigint)
            as orders_after_one_channel,
        cast(sum(case when channels_bucket = 'one' then net_revenue else 0 end) as decimal(18, 2))
            as net_revenue_after_one_channel,
        cast(sum(case when channels_bucket = 'anonymous' then 1 else 0 end) as bigint)
            as anonymous_orders,
        cast(sum(case when channels_bucket = 'anonymous' then net_revenue else 0 end) as decimal(18, 2))
            as anonymous_net_revenue,
        cast(
            sum(case when channels_bucket = 'multiple' then net_revenue else 0 end)
            / nullif(sum(case when channels_bucket <> 'anonymous' then net_revenue else 0 end), 0)
            as double
        ) as multichannel_revenue_share
    from classified
    group by order_month

)

select * from final
