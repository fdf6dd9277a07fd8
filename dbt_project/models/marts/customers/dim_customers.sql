{#- One row per resolved person. Segments by where the customer bought (net of nothing:
    a cancelled order still shows the channel was used, but is not counted here):
    - single: bought in one channel only;
    - multi: bought in two or more channels, all digital (web, app, phone, whatsapp)
      or otherwise never crossing between shop and digital;
    - cross: bought both in a store and in exactly one digital channel;
    - omni: bought in a store and in two or more digital channels.
    Null when the customer has not bought anything yet (a lead, a subscriber). -#}
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
            when purchases.channels_purchased is null then null
            when purchases.channels_purchased = 1 then 'single'
            when purchases.has_bought_in_store = 0 then 'multi'
            when purchases.digital_channels = 1 then 'cross'
            else 'omni'
        end as channel_segment,
        golden.source_records
    from golden
    left join purchases
        on golden.customer_id = purchases.customer_id

)

select * from final
