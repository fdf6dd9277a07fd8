"""Marketing spend (SOURCES.md, marketing): one ``spend.csv`` per ``dt=`` partition."""

from ingestion.contracts import Contract, day, integer, money, text

FILE_GLOB = "dt=*/spend*.csv*"

SPEND = Contract(
    "spend",
    ("date", "channel", "campaign_id"),
    (
        day("date", required=True),
        text("channel", required=True),
        text("campaign_id", required=True),
        money("spend", required=True, min_value=0),
        integer("impressions", min_value=0),
        integer("clicks", min_value=0),
        text("currency"),
    ),
)

CONTRACTS = {c.resource: c for c in (SPEND,)}
RESOURCES = tuple(CONTRACTS)
