{#- Fails with every row where `expression` is not true (null counts as a failure, because
    an invariant we cannot evaluate is not an invariant we have checked). -#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
