"""A record the source deletes for good disappears from raw on the next run, and the run
still reconciles (received = loaded + quarantined)."""

from __future__ import annotations

import shutil

import pytest
from ingest_helpers import copy_load, query, save_shop_doc, shop_docs

from ingestion.pipelines import run_ingestion

# After the world's last day and before the loader's clock: a real, recent deletion.
DELETED_AT = "2025-09-30T12:00:00Z"


@pytest.fixture(scope="module")
def deleted(first_load, tmp_path_factory):
    """Two shop customers deleted (deletion requests) after the first load, one archived
    CRM contact left as it is (HubSpot's archive is a soft, restorable delete)."""
    root = tmp_path_factory.mktemp("deletes")
    sources = root / "sources"
    shutil.copytree(first_load.sources, sources)
    customers = shop_docs(sources, "customers")[:2]
    for customer in customers:
        customer.update(state="deleted", updated_at=DELETED_AT)
        save_shop_doc(sources, "customers", customer)
    warehouse = copy_load(first_load, root / "wh")
    rows = run_ingestion(sources, warehouse, systems=["ecommerce", "crm"])
    return warehouse, rows, [c["id"] for c in customers]


def test_deleted_customers_are_gone_from_raw(first_load, deleted):
    warehouse, _, ids = deleted
    sql = "select count(*), count(*) filter (where id in (?, ?)) from raw_ecommerce.customers"
    before, were_there = query(first_load.warehouse, sql, *ids)[0]
    after, still_there = query(warehouse, sql, *ids)[0]
    assert were_there == 2
    assert (after, still_there) == (before - 2, 0)
    # Nothing else went with them: every other customer is still there, unchanged.
    others = "select * exclude (_dlt_id, _dlt_load_id) from raw_ecommerce.customers order by id"
    kept = [r for r in query(first_load.warehouse, others) if r[0] not in ids]
    assert query(warehouse, others) == kept


def test_orders_of_deleted_customers_stay(first_load, deleted):
    """Only the customer record is deleted; sales are the business's records."""
    warehouse, _, _ = deleted
    sql = "select count(*), sum(total_price) from raw_ecommerce.orders"
    assert query(warehouse, sql) == query(first_load.warehouse, sql)


def test_soft_deleted_contacts_stay_flagged(first_load, deleted):
    warehouse, _, _ = deleted
    sql = "select count(*), count(*) filter (where archived) from raw_crm.contacts"
    assert query(warehouse, sql) == query(first_load.warehouse, sql)
    assert query(warehouse, sql)[0][1] > 0


def test_deleting_run_reconciles(deleted):
    warehouse, rows, _ = deleted
    customers = next(r for r in rows if r["resource"] == "customers")
    # The two tombstones were received and loaded (as deletions), nothing quarantined.
    assert customers["received"] >= 2
    assert customers["received"] == customers["loaded"] + customers["quarantined"]
    (breaches,) = query(
        warehouse,
        "select count(*) from raw_audit.load_reconciliation where received <> loaded + quarantined",
    )[0]
    assert breaches == 0
