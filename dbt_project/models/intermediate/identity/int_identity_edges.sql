{#- The matching graph, bipartite: a record is linked to each identifier it carries that is
    not excluded (exact matching on normalised values), and both records of a probabilistic
    match are linked to one `probabilistic_match:<key>~<key>` node, so that scored pairs join
    the same connected components. Two records are the same person when a path of such links
    joins them. -#}
with

identifiers as (

    select * from {{ ref('int_identifiers_unioned') }}

),

records as (

    select * from {{ ref('int_identity_records_unioned') }}

),

excluded as (

    select distinct
        identifier_type,
        identifier_value
    from {{ ref('int_identifiers_excluded') }}

),

edges as (

    select
        records.record_key,
        identifiers.identifier_type || ':' || identifiers.identifier_value as identifier_key
    from identifiers
    inner join records
        on
            identifiers.source_system = records.source_system
            and identifiers.source_entity = records.source_entity
            and identifiers.source_record_id = records.source_record_id
    left join excluded
        on
            identifiers.identifier_type = excluded.identifier_type
            and identifiers.identifier_value = excluded.identifier_value
    where excluded.identifier_value is null

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
        identifier_key
    from matches
    union all
    select
        record_key_r as record_key,
        identifier_key
    from matches

),

all_edges as (

    select * from edges
    union all
    select * from match_edges

)

select distinct
    record_key,
    identifier_key
from all_edges
