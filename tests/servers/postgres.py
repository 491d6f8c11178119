"""A throwaway PostgreSQL 15 started on loopback for the test run.

Nothing is installed here: the server is Debian's ``postgresql`` package (``make
pg-deps``), binaries in ``/usr/lib/postgresql/15/bin``. :func:`start` makes a data folder
with ``initdb`` in a temporary folder, starts ``postgres`` on a free loopback port with its
socket in that folder and waits until it accepts connections; :meth:`Postgres.stop` ends
it with ``pg_ctl stop -m fast`` (and by its PID if that fails) and removes the folder.

``initdb`` and ``pg_ctl`` refuse to run as root: as root they run as the ``postgres``
user, on a folder that user owns (under the system's temporary folder, never under
``/root``); as a normal user they run as that user. The superuser login is ``postgres``
and loopback connections are trusted (``-A trust``): logins need no password.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "postgres"


def available() -> bool:
    """Whether the PostgreSQL server binaries are installed (``make pg-deps``)."""
    return (BIN / "initdb").is_file() and (BIN / "pg_ctl").is_file()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(cmd: list[str]) -> list[str]:
    """``cmd`` run as the ``postgres`` system user when we are root, else as ourselves."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class Postgres:
    """A running PostgreSQL: where it listens, its folder and its postmaster's PID."""

    host: str
    port: int
    folder: Path
    fsync: bool

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def sockets(self) -> Path:
        return self.folder / "sock"

    def url(self, user: str = SUPERUSER, database: str = "postgres", **params: str) -> str:
        """The libpq URL of ``database`` as login ``user`` (extra query parameters allowed)."""
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"postgresql://{user}@{self.host}:{self.port}/{database}" + (
            f"?{query}" if query else ""
        )

    def pid(self) -> int | None:
        """The postmaster's PID, from its pid file (None when it is not running)."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data / "postmaster.pid").read_text().split()[0])
        return None

    def log(self) -> str:
        """The server's log so far (for failure messages)."""
        log = self.folder / "server.log"
        return log.read_text(errors="replace")[-4000:] if log.exists() else ""

    def start(self, timeout: float = 30.0) -> None:
        """Start (or restart after :meth:`halt`) the server and wait until it accepts."""
        options = (
            f"-c listen_addresses={self.host} -p {self.port} -k {self.sockets} "
            f"-c fsync={'on' if self.fsync else 'off'} -c max_connections=300 "
            "-c shared_buffers=32MB"
        )
        if not self.fsync:
            options += " -c synchronous_commit=off -c full_page_writes=off"
        cmd = [
            str(BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            str(int(timeout)),
            "start",
        ]
        result = subprocess.run(_as_server_user(cmd), capture_output=True, check=False)
        if result.returncode != 0:
            msg = (
                f"PostgreSQL did not start: {result.stderr.decode(errors='replace')}\n{self.log()}"
            )
            raise RuntimeError(msg)

    def halt(self, mode: str = "fast") -> None:
        """Stop the server (``pg_ctl stop -m mode``), by its PID if pg_ctl cannot."""
        pid = self.pid()
        if pid is None:
            return
        cmd = [str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]
        result = subprocess.run(_as_server_user(cmd), capture_output=True, check=False)
        if result.returncode != 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        self.halt()
        shutil.rmtree(self.folder, ignore_errors=True)


def start(*, fsync: bool = True, timeout: float = 30.0) -> Postgres:
    """Make a new cluster in a temporary folder and start it on a free loopback port.

    ``fsync`` is on by default (durability); pass False only for tests of logic.

    Raises
    ------
    RuntimeError
        If PostgreSQL is not installed, or does not start (its log is in the message).
    """
    if not available():
        msg = f"PostgreSQL is not installed in {BIN}; run `make pg-deps`"
        raise RuntimeError(msg)
    folder = Path(tempfile.mkdtemp(prefix="rw-pg-", dir="/tmp" if os.geteuid() == 0 else None))
    (folder / "sock").mkdir()
    if os.geteuid() == 0:
        server = pwd.getpwnam("postgres")
        for path in (folder, folder / "sock"):
            os.chown(path, server.pw_uid, server.pw_gid)
    os.chmod(folder, 0o755)
    pg = Postgres(host="127.0.0.1", port=_free_port(), folder=folder, fsync=fsync)
    init = [
        str(BIN / "initdb"),
        "-D",
        str(pg.data),
        "-U",
        SUPERUSER,
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
    ]
    if not fsync:
        init.append("--no-sync")
    try:
        result = subprocess.run(_as_server_user(init), capture_output=True, check=False)
        if result.returncode != 0:
            msg = f"initdb failed: {result.stderr.decode(errors='replace')}"
            raise RuntimeError(msg)
        pg.start(timeout)
        _wait(pg, timeout)
    except BaseException:
        pg.stop()
        raise
    return pg


def _wait(pg: Postgres, timeout: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(pg.url(), connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def wait_for_sessions_to_end(conn: Any, timeout: float = 30.0) -> int:
    """Wait until no other session of ``conn``'s login is connected to its database.

    Returns how many are still connected when ``timeout`` seconds have passed (0 once
    they have all ended). ``conn``: an autocommit psycopg connection.
    """
    deadline = time.monotonic() + timeout
    while True:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
            "AND datname = current_database() AND usename = current_user "
            "AND pid <> pg_backend_pid()"
        ).fetchone()
        left = int(row[0]) if row is not None else -1
        if left == 0 or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)
