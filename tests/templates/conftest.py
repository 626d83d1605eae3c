"""Fixtures for the template tests: a real PostgreSQL server and the offline wheelhouse."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The end-to-end harness knows where the wheelhouse is, for both test folders.
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import harness  # noqa: E402


def _pg_bin() -> Path:
    """The newest installed PostgreSQL's bin folder (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed: run scripts/setup.sh (Debian's postgresql)"
        )
    return found[-1].parent


@dataclass(frozen=True)
class Postgres:
    """A throwaway PostgreSQL server on a loopback port, trust authentication."""

    host: str
    port: int
    user: str
    bin: Path

    def create_database(self, name: str) -> str:
        """A new empty database; its SQLAlchemy URL (psycopg 3)."""
        subprocess.run(
            [
                str(self.bin / "createdb"),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                name,
            ],
            check=True,
        )
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """Debian's PostgreSQL, started for this session in a temp data dir on 127.0.0.1.

    initdb refuses to run as root, so as root the server runs as the `postgres` system user
    (made by Debian's package); as anyone else, as that user.
    """
    pg = _pg_bin()
    # Not under pytest's own temp folders: those are private to this user (mode 0700).
    base = Path(tempfile.mkdtemp(prefix="hyperagent-pg-"))
    data = base / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        owner = pwd.getpwnam("postgres")
        os.chown(base, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    subprocess.run(
        [
            *as_user,
            str(pg / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [
            *as_user,
            str(pg / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-l",
            str(base / "log"),
            "-w",
            "start",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        yield Postgres(host="127.0.0.1", port=port, user="postgres", bin=pg)
    finally:
        subprocess.run(
            [*as_user, str(pg / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
        )
        shutil.rmtree(base, ignore_errors=True)


def _free_port() -> int:
    """A loopback port nothing listens on (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    """The wheels every template variant needs (scripts/setup.sh fills it)."""
    return harness.wheelhouse()


@pytest.fixture(scope="session")
def uv() -> str:
    found = shutil.which("uv")
    if found is None:
        raise RuntimeError("uv is not on PATH: run scripts/setup.sh and use .venv/bin")
    return found
