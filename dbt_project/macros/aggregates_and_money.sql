{#- Money arrives as text (`"59.90"`) from the shop API and as numbers from the till; both
    become exact two-decimal EUR so that sums reconcile to the cent. -#}
{% macro to_money(column) -%}
    cast({{ column }} as decimal(18, 2))
{%- endmacro %}

{#- Median of a numeric column as an aggregate. -#}
{% macro median_of(column) -%}
    {{ return(adapter.dispatch('median_of', 'omni')(column)) }}
{%- endmacro %}

{% macro default__median_of(column) -%}
    percentile_approx({{ column }}, 0.5)
{%- endmacro %}

{% macro duckdb__median_of(column) -%}
    median({{ column }})
{%- endmacro %}
