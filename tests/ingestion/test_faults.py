"""A flaky API (20% of requests fail: 429, 500, 503, dropped connections) loads the same."""

from __future__ import annotations

from ingest_helpers import table_rows

from ingestion.pipelines import REST_SYSTEMS, run_system
from ingestion.sandbox import CRM_TOKEN, SHOP_TOKEN, SandboxServer


def test_fault_rate_0_2_loads_exactly_the_same_rows(first_load, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    rows = []
    with SandboxServer(first_load.sources, port=0, fault_rate=0.2) as server:
        endpoints = {
            "crm": {"base_url": server.base_url, "access_token": CRM_TOKEN},
            "ecommerce": {"base_url": server.base_url, "access_token": SHOP_TOKEN},
        }
        for system in REST_SYSTEMS:
            rows += run_system(system, first_load.sources, warehouse, endpoints)
        faults = sum(server.stats["faults"].values())
    assert faults > 0, "the server injected no fault: the test proves nothing"
    flaky = table_rows(warehouse)
    clean = {
        name: values
        for name, values in first_load.tables.items()
        if name.split(".")[0] in {f"raw_{s}" for s in REST_SYSTEMS}
    }
    assert set(flaky) == set(clean)
    for name, values in clean.items():
        assert flaky[name] == values, f"{name} differs under faults"
    assert sum(r["loaded"] for r in rows) == sum(len(v) for k, v in clean.items() if "__" not in k)
