"""Erased people stay erased: real dlt loads drop and count the records the ledger names,
and Python normalises emails and phones exactly as the dbt macros do."""

from __future__ import annotations

import gzip
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import jinja2
import pytest
from ingest_helpers import query, shop_docs

from ingestion.pipelines import run_ingestion
from ingestion.privacy import (
    HASHES_FILE,
    Erasure,
    append_hashes,
    identifier_hash,
    load_blocklist,
    normalise_email,
    normalise_phone,
    record_hash,
)

MACROS = Path(__file__).resolve().parents[2] / "dbt_project" / "macros"

EMAILS = [
    "  Ana.Garcia+promo@GoogleMail.com ",
    "ANA.GARCIA@gmail.com",
    "juan+a+b@Outlook.ES",
    "maria.lopez@hotmail.es",
    "not an email",
    "x@y",
    "two@@at.com",
    "",
    "tab\tinside@x.com",
]
PHONES = [
    "612 345 678",
    "+34 612-345-678",
    "0034612345678",
    "34612345678",
    "(612) 34.56.78",
    " 912345678 ",
    "512345678",
    "+44 7911 123456",
    "61234567",
    "abc",
    "+34612345678x",
    "612/345/678",
]


def _macro_sql(name: str, column: str) -> str:
    """The DuckDB expression the dbt macro ``duckdb__<name>`` renders for ``column``."""
    module = jinja2.Environment().from_string((MACROS / f"{name}.sql").read_text()).module
    return getattr(module, f"duckdb__{name}")(column)


@pytest.mark.parametrize(
    ("macro", "python", "values"),
    [("normalize_email", normalise_email, EMAILS), ("normalize_phone", normalise_phone, PHONES)],
)
def test_python_normalises_like_the_dbt_macro(macro, python, values):
    sql = _macro_sql(macro, "v")
    warehouse = [
        duckdb.sql(f"select {sql} from (select ? as v)", params=[value]).fetchone()[0]
        for value in values
    ]
    assert [python(v) for v in values] == warehouse
    # The messy spellings of one person really meet in one value.
    assert normalise_email(EMAILS[0]) == normalise_email(EMAILS[1]) == "anagarcia@gmail.com"
    assert normalise_phone(PHONES[0]) == normalise_phone(PHONES[3]) == "+34612345678"


def test_no_ledger_means_nothing_suppressed(tmp_path):
    assert not load_blocklist(tmp_path)


def _pos(world: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(world / "pos" / "pos.sqlite") as con:
        return con.execute(sql).fetchall()


def _conversations(world: Path) -> list[dict]:
    rows = []
    for path in sorted((world / "messaging").glob("dt=*/conversations-*.jsonl.gz")):
        with gzip.open(path, "rt") as lines:
            rows += [json.loads(line) for line in lines if line.strip()]
    return rows


@pytest.fixture(scope="module")
def erased_world(world, tmp_path_factory):
    """A ledger naming a ticket, a shop customer, an email and a phone, then one real load
    of the POS, the shop and messaging."""
    data_dir = tmp_path_factory.mktemp("privacy")
    tickets = _pos(world, "select transaction_id, receipt_email, phone_typed from transactions")
    lines = _pos(world, "select transaction_id, count(*) from transaction_lines group by 1")
    lines = dict(lines)
    ticket = next(t for t, *_ in tickets if lines.get(t, 0) >= 2)
    email = next(normalise_email(e) for t, e, _ in tickets if t != ticket and normalise_email(e))
    orders = shop_docs(world, "orders")
    customer = next(o["customer_id"] for o in orders if o["customer_id"] and o["line_items"])
    conversations = _conversations(world)
    phone = next(
        normalise_phone(c["customer_phone"])
        for c in conversations
        if normalise_phone(c.get("customer_phone")) and c.get("messages")
    )
    append_hashes(
        Erasure(
            "test",
            "cus_test",
            frozenset(
                {
                    record_hash("pos", "transactions", ticket),
                    record_hash("ecommerce", "customers", customer),
                }
            ),
            frozenset({identifier_hash("email", email), identifier_hash("phone", phone)}),
            datetime.now(UTC),
        ),
        data_dir,
    )

    def hit(e=None, p=None) -> bool:
        return normalise_email(e) == email or normalise_phone(p) == phone

    gone_tickets = {t for t, e, p in tickets if t == ticket or hit(e, p)}
    gone_orders = {
        o["id"] for o in orders if o["customer_id"] == customer or hit(o["email"], o["phone"])
    }
    expected = {
        "transactions": len(gone_tickets),
        "transaction_lines": sum(lines.get(t, 0) for t in gone_tickets),
        "orders": len(gone_orders),
        "conversations": sum(
            hit(c.get("customer_email"), c.get("customer_phone")) for c in conversations
        ),
    }
    warehouse = data_dir / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMNI_DATA_DIR", str(data_dir))
        rows = run_ingestion(world, warehouse, systems=("ecommerce", "pos", "messaging"))
    return {
        "rows": {r["resource"]: r for r in rows},
        "warehouse": warehouse,
        "expected": expected,
        "tickets": gone_tickets,
        "orders": gone_orders,
        "ledger": data_dir / "privacy" / HASHES_FILE,
        "plain": [email, phone, ticket, customer],
    }


def test_erased_records_are_suppressed_and_counted(erased_world):
    rows, expected = erased_world["rows"], erased_world["expected"]
    for resource, n in expected.items():
        assert n > 0, f"the world has no {resource} to suppress"
        assert rows[resource]["suppressed"] == n, rows[resource]
    for row in rows.values():
        assert row["received"] == row["loaded"] + row["quarantined"] + row["suppressed"], row
    (audited,) = query(
        erased_world["warehouse"],
        "select count(*) filter (where received <> loaded + quarantined + suppressed) "
        "from raw_audit.load_reconciliation",
    )[0]
    assert audited == 0


def test_children_leave_with_their_parent(erased_world):
    warehouse = erased_world["warehouse"]
    tickets, orders = sorted(erased_world["tickets"]), sorted(erased_world["orders"])
    assert query(
        warehouse,
        "select (select count(*) from raw_pos.transactions where list_contains(?, transaction_id)),"
        " (select count(*) from raw_pos.transaction_lines where list_contains(?, transaction_id)),"
        " (select count(*) from raw_ecommerce.orders where list_contains(?, id))",
        tickets,
        tickets,
        orders,
    )[0] == (0, 0, 0)
    # Nested lines and messages of suppressed records never reached the child tables.
    orphans = query(
        warehouse,
        "select (select count(*) from raw_ecommerce.orders__line_items l anti join "
        "raw_ecommerce.orders o on o._dlt_id = l._dlt_root_id), "
        "(select count(*) from raw_messaging.conversations__messages m anti join "
        "raw_messaging.conversations c on c._dlt_id = m._dlt_root_id)",
    )[0]
    assert orphans == (0, 0)


def test_the_ledger_holds_no_plain_identifier(erased_world):
    ledger = erased_world["ledger"].read_bytes()
    for value in erased_world["plain"]:
        assert str(value).encode() not in ledger
