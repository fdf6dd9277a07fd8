"""The registry the orchestration layer builds on: names, datasets, configuration."""

from __future__ import annotations

from pathlib import Path

from ingestion.pipelines import (
    RESOURCES,
    SYSTEMS,
    configured_endpoint,
    dataset_name,
    make_pipeline,
    make_source,
    sandbox_endpoints,
)


def test_every_source_builds_without_a_server_or_sources(tmp_path):
    # Dagster builds asset definitions before any sandbox exists or server runs.
    missing = tmp_path / "nowhere"
    for system in SYSTEMS:
        source = make_source(system, missing)
        assert tuple(source.selected_resources) == RESOURCES[system]
    assert RESOURCES["ecommerce"] == (
        "customers",
        "orders",
        "checkouts",
        "products",
        "inventory_levels",
    )


def test_pipeline_names_datasets_and_state_beside_the_warehouse(tmp_path):
    pipeline = make_pipeline("pos", tmp_path / "warehouse.duckdb")
    assert (pipeline.pipeline_name, pipeline.dataset_name) == ("omni_pos", "raw_pos")
    assert Path(pipeline.pipelines_dir) == tmp_path / "dlt_pipelines"
    assert [dataset_name(s) for s in SYSTEMS] == [f"raw_{s}" for s in SYSTEMS]


def test_a_configured_endpoint_wins_over_the_sandbox(monkeypatch, tmp_path):
    monkeypatch.setenv("SOURCES__CRM__BASE_URL", "https://crm.example.com")
    monkeypatch.setenv("SOURCES__CRM__ACCESS_TOKEN", "real-token")
    monkeypatch.setenv("SOURCES__ECOMMERCE__BASE_URL", "https://shop.example.com")
    monkeypatch.setenv("SOURCES__ECOMMERCE__ACCESS_TOKEN", "shop-token")
    assert configured_endpoint("crm") == {
        "base_url": "https://crm.example.com",
        "access_token": "real-token",
    }
    # Everything configured: no sandbox server is started for the sandbox folder.
    with sandbox_endpoints(tmp_path / "no-sandbox-here") as endpoints:
        assert endpoints["ecommerce"]["base_url"] == "https://shop.example.com"


def test_without_configuration_the_sandbox_is_used(monkeypatch):
    for var in ("SOURCES__CRM__BASE_URL", "SOURCES__ECOMMERCE__BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    assert configured_endpoint("crm") is None
