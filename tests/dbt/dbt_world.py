"""Helpers of the dbt tests: the built world, reading the sandbox's own files, running dbt.

The expected values the tests compare with are read straight from the sandbox's files (the
POS SQLite database, the REST systems' document stores, `_truth/`), never from the models.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO / "dbt_project"
# Four weeks across a month boundary, so that retention has a month 1 to measure.
WORLD = {"customers": 800, "days": 28, "seed": 11, "start": date(2025, 9, 16)}
# A churn window that fits in four weeks; the default (90 days) would leave every
# outcome pending in this world. Every dbt call of the tests uses the same vars.
DBT_VARS = {"churn_window_days": 7}


@dataclass(frozen=True)
class BuiltWorld:
    sources: Path
    warehouse: Path
    dbt_log: str

    def query(self, sql: str) -> pd.DataFrame:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.sql(sql).df()

    @property
    def kpis(self) -> dict:
        return json.loads((self.sources / "_truth" / "kpis.json").read_text())

    @property
    def truth_identities(self) -> pd.DataFrame:
        return pd.read_parquet(self.sources / "_truth" / "identities.parquet")

    def pos(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.sources / "pos" / "pos.sqlite") as con:
            return con.execute(sql).fetchall()

    def docs(self, system: str, entity: str) -> list[dict]:
        """The JSON documents a REST system (crm, ecommerce) serves, from its own store."""
        from ingestion.sandbox.docstore import docstore_path

        with sqlite3.connect(docstore_path(self.sources, system)) as con:
            return [json.loads(doc) for (doc,) in con.execute(f"SELECT doc FROM {entity}")]

    def shop_docs(self, entity: str) -> list[dict]:
        return self.docs("ecommerce", entity)

    def file_records(self, system: str, prefix: str) -> list[dict]:
        """Every record of a file-based system (`clickstream`/`events`,
        `messaging`/`conversations`, …) straight from its gzip JSON-lines partitions."""
        records = []
        for path in sorted((self.sources / system).rglob(f"{prefix}-*.jsonl.gz")):
            with gzip.open(path, "rt") as lines:
                records.extend(json.loads(line) for line in lines)
        return records


def run_dbt(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "OMNI_DATA_DIR": str(data_dir),
        "DBT_PROFILES_DIR": str(DBT_PROJECT),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt = Path(sys.executable).parent / "dbt"
    # Own target and log paths: the orchestration runs the same project at the same time.
    paths = ["--target-path", str(data_dir / "target"), "--log-path", str(data_dir / "logs")]
    dbt_vars = ["--vars", json.dumps(DBT_VARS)]
    return subprocess.run(
        [str(dbt), *args, "--project-dir", str(DBT_PROJECT), *paths, *dbt_vars],
        cwd=DBT_PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))
