"""POST an alert as JSON to ``OMNI_ALERT_WEBHOOK_URL``; a dead webhook must not hide the alert."""

from __future__ import annotations

import logging
import os

import requests

WEBHOOK_ENV = "OMNI_ALERT_WEBHOOK_URL"
TIMEOUT_ENV = "OMNI_ALERT_WEBHOOK_TIMEOUT_SECONDS"
DEFAULT_TIMEOUT_SECONDS = 5.0


def post_alert(payload: dict, log: logging.Logger) -> bool:
    """Send ``payload``; True when the webhook accepted it, False when none is set or it failed."""
    url = os.environ.get(WEBHOOK_ENV)
    if not url:
        return False
    timeout = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_SECONDS))
    try:
        response = requests.post(url, json=payload, timeout=timeout)
        response.raise_for_status()
    except requests.RequestException as error:
        # The failure itself was already logged; losing the webhook is a second, lesser problem.
        log.error(f"Alert webhook {url} unreachable or refused the alert: {error}")
        return False
    log.info(f"Alert for run {payload.get('run_id')} posted to webhook {url}")
    return True
