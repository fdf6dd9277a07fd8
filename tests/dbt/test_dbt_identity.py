"""The single customer view against the sandbox's ground truth (`_truth/identities.parquet`)."""

from __future__ import annotations

import pandas as pd
import phonenumbers
from dbt_world import BuiltWorld

# Measured on this world with exact matching on normalised identifiers: precision 0.999,
# recall 0.92 (800 customers, 28 days from 2025-09-16, seed 11;
# 0.9985 / 0.94 with 2000 customers); with the guards and probabilistic matching
# 0.9994-0.9996 / 0.932 (recall here counts pairs of records left anonymous too). The floors leave
# room for other seeds, not regressions.
PRECISION_FLOOR = 0.98
RECALL_FLOOR = 0.88
RECORD = ["source_system", "source_entity", "source_record_id"]


def _pairs(sizes: pd.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def _resolved(world: BuiltWorld) -> pd.DataFrame:
    return world.query(
        "select distinct customer_id, source_system, source_entity, source_record_id "
        "from marts.customer_identities"
    )


def test_clustering_pairwise_precision_and_recall(built_world: BuiltWorld) -> None:
    truth = built_world.truth_identities
    joined = truth.merge(_resolved(built_world), on=RECORD, how="inner")
    same_both = _pairs(joined.groupby(["customer_id", "person_id"]).size())
    same_predicted = _pairs(joined.groupby("customer_id").size())
    same_true = _pairs(truth.groupby("person_id").size())
    precision = same_both / same_predicted
    recall = same_both / same_true
    print(f"\nidentity resolution: pairwise precision {precision:.4f}, recall {recall:.4f}")
    assert precision >= PRECISION_FLOOR
    assert recall >= RECALL_FLOOR


def test_no_customer_merges_people_through_a_store_phone(built_world: BuiltWorld) -> None:
    store_phones = {
        phonenumbers.format_number(
            phonenumbers.parse(phone, "ES"), phonenumbers.PhoneNumberFormat.E164
        )
        for (phone,) in built_world.pos("SELECT phone FROM stores")
    }
    used = built_world.query(
        "select identifier_value from marts.customer_identifiers "
        "where identifier_type = 'phone' and is_used_for_matching"
    )["identifier_value"]
    assert store_phones and not store_phones & set(used)


def test_customer_identities_covers_every_identifiable_record(built_world: BuiltWorld) -> None:
    resolved = _resolved(built_world)
    listed = set(map(tuple, resolved[RECORD].to_numpy()))
    assert resolved.groupby(RECORD)["customer_id"].nunique().max() == 1

    def ids(system: str, entity: str, values) -> set[tuple[str, str, str]]:
        return {(system, entity, str(v)) for v in values}

    expected = set()
    expected |= ids("crm", "contacts", (d["id"] for d in built_world.docs("crm", "contacts")))
    expected |= ids(
        "crm", "loyalty_accounts", (d["id"] for d in built_world.docs("crm", "loyalty_accounts"))
    )
    # A shop account the shop reports `deleted` is erased at load (dlt hard delete).
    expected |= ids(
        "ecommerce",
        "customers",
        (d["id"] for d in built_world.shop_docs("customers") if d.get("state") != "deleted"),
    )
    expected |= ids(
        "ecommerce",
        "orders",
        (d["id"] for d in built_world.shop_docs("orders") if d.get("customer_id")),
    )
    excluded = set(
        built_world.query(
            "select identifier_value from intermediate.int_identifiers_excluded "
            "where identifier_type = 'email'"
        )["identifier_value"]
    )
    tickets = built_world.pos(
        "SELECT transaction_id, loyalty_card, receipt_email FROM transactions "
        "WHERE coalesce(loyalty_card, '') <> '' OR receipt_email LIKE '%@%.%'"
    )
    # A ticket whose only identifier is an inbox audited as shared by several people is
    # rightly left anonymous; every other ticket with a card or an email must be resolved.
    expected |= ids(
        "pos",
        "transactions",
        (t for t, card, email in tickets if card or email.strip().lower() not in excluded),
    )
    missing = expected - listed
    assert not missing, f"{len(missing)} identifiable records unresolved: {sorted(missing)[:5]}"

    # Nothing is invented: every listed record is a record the truth knows about.
    truth = set(map(tuple, built_world.truth_identities[RECORD].astype(str).to_numpy()))
    assert listed <= truth


def test_people_are_counted_close_to_the_truth(built_world: BuiltWorld) -> None:
    truth = built_world.truth_identities
    resolved = _resolved(built_world)
    covered = truth.merge(resolved, on=RECORD)
    customers = built_world.query("select count(*) as n from marts.dim_customers")["n"].iloc[0]
    people = covered["person_id"].nunique()
    # Exact matching splits a few people (typos in emails) and must fuse almost none.
    assert people * 0.98 <= customers <= people * 1.10


def test_customer_identities_has_one_row_per_record_with_its_strongest_identifier(
    built_world: BuiltWorld,
) -> None:
    identities = built_world.query("select * from marts.customer_identities")
    assert not identities.duplicated(RECORD).any()
    identifiers = built_world.query("select * from marts.customer_identifiers")
    # The same records, none lost between the two grains.
    assert set(map(tuple, identities[RECORD].to_numpy())) == set(
        map(tuple, identifiers[RECORD].to_numpy())
    )
    assert (identities.groupby(RECORD).size() == 1).all()
    counts = identifiers.groupby(RECORD).size().rename("n").reset_index()
    merged = identities.merge(counts, on=RECORD)
    assert (merged["identifiers_count"] == merged["n"]).all()

    # A shop order placed by an account holder shows the account, not the order's email;
    # a CRM contact is shown by its own contact id.
    orders = {str(o["id"]): o for o in built_world.shop_docs("orders")}
    shop_orders = identities[identities["source_entity"] == "orders"]
    with_account = shop_orders[
        shop_orders["source_record_id"].map(lambda i: bool(orders[i].get("customer_id")))
    ]
    assert len(with_account) > 0
    assert (with_account["identifier_type"] == "shop_customer_id").all()
    assert (
        with_account["identifier_value"]
        == with_account["source_record_id"].map(lambda i: str(orders[i]["customer_id"]))
    ).all()
    contacts = identities[identities["source_entity"] == "contacts"]
    assert (contacts["identifier_type"] == "crm_contact_id").all()
    assert (contacts["identifier_value"] == contacts["source_record_id"]).all()


def test_probabilistic_matches_are_true_pairs_and_join_what_exact_matching_cannot(
    built_world: BuiltWorld,
) -> None:
    truth = built_world.truth_identities.astype(str)
    records = built_world.query(
        "select record_key, source_system, source_entity, source_record_id "
        "from intermediate.int_identity_records_unioned"
    ).merge(truth, on=RECORD)
    person = records.set_index("record_key")["person_id"]
    pairs = built_world.query("select * from intermediate.int_identity_probabilistic_matches")
    assert len(pairs) > 0
    # Every scored pair above the threshold is one person in the truth.
    assert (pairs["record_key_l"].map(person) == pairs["record_key_r"].map(person)).all()

    # Some pairs share no identifier the exact graph may use: only the score joins them
    # (a misspelt email domain, a household inbox with the same name).
    exact = built_world.query(
        "select record_key, identifier_key from intermediate.int_identity_edges "
        "where identifier_key not like 'probabilistic_match:%'"
    )
    keys = exact.groupby("record_key")["identifier_key"].agg(set)
    disjoint = [
        not (keys.get(left, set()) & keys.get(right, set()))
        for left, right in zip(pairs["record_key_l"], pairs["record_key_r"], strict=True)
    ]
    assert sum(disjoint) > 0
    # ...and they end up as one customer.
    resolved = built_world.query(
        "select record_key, customer_id from intermediate.int_identity_records_resolved"
    ).set_index("record_key")["customer_id"]
    assert (pairs["record_key_l"].map(resolved) == pairs["record_key_r"].map(resolved)).all()


def test_every_marketing_delivery_belongs_to_the_customer_of_its_contact(
    built_world: BuiltWorld,
) -> None:
    # The graph holds one node per contact for all their deliveries: each event must still
    # come out under the customer of the contact it was sent to.
    deliveries = built_world.query(
        """
        select sent.customer_id as delivery_customer, contact.customer_id as contact_customer
        from raw_messaging.deliveries as raw
        inner join marts.customer_identities as sent
            on sent.source_entity = 'deliveries' and sent.source_record_id = raw.event_id
        left join marts.customer_identities as contact
            on contact.source_entity = 'contacts' and contact.source_record_id = raw.contact_id
        """
    )
    assert len(deliveries) > 1000
    assert (deliveries["delivery_customer"] == deliveries["contact_customer"]).all()
