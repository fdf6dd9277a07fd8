{#- One row per journey (see fct_touchpoints for how touchpoints are grouped). The channel
    path lists the channels in the order the customer first used them in the journey. A
    journey without a purchase is `abandoned` once `journey_inactivity_days` have passed
    since its last touchpoint by the newest touchpoint in the warehouse, `open` before. -#}
with

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}
    where journey_id is not null

),

as_of as (

    select max(occurred_at) as as_of_at
    from {{ ref('fct_touchpoints') }}

),

channel_firsts as (

    select
        journey_id,
        channel,
        min(occurred_at) as first_used_at
    from touchpoints
    group by journey_id, channel

),

channel_paths as (

    select
        journey_id,
        count(*) as channels_count,
        {{ dbt.listagg('channel', "' > '", 'order by first_used_at asc, channel asc') }} as channel_path
    from channel_firsts
    group by journey_id

),

conversions as (

    select
        journey_id,
        order_id,
        channel as conversion_channel,
        occurred_at as converted_at
    from touchpoints
    where is_conversion

),

journeys as (

    select
        journey_id,
        customer_id,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as touchpoints_count
    from touchpoints
    group by journey_id, customer_id

),

final as (

    select
        journeys.journey_id,
        journeys.customer_id,
        journeys.started_at,
        journeys.ended_at,
        channel_paths.channel_path,
        channel_paths.channels_count,
        journeys.touchpoints_count,
        conversions.order_id is not null as converted,
        conversions.order_id,
        conversions.conversion_channel,
        cast(
            {{ dbt.datediff('journeys.started_at', 'conversions.converted_at', 'second') }} / 3600.0
            as double
        ) as hours_to_convert,
        channel_paths.channels_count > 1 as is_channel_switch,
        case
            when conversions.order_id is not null then 'converted'
            when
                {{ dbt.dateadd('day', var('journey_inactivity_days'), 'journeys.ended_at') }}
                < as_of.as_of_at
                then 'abandoned'
            else 'open'
        end as journey_status
    from journeys
    inner join channel_paths
        on journeys.journey_id = channel_paths.journey_id
    left join conversions
        on journeys.journey_id = conversions.journey_id
    cross join as_of

)

select * from final
