{{ config(meta={'blocking': true}) }}
{#- Every attribution model shares out exactly the net revenue of the orders that converted
    a journey, month by month: no model creates or loses a cent. -#}
with

expected as (

    select
        cast({{ dbt.date_trunc('month', 'orders.order_date') }} as date) as month,  -- noqa: RF04
        sum(orders.net_revenue) as net_revenue
    from {{ ref('fct_journeys') }} as journeys
    inner join {{ ref('fct_orders') }} as orders
        on journeys.order_id = orders.order_id
    where journeys.converted
    group by {{ dbt.date_trunc('month', 'orders.order_date') }}

),

models as (
    {%- for model in ['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay'] %}

    select '{{ model }}' as attribution_model
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

allocated as (

    select
        month,
        attribution_model,
        sum(attributed_revenue) as attributed_revenue
    from {{ ref('kpi_attribution') }}
    group by month, attribution_model

)

select
    expected.month,
    models.attribution_model,
    expected.net_revenue,
    allocated.attributed_revenue
from expected
cross join models
left join allocated
    on
        expected.month = allocated.month
        and models.attribution_model = allocated.attribution_model
where
    allocated.attributed_revenue is null
    or allocated.attributed_revenue <> expected.net_revenue
