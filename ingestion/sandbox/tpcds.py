"""TPC-DS profile (``--profile tpcds --scale SF``): the same source systems, filled from dsdgen.

DuckDB's ``tpcds`` extension (the ``duckdb-extension-tpcds`` wheel, loaded from its file, no
download) generates the benchmark's tables; SQL maps them onto the retailer's systems:

- store_sales -> POS transactions (one per ``ss_ticket_number``) and transaction_lines
- web_sales -> shop orders with ``source_name`` web; catalog_sales -> orders with phone
- web_returns / catalog_returns -> refunds on those orders; store_returns -> POS returns
- customer -> CRM contacts and shop customers (email from ``c_email_address``)
- store -> stores, item -> products; one person per TPC-DS customer in the truth

Dates move so the first sale falls on ``start``; sold times are read as Madrid local time
on the tills and as UTC online. ``customers`` and ``days`` do not apply: SF sets the size.
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import date
from pathlib import Path

import duckdb
import orjson

from . import docstore, pos_db
from .truth import TRUTH_DIR, checksums, write_json

log = logging.getLogger(__name__)

TPCDS_FOLDERS = ("crm", "ecommerce", "pos", "clickstream", "messaging", "marketing", TRUTH_DIR)
# Shop order ids: web and catalog order numbers overlap, so each gets its own range.
ORDER_BASE = {"web": 5_500_000_000, "phone": 5_600_000_000}


class ProfileUnavailable(ValueError):
    pass


def extension_path() -> Path:
    try:
        import duckdb_extension_tpcds
    except ImportError as exc:  # pragma: no cover - a pinned dependency
        raise ProfileUnavailable(
            "the tpcds profile needs the duckdb-extension-tpcds package (pip install "
            f"duckdb-extension-tpcds=={duckdb.__version__})"
        ) from exc
    root = Path(duckdb_extension_tpcds.__file__).parent
    path = root / "extensions" / f"v{duckdb.__version__}" / "tpcds.duckdb_extension"
    if not path.exists():
        raise ProfileUnavailable(f"no TPC-DS extension for DuckDB {duckdb.__version__} at {path}")
    return path


def dsdgen(scale: float) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding TPC-DS at scale factor ``scale``."""
    if scale <= 0:
        raise ValueError("the tpcds profile needs --scale > 0 (the TPC-DS scale factor)")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # it would flood the run's log
    con.execute(f"LOAD '{extension_path().as_posix()}'")
    con.execute("CALL dsdgen(sf = ?)", [scale])
    return con


def _views(con: duckdb.DuckDBPyConnection, start: date) -> None:
    """Sales lines of the three channels with shifted timestamps, plus per-order headers."""
    first = con.execute(
        "SELECT min(d_date) FROM date_dim WHERE d_date_sk IN (SELECT min(ss_sold_date_sk) FROM"
        " store_sales UNION SELECT min(ws_sold_date_sk) FROM web_sales UNION SELECT"
        " min(cs_sold_date_sk) FROM catalog_sales)"
    ).fetchone()[0]
    shift = (start - first).days
    con.execute(f"""
        CREATE TEMP TABLE day_of AS
        SELECT d_date_sk, (d_date + INTERVAL ({shift}) DAY)::TIMESTAMP AS day FROM date_dim
    """)
    con.execute("""
        CREATE TEMP TABLE tickets AS
        SELECT ss_ticket_number AS ticket,
               coalesce(max(ss_store_sk), (SELECT min(s_store_sk) FROM store)) AS store_sk,
               max(ss_customer_sk) AS customer_sk,
               coalesce(max(ss_sold_date_sk), (SELECT min(ss_sold_date_sk) FROM store_sales))
                   AS date_sk,
               coalesce(max(ss_sold_time_sk), 0) AS time_sk,
               round(sum(coalesce(ss_ext_sales_price, 0)), 2)::DOUBLE AS total
        FROM store_sales GROUP BY ss_ticket_number
    """)
    con.execute("""
        CREATE TEMP TABLE ticket_at AS
        SELECT k.*, d.day + to_seconds(coalesce(t.t_time, 43200)) AS ts
        FROM tickets k JOIN day_of d ON d.d_date_sk = k.date_sk
        LEFT JOIN time_dim t ON t.t_time_sk = k.time_sk
    """)
    for channel, p in (("web", "ws"), ("phone", "cs")):
        customer = "ws_bill_customer_sk" if p == "ws" else "cs_bill_customer_sk"
        con.execute(f"""
            CREATE TEMP TABLE orders_{channel} AS
            WITH h AS (
                SELECT {p}_order_number AS order_number, max({customer}) AS customer_sk,
                       coalesce(max({p}_sold_date_sk),
                                (SELECT min({p}_sold_date_sk) FROM {
            "web_sales" if p == "ws" else "catalog_sales"
        })) AS date_sk,
                       coalesce(max({p}_sold_time_sk), 0) AS time_sk,
                       round(sum(coalesce({p}_ext_sales_price, 0)), 2) AS subtotal,
                       round(sum(coalesce({p}_ext_ship_cost, 0)), 2) AS shipping
                FROM {"web_sales" if p == "ws" else "catalog_sales"} GROUP BY 1)
            SELECT h.*, d.day + to_seconds(coalesce(t.t_time, 43200)) AS ts
            FROM h JOIN day_of d ON d.d_date_sk = h.date_sk
            LEFT JOIN time_dim t ON t.t_time_sk = h.time_sk
        """)


def _people_docs(con, out: Path) -> list[tuple[str, str, str, str]]:
    """CRM contacts and shop customers, one of each per TPC-DS customer."""
    rows = con.execute("""
        SELECT c.c_customer_sk, c.c_first_name, c.c_last_name, c.c_email_address,
               c.c_preferred_cust_flag = 'Y', a.ca_city, a.ca_state, a.ca_zip, a.ca_country
        FROM customer c LEFT JOIN customer_address a ON a.ca_address_sk = c.c_current_addr_sk
        ORDER BY c.c_customer_sk
    """).fetchall()
    created = "2020-01-01T00:00:00Z"
    contacts, customers, truth = [], [], []
    for sk, first, last, email, preferred, city, state, zip_, country in rows:
        person = f"P{sk:07d}"
        cid, shop_id = str(1_000_000 + 2 * sk), str(7_100_000_000 + sk)
        contact = {
            "id": cid,
            "email": email,
            "additional_emails": "",
            "phone": None,
            "mobilephone": None,
            "firstname": first,
            "lastname": last,
            "loyalty_id": None,
            "lifecycle_stage": "customer",
            "consent_email": bool(preferred),
            "consent_sms": False,
            "consent_whatsapp": False,
            "consent_push": False,
            "city": city,
            "province": state,
            "zip": zip_,
            "country": country,
            "acquisition_channel": "store",
            "created_at": created,
            "updated_at": created,
            "archived": False,
        }
        customer = {
            "id": shop_id,
            "email": email,
            "phone": None,
            "first_name": first,
            "last_name": last,
            "accepts_marketing": bool(preferred),
            "created_at": created,
            "updated_at": created,
            "state": "enabled",
        }
        contacts.append((cid, created, orjson.dumps(contact)))
        customers.append((shop_id, created, orjson.dumps(customer)))
        truth += [("crm", "contacts", cid, person), ("ecommerce", "customers", shop_id, person)]
    crm, shop = docstore.connect(out, "crm"), docstore.connect(out, "ecommerce")
    docstore.upsert(crm, "contacts", contacts)
    docstore.upsert(shop, "customers", customers)
    for c in (crm, shop):
        c.commit()
        c.close()
    return truth


def _products(con, out: Path) -> None:
    rows = con.execute("""
        SELECT i_item_sk, i_product_name, coalesce(i_category, 'Unknown'),
               coalesce(i_current_price, 0) FROM item ORDER BY i_item_sk
    """).fetchall()
    created = "2020-01-01T00:00:00Z"
    docs = [
        (
            str(8_000_000_000 + sk),
            created,
            orjson.dumps(
                {
                    "id": str(8_000_000_000 + sk),
                    "sku": f"SKU-{sk:06d}",
                    "title": name,
                    "category": category,
                    "price": f"{price:.2f}",
                    "created_at": created,
                    "updated_at": created,
                }
            ),
        )
        for sk, name, category, price in rows
    ]
    shop = docstore.connect(out, "ecommerce")
    docstore.upsert(shop, "products", docs)
    shop.commit()
    shop.close()


def _orders(con, out: Path, channel: str) -> list[tuple[str, str, str, str]]:
    """Shop orders of one TPC-DS channel with nested line items and refunds."""
    p, sales, returns, rp, amount = (
        ("ws", "web_sales", "web_returns", "wr", "wr_return_amt")
        if channel == "web"
        else ("cs", "catalog_sales", "catalog_returns", "cr", "cr_return_amount")
    )
    base = ORDER_BASE[channel]
    rows = con.execute(f"""
        WITH lines AS (
            SELECT {p}_order_number AS o,
                   list({{'id': ({base} * 10 + {p}_order_number * 1000 + {p}_item_sk)::VARCHAR,
                         'sku': printf('SKU-%06d', {p}_item_sk),
                         'product_id': (8000000000 + {p}_item_sk)::VARCHAR,
                         'quantity': coalesce({p}_quantity, 0),
                         'price': printf('%.2f', coalesce({p}_sales_price, 0))}}
                        ORDER BY {p}_item_sk) AS items
            FROM {sales} GROUP BY 1),
        refunds AS (
            SELECT r.{rp}_order_number AS o,
                   list({{'id': (6600000000 + r.{rp}_order_number * 1000
                                 + r.{rp}_item_sk)::VARCHAR,
                         'created_at': strftime(d.day + INTERVAL 10 HOUR, '%Y-%m-%dT%H:%M:%SZ'),
                         'amount': printf('%.2f', coalesce(r.{amount}, 0)),
                         'reason': 'customer_return'}} ORDER BY r.{rp}_item_sk) AS refunds,
                   max(d.day + INTERVAL 10 HOUR) AS last_at
            FROM {returns} r JOIN day_of d ON d.d_date_sk = r.{rp}_returned_date_sk
            GROUP BY 1)
        SELECT h.order_number, h.customer_sk, c.c_email_address,
               strftime(h.ts, '%Y-%m-%dT%H:%M:%SZ'),
               strftime(greatest(h.ts, coalesce(f.last_at, h.ts)), '%Y-%m-%dT%H:%M:%SZ'),
               h.subtotal, h.shipping, l.items, coalesce(f.refunds, [])
        FROM orders_{channel} h JOIN lines l ON l.o = h.order_number
        LEFT JOIN refunds f ON f.o = h.order_number
        LEFT JOIN customer c ON c.c_customer_sk = h.customer_sk
        ORDER BY h.order_number
    """).fetchall()
    docs, truth = [], []
    for number, customer_sk, email, created, updated, subtotal, shipping, items, refunds in rows:
        oid = str(base + number)
        refunded = sum(float(r["amount"]) for r in refunds)
        doc = {
            "id": oid,
            "name": f"#{'W' if channel == 'web' else 'C'}{number}",
            "customer_id": None if customer_sk is None else str(7_100_000_000 + customer_sk),
            "email": email,
            "phone": None,
            "source_name": channel,
            "fulfillment_type": "ship",
            "location_id": None,
            "subtotal_price": f"{subtotal:.2f}",
            "total_discounts": "0.00",
            "total_shipping": f"{shipping:.2f}",
            "total_price": f"{subtotal:.2f}",
            "currency": "EUR",
            "financial_status": "paid"
            if not refunds
            else ("refunded" if refunded >= subtotal else "partially_refunded"),
            "landing_anonymous_id": None,
            "created_at": created,
            "updated_at": updated,
            "cancelled_at": None,
            "line_items": items,
            "refunds": refunds,
        }
        docs.append((oid, updated, orjson.dumps(doc)))
        if customer_sk is not None:
            truth.append(("ecommerce", "orders", oid, f"P{customer_sk:07d}"))
    shop = docstore.connect(out, "ecommerce")
    docstore.upsert(shop, "orders", docs)
    shop.commit()
    shop.close()
    log.info("tpcds: %d %s orders from %s", len(docs), channel, sales)
    return truth


def _pos(con, out: Path) -> list[tuple[str, str, str, str]]:
    pos = pos_db.connect(out)
    stores = con.execute("""
        SELECT printf('ST%03d', s_store_sk), coalesce(s_store_name, 'Store'),
               coalesce(s_city, ''), coalesce(s_state, ''),
               printf('+3491%07d', s_store_sk), '2020-01-01', '2020-01-01 09:00:00'
        FROM store ORDER BY s_store_sk
    """).fetchall()
    pos_db.insert_rows(pos, "stores", pos_db.COLUMNS["stores"], stores)
    tickets = con.execute("""
        SELECT printf('TK%09d', k.ticket), printf('ST%03d', k.store_sk),
               strftime(k.ts, '%Y-%m-%d %H:%M:%S'), NULL, NULL, c.c_email_address,
               CASE WHEN k.customer_sk IS NULL THEN NULL ELSE printf('fp_%012d', k.customer_sk)
               END,
               CASE WHEN k.customer_sk IS NULL THEN 'cash' ELSE 'card' END, k.total,
               NULL, strftime(k.ts, '%Y-%m-%d %H:%M:%S'),
               CASE WHEN k.customer_sk IS NULL THEN NULL ELSE printf('P%07d', k.customer_sk) END
        FROM ticket_at k LEFT JOIN customer c ON c.c_customer_sk = k.customer_sk
        ORDER BY k.ticket
    """).fetchall()
    pos_db.insert_rows(
        pos, "transactions", pos_db.COLUMNS["transactions"], [t[:-1] for t in tickets]
    )
    truth = [("pos", "transactions", t[0], t[-1]) for t in tickets if t[-1]]
    lines = con.execute("""
        SELECT printf('TK%09d', ss_ticket_number),
               row_number() OVER (PARTITION BY ss_ticket_number ORDER BY ss_item_sk),
               printf('SKU-%06d', ss_item_sk), coalesce(ss_quantity, 0),
               round(coalesce(ss_sales_price, 0), 2)::DOUBLE,
               round(coalesce(ss_ext_sales_price, 0), 2)::DOUBLE
        FROM store_sales ORDER BY ss_ticket_number, ss_item_sk
    """).fetchall()
    pos_db.insert_rows(pos, "transaction_lines", pos_db.COLUMNS["transaction_lines"], lines)
    returns = con.execute("""
        SELECT printf('RT%09d-%06d', r.sr_ticket_number, r.sr_item_sk),
               printf('ST%03d', coalesce(r.sr_store_sk, k.store_sk)),
               strftime(d.day + INTERVAL 12 HOUR, '%Y-%m-%d %H:%M:%S'),
               printf('TK%09d', r.sr_ticket_number), NULL, printf('SKU-%06d', r.sr_item_sk),
               coalesce(r.sr_return_quantity, 0), round(coalesce(r.sr_return_amt, 0), 2)::DOUBLE,
               strftime(d.day + INTERVAL 12 HOUR, '%Y-%m-%d %H:%M:%S'),
               CASE WHEN k.customer_sk IS NULL THEN NULL ELSE printf('P%07d', k.customer_sk) END
        FROM store_returns r JOIN tickets k ON k.ticket = r.sr_ticket_number
        JOIN day_of d ON d.d_date_sk = r.sr_returned_date_sk
        ORDER BY r.sr_ticket_number, r.sr_item_sk
    """).fetchall()
    pos_db.insert_rows(pos, "returns", pos_db.COLUMNS["returns"], [r[:-1] for r in returns])
    truth += [("pos", "returns", r[0], r[-1]) for r in returns if r[-1]]
    pos.commit()
    pos.close()
    log.info(
        "tpcds: %d store tickets, %d lines, %d returns", len(tickets), len(lines), len(returns)
    )
    return truth


def _kpis(con) -> dict:
    """Revenue per channel as SOURCES.md defines it, straight from the TPC-DS tables."""
    channels = {}
    for channel, sales_sql in (
        ("store", "SELECT ticket AS id, total AS gross FROM tickets"),
        ("web", "SELECT order_number AS id, subtotal AS gross FROM orders_web"),
        ("phone", "SELECT order_number AS id, subtotal AS gross FROM orders_phone"),
    ):
        back = {
            "store": "SELECT sr_ticket_number AS id, sr_return_amt AS amt FROM store_returns"
            " WHERE sr_returned_date_sk IS NOT NULL AND sr_ticket_number IN"
            " (SELECT ticket FROM tickets)",
            "web": "SELECT wr_order_number AS id, wr_return_amt AS amt FROM web_returns"
            " WHERE wr_returned_date_sk IS NOT NULL",
            "phone": "SELECT cr_order_number AS id, cr_return_amount AS amt FROM catalog_returns"
            " WHERE cr_returned_date_sk IS NOT NULL",
        }[channel]
        orders, gross, returned = con.execute(
            f"SELECT count(*), round(sum(gross), 2), (SELECT round(coalesce(sum(amt), 0), 2)"
            f" FROM ({back}) b WHERE b.id IN (SELECT id FROM ({sales_sql}))) FROM ({sales_sql})"
        ).fetchone()
        channels[channel] = {
            "orders": int(orders),
            "gross_revenue": float(gross),
            "net_revenue": round(float(gross) - float(returned), 2),
        }
    return channels


def generate_tpcds(
    out: Path, customers: int, days: int, seed: int, start: date, scale: float
) -> dict:
    """Fill the sandbox's source systems from TPC-DS at scale factor ``scale``."""
    out = Path(out)
    for name in (*TPCDS_FOLDERS, "_world"):
        shutil.rmtree(out / name, ignore_errors=True)
    for name in TPCDS_FOLDERS:
        (out / name).mkdir(parents=True, exist_ok=True)
    log.info("tpcds profile: generating TPC-DS at sf=%s with dsdgen -> %s", scale, out)
    con = dsdgen(scale)
    try:
        _views(con, start)
        truth = _people_docs(con, out)
        _products(con, out)
        truth += _orders(con, out, "web")
        truth += _orders(con, out, "phone")
        truth += _pos(con, out)
        by_channel = _kpis(con)
        persons = con.execute("SELECT count(*) FROM customer").fetchone()[0]
        end = con.execute(
            "SELECT max(ts)::DATE FROM (SELECT ts FROM ticket_at UNION ALL SELECT ts FROM"
            " orders_web UNION ALL SELECT ts FROM orders_phone)"
        ).fetchone()[0]
    finally:
        con.close()
    ids = duckdb.connect()
    try:
        ids.execute(
            "CREATE TABLE t (source_system VARCHAR, source_entity VARCHAR,"
            " source_record_id VARCHAR, person_id VARCHAR)"
        )
        ids.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", truth)
        path = out / TRUTH_DIR / "identities.parquet"
        ids.execute(
            f"COPY (SELECT * FROM t ORDER BY 1, 2, 3) TO '{path.as_posix()}'"
            " (FORMAT parquet, COMPRESSION zstd)"
        )
    finally:
        ids.close()
    totals = {
        "orders": sum(c["orders"] for c in by_channel.values()),
        "gross_revenue": round(sum(c["gross_revenue"] for c in by_channel.values()), 2),
        "net_revenue": round(sum(c["net_revenue"] for c in by_channel.values()), 2),
        "cancelled_orders": 0,
    }
    kpis = {
        "as_of": f"{end.isoformat()}T00:00:00Z",
        "currency": "EUR",
        "revenue_total": totals,
        "revenue_by_channel": by_channel,
        "persons": int(persons),
        "identity": {
            "persons_with_records": len({t[3] for t in truth}),
            "records_with_person": len(truth),
        },
    }
    write_json(out / TRUTH_DIR / "kpis.json", kpis)
    manifest = {
        "generator": "omni-sandbox",
        "profile": "tpcds",
        "args": {
            "customers": customers,
            "days": days,
            "seed": seed,
            "start": start.isoformat(),
            "profile": "tpcds",
            "scale": scale,
        },
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "row_counts": _row_counts(out),
        "files": checksums(out),
    }
    write_json(out / TRUTH_DIR / "manifest.json", manifest)
    log.info("tpcds profile: %s", json.dumps(manifest["row_counts"]))
    return manifest


def _row_counts(out: Path) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for system, entities in docstore.ENTITIES.items():
        con = docstore.connect(out, system)
        counts[system] = {
            e: con.execute(f"SELECT count(*) FROM {e}").fetchone()[0] for e in entities
        }
        con.close()
    con = pos_db.connect(out)
    counts["pos"] = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in pos_db.COLUMNS
    }
    con.close()
    return counts
