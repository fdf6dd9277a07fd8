"""The REST APIs over real HTTP: auth, pagination, incremental filters, injected faults."""

from __future__ import annotations

import sqlite3

import pytest
import requests

from ingestion.sandbox import CRM_TOKEN, SHOP_TOKEN, SandboxServer

CRM_AUTH = {"Authorization": f"Bearer {CRM_TOKEN}"}
SHOP_AUTH = {"X-Shopify-Access-Token": SHOP_TOKEN}


@pytest.fixture(scope="module")
def server(world):
    with SandboxServer(world, fault_rate=0.0) as s:
        yield s


def _count(world, db: str, entity: str, since: str | None = None) -> int:
    con = sqlite3.connect(world / db)
    sql = f"SELECT count(*) FROM {entity}" + (" WHERE updated_at >= ?" if since else "")
    n = con.execute(sql, (since,) if since else ()).fetchone()[0]
    con.close()
    return n


def crm_all(base: str, entity: str, **params) -> list[dict]:
    out, params = [], {"limit": 100, **params}
    while True:
        r = requests.get(f"{base}/crm/v3/objects/{entity}", params=params, headers=CRM_AUTH)
        r.raise_for_status()
        body = r.json()
        out += body["results"]
        if "paging" not in body:
            return out
        params = {**params, "after": body["paging"]["next"]["after"]}


def shop_all(base: str, entity: str, **params) -> list[dict]:
    out, url, params = [], f"{base}/admin/api/2024-10/{entity}.json", {"limit": 250, **params}
    while url:
        r = requests.get(url, params=params, headers=SHOP_AUTH)
        r.raise_for_status()
        out += r.json()[entity]
        url, params = r.links.get("next", {}).get("url"), None
    return out


def test_crm_pagination_returns_each_record_once(server, world):
    contacts = crm_all(server.base_url, "contacts")
    ids = [c["id"] for c in contacts]
    assert len(ids) == len(set(ids)) == _count(world, "crm/crm.sqlite", "contacts")
    keys = [(c["updated_at"], c["id"]) for c in contacts]
    assert keys == sorted(keys)
    since = contacts[len(contacts) // 2]["updated_at"]
    recent = crm_all(server.base_url, "contacts", updated_since=since)
    assert {c["id"] for c in recent} == {c["id"] for c in contacts if c["updated_at"] >= since}
    assert len(recent) == _count(world, "crm/crm.sqlite", "contacts", since)
    # an offset timestamp means the same instant
    y, rest = since[:10], since[11:19]
    shifted = f"{y}T{int(rest[:2]) + 1:02d}{rest[2:]}+01:00" if rest[:2] < "23" else since
    assert len(crm_all(server.base_url, "contacts", updated_since=shifted)) == len(recent)


def test_shop_link_pagination_returns_each_record_once(server, world):
    orders = shop_all(server.base_url, "orders")
    ids = [o["id"] for o in orders]
    assert len(ids) == len(set(ids)) == _count(world, "ecommerce/shop.sqlite", "orders")
    assert len(ids) > 250  # really paginated
    since = sorted(o["updated_at"] for o in orders)[len(orders) * 3 // 4]
    recent = shop_all(server.base_url, "orders", updated_at_min=since)
    assert {o["id"] for o in recent} == {o["id"] for o in orders if o["updated_at"] >= since}
    assert all(isinstance(o["line_items"], list) and o["line_items"] for o in orders)


@pytest.mark.parametrize("entity", ["orders", "checkouts"])
def test_shop_created_at_window_pages_only_those_records(server, world, entity):
    """Shopify's created_at_min / created_at_max (inclusive), kept across Link pages: a
    backfill of a few days must not page through the whole shop."""
    con = sqlite3.connect(world / "ecommerce/shop.sqlite")
    created = sorted(
        r[0] for r in con.execute(f"SELECT json_extract(doc, '$.created_at') FROM {entity}")
    )
    con.close()
    low, high = created[len(created) // 4], created[len(created) // 2]
    expected = sum(low <= c <= high for c in created)
    assert 25 < expected < len(created)  # more than one page, less than everything
    window = shop_all(server.base_url, entity, created_at_min=low, created_at_max=high, limit=25)
    assert sorted(r["created_at"] for r in window) == [c for c in created if low <= c <= high]
    assert len({r["id"] for r in window}) == expected
    # combined with the incremental filter, both apply
    since = sorted(r["updated_at"] for r in window)[expected // 2]
    both = shop_all(server.base_url, entity, created_at_min=low, updated_at_min=since, limit=25)
    assert both and all(r["created_at"] >= low and r["updated_at"] >= since for r in both)
    bad = requests.get(
        f"{server.base_url}/admin/api/2024-10/inventory_levels.json",
        params={"created_at_min": low},
        headers=SHOP_AUTH,
    )
    assert bad.status_code == 400


def test_limits_and_errors(server):
    base = server.base_url
    r = requests.get(f"{base}/crm/v3/objects/contacts", params={"limit": 500}, headers=CRM_AUTH)
    assert len(r.json()["results"]) == 100
    r = requests.get(
        f"{base}/admin/api/2024-10/orders.json", params={"limit": 900}, headers=SHOP_AUTH
    )
    assert len(r.json()["orders"]) == 250
    assert requests.get(f"{base}/crm/v3/objects/contacts").status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert requests.get(f"{base}/crm/v3/objects/contacts", headers=wrong).status_code == 401
    assert requests.get(f"{base}/admin/api/2024-10/orders.json").status_code == 401
    assert (
        requests.get(f"{base}/admin/api/2024-10/orders.json", headers=CRM_AUTH).status_code == 401
    )
    bad = requests.get(
        f"{base}/crm/v3/objects/contacts", params={"updated_since": "yesterday"}, headers=CRM_AUTH
    )
    assert bad.status_code == 400
    assert requests.get(f"{base}/crm/v3/objects/nothing", headers=CRM_AUTH).status_code == 404


def _hit(base: str, n: int) -> list[str]:
    outcomes = []
    with requests.Session() as s:
        for _ in range(n):
            try:
                r = s.get(f"{base}/crm/v3/objects/campaigns", params={"limit": 5}, headers=CRM_AUTH)
                outcomes.append(str(r.status_code))
                if r.status_code == 429:
                    assert r.headers["Retry-After"] in ("0", "1")
            except requests.ConnectionError:
                outcomes.append("drop")
    return outcomes


def test_fault_injection_fails_the_stated_share(world):
    with SandboxServer(world, fault_rate=0.3, fault_seed=5) as s:
        outcomes = _hit(s.base_url, 400)
        stats = s.stats
    failed = sum(o != "200" for o in outcomes)
    assert failed / len(outcomes) == pytest.approx(0.3, abs=0.06)
    assert {"429", "500", "503", "drop"} <= set(outcomes)
    assert stats["requests"] == 400 and sum(stats["faults"].values()) == failed
    # same seed, same sequence of requests: the same failures
    with SandboxServer(world, fault_rate=0.3, fault_seed=5) as s:
        assert _hit(s.base_url, 60) == outcomes[:60]


def test_fault_rate_from_environment(world, monkeypatch):
    monkeypatch.setenv("OMNI_SANDBOX_FAULT_RATE", "0.5")
    assert SandboxServer(world).fault_rate == 0.5
    monkeypatch.delenv("OMNI_SANDBOX_FAULT_RATE")
    assert SandboxServer(world).fault_rate == 0.0


def test_a_filtered_walk_reads_each_page_from_its_keyset(tmp_path):
    """Paging through ``updated_since`` costs the same per page, first or last: the keyset
    of the previous page bounds the index search, not the filter (which made every page
    re-read the rows of all pages before it)."""
    from ingestion.sandbox import docstore

    con = docstore.connect(tmp_path, "crm")
    stamps = ((f"c{i:05d}", f"2025-09-{1 + i // 1000:02d}T00:00:00Z", "{}") for i in range(20_000))
    docstore.upsert(con, "contacts", stamps)
    con.commit()
    since = "2025-09-01T00:00:00Z"

    def vm_steps(after: tuple[str, str] | None) -> tuple[int, list]:
        steps = [0]

        def tick() -> int:
            steps[0] += 1
            return 0

        con.set_progress_handler(tick, 100)
        rows = docstore.page(con, "contacts", 100, since=since, after=after)
        con.set_progress_handler(None, 0)
        return steps[0], rows

    first, rows = vm_steps(None)
    last, tail = vm_steps(("2025-09-20T00:00:00Z", "c19899"))
    assert [r[1] for r in rows] == [f"c{i:05d}" for i in range(100)]
    assert [r[1] for r in tail] == [f"c{i:05d}" for i in range(19_900, 20_000)]
    assert last <= 2 * first + 5
    # A filter later than the keyset still bounds the page.
    later = docstore.page(
        con, "contacts", 5, since="2025-09-10T00:00:00Z", after=("2025-09-01T00:00:00Z", "c00010")
    )
    assert [r[1] for r in later] == [f"c{i:05d}" for i in range(9_000, 9_005)]
    con.close()
