"""Connected components of the matching graph: every linked record with its cluster, named
after the smallest record key of the component (a CRM contact when the cluster has one).

A Python model because SQL cannot do this job well at scale. Label propagation in SQL needs
as many passes as the longest path of the graph, each a join and a group-by over every edge
(12 passes took 150 s of a 400 s identity build at 100k customers); SciPy's
`connected_components` visits every edge once. Strings become integers with Arrow's
dictionary encoding, so only integer arrays reach the graph.
"""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def components(record_keys, identifier_keys) -> pa.Table:
    """(record_key, cluster_key) of every record in a bipartite record/identifier edge list."""
    records = pc.dictionary_encode(record_keys)
    identifiers = pc.dictionary_encode(identifier_keys)
    record_names = records.chunk(0).dictionary if records.num_chunks else pa.array([], pa.string())
    n_records = len(record_names)
    n_identifiers = len(identifiers.chunk(0).dictionary) if identifiers.num_chunks else 0
    if n_records == 0:
        return pa.table({"record_key": record_names, "cluster_key": record_names})
    # Records are nodes 0..n_records-1, identifiers follow them.
    rows = np.concatenate([c.indices.to_numpy() for c in records.chunks]).astype(np.int64)
    cols = np.concatenate([c.indices.to_numpy() for c in identifiers.chunks]).astype(np.int64)
    size = n_records + n_identifiers
    graph = coo_matrix(
        (np.ones(rows.size, dtype=np.int8), (rows, cols + n_records)), shape=(size, size)
    ).tocsr()
    _, labels = connected_components(graph, directed=False)
    labelled = pa.table({"record_key": record_names, "component": labels[:n_records]})
    names = labelled.group_by("component").aggregate([("record_key", "min")])
    named = labelled.join(names, "component").select(["record_key", "record_key_min"])
    return named.rename_columns(["record_key", "cluster_key"])


def model(dbt, session):
    dbt.config(materialized="table")
    edges = dbt.ref("int_identity_edges").arrow().read_all()
    return components(edges["record_key"], edges["identifier_key"])
