{#- Month (Madrid) × channel_segment (metric definitions: `_kpis__metrics.md`). A customer
    who already came back is still pending until the whole window has passed: otherwise
    recent months would count only the quick returners and look better than they are. -#}
{%- set window_days = var('churn_window_days') %}

with

orders as (

    select
        customer_id,
        ordered_at,
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as order_month
    from {{ ref('fct_orders') }}
    where customer_id is not null and not is_cancelled

),

as_of as (

    select max(ordered_at) as as_of_at
    from orders

),

active as (

    select
        customer_id,
        order_month,
        max(ordered_at) as last_ordered_at
    from orders
    group by customer_id, order_month

),

outcomes as (

    select
        active.customer_id,
        active.order_month,
        case
            when {{ dbt.dateadd('day', window_days, 'active.last_ordered_at') }} > max(as_of.as_of_at)
                then 'pending'
            when min(later.ordered_at) is not null then 'retained'
            else 'churned'
        end as outcome
    from active
    cross join as_of
    left join orders as later
        on
            active.customer_id = later.customer_id
            and active.last_ordered_at < later.ordered_at
            and {{ dbt.dateadd('day', window_days, 'active.last_ordered_at') }} >= later.ordered_at
    group by active.customer_id, active.order_month, active.last_ordered_at

),

final as (

    select
        outcomes.order_month as month,  -- noqa: RF04
        customers.channel_segment,
        cast(count(*) as bigint) as active_customers,
        cast(sum(case when outcomes.outcome = 'churned' then 1 else 0 end) as bigint)
            as churned_customers,
        cast(sum(case when outcomes.outcome = 'retained' then 1 else 0 end) as bigint)
            as retained_customers,
        cast(sum(case when outcomes.outcome = 'pending' then 1 else 0 end) as bigint)
            as pending_customers,
        cast(
            sum(case when outcomes.outcome = 'churned' then 1 else 0 end) * 1.0
            / nullif(sum(case when outcomes.outcome <> 'pending' then 1 else 0 end), 0)
            as double
        ) as churn_rate
    from outcomes
    inner join {{ ref('dim_customers') }} as customers
        on outcomes.customer_id = customers.customer_id
    group by outcomes.order_month, customers.channel_segment

)

select * from final
