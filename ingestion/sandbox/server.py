"""The sandbox's REST APIs: a HubSpot-like CRM and a Shopify-like shop over real HTTP.

Records are read page by page from the SQLite doc stores with keyset queries, so serving a
large world never loads it into memory. With ``fault_rate`` > 0 that share of API requests
fails the way real SaaS APIs fail: 429 with ``Retry-After``, 500, 503 or a dropped connection.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import numpy as np

from . import docstore
from .timeutil import iso_one, parse_iso

log = logging.getLogger(__name__)

# Sandbox-only credentials: they protect nothing but make clients send real auth headers.
CRM_TOKEN = "sandbox-crm-token-4f1c2e"
SHOP_TOKEN = "shpat_sandbox_shop_token_9b7d3a"

CRM_PATH = re.compile(r"^/crm/v3/objects/(?P<entity>[a-z_]+)/?$")
SHOP_PATH = re.compile(r"^/admin/api/2024-10/(?P<entity>[a-z_]+)\.json$")
CRM_MAX_LIMIT, CRM_DEFAULT_LIMIT = 100, 10
SHOP_MAX_LIMIT, SHOP_DEFAULT_LIMIT = 250, 50
# Shopify's created_at window (both bounds inclusive), on the entities whose records carry a
# created_at; a backfill of some days' orders reads those days, not the whole shop.
SHOP_CREATED_PARAMS = ("created_at_min", "created_at_max")
SHOP_CREATED_FILTER = ("customers", "orders", "checkouts", "products")
FAULT_KINDS = ("429", "500", "503", "drop")
FAULT_RATE_ENV = "OMNI_SANDBOX_FAULT_RATE"


class BadRequest(ValueError):
    pass


def _encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode("\x1f".join(parts).encode()).decode().rstrip("=")


def _decode_cursor(token: str, n: int) -> list[str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"invalid cursor {token!r}") from exc
    parts = raw.split("\x1f")
    if len(parts) != n:
        raise BadRequest(f"invalid cursor {token!r}")
    return parts


def _normalise_ts(value: str, param: str) -> str:
    try:
        return iso_one(parse_iso(value))
    except ValueError as exc:
        raise BadRequest(f"{param} must be an ISO 8601 timestamp, got {value!r}") from exc


def _limit(query: dict, default: int, maximum: int) -> int:
    raw = query.get("limit", [str(default)])[0]
    try:
        limit = int(raw)
    except ValueError as exc:
        raise BadRequest(f"limit must be an integer, got {raw!r}") from exc
    if limit < 1:
        raise BadRequest("limit must be at least 1")
    return min(limit, maximum)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; without this, keep-alive clients wait 40 ms
    # on every request for the delayed ACK.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args) -> None:
        log.debug("sandbox http: " + format, *args)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        body = ('{"status":"error","message":' + _json_str(message) + "}").encode()
        self._send(status, body, headers)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        if url.path in ("/health", "/"):
            self._send(200, b'{"status":"ok"}')
            return
        crm, shop = CRM_PATH.match(url.path), SHOP_PATH.match(url.path)
        if crm and crm["entity"] in docstore.ENTITIES["crm"]:
            system, entity = "crm", crm["entity"]
            authorised = self.headers.get("Authorization", "") == f"Bearer {CRM_TOKEN}"
        elif shop and shop["entity"] in docstore.ENTITIES["ecommerce"]:
            system, entity = "ecommerce", shop["entity"]
            authorised = self.headers.get("X-Shopify-Access-Token", "") == SHOP_TOKEN
        else:
            self._error(404, f"no such endpoint: {url.path}")
            return
        if not authorised:
            self._error(401, "missing or invalid access token")
            return
        fault = self.server.draw_fault()
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(2)  # the client sees the connection reset mid-request
            return
        if fault == "429":
            retry = self.server.retry_after
            self._error(429, "rate limit exceeded", {"Retry-After": str(retry)})
            return
        if fault in ("500", "503"):
            self._error(int(fault), "injected sandbox fault")
            return
        try:
            if system == "crm":
                self._crm(entity, query)
            else:
                self._shop(entity, query)
        except BadRequest as exc:
            self._error(400, str(exc))

    def _rows(self, system: str, entity: str, limit: int, since, after, **created):
        return docstore.page(
            self._docstore(system), entity, limit + 1, since=since, after=after, **created
        )

    def _docstore(self, system: str):
        # One handler serves one keep-alive connection (a client paging through an entity):
        # its read-only SQLite connections live as long as it does, not one per page.
        cons = self.__dict__.setdefault("_cons", {})
        if system not in cons:
            cons[system] = docstore.open_readonly(self.server.docstores[system])
        return cons[system]

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            for con in self.__dict__.pop("_cons", {}).values():
                con.close()

    def _crm(self, entity: str, query: dict) -> None:
        limit = _limit(query, CRM_DEFAULT_LIMIT, CRM_MAX_LIMIT)
        since = query.get("updated_since", [None])[0]
        since = _normalise_ts(since, "updated_since") if since else None
        after = tuple(_decode_cursor(query["after"][0], 2)) if query.get("after") else None
        rows = self._rows("crm", entity, limit, since, after)
        body = '{"results":[' + ",".join(r[2] for r in rows[:limit]) + "]"
        if len(rows) > limit:
            u, i = rows[limit - 1][0], rows[limit - 1][1]
            cursor = _encode_cursor(u, i)
            params = {"limit": limit, "after": cursor}
            if since:
                params["updated_since"] = since
            link = f"{self.server.base_url}/crm/v3/objects/{entity}?{urlencode(params)}"
            body += ',"paging":{"next":{"after":"' + cursor + '","link":' + _json_str(link) + "}}"
        self._send(200, (body + "}").encode())

    def _shop(self, entity: str, query: dict) -> None:
        limit = _limit(query, SHOP_DEFAULT_LIMIT, SHOP_MAX_LIMIT)
        if query.get("page_info"):
            # Like Shopify, the page token carries the filters of the first request.
            since, cmin, cmax, u, i = _decode_cursor(query["page_info"][0], 5)
            filters = (since or None, cmin or None, cmax or None)
            after = (u, i)
        else:
            filters = tuple(
                _normalise_ts(query[p][0], p) if query.get(p, [""])[0] else None
                for p in ("updated_at_min", *SHOP_CREATED_PARAMS)
            )
            after = None
        since, cmin, cmax = filters
        if (cmin or cmax) and entity not in SHOP_CREATED_FILTER:
            raise BadRequest(f"{entity} cannot be filtered on created_at")
        rows = self._rows(
            "ecommerce", entity, limit, since, after, created_min=cmin, created_max=cmax
        )
        body = ('{"' + entity + '":[' + ",".join(r[2] for r in rows[:limit]) + "]}").encode()
        headers = {}
        if len(rows) > limit:
            token = _encode_cursor(
                *(f or "" for f in filters), rows[limit - 1][0], rows[limit - 1][1]
            )
            url = f"{self.server.base_url}/admin/api/2024-10/{entity}.json"
            headers["Link"] = (
                f'<{url}?{urlencode({"limit": limit, "page_info": token})}>; rel="next"'
            )
        self._send(200, body, headers)


def _json_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, docstores, fault_rate: float, fault_seed: int, retry_after: int):
        super().__init__(addr, _Handler)
        self.docstores = docstores
        self.fault_rate = fault_rate
        self.retry_after = retry_after
        self._rng = np.random.default_rng([fault_seed, 4242])
        self._lock = threading.Lock()
        self.requests = 0
        self.faults: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)
        self.base_url = ""

    def draw_fault(self) -> str | None:
        with self._lock:
            self.requests += 1
            if self.fault_rate <= 0:
                return None
            u, k = self._rng.random(2)
            if u >= self.fault_rate:
                return None
            kind = FAULT_KINDS[int(k * len(FAULT_KINDS))]
            self.faults[kind] += 1
        log.debug("sandbox server injects a %s fault", kind)
        return kind


class SandboxServer:
    """The sandbox's CRM and shop APIs on 127.0.0.1, served from a background thread.

    Use as a context manager or call ``start()`` / ``stop()``. ``fault_rate`` defaults to
    ``$OMNI_SANDBOX_FAULT_RATE`` (else 0); faults are drawn from ``fault_seed`` so a given
    sequence of requests always meets the same failures.
    """

    def __init__(
        self,
        out: Path,
        port: int = 0,
        fault_rate: float | None = None,
        fault_seed: int = 0,
        retry_after: int = 1,
    ):
        self.out = Path(out)
        self.port = port
        if fault_rate is None:
            fault_rate = float(os.environ.get(FAULT_RATE_ENV, "0") or 0)
        if not 0 <= fault_rate < 1:
            raise ValueError(f"fault_rate must be in [0, 1), got {fault_rate}")
        self.fault_rate = fault_rate
        self.fault_seed = fault_seed
        self.retry_after = retry_after
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopped: _Server | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox server is not running")
        return self._server.base_url

    @property
    def stats(self) -> dict:
        s = self._server or self._stopped
        return {"requests": s.requests, "faults": dict(s.faults)} if s else {}

    def start(self) -> SandboxServer:
        stores = {s: docstore.docstore_path(self.out, s) for s in docstore.ENTITIES}
        missing = [str(p) for p in stores.values() if not p.exists()]
        if missing:
            raise FileNotFoundError(
                f"no sandbox data to serve ({', '.join(missing)} missing); "
                "run `omni sandbox generate` first"
            )
        srv = _Server(
            ("127.0.0.1", self.port), stores, self.fault_rate, self.fault_seed, self.retry_after
        )
        srv.base_url = f"http://127.0.0.1:{srv.server_address[1]}"
        self._server = srv
        self._thread = threading.Thread(
            target=srv.serve_forever,
            name="sandbox-http",
            kwargs={"poll_interval": 0.1},
            daemon=True,
        )
        self._thread.start()
        log.info(
            "sandbox APIs serving %s at %s (fault rate %.2f)",
            self.out,
            srv.base_url,
            self.fault_rate,
        )
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            log.info("sandbox APIs stopped after %d requests", self._server.requests)
            self._stopped, self._server = self._server, None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
