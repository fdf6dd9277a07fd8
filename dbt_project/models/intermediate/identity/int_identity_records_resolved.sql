{#- Every identity record with the customer it resolved to. A cluster is a customer only if
    it holds a person identifier (email, phone, loyalty card, CRM contact, shop account,
    social handle): a browser id that never logged in or ordered is a visitor, and an
    anonymous ticket with its return is still anonymous. `customer_id` (made in
    `int_identity_clusters`) is a hash of the cluster's smallest record key, so it stays the
    same from run to run as long as that record stays in the cluster. -#}
with

records as (

    select * from {{ ref('int_identity_records_unioned') }}

),

clusters as (

    select * from {{ ref('int_identity_clusters') }}

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
        clusters.cluster_key,
        clusters.customer_id
    from records
    left join clusters
        on coalesce(records.grouped_record_key, records.record_key) = clusters.record_key

)

select * from resolved
