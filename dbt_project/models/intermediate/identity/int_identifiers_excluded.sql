{#- The audit list of identifiers that must not join records, one row per identifier and
    reason. Two simple, explainable rules:
    - store_phone: a store's own number, which staff type for walk-in customers;
    - shared_by_different_names: an email or phone carried by named records (CRM contacts,
      shop customers) with more than `identity_max_names_per_identifier` different full names
      once case, accents, nicknames and swapped letters are folded (households, shared inboxes, two
      namesakes whose Gmail addresses differ only by dots). -#}
with

store_phones as (

    select distinct
        'phone' as identifier_type,
        phone as identifier_value,
        'store_phone' as reason
    from {{ ref('stg_pos__stores') }}
    where phone is not null

),

nicknames as (

    select
        nickname,
        first_name
    from {{ ref('first_name_nicknames') }}

),

named_records as (

    select
        records.source_system,
        records.source_entity,
        records.source_record_id,
        {{ sorted_letters('coalesce(nicknames.first_name, records.first_name_key)') }}
        || ' ' || coalesce({{ sorted_letters('records.last_name_key') }}, '') as person_name_key
    from (
        select
            source_system,
            source_entity,
            source_record_id,
            -- The first word only: "María José" and "María" are one person often enough.
            {{ dbt.split_part(name_key('first_name'), "' '", 1) }} as first_name_key,
            {{ name_key('last_name') }} as last_name_key
        from {{ ref('int_identity_records_unioned') }}
        where first_name is not null
    ) as records
    left join nicknames
        on records.first_name_key = nicknames.nickname

),

names_per_identifier as (

    select
        identifiers.identifier_type,
        identifiers.identifier_value,
        count(distinct named_records.person_name_key) as distinct_names
    from {{ ref('int_identifiers_unioned') }} as identifiers
    inner join named_records
        on
            identifiers.source_system = named_records.source_system
            and identifiers.source_entity = named_records.source_entity
            and identifiers.source_record_id = named_records.source_record_id
    where identifiers.identifier_type in ('email', 'phone')
    group by identifiers.identifier_type, identifiers.identifier_value

),

shared as (

    select
        identifier_type,
        identifier_value,
        'shared_by_different_names' as reason
    from names_per_identifier
    where distinct_names > {{ var('identity_max_names_per_identifier') }}

),

excluded as (

    select * from store_phones
    union all
    select * from shared

),

with_usage as (

    select
        excluded.identifier_type,
        excluded.identifier_value,
        excluded.reason,
        count(identifiers.source_record_id) as records_carrying
    from excluded
    left join {{ ref('int_identifiers_unioned') }} as identifiers
        on
            excluded.identifier_type = identifiers.identifier_type
            and excluded.identifier_value = identifiers.identifier_value
    group by excluded.identifier_type, excluded.identifier_value, excluded.reason

)

select * from with_usage
