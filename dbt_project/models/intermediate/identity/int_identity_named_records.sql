{#- The records that carry a person's name (CRM contacts, shop customers), with the name in
    the form that compares: accent-free lower case, the first given name only ("María José"
    and "María" are one person often enough) and a nickname replaced by its full name (Paco
    is Francisco). The junk guards and probabilistic matching both compare these. -#}
with

records as (

    select
        record_key,
        source_system,
        source_entity,
        source_record_id,
        {{ dbt.split_part(name_key('first_name'), "' '", 1) }} as first_name_key,
        {{ name_key('last_name') }} as last_name_key
    from {{ ref('int_identity_records_unioned') }}
    where first_name is not null

),

nicknames as (

    select
        nickname,
        first_name
    from {{ ref('first_name_nicknames') }}

),

folded as (

    select
        records.record_key,
        records.source_system,
        records.source_entity,
        records.source_record_id,
        coalesce(nicknames.first_name, records.first_name_key) as first_name_key,
        records.last_name_key
    from records
    left join nicknames
        on records.first_name_key = nicknames.nickname

)

select * from folded
