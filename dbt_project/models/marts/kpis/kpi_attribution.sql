{#- Month (Madrid, of the purchase) × channel × attribution model: the net revenue of every
    converted journey's order shared out over the journey's touches.

    A touch is a run of consecutive journey touchpoints on one marketing channel: the
    campaign that brought a visit when there was one (`campaign_channel`: paid_search,
    email, …), else the channel the interaction happened in (web, app, store, whatsapp, …).
    So "paid_social visit, 8 product views, store purchase" is three touches: paid_social,
    web, store. Weights per journey of n touches, touch k:
    - first_touch: all to k = 1;  last_touch: all to k = n;  linear: 1/n each;
    - position_based: 40 % first, 40 % last, 20 % shared by the middle ones (n = 2: 50/50);
    - time_decay: 0.5 ^ (days before the purchase / `attribution_half_life_days`), normalised.
    Revenue is split in whole cents (largest remainder), so every model allocates exactly
    the same total: the net revenue of the attributed orders. -#}
{%- set models = ['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay'] %}

with

journeys as (

    select
        journeys.journey_id,
        journeys.order_id,
        journeys.ended_at as converted_at,
        orders.order_date,
        cast(orders.net_revenue * 100 as bigint) as net_revenue_cents
    from {{ ref('fct_journeys') }} as journeys
    inner join {{ ref('fct_orders') }} as orders
        on journeys.order_id = orders.order_id
    where journeys.converted

),

steps as (

    select
        touchpoints.journey_id,
        touchpoints.touchpoint_id,
        touchpoints.occurred_at,
        touchpoints.is_conversion,
        coalesce(touchpoints.campaign_channel, touchpoints.channel) as channel
    from {{ ref('fct_touchpoints') }} as touchpoints
    inner join journeys
        on touchpoints.journey_id = journeys.journey_id

),

run_starts as (

    select
        *,
        case
            when
                lag(channel) over (
                    partition by journey_id
                    order by occurred_at asc, is_conversion asc, touchpoint_id asc
                ) = channel
                then 0
            else 1
        end as starts_touch
    from steps

),

touches as (

    select
        journey_id,
        channel,
        occurred_at,
        row_number() over (
            partition by journey_id
            order by occurred_at asc, is_conversion asc, touchpoint_id asc
        ) as touch_number,
        count(*) over (partition by journey_id) as touches_count
    from run_starts
    where starts_touch = 1

),

weighted as (

    select
        touches.journey_id,
        touches.channel,
        touches.touch_number,
        journeys.order_date,
        journeys.net_revenue_cents,
        case when touches.touch_number = 1 then 1.0 else 0.0 end as first_touch,
        case when touches.touch_number = touches.touches_count then 1.0 else 0.0 end as last_touch,
        1.0 / touches.touches_count as linear,
        case
            when touches.touches_count = 1 then 1.0
            when touches.touches_count = 2 then 0.5
            when touches.touch_number in (1, touches.touches_count) then 0.4
            else 0.2 / (touches.touches_count - 2)
        end as position_based,
        power(
            0.5,
            {{ dbt.datediff('touches.occurred_at', 'journeys.converted_at', 'second') }}
            / (86400.0 * {{ var('attribution_half_life_days') }})
        ) as time_decay_raw
    from touches
    inner join journeys
        on touches.journey_id = journeys.journey_id

),

normalised as (

    select
        *,
        time_decay_raw / sum(time_decay_raw) over (partition by journey_id) as time_decay
    from weighted

),

credits as (
    {%- for model in models %}

    select
        '{{ model }}' as attribution_model,
        journey_id,
        channel,
        touch_number,
        order_date,
        net_revenue_cents,
        {{ model }} as weight,
        floor(net_revenue_cents * {{ model }}) as base_cents,
        net_revenue_cents * {{ model }} - floor(net_revenue_cents * {{ model }}) as remainder_cents
    from normalised
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

allocated as (

    -- The cents the floors left over go to the touches with the largest remainders.
    select
        *,
        net_revenue_cents - sum(base_cents) over (partition by attribution_model, journey_id)
            as leftover_cents,
        row_number() over (
            partition by attribution_model, journey_id
            order by remainder_cents desc, touch_number asc
        ) as remainder_rank
    from credits

),

final as (

    select
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as month,  -- noqa: RF04
        channel,
        attribution_model,
        cast(
            sum(base_cents + case when remainder_rank <= leftover_cents then 1 else 0 end) / 100.0
            as decimal(18, 2)
        ) as attributed_revenue,
        cast(sum(weight) as double) as attributed_conversions
    from allocated
    group by {{ dbt.date_trunc('month', 'order_date') }}, channel, attribution_model

)

select * from final
