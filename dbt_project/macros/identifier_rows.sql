{#- One row per identifier column of a staging model: (record_key, source_system,
    source_entity, source_record_id, identifier_type, identifier_value, identifier_rank =
    position in the list, grouped_record_key), skipping nulls. `identifiers` is a list of
    [identifier_type, column] pairs; `record_rank` is the record's rank in
    `identity_record_key`; `grouped_record_key` (an expression, null when omitted) is the
    matching-graph node that stands for several records of the model. -#}
{% macro identifier_rows(model_name, record_rank, source_system, source_entity, record_id, identifiers, grouped_record_key=none) -%}
    {{ return(adapter.dispatch('identifier_rows', 'omni')(
        model_name, record_rank, source_system, source_entity, record_id, identifiers,
        grouped_record_key)) }}
{%- endmacro %}

{#- A `union all` of one select per column. -#}
{% macro default__identifier_rows(model_name, record_rank, source_system, source_entity, record_id, identifiers, grouped_record_key=none) -%}
    {%- for identifier_type, column in identifiers %}
        select
            {{ identity_record_key(record_rank, source_system, source_entity, record_id) }} as record_key,
            '{{ source_system }}' as source_system,
            '{{ source_entity }}' as source_entity,
            {{ record_id }} as source_record_id,
            '{{ identifier_type }}' as identifier_type,
            {{ column }} as identifier_value,
            {{ loop.index }} as identifier_rank,
            {{ grouped_record_key or 'cast(null as ' ~ dbt.type_string() ~ ')' }} as grouped_record_key
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
{% macro duckdb__identifier_rows(model_name, record_rank, source_system, source_entity, record_id, identifiers, grouped_record_key=none) -%}
        select
            record_key,
            source_system,
            source_entity,
            source_record_id,
            struct_extract(identifier, 'identifier_type') as identifier_type,
            struct_extract(identifier, 'identifier_value') as identifier_value,
            struct_extract(identifier, 'identifier_rank') as identifier_rank,
            grouped_record_key
        from (
            select
                {{ identity_record_key(record_rank, source_system, source_entity, record_id) }} as record_key,
                '{{ source_system }}' as source_system,
                '{{ source_entity }}' as source_entity,
                {{ record_id }} as source_record_id,
                {{ grouped_record_key or 'cast(null as varchar)' }} as grouped_record_key,
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
