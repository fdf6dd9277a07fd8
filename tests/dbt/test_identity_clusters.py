"""Connected components of the identity graph (the Python model int_identity_clusters)."""

from __future__ import annotations

import importlib.util

import pyarrow as pa
from dbt_world import DBT_PROJECT


def _components():
    path = DBT_PROJECT / "models" / "intermediate" / "identity" / "int_identity_clusters.py"
    spec = importlib.util.spec_from_file_location("int_identity_clusters", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.components


def _clusters(edges: list[tuple[str, str]], chunk: int = 3) -> dict[str, str]:
    # Several chunks, as DuckDB hands them over: the encoding must be shared across chunks.
    records = pa.chunked_array(
        [[r for r, _ in edges[i : i + chunk]] for i in range(0, len(edges), chunk)]
    )
    identifiers = pa.chunked_array(
        [[k for _, k in edges[i : i + chunk]] for i in range(0, len(edges), chunk)]
    )
    table = _components()(records, identifiers)
    return dict(zip(table["record_key"].to_pylist(), table["cluster_key"].to_pylist(), strict=True))


def test_a_chain_is_one_cluster_named_after_its_smallest_key() -> None:
    # Five records linked pairwise by different identifiers, listed from the far end: one
    # cluster however far apart the ends are; an unlinked record stays alone.
    edges = [
        ("5|e", "phone:1"),
        ("4|d", "phone:1"),
        ("4|d", "email:a"),
        ("3|c", "email:a"),
        ("3|c", "loyalty_id:9"),
        ("2|b", "loyalty_id:9"),
        ("2|b", "email:b"),
        ("1|a", "email:b"),
        ("6|f", "email:z"),
    ]
    assert _clusters(edges) == {
        "1|a": "1|a",
        "2|b": "1|a",
        "3|c": "1|a",
        "4|d": "1|a",
        "5|e": "1|a",
        "6|f": "6|f",
    }


def test_records_sharing_no_identifier_stay_apart_even_with_equal_strings() -> None:
    # A record key and an identifier key that happen to be the same string are different
    # nodes: records and identifiers are numbered separately.
    edges = [("x", "x"), ("y", "phone:2"), ("z", "phone:2"), ("w", "email:w")]
    assert _clusters(edges) == {"x": "x", "y": "y", "z": "y", "w": "w"}


def test_a_long_path_converges_in_one_call() -> None:
    # 2,000 records in a path: label propagation would need a thousand passes.
    edges = []
    for i in range(2000):
        edges.append((f"r{i:05d}", f"k{i}"))
        edges.append((f"r{i:05d}", f"k{i + 1}"))
    clusters = _clusters(edges, chunk=997)
    assert set(clusters.values()) == {"r00000"}
    assert len(clusters) == 2000
