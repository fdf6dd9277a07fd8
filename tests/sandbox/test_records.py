"""Record versions: the latest visible one is stored, and it agrees with the world's people."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pyarrow as pa
from sandbox_helpers import docs, people

from ingestion.sandbox.materialize import latest_versions
from ingestion.sandbox.world import chunk_days, chunked


def test_latest_version_per_key_wins_and_ties_keep_emission_order():
    versions = pa.table(
        {
            "_dt": ["2025-01-02T10:00:00Z", "2025-01-01T09:00:00Z", "2025-01-03T08:00:00Z",
                    "2025-01-03T08:00:00Z", "2025-01-01T12:00:00Z"],
            "_key": ["a", "a", "b", "b", "c"],
            "status": ["refunded", "paid", "paid", "voided", "paid"],
        }
    )  # fmt: skip
    latest = latest_versions(versions).to_pylist()
    assert [(r["_key"], r["status"]) for r in latest] == [
        ("c", "paid"),  # in (_dt, _key) order, as the REST APIs page them
        ("a", "refunded"),
        ("b", "voided"),  # same instant: the later emitted version wins
    ]


def test_chunks_shrink_as_the_world_grows():
    # memory per chunk stays that of 300k customers x 10 days (file rows are spilled)
    assert chunk_days(3_000) == 10
    assert chunk_days(100_000) == 10
    assert chunk_days(500_000) == 6
    assert chunk_days(1_000_000) == 3
    # the first chunk also writes every pre-existing person: 1M person-days at most
    assert chunk_days(250_000, first=True) == 4
    assert chunk_days(1_000_000, first=True) == 1
    days = [date(2025, 9, 1) + timedelta(days=k) for k in range(365)]
    chunks = chunked(days, 1_000_000, first=True)
    assert [len(c) for c in chunks[:3]] == [1, 3, 3]
    assert [d for c in chunks for d in c] == days  # every day once, in order
    assert len(chunked(days, 1_000_000, first=False)[0]) == 3  # advance: no short first chunk


def test_stored_contacts_and_customers_show_each_persons_final_state(world):
    """Every change (first purchase, unsubscribe, deletion request) leaves a new version; the
    stored one is the person's state after their last change, as the people table holds it."""
    p = people(world)
    by_contact = p.set_index("contact_id")
    crm = docs(world, "crm", "contacts")
    contacts = pd.DataFrame([d for d in crm if d["id"] in by_contact.index])
    assert len(contacts) == int(p["contact_id"].notna().sum()) > 1500
    truth = by_contact.loc[contacts["id"]]
    assert (contacts["consent_email"].to_numpy() == truth["consent_email"].to_numpy()).all()
    assert (contacts["lifecycle_stage"].to_numpy() == truth["lifecycle"].to_numpy()).all()
    assert (contacts["archived"].to_numpy() == truth["archived_at"].notna().to_numpy()).all()
    # the world did move: people unsubscribed, bought for the first time, asked to be deleted
    assert (~contacts["consent_email"]).sum() > 100
    assert contacts["archived"].sum() >= 1
    joined_as_leads = contacts["created_at"] >= "2025-11-10"  # conftest.WORLD["start"]
    assert (joined_as_leads & (contacts["lifecycle_stage"] == "customer")).sum() > 10

    by_account = p.set_index("shop_customer_id")
    customers = pd.DataFrame(docs(world, "ecommerce", "customers"))
    owner = by_account.loc[customers["id"]]
    assert ((customers["state"] == "deleted").to_numpy() == owner["archived_at"].notna()).all()
    assert (customers["accepts_marketing"].to_numpy() == owner["consent_email"].to_numpy()).all()
