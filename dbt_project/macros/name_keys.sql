{#- Lower-case, accent-free form of a name, so "José", "Jose" and "JOSÉ" compare equal. -#}
{% macro name_key(column) -%}
    {{ return(adapter.dispatch('name_key', 'omni')(column)) }}
{%- endmacro %}

{% macro default__name_key(column) -%}
    nullif(lower(trim(translate({{ column }}, 'áéíóúüñÁÉÍÓÚÜÑ', 'aeiouunAEIOUUN'))), '')
{%- endmacro %}

{% macro duckdb__name_key(column) -%}
    nullif(lower(trim(strip_accents({{ column }}))), '')
{%- endmacro %}

{#- The letters of a word in alphabetical order: a typo that swaps two letters ("Abla" for
    "Alba") keeps the same key, so it does not look like a different person. -#}
{% macro sorted_letters(column) -%}
    {{ return(adapter.dispatch('sorted_letters', 'omni')(column)) }}
{%- endmacro %}

{% macro default__sorted_letters(column) -%}
    array_join(array_sort(split(replace({{ column }}, ' ', ''), '')), '')
{%- endmacro %}

{% macro duckdb__sorted_letters(column) -%}
    array_to_string(list_sort(string_split(replace({{ column }}, ' ', ''), '')), '')
{%- endmacro %}
