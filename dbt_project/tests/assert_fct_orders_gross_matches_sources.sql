{{ config(meta={'blocking': true}) }}
{#- Revenue must not be lost or double counted between staging and the mart: gross per
    channel equals the store tickets' totals plus the non-cancelled online orders' totals. -#}
with

expected as (

    select
        'store' as channel,
        sum(total_amount) as gross_revenue,
        count(*) as orders
    from {{ ref('stg_pos__transactions') }}

    union all

    select
        channel,
        sum(case when is_cancelled then 0 else total_price end) as gross_revenue,
        count(*) as orders
    from {{ ref('stg_ecommerce__orders') }}
    group by channel

),

actual as (

    select
        channel,
        sum(gross_revenue) as gross_revenue,
        count(*) as orders
    from {{ ref('fct_orders') }}
    group by channel

)

select
    coalesce(expected.channel, actual.channel) as channel,
    expected.gross_revenue as expected_gross_revenue,
    actual.gross_revenue as actual_gross_revenue,
    expected.orders as expected_orders,
    actual.orders as actual_orders
from expected
full outer join actual
    on expected.channel = actual.channel
-- A channel with no orders on one side counts as zero on it: a source that has sent no
-- tickets yet aggregates to (store, null, 0), and the mart then has no store row at all.
where
    coalesce(expected.gross_revenue, 0) <> coalesce(actual.gross_revenue, 0)
    or coalesce(expected.orders, 0) <> coalesce(actual.orders, 0)
