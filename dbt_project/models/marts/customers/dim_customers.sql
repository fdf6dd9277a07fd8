{#- One row per resolved person. `channel_segment` is defined from the customer's journeys
    (fct_journeys; the definition is in the YAML beside this model). -#}
with

golden as (

    select * from {{ ref('int_customers_golden') }}

),

orders as (

    select * from {{ ref('fct_orders') }}
    where customer_id is not null and not is_cancelled

),

purchases as (

    select
        customer_id,
        count(*) as orders_count,
        sum(net_revenue) as net_revenue,
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at,
        count(distinct channel) as channels_purchased,
        max(case when channel = 'store' then 1 else 0 end) as has_bought_in_store,
        count(distinct case when channel <> 'store' then channel end) as digital_channels
    from orders
    group by customer_id

),

journeys as (

    select
        customer_id,
        count(*) as journeys_count,
        max(case when is_channel_switch then 1 else 0 end) as has_switched_channel
    from {{ ref('fct_journeys') }}
    group by customer_id

),

journey_channels as (

    select
        customer_id,
        count(distinct channel) as journey_channels_count
    from {{ ref('fct_touchpoints') }}
    where journey_id is not null
    group by customer_id

),

final as (

    select
        golden.customer_id,
        golden.first_name,
        golden.last_name,
        golden.email,
        golden.phone,
        golden.loyalty_id,
        golden.crm_contact_id,
        golden.first_seen_at,
        purchases.first_ordered_at,
        purchases.last_ordered_at,
        coalesce(purchases.orders_count, 0) as orders_count,
        cast(coalesce(purchases.net_revenue, 0) as decimal(18, 2)) as net_revenue,
        coalesce(purchases.channels_purchased, 0) as channels_purchased,
        case
            when journeys.journeys_count is null then null
            when
                journeys.has_switched_channel = 1
                and purchases.has_bought_in_store = 1
                and purchases.digital_channels >= 1
                then 'omni'
            when journeys.has_switched_channel = 1 then 'cross'
            when journey_channels.journey_channels_count > 1 then 'multi'
            else 'single'
        end as channel_segment,
        golden.source_records,
        coalesce(journeys.journeys_count, 0) as journeys_count,
        coalesce(journey_channels.journey_channels_count, 0) as journey_channels_count
    from golden
    left join purchases
        on golden.customer_id = purchases.customer_id
    left join journeys
        on golden.customer_id = journeys.customer_id
    left join journey_channels
        on golden.customer_id = journey_channels.customer_id

)

select * from final
