"""POS tables, their keys and record contracts (SOURCES.md, POS).

Timestamps are the till's naive local time (Europe/Madrid) and stay naive in the warehouse.
"""

from ingestion.contracts import Column, Contract, day, integer, money, text

DEFAULT_LAG_DAYS = 3.0


def local_ts(name: str, required: bool = False) -> Column:
    return Column(name, "timestamp", required, timezone=False)


CONTRACTS = {
    "stores": Contract(
        "stores",
        ("store_id",),
        (
            text("store_id", required=True),
            text("name"),
            text("city"),
            text("province"),
            text("phone"),
            day("opened_on"),
            local_ts("updated_at", required=True),
        ),
    ),
    "transactions": Contract(
        "transactions",
        ("transaction_id",),
        (
            text("transaction_id", required=True),
            text("store_id", required=True, references="stores"),
            local_ts("occurred_at", required=True),
            text("loyalty_card"),
            text("phone_typed"),
            text("receipt_email"),
            text("card_fingerprint"),
            text("payment_method"),
            money("total_amount", required=True, min_value=0),
            text("staff_id"),
            local_ts("updated_at", required=True),
        ),
    ),
    "transaction_lines": Contract(
        "transaction_lines",
        ("transaction_id", "line_no"),
        (
            text("transaction_id", required=True),
            integer("line_no", required=True),
            text("sku"),
            integer("quantity", min_value=0),
            money("unit_price", min_value=0),
            money("line_amount", min_value=0),
        ),
    ),
    "returns": Contract(
        "returns",
        ("return_id",),
        (
            text("return_id", required=True),
            text("store_id", references="stores"),
            local_ts("returned_at"),
            text("original_transaction_id"),
            text("original_order_id"),
            text("sku"),
            integer("quantity", min_value=0),
            money("refund_amount", min_value=0),
            local_ts("updated_at", required=True),
        ),
    ),
    "pickups": Contract(
        "pickups",
        ("pickup_id",),
        (
            text("pickup_id", required=True),
            text("order_id"),
            text("store_id", references="stores"),
            local_ts("ready_at"),
            local_ts("picked_up_at"),
            text("status"),
            local_ts("updated_at", required=True),
        ),
    ),
    "inventory_daily": Contract(
        "inventory_daily",
        ("snapshot_date", "store_id", "sku"),
        (
            day("snapshot_date", required=True),
            text("store_id", required=True, references="stores"),
            text("sku", required=True),
            integer("on_hand"),
            local_ts("updated_at", required=True),
        ),
    ),
}

RESOURCES = tuple(CONTRACTS)

# transaction_lines has no updated_at: it follows its tickets' (ingestion/pos/lines_window.py).
INCREMENTAL_CURSOR = {name: "updated_at" for name in RESOURCES if name != "transaction_lines"}

# A backfill window re-reads the tickets, returns and pickups of its business days (by these
# local timestamps) and the lines of those tickets; stores and inventory are reference data.
WINDOW_CURSOR = {"transactions": "occurred_at", "returns": "returned_at", "pickups": "ready_at"}
WINDOW_RESOURCES = (*WINDOW_CURSOR, "transaction_lines")
