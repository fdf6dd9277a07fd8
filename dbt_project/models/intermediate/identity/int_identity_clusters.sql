{#- Connected components of the matching graph by label propagation: every record starts
    labelled with its own key; each pass gives every identifier the smallest label among its
    records, then every record the smallest label among its identifiers. After enough passes
    a label is the smallest record key of the component.

    The passes are unrolled in Jinja (`identity_max_iterations`) rather than run as a Python
    model or a recursive CTE: it is plain SQL that DuckDB and Spark both run set-at-a-time,
    and the test `assert_identity_clusters_converged` fails the build if one more pass would
    still change a label, so an undersized count cannot go unnoticed. -#}
{%- set passes = var('identity_max_iterations') %}

with

edges as {{ materialized_cte() }} (

    select
        record_key,
        identifier_key
    from {{ ref('int_identity_edges') }}

),

labels_0 as {{ materialized_cte() }} (

    select distinct
        record_key,
        record_key as cluster_key
    from edges

),
{% for i in range(1, passes + 1) %}
identifier_labels_{{ i }} as {{ materialized_cte() }} (

    select
        edges.identifier_key,
        min(labels_{{ i - 1 }}.cluster_key) as cluster_key
    from edges
    inner join labels_{{ i - 1 }}
        on edges.record_key = labels_{{ i - 1 }}.record_key
    group by edges.identifier_key

),

labels_{{ i }} as {{ materialized_cte() }} (

    select
        edges.record_key,
        min(identifier_labels_{{ i }}.cluster_key) as cluster_key
    from edges
    inner join identifier_labels_{{ i }}
        on edges.identifier_key = identifier_labels_{{ i }}.identifier_key
    group by edges.record_key

),
{% endfor %}
final as (

    select
        record_key,
        cluster_key
    from labels_{{ passes }}

)

select * from final
