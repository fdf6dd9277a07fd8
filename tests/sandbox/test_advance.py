"""``advance`` moves the same world on: new activity, updates, late events, deletions."""

from __future__ import annotations

from datetime import date, timedelta

from sandbox_helpers import docs, jsonl, kpis, pos, truth

ADVANCE_DAYS = 5


def _old_end(before: dict) -> str:
    """First day after the world as generated (the advance's first day)."""
    return (date.fromisoformat(before["end_date"]) + timedelta(days=1)).isoformat()


def test_advance_moves_the_end_date(advanced):
    out, before = advanced
    after = kpis(out)
    assert before["end_date"] == "2025-12-15"
    new_end = date.fromisoformat(_old_end(before)) + timedelta(days=ADVANCE_DAYS)
    assert after["as_of"] == f"{new_end.isoformat()}T00:00:00Z"
    assert after["revenue_total"]["orders"] > 0
    new_parts = sorted(p.name for p in (out / "clickstream").glob("dt=*"))
    assert new_parts[-1] == f"dt={new_end - timedelta(days=1)}"


def test_advance_adds_new_and_updates_old_records(advanced):
    out, before = advanced
    day = _old_end(before)
    cutoff = f"{day}T00:00:00Z"
    orders = docs(out, "ecommerce", "orders")
    new = [o for o in orders if o["created_at"] >= cutoff]
    updated_old = [o for o in orders if o["created_at"] < cutoff <= o["updated_at"]]
    assert new and updated_old
    assert any(o["refunds"] for o in updated_old)  # refunds of orders placed before
    old_counts = before["row_counts"]
    assert len(orders) > old_counts["ecommerce"]["orders"]
    pickups = pos(out, "pickups")
    moved = pickups[(pickups["ready_at"] < day) & (pickups["updated_at"] >= day)]
    assert set(moved["status"]) <= {"picked_up", "expired"} and len(moved) > 0
    contacts = docs(out, "crm", "contacts")
    consent_or_archive = [c for c in contacts if c["created_at"] < cutoff <= c["updated_at"]]
    assert consent_or_archive


def test_advance_has_deletions(advanced):
    out, _ = advanced
    contacts = docs(out, "crm", "contacts")
    archived = [c for c in contacts if c["archived"]]
    assert archived
    customers = docs(out, "ecommerce", "customers")
    assert any(c["state"] == "deleted" for c in customers)


def test_advance_delivers_late_events(advanced):
    out, before = advanced
    day = _old_end(before)
    events = jsonl(out, "clickstream", "events")
    late_into_new = [e for e in events if e["_dt"] >= day and e["occurred_at"][:10] < day]
    assert late_into_new, "events from before the advance must arrive in its partitions"
    late = [e for e in events if e["occurred_at"][:10] < e["_dt"]]
    assert 0.01 < len(late) / len(events) < 0.08
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids))


def test_truth_follows_the_advance(advanced):
    out, _ = advanced
    t = truth(out)
    orders = {o["id"] for o in docs(out, "ecommerce", "orders")}
    assert orders == set(t.loc[t["source_entity"] == "orders", "source_record_id"])
