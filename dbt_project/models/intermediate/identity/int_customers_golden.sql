{#- One golden record per customer. Each attribute comes from the most trusted record that
    has it: CRM contact, then shop account, then orders, tickets and conversations; among
    equals the primary field before additional ones, then the most recently updated record.
    Excluded identifiers (store phones, shared inboxes) are never chosen. -#}
with

resolved as (

    select * from {{ ref('int_identity_records_resolved') }}
    where customer_id is not null

),

identifiers as (

    select * from {{ ref('int_identifiers_unioned') }}

),

excluded as (

    select distinct
        identifier_type,
        identifier_value
    from {{ ref('int_identifiers_excluded') }}

),

contact_points as (

    select
        resolved.customer_id,
        identifiers.identifier_type,
        identifiers.identifier_value,
        row_number() over (
            partition by resolved.customer_id, identifiers.identifier_type
            order by
                resolved.is_archived asc,
                resolved.record_rank asc,
                identifiers.identifier_rank asc,
                resolved.updated_at desc,
                identifiers.identifier_value asc
        ) as preference
    from resolved
    inner join identifiers
        on resolved.record_key = identifiers.record_key
    left join excluded
        on
            identifiers.identifier_type = excluded.identifier_type
            and identifiers.identifier_value = excluded.identifier_value
    where
        identifiers.identifier_type in ('email', 'phone', 'loyalty_id', 'crm_contact_id')
        and excluded.identifier_value is null

),

names as (

    select
        customer_id,
        first_name,
        last_name,
        row_number() over (
            partition by customer_id
            order by is_archived asc, record_rank asc, updated_at desc, record_key asc
        ) as preference
    from resolved
    where first_name is not null or last_name is not null

),

first_seen as (

    select
        customer_id,
        min(seen_at) as first_seen_at,
        count(*) as source_records
    from resolved
    group by customer_id

),

golden as (

    select
        first_seen.customer_id,
        names.first_name,
        names.last_name,
        max(case when contact_points.identifier_type = 'email' then contact_points.identifier_value end) as email,
        max(case when contact_points.identifier_type = 'phone' then contact_points.identifier_value end) as phone,
        max(case when contact_points.identifier_type = 'loyalty_id' then contact_points.identifier_value end) as loyalty_id,
        max(case when contact_points.identifier_type = 'crm_contact_id' then contact_points.identifier_value end) as crm_contact_id,
        first_seen.first_seen_at,
        first_seen.source_records
    from first_seen
    left join names
        on
            first_seen.customer_id = names.customer_id
            and names.preference = 1
    left join contact_points
        on
            first_seen.customer_id = contact_points.customer_id
            and contact_points.preference = 1
    group by
        first_seen.customer_id,
        names.first_name,
        names.last_name,
        first_seen.first_seen_at,
        first_seen.source_records

)

select * from golden
