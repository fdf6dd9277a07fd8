"""Health of the identity graph, as asset checks on ``marts/customer_identities``.

- ``identity_largest_cluster`` (blocking): one over-merged cluster (a shared phone or inbox
  that slipped past the exclusions) silently fuses many people into one customer and
  corrupts every per-customer KPI, so publication stops.
- ``identity_records_resolved_share`` (warning): identity records that got a customer.
- ``identity_cluster_size_shift`` (warning): the cluster-size distribution against the
  previous run's, kept in this check's own metadata in the Dagster instance.

Thresholds come from the environment so each deployment tunes them without code edits.
"""

import os

import dagster as dg

from orchestration.defs.transform.assets import omni_dbt_assets
from orchestration.lib.asset_keys import dbt_model_key
from orchestration.lib.check_policy import is_blocking
from orchestration.lib.retry import NO_RETRY
from orchestration.lib.warehouse import query_rows

# Measured with orchestration/lib/identity_eval.py (10k customers, seed 7): no true person
# has more than 4 account records (CRM contact(s), shop account, loyalty account), after 28
# days at default and double mess and after 90 days; the two over-merged clusters found
# hold 5 and 6, each two people. Above 8 a cluster must hold at least three people: a
# shared identifier gluing people together, not a typo, so publication stops. Unlike the
# record count, this limit does not grow with history.
MAX_CLUSTER_ACCOUNTS_ENV = "OMNI_IDENTITY_MAX_CLUSTER_ACCOUNTS"
DEFAULT_MAX_CLUSTER_ACCOUNTS = 8
# The largest cluster holds 38-39 records after 28 days and 113 after 90 (mostly marketing
# deliveries, which accrue every week), so about 460 after a year: 1000 only catches a
# catastrophic merge, such as a store phone linking hundreds of walk-in tickets.
MAX_CLUSTER_RECORDS_ENV = "OMNI_IDENTITY_MAX_CLUSTER_RECORDS"
DEFAULT_MAX_CLUSTER_RECORDS = 1000
# 96% of identity records resolve at 10k customers (95.7% at double mess); the rest are
# browsers that never logged in and anonymous tickets. A drop of ten points means a
# source stopped sending an identifier or its normalisation broke.
MIN_RESOLVED_SHARE_ENV = "OMNI_IDENTITY_MIN_RESOLVED_SHARE"
DEFAULT_MIN_RESOLVED_SHARE = 0.85
MAX_SIZE_SHIFT_ENV = "OMNI_IDENTITY_MAX_SIZE_SHIFT"
DEFAULT_MAX_SIZE_SHIFT = 0.15

ACCOUNT_ENTITIES = ("contacts", "customers", "loyalty_accounts")
# Upper bounds of the cluster-size buckets (records per customer); the last is open.
SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100)

IDENTITIES_KEY = dbt_model_key(omni_dbt_assets, "customer_identities")


def _setting(name: str, default: float) -> float:
    return type(default)(os.environ.get(name, default))


def _bucket_label(size: int) -> str:
    lower = 1
    for upper in SIZE_BUCKETS:
        if size <= upper:
            return f"{lower}-{upper}" if lower != upper else str(upper)
        lower = upper + 1
    return f"{lower}+"


def size_distribution(sizes: list[tuple[int, int]]) -> dict[str, float]:
    """Share of customers per cluster-size bucket, from (size, customers) pairs."""
    total = sum(n for _, n in sizes) or 1
    shares: dict[str, float] = {}
    for size, n in sizes:
        label = _bucket_label(size)
        shares[label] = shares.get(label, 0.0) + n / total
    return {label: round(share, 5) for label, share in sorted(shares.items(), key=_order)}


def _order(item: tuple[str, float]) -> int:
    return int(item[0].split("-")[0].rstrip("+"))


def distribution_shift(current: dict[str, float], previous: dict[str, float]) -> float:
    """Total variation distance: the share of customers that would have to change bucket."""
    labels = set(current) | set(previous)
    return round(sum(abs(current.get(b, 0) - previous.get(b, 0)) for b in labels) / 2, 5)


@dg.asset_check(
    asset=IDENTITIES_KEY,
    name="identity_largest_cluster",
    blocking=is_blocking("identity_largest_cluster"),
    retry_policy=NO_RETRY,
    description=(
        "Fails when one customer holds more source records than "
        f"${MAX_CLUSTER_RECORDS_ENV} (default {DEFAULT_MAX_CLUSTER_RECORDS}) or more account "
        f"records than ${MAX_CLUSTER_ACCOUNTS_ENV} (default {DEFAULT_MAX_CLUSTER_ACCOUNTS})."
    ),
)
def identity_largest_cluster(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    max_records = _setting(MAX_CLUSTER_RECORDS_ENV, DEFAULT_MAX_CLUSTER_RECORDS)
    max_accounts = _setting(MAX_CLUSTER_ACCOUNTS_ENV, DEFAULT_MAX_CLUSTER_ACCOUNTS)
    accounts = "', '".join(ACCOUNT_ENTITIES)
    largest = query_rows(
        f"""
        select
            customer_id,
            count(*) as records,
            count(*) filter (where source_entity in ('{accounts}')) as accounts
        from marts.customer_identities
        group by customer_id
        order by records desc
        limit 5
        """
    )
    worst_accounts = query_rows(
        f"""
        select customer_id, count(*) as accounts
        from marts.customer_identities
        where source_entity in ('{accounts}')
        group by customer_id
        order by accounts desc
        limit 1
        """
    )
    top_records = largest[0][1] if largest else 0
    top_accounts = worst_accounts[0][1] if worst_accounts else 0
    passed = top_records <= max_records and top_accounts <= max_accounts
    description = (
        f"largest customer {largest[0][0] if largest else '-'} has {top_records} records "
        f"(limit {max_records}); most account records in one customer: {top_accounts} "
        f"(limit {max_accounts})"
    )
    if not passed:
        context.log.error(
            f"identity_largest_cluster: {description}. An over-merged cluster usually means a "
            "shared phone or inbox linked several people: inspect its identifiers in "
            "marts.customer_identifiers and int_identifiers_excluded."
        )
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata={
            "largest_cluster_records": top_records,
            "largest_cluster_accounts": top_accounts,
            "max_cluster_records": max_records,
            "max_cluster_accounts": max_accounts,
            "largest_clusters": dg.MetadataValue.json(
                [{"customer_id": c, "records": r, "accounts": a} for c, r, a in largest]
            ),
        },
    )


@dg.asset_check(
    asset=IDENTITIES_KEY,
    name="identity_records_resolved_share",
    retry_policy=NO_RETRY,
    description=(
        "Warns when the share of identity records resolved to a customer falls below "
        f"${MIN_RESOLVED_SHARE_ENV} (default {DEFAULT_MIN_RESOLVED_SHARE})."
    ),
)
def identity_records_resolved_share(
    context: dg.AssetCheckExecutionContext,
) -> dg.AssetCheckResult:
    floor = _setting(MIN_RESOLVED_SHARE_ENV, DEFAULT_MIN_RESOLVED_SHARE)
    ((records, resolved),) = query_rows(
        "select count(*), count(customer_id) from intermediate.int_identity_records_resolved"
    )
    share = round(resolved / records, 5) if records else 0.0
    passed = share >= floor
    description = (
        f"{resolved} of {records} identity records resolved ({share:.1%}, floor {floor:.0%})"
    )
    if not passed:
        context.log.warning(
            f"identity_records_resolved_share: {description}; a source may have stopped "
            "sending emails/phones or an identifier's normalisation broke."
        )
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={"records": records, "resolved": resolved, "resolved_share": share},
    )


def _previous_distribution(context: dg.AssetCheckExecutionContext) -> dict[str, float] | None:
    """The distribution this check recorded in the latest earlier run, if any."""
    history = context.instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(IDENTITIES_KEY, "identity_cluster_size_shift"), limit=10
    )
    for record in history:
        if record.run_id == context.run.run_id or record.event is None:
            continue
        event = record.event.dagster_event
        if event is None or event.event_type != dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            continue
        stored = event.asset_check_evaluation_data.metadata.get("distribution")
        if stored is not None:
            return stored.value
    return None


@dg.asset_check(
    asset=IDENTITIES_KEY,
    name="identity_cluster_size_shift",
    retry_policy=NO_RETRY,
    description=(
        "Warns when the share of customers per cluster-size bucket moved more than "
        f"${MAX_SIZE_SHIFT_ENV} (default {DEFAULT_MAX_SIZE_SHIFT}, total variation) since "
        "the previous run."
    ),
)
def identity_cluster_size_shift(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    limit = _setting(MAX_SIZE_SHIFT_ENV, DEFAULT_MAX_SIZE_SHIFT)
    sizes = query_rows(
        "select records, count(*) from ("
        " select customer_id, count(*) as records from marts.customer_identities"
        " group by customer_id) group by records"
    )
    current = size_distribution(sizes)
    previous = _previous_distribution(context)
    shift = distribution_shift(current, previous) if previous is not None else 0.0
    passed = shift <= limit
    description = (
        "first run: distribution recorded"
        if previous is None
        else f"cluster-size distribution moved {shift:.1%} since the last run (limit {limit:.0%})"
    )
    if not passed:
        context.log.warning(
            f"identity_cluster_size_shift: {description}; previous {previous}, now {current}"
        )
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "distribution": dg.MetadataValue.json(current),
            "previous_distribution": dg.MetadataValue.json(previous or {}),
            "shift": shift,
        },
    )


identity_checks = [
    identity_largest_cluster,
    identity_records_resolved_share,
    identity_cluster_size_shift,
]
