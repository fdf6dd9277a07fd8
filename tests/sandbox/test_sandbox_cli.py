"""The ``sandbox`` command: generate, advance, serve, and clear refusals of bad arguments."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys

import pytest
import requests

from ingestion.sandbox.cli import register
from ingestion.sandbox.server import CRM_TOKEN


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="omni")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_generate_and_advance_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "cli"
    args = _parse(["sandbox", "generate", "--out", str(out), "--customers", "120", "--days",
                   "4", "--seed", "3", "--start", "2026-01-05"])  # fmt: skip
    assert args.func(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["start_date"] == "2026-01-05" and printed["end_date"] == "2026-01-08"
    assert printed["row_counts"]["pos"]["transactions"] > 0
    args = _parse(["sandbox", "advance", "--out", str(out), "--days", "2"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["end_date"] == "2026-01-10"


def test_a_bad_tpcds_scale_is_refused_clearly(tmp_path, capsys):
    args = _parse(["sandbox", "generate", "--out", str(tmp_path / "t"), "--customers", "10",
                   "--days", "2", "--seed", "1", "--profile", "tpcds", "--scale", "0"])  # fmt: skip
    with pytest.raises(SystemExit) as exc:
        args.func(args)
    assert exc.value.code == 2
    assert "--scale > 0" in capsys.readouterr().err


def test_serve_prints_the_url_and_tokens(world):
    cmd = [sys.executable, "-m", "ingestion.sandbox.cli", "sandbox", "serve", "--out", str(world),
           "--port", "0"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        first = proc.stdout.readline()
        url = first.split()[3]
        assert url.startswith("http://127.0.0.1:")
        assert CRM_TOKEN in proc.stdout.readline()
        r = requests.get(
            f"{url}/crm/v3/objects/campaigns",
            headers={"Authorization": f"Bearer {CRM_TOKEN}"},
            timeout=10,
        )
        assert r.status_code == 200 and r.json()["results"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
