{#- Day × channel scoreboard (Madrid business days). Each metric's definition is its docs
    block in `_kpis__metrics.md`, shown on its column. Net revenue is booked on the day the
    order was placed, so a past day's figure can still fall while returns come in. -#}
with

orders as (

    select * from {{ ref('fct_orders') }}
    where not is_cancelled

),

events as (

    select
        {{ business_date('occurred_at') }} as activity_date,
        platform as channel,
        anonymous_id,
        utm_medium,
        utm_source
    from {{ ref('stg_clickstream__events') }}

),

order_days as (

    select
        order_date as activity_date,
        channel,
        count(*) as orders,
        sum(net_revenue) as net_revenue
    from orders
    group by order_date, channel

),

visitor_days as (

    select
        activity_date,
        channel,
        count(distinct anonymous_id) as visitors
    from events
    group by activity_date, channel

),

converted_days as (

    select
        events.activity_date,
        events.channel,
        count(distinct events.anonymous_id) as converted_visitors
    from events
    inner join orders
        on
            events.anonymous_id = orders.landing_anonymous_id
            and events.activity_date = orders.order_date
            and events.channel = orders.channel
    group by events.activity_date, events.channel

),

spend_days as (

    select
        spend_date as activity_date,
        channel,
        sum(spend) as spend
    from {{ ref('stg_marketing__daily_spends') }}
    group by spend_date, channel

),

first_orders as (

    select
        customer_id,
        order_date,
        channel,
        landing_anonymous_id
    from (
        select
            customer_id,
            order_date,
            channel,
            landing_anonymous_id,
            row_number() over (
                partition by customer_id order by ordered_at asc, order_id asc
            ) as order_sequence
        from orders
        where customer_id is not null
    ) as sequenced
    where order_sequence = 1

),

paid_landings as (

    -- The paid channel a visitor came from that day, when a paid campaign brought them.
    select
        activity_date,
        anonymous_id,
        min({{ paid_channel_from_utm('utm_medium', 'utm_source') }}) as paid_channel
    from events
    where {{ paid_channel_from_utm('utm_medium', 'utm_source') }} is not null
    group by activity_date, anonymous_id

),

new_customer_rows as (

    select
        order_date as activity_date,
        channel,
        count(*) as new_customers
    from first_orders
    group by order_date, channel

    union all

    select
        first_orders.order_date as activity_date,
        paid_landings.paid_channel as channel,
        count(*) as new_customers
    from first_orders
    inner join paid_landings
        on
            first_orders.landing_anonymous_id = paid_landings.anonymous_id
            and first_orders.order_date = paid_landings.activity_date
    group by first_orders.order_date, paid_landings.paid_channel

),

new_customer_days as (

    select
        activity_date,
        channel,
        sum(new_customers) as new_customers
    from new_customer_rows
    group by activity_date, channel

),

spine as (

    select
        activity_date,
        channel
    from order_days
    union
    select
        activity_date,
        channel
    from visitor_days
    union
    select
        activity_date,
        channel
    from spend_days
    union
    select
        activity_date,
        channel
    from new_customer_days

),

final as (

    select
        spine.activity_date as date,  -- noqa: RF04
        spine.channel,
        cast(visitor_days.visitors as bigint) as visitors,
        cast(coalesce(order_days.orders, 0) as bigint) as orders,
        cast(
            case
                when visitor_days.visitors > 0
                    then coalesce(converted_days.converted_visitors, 0) * 1.0 / visitor_days.visitors
            end as double
        ) as conversion_rate,
        cast(coalesce(order_days.net_revenue, 0) as decimal(18, 2)) as net_revenue,
        cast(coalesce(spend_days.spend, 0) as decimal(18, 2)) as spend,
        cast(coalesce(new_customer_days.new_customers, 0) as bigint) as new_customers,
        cast(
            case
                when spend_days.spend > 0 and new_customer_days.new_customers > 0
                    then spend_days.spend / new_customer_days.new_customers
            end as decimal(18, 2)
        ) as cac
    from spine
    left join order_days
        on spine.activity_date = order_days.activity_date and spine.channel = order_days.channel
    left join visitor_days
        on spine.activity_date = visitor_days.activity_date and spine.channel = visitor_days.channel
    left join converted_days
        on
            spine.activity_date = converted_days.activity_date
            and spine.channel = converted_days.channel
    left join spend_days
        on spine.activity_date = spend_days.activity_date and spine.channel = spend_days.channel
    left join new_customer_days
        on
            spine.activity_date = new_customer_days.activity_date
            and spine.channel = new_customer_days.channel

)

select * from final
