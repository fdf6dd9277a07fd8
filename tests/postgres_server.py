"""A real, throw-away PostgreSQL server for tests (Debian's ``postgresql`` package).

``make test`` runs as root in CI: when the binaries are missing, the fixture installs them
with ``apt-get update && apt-get install -y postgresql`` and skips (saying why) only if
that is impossible. The cluster lives in a temp dir owned by the ``postgres`` user, listens
on a free loopback TCP port with trust authentication, and is stopped at the end.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from ingestion.sandbox import pos_ddl
from ingestion.sandbox.pos_db import COLUMNS


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be found or installed here."""


@dataclass(frozen=True)
class Postgres:
    port: int
    user: str = "postgres"
    database: str = "postgres"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def find_or_install() -> Path:
    """The newest Debian PostgreSQL ``bin`` directory, installing the package if needed."""
    bin_dir = _bin_dir()
    if bin_dir:
        return bin_dir
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise PostgresUnavailable("no /usr/lib/postgresql/*/bin and no root apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise PostgresUnavailable(f"`{' '.join(cmd)}` failed: {done.stderr.strip()[-500:]}")
    bin_dir = _bin_dir()
    if bin_dir is None:
        raise PostgresUnavailable("postgresql installed but no initdb under /usr/lib/postgresql")
    return bin_dir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_postgres() -> Iterator[Postgres]:
    bin_dir = find_or_install()
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable("no `postgres` system user to run the server as") from None
    # initdb refuses to run as root: run the server as the postgres user.
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="omni_pg_"))
    os.chown(root, owner.pw_uid, owner.pw_gid)
    data, port = root / "data", _free_port()
    subprocess.run(
        [*as_owner, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pg_ctl = str(bin_dir / "pg_ctl")
    opts = f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off"
    # The server must not inherit our pipes, or waiting for pg_ctl would never end.
    log = str(root / "server.log")
    subprocess.run(
        [*as_owner, pg_ctl, "-D", str(data), "-o", opts, "-l", log, "-w", "start"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
    )
    try:
        yield Postgres(port)
    finally:
        subprocess.run(
            [*as_owner, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


def copy_pos(sqlite_path: Path, url: str) -> dict[str, int]:
    """The sandbox's POS schema (its portable DDL) and rows, into PostgreSQL; rows per table."""
    counts = {}
    lite = sqlite3.connect(sqlite_path)
    try:
        with psycopg2.connect(url) as pg, pg.cursor() as cur:
            cur.execute(pos_ddl())
            # COLUMNS lists parents first, so the foreign keys are checked for real.
            for table, cols in COLUMNS.items():
                rows = lite.execute(f"select {', '.join(cols)} from {table}").fetchall()
                marks = ", ".join(["%s"] * len(cols))
                cur.executemany(f"insert into {table} ({', '.join(cols)}) values ({marks})", rows)
                counts[table] = len(rows)
    finally:
        lite.close()
    return counts
