"""The short KPI summary printed after a run, read from the published file like a BI tool."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    # (label, formatted value) read from the KPI marts, in the order they are printed.
    headlines: list[tuple[str, str]] = field(default_factory=list)

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
        headlines = _headlines(con)
    finally:
        con.close()
    return KpiSummary(customers, channels, buyers, multichannel, headlines)


# Each headline re-aggregates a KPI mart over the whole period with the mart's own
# definition (ratios of sums, never averages of daily ratios).
_HEADLINE_QUERIES = {
    "conversion": (
        "select channel, sum(orders) / nullif(sum(visitors), 0) from kpi_channel_daily"
        " where channel in ('web', 'app') group by channel order by channel"
    ),
    "cac": (
        "select channel, sum(spend) / nullif(sum(new_customers), 0) from kpi_channel_daily"
        " where spend > 0 group by channel order by channel"
    ),
    "multichannel_revenue": (
        "select sum(net_revenue_after_multiple_channels) / nullif(sum("
        "net_revenue_after_multiple_channels + net_revenue_after_one_channel), 0)"
        " from kpi_multichannel_sales"
    ),
    "pickup": (
        "select sum(picked_up) / nullif(sum(picked_up + expired), 0) from kpi_click_and_collect"
    ),
    "retention": (
        "select channel_segment, sum(retained_customers) / nullif(sum(cohort_size), 0)"
        " from kpi_retention where months_since_first_order = 1"
        " group by channel_segment order by channel_segment"
    ),
    "csat": (
        "select sum(avg_csat * csat_responses) / nullif(sum(csat_responses), 0) from kpi_service"
    ),
}


def _pct(value) -> str:
    return "n/a" if value is None else f"{float(value):.1%}"


def _headlines(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    def rows(name):
        return con.execute(_HEADLINE_QUERIES[name]).fetchall()

    def by_key(name, fmt):
        return ", ".join(f"{key} {fmt(value)}" for key, value in rows(name)) or "n/a"

    def euros(value) -> str:
        return "n/a" if value is None else f"{float(value):,.2f} EUR"

    (multichannel,) = rows("multichannel_revenue")[0]
    (pickup,) = rows("pickup")[0]
    (csat,) = rows("csat")[0]
    return [
        ("Conversion rate (orders / visitors)", by_key("conversion", _pct)),
        ("Acquisition cost per new customer", by_key("cac", euros)),
        ("Net revenue after >= 2 channels touched", _pct(multichannel)),
        ("Click-and-collect pickup rate", _pct(pickup)),
        ("Retention one month after first order", by_key("retention", _pct)),
        ("Service CSAT (1-5)", "n/a" if csat is None else f"{float(csat):.2f}"),
    ]


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
        *(f"{label}: {value}" for label, value in summary.headlines),
        f"Published marts: {published}",
    ]
    return "\n".join(lines)
