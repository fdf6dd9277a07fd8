"""The pairwise scoring of `python -m orchestration.lib.identity_eval`, on hand-made clusters."""

from __future__ import annotations

import pandas as pd
import pytest


def _records(rows: list[tuple[str, str]], column: str) -> pd.DataFrame:
    return pd.DataFrame(
        [("crm", "contacts", record, cluster) for record, cluster in rows],
        columns=["source_system", "source_entity", "source_record_id", column],
    )


def test_score_counts_pairs_over_records_in_both_truth_and_mart() -> None:
    from orchestration.lib.identity_eval import score

    # Truth: p1 = {a, b, c}, p2 = {d, e}, p3 = {f} (f never resolved).
    truth = _records(
        [("a", "p1"), ("b", "p1"), ("c", "p1"), ("d", "p2"), ("e", "p2"), ("f", "p3")],
        "person_id",
    )
    # Mart: {a, b} right, c split off from them and fused with d and e.
    resolved = _records([("a", "x"), ("b", "x"), ("c", "y"), ("d", "y"), ("e", "y")], "customer_id")
    result = score(truth, resolved)
    # Predicted pairs: ab, cd, ce, de = 4; true pairs: ab, ac, bc, de = 4; both: ab, de = 2.
    assert result["precision"] == pytest.approx(0.5)
    assert result["recall"] == pytest.approx(0.5)
    assert result["f1"] == pytest.approx(0.5)
    assert result["records_resolved_share"] == pytest.approx(5 / 6, abs=1e-5)
    assert result["largest_cluster_size"] == 3


def test_mess_multiplier_scales_every_rate_and_caps_at_one() -> None:
    from ingestion.sandbox.params import MessRates
    from orchestration.lib.identity_eval import mess_params

    doubled = mess_params(2.0).mess
    assert doubled.email_variant == pytest.approx(2 * MessRates().email_variant)
    assert mess_params(10.0).mess.phone_not_e164 == 1.0
