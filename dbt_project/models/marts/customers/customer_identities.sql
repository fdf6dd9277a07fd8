{#- Which customer every resolved source record belongs to: one row per source record, with
    the strongest identifier it carries. Strength follows `identity_identifier_priority`
    (system ids before loyalty card, email, phone, handle, device and order keys); among
    identifiers of one type, one used for matching before an excluded one (a store phone),
    then the record's primary field before additional ones. Every identifier of a record
    is in `customer_identifiers`. -#}
{%- set priority = var('identity_identifier_priority') %}

with

resolved as (

    select
        record_key,
        customer_id,
        source_system,
        source_entity,
        source_record_id
    from {{ ref('int_identity_records_resolved') }}
    where customer_id is not null

),

excluded as (

    select distinct
        identifier_type,
        identifier_value
    from {{ ref('int_identifiers_excluded') }}

),

identifiers as (

    -- One integer orders a record's identifiers: type priority, then used for matching
    -- before excluded, then the field's rank (below 100000: a record has a few fields). A
    -- record's identifiers never tie on it (one identifier per type and rank), so
    -- `min_by` on an integer picks the strongest: far cheaper than a window or a struct key
    -- over tens of millions of rows.
    select
        identifiers.record_key,
        identifiers.identifier_type,
        identifiers.identifier_value,
        case identifiers.identifier_type
            {%- for identifier_type in priority %}
            when '{{ identifier_type }}' then {{ loop.index }}
            {%- endfor %}
            else {{ priority | length + 1 }}
        end * 1000000
        + case when excluded.identifier_value is null then 0 else 100000 end
        + identifiers.identifier_rank as strength
    from {{ ref('int_identifiers_unioned') }} as identifiers
    left join excluded
        on
            identifiers.identifier_type = excluded.identifier_type
            and identifiers.identifier_value = excluded.identifier_value

),

strongest as (

    select
        record_key,
        min(strength) as strength,
        min_by(identifier_type, strength) as identifier_type,
        min_by(identifier_value, strength) as identifier_value,
        count(*) as identifiers_count
    from identifiers
    group by record_key

),

final as (

    select
        resolved.customer_id,
        resolved.source_system,
        resolved.source_entity,
        resolved.source_record_id,
        strongest.identifier_type,
        strongest.identifier_value,
        strongest.strength % 1000000 < 100000 as is_used_for_matching,
        strongest.identifiers_count
    from resolved
    inner join strongest
        on resolved.record_key = strongest.record_key

)

select * from final
