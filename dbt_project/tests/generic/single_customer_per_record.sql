{#- Fails with every source record listed under more than one customer. -#}
{% test single_customer_per_record(model) %}

select
    source_system,
    source_entity,
    source_record_id,
    count(distinct customer_id) as customers
from {{ model }}
group by source_system, source_entity, source_record_id
having count(distinct customer_id) > 1

{% endtest %}
