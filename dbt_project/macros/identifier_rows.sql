{#- One `select … union all select …` row set per identifier column of a staging model:
    (source_system, source_entity, source_record_id, identifier_type, identifier_value,
    identifier_rank = position in the list),
    skipping nulls. `identifiers` is a list of [identifier_type, column] pairs. -#}
{% macro identifier_rows(model_name, source_system, source_entity, record_id, identifiers) -%}
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
