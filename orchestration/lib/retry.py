"""Retry policies. Only ingestion meets transient faults (429, 5xx, dropped connections);
dbt, checks and publication are deterministic, so retrying them only delays the failure."""

import dagster as dg

INGESTION_RETRY = dg.RetryPolicy(max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL)
NO_RETRY = dg.RetryPolicy(max_retries=0)
