{#- The audit list of identifiers that must not join records, one row per identifier and
    reason. Three simple, explainable rules:
    - store_phone: a store's own number, which staff type for walk-in customers;
    - shared_by_different_names: an email or phone carried by named records (CRM contacts,
      shop customers) with more than `identity_max_names_per_identifier` different full names
      once case, accents, nicknames and swapped letters are folded (households, shared inboxes, two
      namesakes whose Gmail addresses differ only by dots);
    - too_many_accounts: an identifier used by more distinct accounts (CRM contacts, shop
      accounts) than `identity_max_accounts_per_identifier` allows for its type. It catches
      what the name rule cannot see: unnamed junk (`test@…` typed at many checkouts, a shared
      family tablet logged into many accounts, a placeholder number on guest orders). One
      person has at most a contact, a duplicate contact and a shop account, so the limits sit
      above what a household reaches;
    - shared_device: a browser or app id on which more than one shop account logged in (a
      family tablet, a shop's demo device). Its id links no one; the device's own record
      stays with the account that logged in last (`int_identity_edges`). -#}
{%- set max_accounts = var('identity_max_accounts_per_identifier') %}
with

store_phones as (

    select distinct
        'phone' as identifier_type,
        phone as identifier_value,
        'store_phone' as reason
    from {{ ref('stg_pos__stores') }}
    where phone is not null

),

named_records as (

    select
        record_key,
        {{ sorted_letters('first_name_key') }}
        || ' ' || coalesce({{ sorted_letters('last_name_key') }}, '') as person_name_key
    from {{ ref('int_identity_named_records') }}

),

names_per_identifier as (

    select
        identifiers.identifier_type,
        identifiers.identifier_value,
        count(distinct named_records.person_name_key) as distinct_names
    from {{ ref('int_identifiers_unioned') }} as identifiers
    inner join named_records
        on identifiers.record_key = named_records.record_key
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

account_limits as (

    {% for identifier_type, limit in max_accounts.items() %}
    select
        '{{ identifier_type }}' as identifier_type,
        {{ limit }} as max_accounts
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

account_identifiers as (

    -- The accounts a record belongs to: its own id, or the account that placed the order.
    select
        record_key,
        identifier_type || ':' || identifier_value as account_key
    from {{ ref('int_identifiers_unioned') }}
    where identifier_type in ('crm_contact_id', 'shop_customer_id')

),

accounts_per_identifier as (

    select
        identifiers.identifier_type,
        identifiers.identifier_value,
        count(distinct account_identifiers.account_key) as distinct_accounts
    from {{ ref('int_identifiers_unioned') }} as identifiers
    inner join account_limits
        on identifiers.identifier_type = account_limits.identifier_type
    inner join account_identifiers
        on identifiers.record_key = account_identifiers.record_key
    group by identifiers.identifier_type, identifiers.identifier_value

),

too_many_accounts as (

    select
        accounts_per_identifier.identifier_type,
        accounts_per_identifier.identifier_value,
        'too_many_accounts' as reason
    from accounts_per_identifier
    inner join account_limits
        on accounts_per_identifier.identifier_type = account_limits.identifier_type
    where accounts_per_identifier.distinct_accounts > account_limits.max_accounts

),

shared_devices as (

    select
        'anonymous_id' as identifier_type,
        source_record_id as identifier_value,
        'shared_device' as reason
    from {{ ref('int_identifiers_unioned') }}
    where source_entity = 'anonymous_ids' and identifier_type = 'shop_customer_id'
    group by source_record_id
    having count(*) > 1

),

excluded as (

    select * from store_phones
    union all
    select * from shared
    union all
    select * from too_many_accounts
    union all
    select * from shared_devices

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

),

audited as (

    -- The figures each rule judged, so that the audit reads without re-running the rules.
    select
        with_usage.identifier_type,
        with_usage.identifier_value,
        with_usage.reason,
        with_usage.records_carrying,
        coalesce(accounts_per_identifier.distinct_accounts, 0) as distinct_accounts,
        case
            when with_usage.reason = 'shared_device' then 1 else account_limits.max_accounts
        end as max_accounts,
        coalesce(names_per_identifier.distinct_names, 0) as distinct_names
    from with_usage
    left join account_limits
        on with_usage.identifier_type = account_limits.identifier_type
    left join accounts_per_identifier
        on
            with_usage.identifier_type = accounts_per_identifier.identifier_type
            and with_usage.identifier_value = accounts_per_identifier.identifier_value
    left join names_per_identifier
        on
            with_usage.identifier_type = names_per_identifier.identifier_type
            and with_usage.identifier_value = names_per_identifier.identifier_value

)

select * from audited
