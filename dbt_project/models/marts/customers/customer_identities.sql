{#- Which customer every resolved source record belongs to: one row per source record, with
    the strongest identifier it carries. Strength follows `identity_identifier_priority`
    (system ids before loyalty card, email, phone, handle, device and order keys); among
    identifiers of one type, one used for matching before an excluded one (a store phone),
    then the record's primary field before additional ones. Every identifier of a record
    is in `customer_identifiers`. -#}
{%- set priority = var('identity_identifier_priority') %}

with

identifiers as (

    select * from {{ ref('customer_identifiers') }}

),

identifier_counts as (

    select
        source_system,
        source_entity,
        source_record_id,
        count(*) as identifiers_count
    from identifiers
    group by source_system, source_entity, source_record_id

),

ranked as (

    select
        identifiers.customer_id,
        identifiers.source_system,
        identifiers.source_entity,
        identifiers.source_record_id,
        identifiers.identifier_type,
        identifiers.identifier_value,
        identifiers.is_used_for_matching,
        row_number() over (
            partition by
                identifiers.source_system,
                identifiers.source_entity,
                identifiers.source_record_id
            order by
                case identifiers.identifier_type
                    {%- for identifier_type in priority %}
                    when '{{ identifier_type }}' then {{ loop.index }}
                    {%- endfor %}
                    else {{ priority | length + 1 }}
                end asc,
                identifiers.is_used_for_matching desc,
                unioned.identifier_rank asc,
                identifiers.identifier_value asc
        ) as strength
    from identifiers
    inner join {{ ref('int_identifiers_unioned') }} as unioned
        on
            identifiers.source_system = unioned.source_system
            and identifiers.source_entity = unioned.source_entity
            and identifiers.source_record_id = unioned.source_record_id
            and identifiers.identifier_type = unioned.identifier_type
            and identifiers.identifier_value = unioned.identifier_value

),

final as (

    select
        ranked.customer_id,
        ranked.source_system,
        ranked.source_entity,
        ranked.source_record_id,
        ranked.identifier_type,
        ranked.identifier_value,
        ranked.is_used_for_matching,
        identifier_counts.identifiers_count
    from ranked
    inner join identifier_counts
        on
            ranked.source_system = identifier_counts.source_system
            and ranked.source_entity = identifier_counts.source_entity
            and ranked.source_record_id = identifier_counts.source_record_id
    where ranked.strength = 1

)

select * from final
