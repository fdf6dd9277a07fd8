{#- Every identifier every resolved source record carries: one row per source record ×
    identifier (a record with an email and a phone has two rows). This is the lookup table
    of `omni forget` (which customer carries this email or phone, and in which records).
    Identifiers excluded from matching (store phones, shared inboxes) are listed with
    `is_used_for_matching` false. -#}
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

identifiers as (

    select
        record_key,
        identifier_type,
        identifier_value
    from {{ ref('int_identifiers_unioned') }}

),

excluded as (

    select distinct
        identifier_type,
        identifier_value
    from {{ ref('int_identifiers_excluded') }}

),

final as (

    select
        resolved.customer_id,
        resolved.source_system,
        resolved.source_entity,
        resolved.source_record_id,
        identifiers.identifier_type,
        identifiers.identifier_value,
        excluded.identifier_value is null as is_used_for_matching
    from resolved
    inner join identifiers
        on resolved.record_key = identifiers.record_key
    left join excluded
        on
            identifiers.identifier_type = excluded.identifier_type
            and identifiers.identifier_value = excluded.identifier_value

)

select * from final
