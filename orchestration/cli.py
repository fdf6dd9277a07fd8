"""``omni``: the command line of the warehouse (CONTRACT §1).

Heavy imports (Dagster definitions, dbt, dlt) happen inside the commands, so ``omni --help``
is instant and a broken sandbox package cannot break ``omni run``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

DEFAULT_WORLD = {"customers": 3000, "days": 90, "seed": 42}

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2


def _register_sandbox(subparsers: argparse._SubParsersAction) -> None:
    try:
        from ingestion.sandbox.cli import register
    except Exception as exc:  # a broken sandbox must not take `omni run` down with it
        broken = subparsers.add_parser("sandbox", help="(unavailable) the simulated retailer")
        broken.set_defaults(func=lambda _args, error=exc: _sandbox_unavailable(error))
        return
    register(subparsers)


def _sandbox_unavailable(error: Exception) -> int:
    print(f"omni sandbox is unavailable: {type(error).__name__}: {error}", file=sys.stderr)
    return EXIT_USAGE


def _sources_missing(sources: Path) -> bool:
    return not sources.exists() or not any(sources.iterdir())


def _generate_default_world(sources: Path) -> None:
    from ingestion.sandbox import generate

    print(
        f"No sources at {sources}: generating the default sandbox "
        f"({DEFAULT_WORLD['customers']} customers, {DEFAULT_WORLD['days']} days, "
        f"seed {DEFAULT_WORLD['seed']})...",
        flush=True,
    )
    generate(sources, **DEFAULT_WORLD)


def cmd_run(args: argparse.Namespace) -> int:
    from ingestion import paths

    sources = Path(args.sources).resolve() if args.sources else paths.sources_dir()
    if _sources_missing(sources):
        if not args.generate_if_missing:
            print(
                f"No sources at {sources}. Generate them with `omni sandbox generate --out "
                f"{sources} ...` or pass --generate-if-missing.",
                file=sys.stderr,
            )
            return EXIT_USAGE
        _generate_default_world(sources)

    from orchestration.lib.runner import run_full_pipeline

    try:
        outcome = run_full_pipeline(
            sources_dir=sources,
            full_refresh=args.full_refresh,
            log_level="DEBUG" if args.verbose else "INFO",
        )
    except Exception as exc:  # definitions that do not load (e.g. a dbt project that won't parse)
        if args.verbose:
            raise
        print(f"Could not start the run: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"Nothing was published; {paths.published_path()} is unchanged.", file=sys.stderr)
        return EXIT_RUN_FAILED
    return _report(outcome)


def _report(outcome, what: str = "Run") -> int:
    """Print how a run ended, the way `omni run` always has; its exit code."""
    from ingestion import paths
    from orchestration.lib.kpi_summary import format_summary, read_summary

    for warning in outcome.warnings:
        print(f"warning: non-blocking check failed: {warning}", file=sys.stderr)
    if not outcome.ok:
        print(f"\n{what} {outcome.run_id} FAILED; nothing was published.", file=sys.stderr)
        if outcome.failed_checks:
            print("Failed blocking checks:", file=sys.stderr)
            for check in outcome.failed_checks:
                detail = outcome.check_descriptions.get(check)
                print(f"  - {check}" + (f": {detail}" if detail else ""), file=sys.stderr)
        for step, message in outcome.failed_steps.items():
            print(f"Step {step} failed: {message}", file=sys.stderr)
        if outcome.success and not outcome.published:
            print(
                "published_marts did not run: dbt skipped marts below failed tests "
                f"({', '.join(outcome.warnings) or 'see the run log'}).",
                file=sys.stderr,
            )
        print(f"The last good file, if any, is still {paths.published_path()}", file=sys.stderr)
        return EXIT_RUN_FAILED
    print(f"\n{what} {outcome.run_id} succeeded.\n")
    print(format_summary(read_summary(paths.published_path()), paths.published_path()))
    return EXIT_OK


def _sources_or_exit(args: argparse.Namespace) -> Path | None:
    from ingestion import paths

    sources = Path(args.sources).resolve() if args.sources else paths.sources_dir()
    if _sources_missing(sources):
        print(f"No sources at {sources}.", file=sys.stderr)
        return None
    return sources


def cmd_backfill(args: argparse.Namespace) -> int:
    from ingestion import paths
    from orchestration.defs.schedules.partitions import check_backfill_window, describe

    window = (args.start, args.end)
    try:
        check_backfill_window(window)
    except ValueError as exc:
        print(f"Cannot backfill: {exc}", file=sys.stderr)
        return EXIT_USAGE
    sources = _sources_or_exit(args)
    if sources is None:
        return EXIT_USAGE
    from orchestration.lib.runner import run_backfill

    print(f"Backfilling the business days {describe(window)} from {sources}", flush=True)
    try:
        outcome = run_backfill(
            window, sources_dir=sources, log_level="DEBUG" if args.verbose else "INFO"
        )
    except Exception as exc:  # definitions that do not load
        if args.verbose:
            raise
        print(f"Could not start the backfill: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"Nothing was published; {paths.published_path()} is unchanged.", file=sys.stderr)
        return EXIT_RUN_FAILED
    return _report(outcome, what="Backfill run")


def cmd_forget(args: argparse.Namespace) -> int:
    import logging

    from orchestration.privacy.forget import forget, format_result
    from orchestration.privacy.resolve import ForgetError

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        result = forget(
            email=args.email, phone=args.phone, customer_id=args.customer_id, dry_run=args.dry_run
        )
    except ForgetError as exc:
        print(f"Cannot erase: {exc}", file=sys.stderr)
        return exc.exit_code
    print(format_result(result))
    return EXIT_OK


def cmd_instance(_args: argparse.Namespace) -> int:
    from orchestration.lib.runner import local_instance

    instance = local_instance()
    print(instance.root_directory)
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    import json

    from orchestration.lib.bench import run_benchmark

    print(json.dumps(run_benchmark(args.customers, args.days, seed=args.seed), indent=2))
    return EXIT_OK


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omni", description="Omnichannel analytics warehouse: ingest, build, check, publish."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = subparsers.add_parser(
        "run", help="one full run, in-process: ingest → dbt build → checks → publish"
    )
    run.add_argument("--sources", help="sandbox folder (default: $OMNI_DATA_DIR/sources)")
    run.add_argument(
        "--full-refresh", action="store_true", help="reload every source and rebuild every model"
    )
    run.add_argument(
        "--generate-if-missing",
        action="store_true",
        help="generate the default sandbox (3000 customers, 90 days, seed 42) if absent",
    )
    run.add_argument("--verbose", action="store_true", help="log every Dagster engine event")
    run.set_defaults(func=cmd_run)

    backfill = subparsers.add_parser(
        "backfill",
        help="re-process a range of business days of the event-shaped data, then check and "
        "publish, in one run",
    )
    backfill.add_argument(
        "--start", type=_day, required=True, help="first business day (Europe/Madrid), YYYY-MM-DD"
    )
    backfill.add_argument(
        "--end", type=_day, required=True, help="first day NOT re-processed (end exclusive)"
    )
    backfill.add_argument("--sources", help="sandbox folder (default: $OMNI_DATA_DIR/sources)")
    backfill.add_argument("--verbose", action="store_true", help="log every Dagster engine event")
    backfill.set_defaults(func=cmd_backfill)

    forget = subparsers.add_parser(
        "forget",
        help="erase one person everywhere (raw, staging, marts, published) and keep them "
        "erased when sources replay",
        description="Exit codes: 0 erased, 1 warehouse busy, 2 invalid request, 3 nobody has "
        "this identifier, 4 refused (identifier shared by several customers).",
    )
    who = forget.add_mutually_exclusive_group()
    who.add_argument("--email", help="any spelling of the person's email")
    who.add_argument("--phone", help="any spelling of the person's phone (Spain by default)")
    forget.add_argument(
        "--customer-id",
        help="the customer to erase (also an id merged away); with --email/--phone, picks "
        "the person among customers sharing it",
    )
    forget.add_argument("--dry-run", action="store_true", help="resolve and count; change nothing")
    forget.set_defaults(func=cmd_forget)

    instance = subparsers.add_parser(
        "instance",
        help="prepare DAGSTER_HOME for `dagster dev` / the daemon (dagster.yaml: queued runs, "
        "one at a time) and print its path",
    )
    instance.set_defaults(func=cmd_instance)

    bench = subparsers.add_parser(
        "bench", help="time and measure every stage on a fresh world; prints JSON"
    )
    bench.add_argument("--customers", type=int, required=True)
    bench.add_argument("--days", type=int, required=True)
    bench.add_argument("--seed", type=int, default=DEFAULT_WORLD["seed"])
    bench.set_defaults(func=cmd_bench)

    _register_sandbox(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args) or EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
