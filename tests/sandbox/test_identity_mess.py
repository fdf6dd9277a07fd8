"""The identity mess in the written sources matches the rates the world was built with."""

from __future__ import annotations

import re

import pytest
from sandbox_helpers import docs, jsonl, people, pos, truth

from ingestion.sandbox import MessRates

E164 = re.compile(r"^\+34\d{9}$")
RATES = MessRates()


def _phone_occurrences(world) -> list[str]:
    stores = set(pos(world, "stores")["phone"])
    values = []
    for c in docs(world, "crm", "contacts"):
        values += [c["mobilephone"], c["phone"]]
    values += [c["phone"] for c in docs(world, "ecommerce", "customers")]
    values += [o["phone"] for o in docs(world, "ecommerce", "orders")]
    values += [c["phone"] for c in docs(world, "ecommerce", "checkouts")]
    values += list(pos(world, "transactions")["phone_typed"])
    values += [c["customer_phone"] for c in jsonl(world, "messaging", "conversations")]
    return [v for v in values if isinstance(v, str) and v not in stores]


def _email_occurrences(world) -> list[str]:
    values = [c["email"] for c in docs(world, "crm", "contacts")]
    values += [c["email"] for c in docs(world, "ecommerce", "customers")]
    values += [o["email"] for o in docs(world, "ecommerce", "orders")]
    values += [c["email"] for c in docs(world, "ecommerce", "checkouts")]
    values += list(pos(world, "transactions")["receipt_email"])
    values += [c["customer_email"] for c in jsonl(world, "messaging", "conversations")]
    return [v for v in values if isinstance(v, str)]


def test_phone_formats(world):
    phones = _phone_occurrences(world)
    assert len(phones) > 3000
    share = sum(not E164.match(p) for p in phones) / len(phones)
    assert share == pytest.approx(RATES.phone_not_e164, abs=0.03)
    # every Spanish way of writing a number shows up
    assert any(p.startswith("0034") for p in phones)
    assert any(re.fullmatch(r"[67]\d{8}", p) for p in phones)
    assert any(re.fullmatch(r"\d{3} \d{3} \d{3}", p) for p in phones)
    assert any("-" in p for p in phones)


def test_email_variants(world):
    ppl = people(world)
    canonical = set(ppl["email"]) | set(ppl["email2"].dropna())
    emails = _email_occurrences(world)
    assert len(emails) > 3000
    share = sum(e not in canonical for e in emails) / len(emails)
    assert share == pytest.approx(RATES.email_variant, abs=0.03)
    odd = [e for e in emails if e not in canonical]
    assert any(e != e.strip() for e in odd)
    assert any("+" in e.split("@")[0] for e in odd)
    assert any(e.strip().lower() in canonical for e in odd)  # case/whitespace only
    assert any(e.strip().lower() not in canonical for e in odd)  # typos, dots, tags


def test_people_level_rates(world):
    ppl = people(world)
    assert ppl["email2"].notna().mean() == pytest.approx(RATES.multiple_emails, abs=0.03)
    assert ppl["shares_identifier"].mean() == pytest.approx(
        RATES.household_shared_identifier, abs=0.02
    )
    # shared identifiers are visible in the data: two people, one household, one email/phone
    for col in ("email", "phone"):
        dup = ppl[ppl.duplicated(col, keep=False)]
        assert len(dup) > 0
        assert (dup.groupby(col)["household_id"].nunique() == 1).all()


def test_name_variants_and_nicknames(world):
    ppl = people(world).set_index("person_id")
    ids = truth(world)
    owner = ids[ids["source_entity"] == "contacts"].set_index("source_record_id")["person_id"]
    contacts = docs(world, "crm", "contacts")
    differ = [c for c in contacts if c["firstname"] != ppl.at[owner[c["id"]], "first_name"]]
    assert len(differ) / len(contacts) == pytest.approx(RATES.name_variant, abs=0.015)
    nicknames = {"Paco", "Pepe", "Lola", "Manolo", "Nacho", "Quique"}
    shop = docs(world, "ecommerce", "customers")
    all_names = {c["firstname"] for c in contacts} | {c["first_name"] for c in shop}
    assert all_names & nicknames


def test_store_tickets(world):
    tx = pos(world, "transactions")
    ids = ["loyalty_card", "phone_typed", "receipt_email", "card_fingerprint"]
    anonymous = tx[ids].isna().all(axis=1).mean()
    assert anonymous == pytest.approx(RATES.anonymous_ticket, abs=0.03)
    store_phones = set(pos(world, "stores")["phone"])
    digits = tx["phone_typed"].dropna().str.replace(r"\D", "", regex=True).str[-9:]
    store_digits = {p[-9:] for p in store_phones}
    assert digits.isin(store_digits).sum() > 0  # staff typed the shop's own number


def test_guest_checkouts_and_logins(world):
    orders = docs(world, "ecommerce", "orders")
    guests = [o for o in orders if o["customer_id"] is None and o["source_name"] in ("web", "app")]
    assert 0.05 < len(guests) / len(orders) < 0.5
    clicks = jsonl(world, "clickstream", "events")
    by_anon: dict[str, list[dict]] = {}
    for e in clicks:
        by_anon.setdefault(e["anonymous_id"], []).append(e)
    # anonymous visitors who log in: events before the login carry no user id, after it do
    logged = [e for e in clicks if e["event_type"] == "login"]
    assert logged
    later_known = 0
    for e in logged:
        same = sorted(by_anon[e["anonymous_id"]], key=lambda x: x["occurred_at"])
        before = [x for x in same if x["occurred_at"] < e["occurred_at"]]
        if before and before[-1]["user_id"] is None:
            later_known += 1
    assert later_known > 0
