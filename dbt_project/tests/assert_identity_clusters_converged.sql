{{ config(meta={'blocking': true}) }}
{#- Clusters are connected components: one pass of label propagation over the edges must
    not lower any record's cluster key. A row here is a record whose identifier links it to
    a cluster with a smaller key, i.e. two clusters that should be one. -#}
with

edges as (

    select * from {{ ref('int_identity_edges') }}

),

clusters as (

    select * from {{ ref('int_identity_clusters') }}

),

identifier_labels as (

    select
        edges.identifier_key,
        min(clusters.cluster_key) as cluster_key
    from edges
    inner join clusters
        on edges.record_key = clusters.record_key
    group by edges.identifier_key

),

next_labels as (

    select
        edges.record_key,
        min(identifier_labels.cluster_key) as cluster_key
    from edges
    inner join identifier_labels
        on edges.identifier_key = identifier_labels.identifier_key
    group by edges.record_key

)

select
    clusters.record_key,
    clusters.cluster_key,
    next_labels.cluster_key as next_cluster_key
from clusters
inner join next_labels
    on clusters.record_key = next_labels.record_key
where clusters.cluster_key <> next_labels.cluster_key
