{#- The records probabilistic matching compares (CRM contacts and shop customers), one row
    each, with the features it scores: folded first and last name, the record's first email
    (whole and its local part), its first phone and the postcode. An identifier excluded as
    junk (a store's phone, one used by too many accounts) is blanked so it cannot count as
    agreement; one excluded because people with different names share it (a household inbox)
    stays, because the same inbox *and* the same name is still strong evidence. -#}
with

named as (

    select * from {{ ref('int_identity_named_records') }}

),

junk as (

    select distinct
        identifier_type,
        identifier_value
    from {{ ref('int_identifiers_excluded') }}
    where reason <> 'shared_by_different_names'

),

contact_points as (

    -- Joined to the named records first: they are a small share of all identifiers.
    select
        identifiers.record_key,
        identifiers.identifier_type,
        identifiers.identifier_value,
        row_number() over (
            partition by identifiers.record_key, identifiers.identifier_type
            order by identifiers.identifier_rank, identifiers.identifier_value
        ) as contact_rank
    from named
    inner join {{ ref('int_identifiers_unioned') }} as identifiers
        on named.record_key = identifiers.record_key
    left join junk
        on
            identifiers.identifier_type = junk.identifier_type
            and identifiers.identifier_value = junk.identifier_value
    where
        identifiers.identifier_type in ('email', 'phone')
        and junk.identifier_value is null

),

first_contact_points as (

    select
        record_key,
        max(case when identifier_type = 'email' then identifier_value end) as email,
        max(case when identifier_type = 'phone' then identifier_value end) as phone
    from contact_points
    where contact_rank = 1
    group by record_key

),

contacts as (

    select
        'contacts' as source_entity,
        crm_contact_id,
        nullif(trim(zip_code), '') as zip_code
    from {{ ref('stg_crm__contacts') }}

),

candidates as (

    select
        named.record_key,
        named.first_name_key,
        named.last_name_key,
        first_contact_points.email,
        {{ dbt.split_part('first_contact_points.email', "'@'", 1) }} as email_local_part,
        {{ dbt.split_part('first_contact_points.email', "'@'", 2) }} as email_domain,
        -- Equal for two addresses that differ by letters swapped in the mailbox name.
        {{ dbt.split_part('first_contact_points.email', "'@'", 2) }} || ':'
        || {{ sorted_letters(dbt.split_part('first_contact_points.email', "'@'", 1)) }}
            as email_letters,
        first_contact_points.phone,
        contacts.zip_code
    from named
    left join first_contact_points
        on named.record_key = first_contact_points.record_key
    -- Equalities only: a constant in a left join's condition makes DuckDB loop over pairs.
    left join contacts
        on
            named.source_entity = contacts.source_entity
            and named.source_record_id = contacts.crm_contact_id

)

select * from candidates
