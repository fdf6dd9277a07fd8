"""Value sets and formats shared by the raw and mart suites (CONTRACT.md §4, SOURCES.md)."""

from __future__ import annotations

from dataclasses import dataclass

import great_expectations.expectations as gxe

CANONICAL_CHANNELS = [
    "store", "web", "app", "phone", "whatsapp", "email", "sms", "chat", "social", "push",
    "paid_search", "paid_social", "display", "affiliate",
]  # fmt: skip
FULFILMENTS = ["ship", "pickup_in_store", "ship_from_store", "in_store"]

# The identity mess the sandbox writes on purpose (SOURCES.md; ingestion/sandbox/mess.py) is
# case, surrounding whitespace, Gmail dots, plus-tags and misspelt domains in emails, and
# Spanish phones in any of six layouts (bare, spaced, dashed, dotted, 0034, +34 …). Staging
# normalises all of it, so these patterns accept it: they reject what no normalisation can
# use (no `@`, letters in a phone, a truncated number).
EMAIL_PATTERN = r"^\s*[^@\s]+@[^@\s]+\.[A-Za-z]{2,}\s*$"
PHONE_PATTERN = r"^\s*(?:\+|00)?[0-9][0-9 .\-]{7,15}[0-9]\s*$"
# Measured on the default world (3,000 customers, 90 days): every email and phone matches.
# Real tills and web forms also collect a few placeholders ('-', 'no tiene'), so up to 5% may
# miss; a broken feed (a shifted column, a lost `@`, names in the phone field) misses far
# more than that and fails. Batches with a handful of values are small samples: 0.95 still
# lets one junk value in twenty through without a false alarm.
FORMAT_MOSTLY = 0.95
# References resolve completely in the sandbox; a real system loses a few (a product deleted
# after it sold, a contact merged away). Far fewer means the two feeds no longer agree.
REFERENCE_MOSTLY = 0.99


@dataclass(frozen=True)
class Reference:
    """``column`` should name a row of ``target`` (``raw_<system>.<table>.<column>``), which
    may belong to another source system (POS lines name e-commerce products)."""

    column: str
    target: str
    mostly: float = REFERENCE_MOSTLY

    @property
    def flag(self) -> str:
        # A column computed by the batch query: null when `column` is null, else whether the
        # value exists in the target. GX cannot join, so DuckDB does and GX judges the flag.
        return f"{self.column}__is_known"

    @property
    def target_dataset(self) -> str:
        return self.target.split(".")[0]

    @property
    def target_table(self) -> str:
        return self.target.split(".")[1]

    @property
    def target_column(self) -> str:
        return self.target.split(".")[2]

    def flag_sql(self, alias: str) -> str:
        relation = f"{self.target_dataset}.{self.target_table}"
        value = f"{alias}.{self.column}"
        return (
            f"case when {value} is null then null else {value} in "
            f"(select {self.target_column} from {relation}) end as {self.flag}"
        )

    def expectation(self) -> gxe.Expectation:
        return gxe.ExpectColumnValuesToBeInSet(
            column=self.flag, value_set=[True], mostly=self.mostly
        )


def email_format(column: str) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToMatchRegex(
        column=column, regex=EMAIL_PATTERN, mostly=FORMAT_MOSTLY
    )


def phone_format(column: str) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToMatchRegex(
        column=column, regex=PHONE_PATTERN, mostly=FORMAT_MOSTLY
    )


def recipient_format(column: str, channel_column: str) -> gxe.Expectation:
    """A marketing recipient is an email or a phone, except a push token (a device id)."""
    return gxe.ExpectColumnValuesToMatchRegex(
        column=column,
        regex=f"(?:{EMAIL_PATTERN})|(?:{PHONE_PATTERN})",
        mostly=FORMAT_MOSTLY,
        row_condition=f'{channel_column}!="push"',
        condition_parser="pandas",
    )
