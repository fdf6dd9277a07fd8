"""The short KPI summary printed after a run, read from the published file like a BI tool."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class ChannelSales:
    channel: str
    orders: int
    net_revenue: float


@dataclass(frozen=True)
class KpiSummary:
    customers: int
    channels: list[ChannelSales]
    buying_customers: int
    multichannel_buyers: int

    @property
    def multichannel_share(self) -> float:
        return self.multichannel_buyers / self.buying_customers if self.buying_customers else 0.0


def read_summary(published: Path) -> KpiSummary:
    # Attached under an alias: opened directly, marts.duckdb makes `marts.x` ambiguous.
    con = duckdb.connect()
    try:
        literal = "'" + str(published).replace("'", "''") + "'"
        con.execute(f"attach {literal} as published (read_only)")
        con.execute("use published.marts")
        (customers,) = con.execute("select count(*) from dim_customers").fetchone()
        channels = [
            ChannelSales(channel, orders, float(revenue or 0))
            for channel, orders, revenue in con.execute(
                "select channel, count(*), sum(net_revenue) from fct_orders "
                "group by channel order by sum(net_revenue) desc nulls last, channel"
            ).fetchall()
        ]
        buyers, multichannel = con.execute(
            "select count(*), count(*) filter (where channels > 1) from ("
            " select customer_id, count(distinct channel) as channels from fct_orders"
            " where customer_id is not null group by customer_id)"
        ).fetchone()
    finally:
        con.close()
    return KpiSummary(customers, channels, buyers, multichannel)


def format_summary(summary: KpiSummary, published: Path) -> str:
    lines = [
        f"Customers: {summary.customers:,}",
        "Orders and net revenue per channel:",
        *(
            f"  {c.channel:<10} {c.orders:>8,} orders  {c.net_revenue:>14,.2f} EUR"
            for c in summary.channels
        ),
        f"  {'total':<10} {sum(c.orders for c in summary.channels):>8,} orders  "
        f"{sum(c.net_revenue for c in summary.channels):>14,.2f} EUR",
        f"Bought in more than one channel: {summary.multichannel_share:.1%} of buying customers "
        f"({summary.multichannel_buyers:,} of {summary.buying_customers:,})",
        f"Published marts: {published}",
    ]
    return "\n".join(lines)
