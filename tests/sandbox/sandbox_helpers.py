"""Readers of a sandbox world's raw sources, shared by the sandbox tests."""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

import pandas as pd


def docs(out: Path, system: str, entity: str) -> list[dict]:
    name = {"crm": "crm/crm.sqlite", "ecommerce": "ecommerce/shop.sqlite"}[system]
    con = sqlite3.connect(out / name)
    rows = [json.loads(d) for (d,) in con.execute(f"SELECT doc FROM {entity} ORDER BY id")]
    con.close()
    return rows


def pos(out: Path, table: str) -> pd.DataFrame:
    con = sqlite3.connect(out / "pos" / "pos.sqlite")
    df = pd.read_sql_query(f"SELECT * FROM {table}", con)
    con.close()
    return df


def jsonl(out: Path, system: str, prefix: str) -> list[dict]:
    rows = []
    for path in sorted((out / system).glob(f"dt=*/{prefix}-*.jsonl.gz")):
        dt = path.parent.name[3:]
        with gzip.open(path, "rt", encoding="utf-8") as f:
            rows += [{**json.loads(line), "_dt": dt} for line in f]
    return rows


def truth(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "_truth" / "identities.parquet")


def kpis(out: Path) -> dict:
    return json.loads((out / "_truth" / "kpis.json").read_text())


def people(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "_world" / "people.parquet")
