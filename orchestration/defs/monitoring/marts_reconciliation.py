"""Staging → marts reconciliation: nothing that reached staging is lost on the way to BI.

- ``marts_reconciliation_orders``: every store ticket (``stg_pos__transactions``) and online
  order (``stg_ecommerce__orders``) is one row of ``marts.fct_orders``, and ``fct_orders``
  holds no order staging no longer has;
- ``marts_reconciliation_identities``: every staging record that carries a person
  identifier (one identity resolution may match on: not an anonymous/order key, not an
  excluded shared value — the rules of ``int_identifiers_excluded``) is in
  ``marts.customer_identities``.

Both report counts per source and a sample of the missing ids. Blocking by policy: a lost
order understates revenue, a lost identity record splits or drops a customer.
"""

from dataclasses import dataclass
from functools import cache

import dagster as dg
import yaml

from orchestration.defs.monitoring.settings import severity
from orchestration.defs.transform.assets import omni_dbt_assets
from orchestration.lib.asset_keys import dbt_model_key
from orchestration.lib.check_policy import is_blocking
from orchestration.lib.dbt_project import DBT_PROJECT_DIR
from orchestration.lib.retry import NO_RETRY
from orchestration.lib.warehouse import query_rows

SAMPLE_SIZE = 10

ORDERS_SQL = f"""
with staged as (
    select 'pos' as source_system, transaction_id as order_id
    from staging.stg_pos__transactions
    union all
    select 'ecommerce' as source_system, shop_order_id as order_id
    from staging.stg_ecommerce__orders
),
published as (
    select source_system, order_id from marts.fct_orders
)
select
    coalesce(staged.source_system, published.source_system) as source,
    count(staged.order_id) as in_staging,
    count(published.order_id) as in_marts,
    count(*) filter (where published.order_id is null) as missing,
    count(*) filter (where staged.order_id is null) as unexpected,
    coalesce(list(staged.order_id order by staged.order_id)
        filter (where published.order_id is null), [])[1:{SAMPLE_SIZE}] as missing_sample,
    coalesce(list(published.order_id order by published.order_id)
        filter (where staged.order_id is null), [])[1:{SAMPLE_SIZE}] as unexpected_sample
from staged
full outer join published
    on staged.source_system = published.source_system and staged.order_id = published.order_id
group by 1
order by 1
"""


@cache
def linking_only_identifiers() -> tuple[str, ...]:
    """Identifier types that only link records (dbt var ``identity_linking_only_identifiers``)."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    return tuple(project["vars"]["identity_linking_only_identifiers"])


def identities_sql() -> str:
    linking_only = ", ".join(f"'{t}'" for t in linking_only_identifiers())
    return f"""
with person_records as (
    select distinct
        identifiers.source_system || '.' || identifiers.source_entity as source,
        identifiers.source_system,
        identifiers.source_entity,
        identifiers.source_record_id
    from intermediate.int_identifiers_unioned as identifiers
    anti join intermediate.int_identifiers_excluded as excluded
        on identifiers.identifier_type = excluded.identifier_type
        and identifiers.identifier_value = excluded.identifier_value
    where identifiers.identifier_type not in ({linking_only})
)
select
    person_records.source,
    count(*) as in_staging,
    count(identities.customer_id) as in_marts,
    count(*) filter (where identities.customer_id is null) as missing,
    0 as unexpected,
    coalesce(list(person_records.source_record_id order by person_records.source_record_id)
        filter (where identities.customer_id is null), [])[1:{SAMPLE_SIZE}] as missing_sample,
    [] as unexpected_sample
from person_records
left join marts.customer_identities as identities
    on person_records.source_system = identities.source_system
    and person_records.source_entity = identities.source_entity
    and person_records.source_record_id = identities.source_record_id
group by 1
order by 1
"""


@dataclass(frozen=True)
class SourceCount:
    source: str
    in_staging: int
    in_marts: int
    missing: int
    unexpected: int
    missing_sample: list[str]
    unexpected_sample: list[str]


def reconcile(sql: str) -> list[SourceCount]:
    return [SourceCount(*row) for row in query_rows(sql)]


def describe(counts: list[SourceCount], what: str, mart: str) -> str:
    missing = sum(c.missing for c in counts)
    unexpected = sum(c.unexpected for c in counts)
    parts = [f"{c.source} {c.in_marts}/{c.in_staging}" for c in counts]
    staged = sum(c.in_staging for c in counts)
    head = (
        f"all {staged} staging {what} are in {mart}"
        if not missing
        else f"{missing} of {staged} staging {what} missing from {mart}"
    )
    if unexpected:
        head += f"; {unexpected} in {mart} but no longer in staging"
    samples = [
        f"{c.source} missing e.g. {', '.join(c.missing_sample)}" for c in counts if c.missing
    ] + [
        f"{c.source} unexpected e.g. {', '.join(c.unexpected_sample)}"
        for c in counts
        if c.unexpected
    ]
    return f"{head} (in marts/in staging: {', '.join(parts)})" + (
        f". {'; '.join(samples)}" if samples else ""
    )


def build_marts_reconciliation(
    name: str, mart: str, what: str, sql: str | None = None
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dbt_model_key(omni_dbt_assets, mart),
        name=name,
        blocking=is_blocking(name),
        retry_policy=NO_RETRY,
        description=f"Staging {what} all accounted for in marts.{mart}; counts per source "
        "and a sample of missing ids.",
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        counts = reconcile(sql or identities_sql())
        description = describe(counts, what, f"marts.{mart}")
        passed = not any(c.missing or c.unexpected for c in counts)
        if not passed:
            context.log.error(f"{name}: {description}")
        return dg.AssetCheckResult(
            passed=passed,
            severity=severity(name),
            description=description,
            metadata={
                "missing": sum(c.missing for c in counts),
                "unexpected": sum(c.unexpected for c in counts),
                "per_source": dg.MetadataValue.json(
                    {
                        c.source: {
                            "in_staging": c.in_staging,
                            "in_marts": c.in_marts,
                            "missing": c.missing,
                            "unexpected": c.unexpected,
                            "missing_sample": c.missing_sample,
                            "unexpected_sample": c.unexpected_sample,
                        }
                        for c in counts
                    }
                ),
            },
        )

    return _check


marts_reconciliation_checks = [
    build_marts_reconciliation("marts_reconciliation_orders", "fct_orders", "orders", ORDERS_SQL),
    build_marts_reconciliation(
        "marts_reconciliation_identities", "customer_identities", "person records"
    ),
]
