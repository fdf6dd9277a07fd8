"""The POS DDL is portable: it loads into a real PostgreSQL, and so do the sandbox's rows."""

from __future__ import annotations

import csv
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import pytest

from ingestion.sandbox import pos_ddl
from ingestion.sandbox.pos_db import COLUMNS

pytestmark = pytest.mark.postgres
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A throw-away PostgreSQL cluster on a Unix socket, run as the ``postgres`` user."""
    initdb = shutil.which("initdb") or str(PG_BIN / "initdb")
    if not Path(initdb).exists() or shutil.which("psql") is None:
        pytest.skip("PostgreSQL binaries not installed")
    try:
        pg_user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres system user to run the server as")
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="omni_pg_"))
    os.chown(root, pg_user.pw_uid, pg_user.pw_gid)
    data, port = root / "data", _free_port()
    subprocess.run(
        [*as_pg, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pg_ctl = str(Path(initdb).with_name("pg_ctl"))
    opts = f"-k {root} -p {port} -c listen_addresses=''"
    # The server must not inherit our pipes, or waiting for pg_ctl would never end.
    log = str(root / "server.log")
    subprocess.run(
        [*as_pg, pg_ctl, "-D", str(data), "-o", opts, "-l", log, "-w", "start"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
    )
    try:
        yield {"host": str(root), "port": str(port), "run_as": as_pg, "root": root}
    finally:
        subprocess.run(
            [*as_pg, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


def _psql(pg: dict, *args: str) -> str:
    cmd = ["psql", "-h", pg["host"], "-p", pg["port"], "-U", "postgres", "-d", "postgres"]
    cmd += ["-v", "ON_ERROR_STOP=1", "-X", "-q", "-t", "-A", *args]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)
    return done.stdout.strip()


def test_pos_ddl_and_rows_load_into_postgres(world, postgres):
    ddl = postgres["root"] / "pos.sql"
    ddl.write_text(pos_ddl())
    _psql(postgres, "-f", str(ddl))
    lite = sqlite3.connect(world / "pos" / "pos.sqlite")
    # Parents first so the foreign keys are checked for real.
    for table, cols in COLUMNS.items():
        path = postgres["root"] / f"{table}.csv"
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(cols)
            w.writerows(lite.execute(f"SELECT {', '.join(cols)} FROM {table}"))
        os.chmod(path, 0o644)
        _psql(postgres, "-c", f"\\copy {table} ({', '.join(cols)}) FROM '{path}' CSV HEADER")
        n_pg = int(_psql(postgres, "-c", f"SELECT count(*) FROM {table}"))
        assert n_pg == lite.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0
    revenue_pg = _psql(postgres, "-c", "SELECT sum(total_amount) FROM transactions")
    revenue_lite = lite.execute("SELECT round(sum(total_amount), 2) FROM transactions").fetchone()
    assert float(revenue_pg) == pytest.approx(revenue_lite[0], abs=0.005)
    # the tills' local time survives as a naive timestamp
    first = _psql(postgres, "-c", "SELECT min(occurred_at) FROM transactions")
    assert first == lite.execute("SELECT min(occurred_at) FROM transactions").fetchone()[0]
