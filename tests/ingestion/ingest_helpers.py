"""Reading the raw warehouse in tests: rows by value, keys, counts, the sandbox's truth."""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ingestion.pipelines import CONTRACTS, RESOURCES, SYSTEMS, dataset_name

ALL = [(system, resource) for system in SYSTEMS for resource in RESOURCES[system]]

PRIMARY_KEYS = {
    (system, name): contract.primary_key
    for system, contracts in CONTRACTS.items()
    for name, contract in contracts.items()
}


@dataclass
class Load:
    sources: Path
    warehouse: Path
    rows: list[dict[str, Any]]
    tables: dict[str, list[tuple]]


def table_rows(warehouse: Path) -> dict[str, list[tuple]]:
    """Every raw table's rows without dlt bookkeeping columns, sorted: comparable by value."""
    out: dict[str, list[tuple]] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for system in SYSTEMS:
            dataset = dataset_name(system)
            tables = con.execute(
                "select table_name from information_schema.tables where table_schema = ? "
                "and table_name not like '\\_dlt%' escape '\\' and table_name <> '_quarantine'",
                [dataset],
            ).fetchall()
            for (table,) in tables:
                cols = [
                    c
                    for (c,) in con.execute(
                        "select column_name from information_schema.columns "
                        "where table_schema = ? and table_name = ? order by ordinal_position",
                        [dataset, table],
                    ).fetchall()
                    if not c.startswith("_dlt")
                ]
                select = ", ".join(f'"{c}"' for c in cols)
                out[f"{dataset}.{table}"] = con.execute(
                    f'select {select} from {dataset}."{table}" order by all'
                ).fetchall()
    return out


def query(warehouse: Path, sql: str, *params: Any) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def distinct_keys(warehouse: Path, system: str, resource: str) -> tuple[int, int]:
    keys = ", ".join(PRIMARY_KEYS[(system, resource)])
    return query(
        warehouse,
        f"select count(*), count(distinct ({keys})) from {dataset_name(system)}.{resource}",
    )[0]


def truth_counts(world: Path) -> dict[tuple[str, str], int]:
    """Rows each raw table should hold: the sandbox manifest's counts, less the shop
    customers deleted for good (the load removes them, see ``deletion_flag``)."""
    manifest = json.loads((world / "_truth" / "manifest.json").read_text())
    counts = {
        (system, entity): int(n)
        for system, entities in manifest["row_counts"].items()
        for entity, n in entities.items()
    }
    counts[("ecommerce", "customers")] -= deleted_customers(world)
    return counts


def deleted_customers(world: Path) -> int:
    """Shop customers whose document says ``state: deleted``."""
    with sqlite3.connect(world / "ecommerce" / "shop.sqlite") as con:
        return con.execute(
            "select count(*) from customers where json_extract(doc, '$.state') = 'deleted'"
        ).fetchone()[0]


def copy_load(load: Load, dest: Path) -> Path:
    """A copy of a loaded warehouse together with its dlt pipeline state."""
    shutil.copytree(load.warehouse.parent, dest)
    return dest / load.warehouse.name


def shop_docs(world: Path, entity: str) -> list[dict[str, Any]]:
    with sqlite3.connect(world / "ecommerce" / "shop.sqlite") as con:
        return [json.loads(doc) for (doc,) in con.execute(f"select doc from {entity} order by id")]


def save_shop_doc(world: Path, entity: str, doc: dict[str, Any]) -> None:
    """Write one changed document into the shop's store, as the shop would on an update."""
    from ingestion.sandbox import docstore

    con = docstore.connect(world, "ecommerce")
    try:
        docstore.upsert(con, entity, [(doc["id"], doc["updated_at"], json.dumps(doc))])
        con.commit()
    finally:
        con.close()
