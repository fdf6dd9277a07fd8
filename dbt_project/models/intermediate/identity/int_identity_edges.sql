{#- The matching graph, bipartite: a record is linked to each identifier it carries that is
    not excluded (exact matching on normalised values), and both records of a probabilistic
    match are linked to one `probabilistic_match:<key>~<key>` node, so that scored pairs join
    the same connected components. Two records are the same person when a path of such links
    joins them. The records of a group (`grouped_record_key`: all deliveries to one CRM
    contact) are one node. A shared device (`shared_device` in `int_identifiers_excluded`) keeps only
    the link to the account that logged in on it last: its other logins and the orders
    confirmed on it would join different people. `is_person_identifier` is false for the
    identifiers that link records without identifying anyone (a device, an order).
    A view: `int_identity_clusters` reads it once. -#}
{{ config(materialized='view') }}
{%- set linking_only = "'" ~ var('identity_linking_only_identifiers') | join("', '") ~ "'" %}

with

identifiers as (

    select * from {{ ref('int_identifiers_unioned') }}

),

excluded as (

    select distinct
        identifier_type,
        identifier_value
    from {{ ref('int_identifiers_excluded') }}

),

shared_devices as (

    select distinct
        {{ identity_record_key(9, 'clickstream', 'anonymous_ids', 'identifier_value') }}
            as record_key
    from {{ ref('int_identifiers_excluded') }}
    where reason = 'shared_device'

),

linked as (

    select
        coalesce(identifiers.grouped_record_key, identifiers.record_key) as record_key,
        identifiers.grouped_record_key is not null as is_grouped,
        identifiers.identifier_type || ':' || identifiers.identifier_value as identifier_key,
        identifiers.identifier_type not in ({{ linking_only }}) as is_person_identifier
    from identifiers
    left join excluded
        on
            identifiers.identifier_type = excluded.identifier_type
            and identifiers.identifier_value = excluded.identifier_value
    left join shared_devices
        on identifiers.record_key = shared_devices.record_key
    where
        excluded.identifier_value is null
        and (
            shared_devices.record_key is null
            -- The device's last login (rank 2; rank 1 is the device id itself).
            or (identifiers.identifier_type = 'shop_customer_id' and identifiers.identifier_rank = 2)
        )

),

exact_edges as (

    select
        record_key,
        identifier_key,
        is_person_identifier
    from linked
    where not is_grouped

    union all

    -- A grouped node carries the identifiers of all its records once.
    select distinct
        record_key,
        identifier_key,
        is_person_identifier
    from linked
    where is_grouped

),

matches as (

    select
        record_key_l,
        record_key_r,
        'probabilistic_match:' || least(record_key_l, record_key_r)
        || '~' || greatest(record_key_l, record_key_r) as identifier_key
    from {{ ref('int_identity_probabilistic_matches') }}

),

match_edges as (

    select
        record_key_l as record_key,
        identifier_key,
        true as is_person_identifier
    from matches
    union all
    select
        record_key_r as record_key,
        identifier_key,
        true as is_person_identifier
    from matches

),

all_edges as (

    select * from exact_edges
    union all
    select * from match_edges

)

select * from all_edges
