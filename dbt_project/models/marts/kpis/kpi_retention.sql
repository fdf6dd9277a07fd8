{#- Cohort month × channel_segment × months since the first order (metric definitions:
    `_kpis__metrics.md`). Segments are the customers' current ones (dim_customers), so a
    cohort's split by segment can move as customers' journeys go on. -#}
with

orders as (

    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as order_month
    from {{ ref('fct_orders') }}
    where customer_id is not null and not is_cancelled

),

months as (

    select distinct order_month as activity_month
    from orders

),

customers as (

    select
        orders.customer_id,
        dim_customers.channel_segment,
        min(orders.order_month) as cohort_month
    from orders
    inner join {{ ref('dim_customers') }} as dim_customers
        on orders.customer_id = dim_customers.customer_id
    group by orders.customer_id, dim_customers.channel_segment

),

cohorts as (

    select
        cohort_month,
        channel_segment,
        count(*) as cohort_size
    from customers
    group by cohort_month, channel_segment

),

active_months as (

    select distinct
        customer_id,
        order_month
    from orders

),

retained as (

    select
        customers.cohort_month,
        customers.channel_segment,
        active_months.order_month as activity_month,
        count(*) as retained_customers
    from customers
    inner join active_months
        on customers.customer_id = active_months.customer_id
    group by customers.cohort_month, customers.channel_segment, active_months.order_month

),

final as (

    select
        cohorts.cohort_month,
        cohorts.channel_segment,
        cast({{ dbt.datediff('cohorts.cohort_month', 'months.activity_month', 'month') }} as integer)
            as months_since_first_order,
        months.activity_month,
        cast(cohorts.cohort_size as bigint) as cohort_size,
        cast(coalesce(retained.retained_customers, 0) as bigint) as retained_customers,
        cast(coalesce(retained.retained_customers, 0) * 1.0 / cohorts.cohort_size as double)
            as retention_rate
    from cohorts
    inner join months
        on cohorts.cohort_month <= months.activity_month
    left join retained
        on
            cohorts.cohort_month = retained.cohort_month
            and cohorts.channel_segment = retained.channel_segment
            and months.activity_month = retained.activity_month

)

select * from final
