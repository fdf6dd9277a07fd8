{#- One row per identifier column of a staging model: (source_system, source_entity,
    source_record_id, identifier_type, identifier_value, identifier_rank = position in the
    list), skipping nulls. `identifiers` is a list of [identifier_type, column] pairs. -#}
{% macro identifier_rows(model_name, source_system, source_entity, record_id, identifiers) -%}
    {{ return(adapter.dispatch('identifier_rows', 'omni')(
        model_name, source_system, source_entity, record_id, identifiers)) }}
{%- endmacro %}

{#- A `union all` of one select per column. -#}
{% macro default__identifier_rows(model_name, source_system, source_entity, record_id, identifiers) -%}
    {%- for identifier_type, column in identifiers %}
        select
            '{{ source_system }}' as source_system,
            '{{ source_entity }}' as source_entity,
            {{ record_id }} as source_record_id,
            '{{ identifier_type }}' as identifier_type,
            {{ column }} as identifier_value,
            {{ loop.index }} as identifier_rank
        from {{ ref(model_name) }}
        where {{ column }} is not null
        {%- if not loop.last %}
        union all
        {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#- DuckDB: one scan of the staging view, unnesting a list of (type, value, rank). The
    staging views normalise emails and phones with regular expressions, so reading a view
    once per column repeated that work for every column (the slowest identity step at 100k
    customers). -#}
{% macro duckdb__identifier_rows(model_name, source_system, source_entity, record_id, identifiers) -%}
        select
            source_system,
            source_entity,
            source_record_id,
            struct_extract(identifier, 'identifier_type') as identifier_type,
            struct_extract(identifier, 'identifier_value') as identifier_value,
            struct_extract(identifier, 'identifier_rank') as identifier_rank
        from (
            select
                '{{ source_system }}' as source_system,
                '{{ source_entity }}' as source_entity,
                {{ record_id }} as source_record_id,
                unnest([
                    {%- for identifier_type, column in identifiers %}
                    {
                        'identifier_type': '{{ identifier_type }}',
                        'identifier_value': cast({{ column }} as varchar),
                        'identifier_rank': {{ loop.index }}
                    }{% if not loop.last %},{% endif %}
                    {%- endfor %}
                ]) as identifier
            from {{ ref(model_name) }}
        ) as unnested
        where struct_extract(identifier, 'identifier_value') is not null
{%- endmacro %}
