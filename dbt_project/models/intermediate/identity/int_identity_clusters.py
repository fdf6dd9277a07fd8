"""Connected components of the matching graph: every linked record with its cluster, named
after the smallest record key of the component (a CRM contact when the cluster has one), and
whether the cluster holds a person identifier (else it is an anonymous visitor or ticket).

A Python model because SQL cannot do this job well at scale. Label propagation in SQL needs
as many passes as the longest path of the graph, each a join and a group-by over every edge
(12 passes took 150 s of a 400 s identity build at 100k customers); SciPy's
`connected_components` visits every edge once. Strings become int32 node numbers with Arrow's
dictionary encoding, so only integer arrays reach the graph, and the cluster names are
found on those numbers too: the dictionary is sorted once, so the smallest node number of a
component is its smallest record key.
"""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components


def _encode(keys: pa.ChunkedArray, ordered: bool = True) -> tuple[pa.Array, np.ndarray]:
    """(distinct keys, sorted if `ordered`, and the position of every key among them) for a
    string column."""
    encoded = pc.dictionary_encode(keys).combine_chunks()
    dictionary = encoded.dictionary
    if len(dictionary) == 0 or not ordered:
        return dictionary, encoded.indices.to_numpy().astype(np.int32, copy=False)
    order = pc.array_sort_indices(dictionary).to_numpy()
    rank = np.empty(order.size, dtype=np.int32)
    rank[order] = np.arange(order.size, dtype=np.int32)
    return dictionary.take(pa.array(order)), rank[encoded.indices.to_numpy()]


def components(record_keys, identifier_keys, is_person=None) -> pa.Table:
    """(record_key, cluster_key, is_person_cluster) of every record in a bipartite
    record/identifier edge list; `is_person` flags the edges whose identifier identifies a
    person (all of them when omitted)."""
    record_names, rows = _encode(pa.chunked_array(record_keys))
    # Only record numbers need the keys' order (to name clusters); identifiers' do not.
    identifier_names, cols = _encode(pa.chunked_array(identifier_keys), ordered=False)
    n_records, n_identifiers = len(record_names), len(identifier_names)
    if n_records == 0:
        return pa.table(
            {
                "record_key": record_names,
                "cluster_key": record_names,
                "is_person_cluster": pa.array([], pa.bool_()),
            }
        )
    # Records are nodes 0..n_records-1, identifiers follow them.
    size = n_records + n_identifiers
    graph = csr_matrix(
        (np.ones(rows.size, dtype=np.int8), (rows, cols.astype(np.int64) + n_records)),
        shape=(size, size),
    )
    _, labels = connected_components(graph, directed=False)
    record_labels = labels[:n_records]
    # Records are numbered in key order, so the first record met per component is its
    # smallest key.
    n_labels = int(labels.max()) + 1 if size else 0
    first_record = np.full(n_labels, n_records, dtype=np.int64)
    np.minimum.at(first_record, record_labels, np.arange(n_records, dtype=np.int64))
    person_label = np.zeros(n_labels, dtype=bool)
    if is_person is None:
        person_label[record_labels] = True
    else:
        flags = pa.chunked_array(is_person).combine_chunks().to_numpy(zero_copy_only=False)
        person_label[record_labels[rows[flags]]] = True
    return pa.table(
        {
            "record_key": record_names,
            "cluster_key": record_names.take(pa.array(first_record[record_labels])),
            "is_person_cluster": pa.array(person_label[record_labels]),
        }
    )


def with_customer_ids(clusters: pa.Table, session) -> pa.Table:
    """Adds `customer_id` (`cus_` + 16 hex of the md5 of the cluster key, null for an
    anonymous cluster), hashing each cluster once in DuckDB rather than once per record."""
    names = pc.dictionary_encode(clusters["cluster_key"]).combine_chunks()
    keys = pa.table({"cluster_key": names.dictionary})
    hashed = session.from_arrow(keys).project(
        "'cus_' || substr(md5(cluster_key), 1, 16) as customer_id"
    )
    ids = hashed.arrow().read_all()["customer_id"].combine_chunks()
    customer_ids = ids.take(names.indices)
    anonymous = pc.invert(clusters["is_person_cluster"].combine_chunks())
    return clusters.append_column(
        "customer_id", pc.if_else(anonymous, pa.scalar(None, pa.string()), customer_ids)
    )


def model(dbt, session):
    dbt.config(materialized="table")
    edges = dbt.ref("int_identity_edges").arrow().read_all()
    clusters = components(
        edges["record_key"], edges["identifier_key"], edges["is_person_identifier"]
    )
    return with_customer_ids(clusters, session)
