"""``omni sandbox generate|advance|serve``: the sandbox retailer from the command line."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from datetime import date
from pathlib import Path

from ingestion.paths import sources_dir

log = logging.getLogger(__name__)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {value!r}") from exc


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return n


def _summary(manifest: dict) -> dict:
    return {
        "start_date": manifest["start_date"],
        "end_date": manifest["end_date"],
        "row_counts": manifest["row_counts"],
    }


def _generate(args: argparse.Namespace) -> int:
    from . import generate
    from .tpcds import ProfileUnavailable

    try:
        manifest = generate(
            Path(args.out),
            customers=args.customers,
            days=args.days,
            seed=args.seed,
            start=args.start,
            profile=args.profile,
            scale=args.scale,
        )
    except (ProfileUnavailable, ValueError) as exc:
        args.parser.error(str(exc))
    print(json.dumps(_summary(manifest), indent=2))
    return 0


def _advance(args: argparse.Namespace) -> int:
    from . import advance

    print(json.dumps(_summary(advance(Path(args.out), days=args.days)), indent=2))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .server import CRM_TOKEN, SHOP_TOKEN, SandboxServer

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with SandboxServer(Path(args.out), port=args.port, fault_rate=args.fault_rate) as server:
        print(f"Sandbox APIs at {server.base_url}  (Ctrl-C to stop)")
        print(
            f"  CRM:  {server.base_url}/crm/v3/objects/contacts   Authorization: Bearer {CRM_TOKEN}"
        )
        print(
            f"  Shop: {server.base_url}/admin/api/2024-10/orders.json"
            f"   X-Shopify-Access-Token: {SHOP_TOKEN}"
        )
        print(f"  fault rate: {server.fault_rate}", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``sandbox`` command (with generate / advance / serve) to ``subparsers``."""
    sandbox = subparsers.add_parser("sandbox", help="the simulated retailer's source systems")
    sub = sandbox.add_subparsers(dest="sandbox_command", required=True)
    default_out = str(sources_dir())

    gen = sub.add_parser("generate", help="write a complete, deterministic set of sources")
    gen.add_argument("--out", default=default_out, help="output directory (default: %(default)s)")
    gen.add_argument("--customers", type=_positive, required=True)
    gen.add_argument("--days", type=_positive, required=True)
    gen.add_argument("--seed", type=int, required=True)
    gen.add_argument("--start", type=_date, default=date(2025, 9, 1), help="first day, YYYY-MM-DD")
    gen.add_argument("--profile", choices=["retail", "tpcds"], default="retail")
    gen.add_argument("--scale", type=float, default=1.0, help="activity multiplier (tpcds: SF)")
    gen.set_defaults(func=_generate, parser=gen)

    adv = sub.add_parser("advance", help="move an existing world on by some days")
    adv.add_argument("--out", default=default_out)
    adv.add_argument("--days", type=_positive, required=True)
    adv.set_defaults(func=_advance)

    srv = sub.add_parser("serve", help="serve the CRM and shop REST APIs on 127.0.0.1")
    srv.add_argument("--out", default=default_out)
    srv.add_argument("--port", type=int, default=8765)
    srv.add_argument(
        "--fault-rate",
        type=float,
        default=None,
        help="share of API requests that fail (default: $OMNI_SANDBOX_FAULT_RATE or 0)",
    )
    srv.set_defaults(func=_serve)
    return sandbox


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m ingestion.sandbox.cli``) until ``omni`` wires it."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    parser = argparse.ArgumentParser(prog="omni")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
