{#- Every identity record with the customer it resolved to. A cluster is a customer only if
    it holds a person identifier (email, phone, loyalty card, CRM contact, shop account,
    social handle): a browser id that never logged in or ordered is a visitor, and an
    anonymous ticket with its return is still anonymous. `customer_id` is a hash of the cluster's smallest record key, so it stays the
    same from run to run as long as that record stays in the cluster. -#}
{%- set linking_only = "'" ~ var('identity_linking_only_identifiers') | join("', '") ~ "'" %}

with

records as (

    select * from {{ ref('int_identity_records_unioned') }}

),

clusters as (

    select * from {{ ref('int_identity_clusters') }}

),

edges as (

    select * from {{ ref('int_identity_edges') }}

),

person_clusters as (

    select distinct clusters.cluster_key
    from clusters
    inner join edges
        on clusters.record_key = edges.record_key
    where {{ dbt.split_part('edges.identifier_key', "':'", 1) }} not in ({{ linking_only }})

),

resolved as (

    select
        records.record_key,
        records.source_system,
        records.source_entity,
        records.source_record_id,
        records.record_rank,
        records.first_name,
        records.last_name,
        records.seen_at,
        records.updated_at,
        records.is_archived,
        person_clusters.cluster_key,
        case
            when person_clusters.cluster_key is not null
                then 'cus_' || substr({{ dbt.hash('person_clusters.cluster_key') }}, 1, 16)
        end as customer_id
    from records
    left join clusters
        on records.record_key = clusters.record_key
    left join person_clusters
        on clusters.cluster_key = person_clusters.cluster_key

)

select * from resolved
