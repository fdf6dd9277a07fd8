"""Great Expectations suites for the new batch of every raw table (``gx_raw_<system>_<table>``).

The batch is what the newest dlt load of a table wrote: the rows whose ``_dlt_load_id`` is
the table's newest one (for a dlt child table such as ``orders__line_items``, the children
of those parent rows). When a run loads nothing new for a table, its previous batch is
checked again: a bad batch keeps failing until it is fixed or replaced, instead of slipping
into the marts on the next quiet run.

Keys, required columns, types, minimum values and timestamps come from the record contracts
of the ingestion layer (``ingestion/<system>/settings.py``, SOURCES.md in code), so the
suites cannot drift from what ingestion loads. ``RULES`` adds what a contract does not say:
allowed values, email/phone formats and references to other raw tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import great_expectations.expectations as gxe

from ingestion.contracts import Contract, future_cutoff
from ingestion.pipelines import CONTRACTS, SYSTEMS, dataset_name
from orchestration.defs.quality.suites.common import (
    CANONICAL_CHANNELS,
    Reference,
    email_format,
    phone_format,
    recipient_format,
)

# Shop accounts get deleted while their orders and browsing stay (0.8-0.9% of the default
# world's orders and logged-in events name an account no longer in raw_ecommerce.customers).
DELETED_ACCOUNT_MOSTLY = 0.95

# POS tills write naive local time (SOURCES.md); the batch's load time is compared in it.
TILL_TIMEZONE = ZoneInfo("Europe/Madrid")
_LOAD_ID = re.compile(r"^[0-9]+(\.[0-9]+)?$")

# What DuckDB's column types look like once in pandas (see gx_validation.prepare_frame):
# text as StringDtype, aware timestamps as naive UTC, integers with nulls as floats.
TYPE_LISTS = {
    "text": ["StringDtype"],
    "bigint": ["int64", "float64"],
    "double": ["float64"],
    "decimal": ["float64"],
    "bool": ["bool"],
    "timestamp": ["datetime64[us]", "datetime64[ns]"],
    "date": ["datetime64[us]", "datetime64[ns]"],
}


@dataclass(frozen=True)
class TableRules:
    """What a raw table must satisfy beyond its record contract."""

    expectations: tuple[gxe.Expectation, ...] = ()
    references: tuple[Reference, ...] = ()


def _in_set(column: str, values: list[str]) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=values)


CLICKSTREAM_EVENT_TYPES = [
    "page_view", "product_view", "search", "add_to_cart", "checkout_started", "login",
    "order_completed", "app_open",
]  # fmt: skip

RULES: dict[tuple[str, str], TableRules] = {
    ("crm", "contacts"): TableRules(
        (
            _in_set("lifecycle_stage", ["subscriber", "lead", "customer", "evangelist"]),
            _in_set("acquisition_channel", CANONICAL_CHANNELS),
            email_format("email"),
            phone_format("phone"),
            phone_format("mobilephone"),
        )
    ),
    ("crm", "loyalty_accounts"): TableRules(
        (
            _in_set("tier", ["bronze", "silver", "gold"]),
            gxe.ExpectColumnValuesToBeBetween(column="points_balance", min_value=0),
        ),
        (Reference("contact_id", "raw_crm.contacts.id"),),
    ),
    ("crm", "campaigns"): TableRules(
        (
            _in_set("channel", CANONICAL_CHANNELS),
            gxe.ExpectColumnValuesToBeBetween(column="budget", min_value=0),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="end_date", column_B="start_date", or_equal=True
            ),
        )
    ),
    ("ecommerce", "customers"): TableRules(
        (
            _in_set("state", ["enabled", "disabled", "deleted"]),
            email_format("email"),
            phone_format("phone"),
        )
    ),
    ("ecommerce", "orders"): TableRules(
        (
            _in_set("source_name", ["web", "app", "phone", "whatsapp"]),
            _in_set("fulfillment_type", ["ship", "pickup_in_store", "ship_from_store"]),
            _in_set("currency", ["EUR"]),
            _in_set("financial_status", ["paid", "refunded", "partially_refunded", "voided"]),
            *(
                gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0)
                for c in ("subtotal_price", "total_discounts", "total_shipping")
            ),
            email_format("email"),
            phone_format("phone"),
        ),
        (Reference("customer_id", "raw_ecommerce.customers.id", DELETED_ACCOUNT_MOSTLY),),
    ),
    ("ecommerce", "orders__line_items"): TableRules(
        (gxe.ExpectColumnValuesToBeBetween(column="quantity", min_value=1),),
        (
            Reference("sku", "raw_ecommerce.products.sku"),
            Reference("product_id", "raw_ecommerce.products.id"),
        ),
    ),
    ("ecommerce", "orders__refunds"): TableRules(
        (_in_set("reason", ["customer_return", "not_collected"]),)
    ),
    ("ecommerce", "checkouts"): TableRules(
        (
            _in_set("source_name", ["web", "app", "phone", "whatsapp"]),
            gxe.ExpectColumnValuesToBeBetween(column="total_price", min_value=0),
            email_format("email"),
            phone_format("phone"),
        ),
        (Reference("recovered_order_id", "raw_ecommerce.orders.id"),),
    ),
    ("ecommerce", "products"): TableRules(
        (
            gxe.ExpectColumnValuesToNotBeNull(column="sku"),
            gxe.ExpectColumnValuesToBeUnique(column="sku"),
            gxe.ExpectColumnValuesToBeBetween(column="price", min_value=0),
        )
    ),
    ("ecommerce", "inventory_levels"): TableRules(
        (gxe.ExpectColumnValuesToBeBetween(column="available", min_value=0),),
        (Reference("sku", "raw_ecommerce.products.sku"),),
    ),
    ("pos", "stores"): TableRules((phone_format("phone"),)),
    ("pos", "transactions"): TableRules(
        (
            _in_set("payment_method", ["card", "cash", "mobile"]),
            email_format("receipt_email"),
            phone_format("phone_typed"),
        ),
        (Reference("store_id", "raw_pos.stores.store_id"),),
    ),
    ("pos", "transaction_lines"): TableRules(
        (gxe.ExpectColumnValuesToBeBetween(column="quantity", min_value=1),),
        (
            Reference("transaction_id", "raw_pos.transactions.transaction_id"),
            Reference("sku", "raw_ecommerce.products.sku"),
        ),
    ),
    ("pos", "returns"): TableRules(
        (gxe.ExpectColumnValuesToBeBetween(column="quantity", min_value=1),),
        (
            Reference("store_id", "raw_pos.stores.store_id"),
            Reference("original_transaction_id", "raw_pos.transactions.transaction_id"),
            Reference("original_order_id", "raw_ecommerce.orders.id"),
            Reference("sku", "raw_ecommerce.products.sku"),
        ),
    ),
    ("pos", "pickups"): TableRules(
        (
            _in_set("status", ["ready", "picked_up", "expired"]),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="picked_up_at",
                column_B="ready_at",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            ),
        ),
        (
            Reference("order_id", "raw_ecommerce.orders.id"),
            Reference("store_id", "raw_pos.stores.store_id"),
        ),
    ),
    ("pos", "inventory_daily"): TableRules(
        (gxe.ExpectColumnValuesToBeBetween(column="on_hand", min_value=0),),
        (
            Reference("store_id", "raw_pos.stores.store_id"),
            Reference("sku", "raw_ecommerce.products.sku"),
        ),
    ),
    ("clickstream", "events"): TableRules(
        (
            _in_set("platform", ["web", "app"]),
            _in_set("event_type", CLICKSTREAM_EVENT_TYPES),
        ),
        (
            Reference("user_id", "raw_ecommerce.customers.id", DELETED_ACCOUNT_MOSTLY),
            Reference("sku", "raw_ecommerce.products.sku"),
        ),
    ),
    ("messaging", "conversations"): TableRules(
        (
            _in_set("channel", ["email", "sms", "whatsapp", "chat", "phone", "social"]),
            gxe.ExpectColumnValuesToBeBetween(column="csat", min_value=1, max_value=5),
            email_format("customer_email"),
            phone_format("customer_phone"),
        )
    ),
    ("messaging", "conversations__messages"): TableRules(
        (_in_set("sender", ["customer", "agent"]),)
    ),
    ("messaging", "deliveries"): TableRules(
        (
            _in_set("channel", ["email", "sms", "whatsapp", "push"]),
            _in_set(
                "event_type",
                ["sent", "delivered", "opened", "clicked", "bounced", "unsubscribed"],
            ),
            recipient_format("recipient", "channel"),
        ),
        (
            Reference("contact_id", "raw_crm.contacts.id"),
            Reference("campaign_id", "raw_crm.campaigns.id"),
        ),
    ),
    ("marketing", "spend"): TableRules(
        (
            _in_set("channel", ["paid_search", "paid_social", "display", "affiliate"]),
            _in_set("currency", ["EUR"]),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="impressions", column_B="clicks", or_equal=True
            ),
        )
    ),
}


@dataclass(frozen=True)
class RawTable:
    """One raw table as dlt writes it: a resource's table or one of its child tables."""

    system: str
    table: str
    contract: Contract
    parent: Contract | None = None
    rules: TableRules = field(default_factory=TableRules)

    @property
    def dataset(self) -> str:
        return dataset_name(self.system)

    @property
    def suite_name(self) -> str:
        return f"raw_{self.system}_{self.table}"

    @property
    def check_name(self) -> str:
        return f"gx_{self.suite_name}"

    @property
    def resource(self) -> str:
        """The dlt resource that writes the table (the parent's, for a child table)."""
        return self.parent.resource if self.parent else self.table

    @property
    def parent_key_alias(self) -> str | None:
        """The parent's key as the batch query names it (``order_id`` for line items)."""
        if self.parent is None:
            return None
        key = self.parent.primary_key[0]
        return f"{self.parent.resource.removesuffix('s')}_id" if key == "id" else key

    def load_id_sql(self) -> str:
        """The newest load id of the table (of its parent, for a child table)."""
        return f"select max(_dlt_load_id) from {self.dataset}.{self.resource}"

    def batch_sql(self, load_id: str | None) -> str:
        if load_id is not None and not _LOAD_ID.match(load_id):
            raise ValueError(f"unexpected dlt load id {load_id!r}")
        loaded = f"= '{load_id}'" if load_id is not None else "is null and false"
        if self.parent is None:
            base = f"select * from {self.dataset}.{self.table} where _dlt_load_id {loaded}"
        else:
            key = self.parent.primary_key[0]
            base = (
                f"select p.{key} as {self.parent_key_alias}, c.* "
                f"from {self.dataset}.{self.table} as c "
                f"join {self.dataset}.{self.parent.resource} as p on c._dlt_parent_id = p._dlt_id "
                f"where p._dlt_load_id {loaded}"
            )
        flags = "".join(f", {ref.flag_sql('batch')}" for ref in self.rules.references)
        return f"with batch as ({base}) select batch.*{flags} from batch"

    def other_system_tables(self) -> set[tuple[str, str]]:
        """(dataset, table) of other systems this table's references read."""
        return {
            (ref.target_dataset, ref.target_table)
            for ref in self.rules.references
            if ref.target_dataset != self.dataset
        }

    def expectations(self, loaded_at: datetime | None) -> list[gxe.Expectation]:
        """The suite for a batch loaded at ``loaded_at`` (UTC; None for an empty table)."""
        contract = self.contract
        columns = list(contract.column_names)
        if self.parent_key_alias:
            columns.insert(0, self.parent_key_alias)
        suite: list[gxe.Expectation] = [
            gxe.ExpectTableColumnsToMatchSet(column_set=columns, exact_match=False)
        ]
        keys = list(contract.primary_key)
        # A rule's own range on a column replaces the contract's looser minimum.
        ranged = {
            e.column
            for e in self.rules.expectations
            if isinstance(e, gxe.ExpectColumnValuesToBeBetween)
        }
        for key in keys:
            suite.append(gxe.ExpectColumnValuesToNotBeNull(column=key))
        if len(keys) == 1:
            suite.append(gxe.ExpectColumnValuesToBeUnique(column=keys[0]))
        else:
            suite.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=keys))
        for column in contract.columns:
            if column.required and column.name not in keys:
                suite.append(gxe.ExpectColumnValuesToNotBeNull(column=column.name))
            suite.append(
                gxe.ExpectColumnValuesToBeInTypeList(
                    column=column.name, type_list=TYPE_LISTS[column.data_type]
                )
            )
            if column.min_value is not None and column.name not in ranged:
                suite.append(
                    gxe.ExpectColumnValuesToBeBetween(
                        column=column.name, min_value=column.min_value
                    )
                )
            if column.data_type == "timestamp" and loaded_at is not None:
                suite.append(
                    gxe.ExpectColumnValuesToBeBetween(
                        column=column.name, max_value=latest_timestamp(loaded_at, column.timezone)
                    )
                )
        suite.extend(self.rules.expectations)
        suite.extend(ref.expectation() for ref in self.rules.references)
        return suite


def latest_timestamp(loaded_at: datetime, aware: bool) -> datetime:
    """The newest acceptable timestamp in a batch loaded at ``loaded_at``, as the column
    holds it: naive UTC for aware columns, naive Madrid time for a till's local clock.

    The same tolerance as ingestion's quarantine (``OMNI_FUTURE_TOLERANCE_DAYS``): clocks
    drift, and what ingestion accepted must not then block the run."""
    cutoff = loaded_at + (future_cutoff() - datetime.now(UTC))
    local = cutoff.astimezone(UTC if aware else TILL_TIMEZONE)
    return local.replace(tzinfo=None)


def load_time(load_id: str) -> datetime:
    """dlt load ids are the load's start as Unix seconds."""
    return datetime.fromtimestamp(float(load_id), UTC)


def raw_tables(system: str) -> list[RawTable]:
    tables = []
    for resource, contract in CONTRACTS[system].items():
        tables.append(
            RawTable(system, resource, contract, rules=RULES.get((system, resource), TableRules()))
        )
        for name, child in contract.nested.items():
            table = f"{resource}__{name}"
            rules = RULES.get((system, table), TableRules())
            tables.append(RawTable(system, table, child, parent=contract, rules=rules))
    return tables


RAW_TABLES: dict[str, list[RawTable]] = {system: raw_tables(system) for system in SYSTEMS}
