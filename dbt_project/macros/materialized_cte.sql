{#- `as materialized (` where the engine knows it. DuckDB's optimiser inlines a chain of
    CTEs and its planning time then grows exponentially with the chain's length (a minute
    for twelve label-propagation passes over a handful of rows); materialising each step
    keeps it to milliseconds. Spark plans such chains fine and has no such keyword. -#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte', 'omni')()) }}
{%- endmacro %}

{% macro default__materialized_cte() -%}
{%- endmacro %}

{% macro duckdb__materialized_cte() -%}
    materialized
{%- endmacro %}
