"""The PostgreSQL store under failure: concurrent writers, restarts, dropped connections, kills.

Writers are fresh interpreters (tests/postgres_clients.py) that print ``done`` only after a
call returned. After each scenario the store must hold every acknowledged write, nothing
half-applied (each operation logs a version and links it in one ``batch``: a version
without its link, or a link without its version, is a half-applied call), no version that
no writer attempted, and per-collection numbers without gaps or duplicates. Every failure
a writer saw must be a ``RegistryError`` subclass whose message names the server.

The restart, terminate and kill scenarios use a server of their own (``fsync`` on), so
that restarting it disturbs no other test; the numbering test uses the run's server.
Each scenario prints its counts (restarts, terminations, kills, operations, losses).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import registry_widget as rw
from tests.conftest import PgCluster
from tests.servers import postgres as postgres_server

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("postgres_clients.py")
REGISTRY = "Team"


@dataclass
class Writer:
    """One child writer process and what it reported."""

    name: str
    proc: subprocess.Popen[bytes]
    done: dict[int, dict[str, Any]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    crashes: list[dict[str, Any]] = field(default_factory=list)
    begun: set[int] = field(default_factory=set)
    ready: bool = False
    lines: int = 0

    def read(self, timeout: float) -> bool:
        """Read one line, waiting at most ``timeout`` s; False at the end of its output."""
        import select

        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return True
        line = self.proc.stdout.readline()
        if not line:
            return False
        self.parse(line)
        return True

    def parse(self, line: bytes) -> None:
        if not line.endswith(b"\n"):
            return  # cut short by a kill: not a report
        kind, _, payload = line.decode().strip().partition(" ")
        self.lines += 1
        if kind == "ready":
            self.ready = True
            return
        event = json.loads(payload)
        if kind == "begin":
            self.begun.add(event["i"])
        elif kind == "done":
            self.done[event["i"]] = event
        elif kind == "error":
            self.errors.append(event)
        elif kind == "crash":
            self.crashes.append(event)

    def drain(self) -> None:
        """Read everything it printed until it ended (call after it was stopped)."""
        assert self.proc.stdout is not None
        self.proc.wait(timeout=60)
        for line in self.proc.stdout.read().splitlines(keepends=True):
            self.parse(line)
        self.proc.stdout.close()


def start_writer(url: str, mode: str, name: str, count: int, path: str, folder: Path) -> Writer:
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), url, mode, name, str(count), path, str(folder / name)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return Writer(name, proc)


def pump(writers: list[Writer], seconds: float) -> None:
    """Read the writers' reports for ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for w in writers:
            w.read(0.005)


def wait_ready(writers: list[Writer], timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not all(w.ready for w in writers):
        assert time.monotonic() < end, "a writer did not start"
        for w in writers:
            if not w.ready:
                w.read(0.05)
                assert w.proc.poll() is None or w.ready, f"writer {w.name} died at start"


def new_store(url: str, folder: Path, collections: int) -> rw.Client:
    """A store at ``url`` with blobs in ``folder``, registry ``Team`` and collections c0…"""
    client = rw.Client(url, blobs=folder)
    registry = client.create_registry(REGISTRY)
    for c in range(collections):
        registry.create_collection(f"c{c}", type="model")
    return client


def check_store(url: str, writers: list[Writer], *, batch: bool) -> dict[str, int]:
    """Every acknowledged write present; nothing half-applied, unattempted or renumbered.

    Returns the counts: operations acknowledged and failed, versions and links found, and
    acknowledged writes missing (losses).

    It reads once nothing else is connected as the writers' login, with a client of its
    own. A writer killed while its COMMIT was on the way leaves a server process that
    still commits it, a moment later; and a client that stayed open hears of the last
    commits within milliseconds (LISTEN/NOTIFY). Either way, reading the versions and
    then the links could fall on both sides of a commit and show a link whose version the
    first read did not: that says when the reads ran, not what the store holds.
    """
    _wait_for_other_sessions_to_end(url)
    with rw.Client(url) as client:
        return _check(client, writers, batch=batch)


def _wait_for_other_sessions_to_end(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        left = postgres_server.wait_for_sessions_to_end(conn)
    assert left == 0, f"{left} sessions still open"


def _check(client: rw.Client, writers: list[Writer], *, batch: bool) -> dict[str, int]:
    registry = client.registry(REGISTRY)
    by_writer = {w.name: w for w in writers}
    versions = client.artifacts()
    found: dict[tuple[str, int], str] = {}
    for version in versions:
        (file,) = version.files
        name, _, rest = file.partition("-")
        i = int(rest.removesuffix(".bin"))
        assert (name, i) not in found, f"operation {name} {i} applied twice"
        assert name in by_writer, f"unattempted {file}"
        assert i in by_writer[name].begun, f"unattempted {file}"
        found[(name, i)] = version.ref
    linked: dict[str, str] = {}  # link path -> the version it holds
    for collection in registry.collections():
        links = collection.versions()
        numbers = sorted(link.index for link in links)
        assert numbers == list(range(len(numbers))), f"gaps or repeats in {collection.path}"
        linked.update((link.path, link.artifact.ref) for link in links)
    losses = 0
    for w in writers:
        for error in w.errors:
            # A call that failed yet was committed must not have said it was not.
            if (w.name, error["i"]) in found:
                assert "not committed" not in error["message"], error
    for w in writers:
        for i, event in w.done.items():
            present = found.get((w.name, i)) == event["artifact"]
            losses += not (present and linked.get(event["link"]) == event["artifact"])
    if batch:
        # Log and link were one call: each version has exactly one link, each link a version.
        assert sorted(linked.values()) == sorted(found.values()), "half-applied call"
        for w in writers:  # the files of acknowledged versions are there, byte for byte
            for i in list(w.done)[:5]:
                version = client.artifact(w.done[i]["artifact"])
                assert version.read_file(f"{w.name}-{i}.bin") == f"{w.name} {i}\n".encode()
    for w in writers:
        assert not w.crashes, f"not a RegistryError: {w.crashes[:3]}"
        for error in w.errors:
            # One readable sentence naming the server, not a fragment of libpq's lines.
            assert "PostgreSQL" in error["message"], error
            assert "\n" not in error["message"], error
            assert "\t" not in error["message"], error
    return {
        "acknowledged": sum(len(w.done) for w in writers),
        "failed": sum(len(w.errors) for w in writers),
        "versions": len(found),
        "links": len(linked),
        "losses": losses,
    }


# -- many writers, one collection ---------------------------------------------------------

WRITERS = 8
PER_WRITER = 250


def test_eight_writers_number_one_collection_without_gaps(
    postgres: PgCluster, pg_schema: str, tmp_path: Path
) -> None:
    url = postgres.url("ada", pg_schema)
    client = new_store(url, tmp_path / "blobs", 1)
    t0 = time.perf_counter()
    writers = [
        start_writer(url, "plain", f"w{k}", PER_WRITER, f"{REGISTRY}/c0", tmp_path / "src")
        for k in range(WRITERS)
    ]
    for w in writers:
        while w.read(60):
            pass
        w.drain()
        assert w.proc.returncode == 0, f"writer {w.name} failed: {w.crashes}"
    seconds = time.perf_counter() - t0
    client.close()
    counts = check_store(url, writers, batch=False)
    total = WRITERS * PER_WRITER
    with rw.Client(url) as client:
        registry = client.registry(REGISTRY)
        numbers = sorted(link.index for link in registry.collection("c0").versions())
    assert numbers == list(range(total))
    assert counts["acknowledged"] == total
    assert counts["losses"] == 0
    assert all(not w.errors for w in writers)
    print(f"{WRITERS} writers x {PER_WRITER} log+link into one collection: {seconds:.1f} s")


# -- a server of our own: restarts, terminated connections, kills ---------------------------


@pytest.fixture(scope="module")
def own_server() -> Iterator[postgres_server.Postgres]:
    """A server only these tests use and restart, ``fsync`` on (durability is the point)."""
    if not postgres_server.available():
        pytest.fail(f"PostgreSQL is missing from {postgres_server.BIN}: run `make pg-deps`")
    server = postgres_server.start(fsync=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_url(own_server: postgres_server.Postgres) -> Iterator[str]:
    """A fresh database on the test's own server, as its superuser login."""
    import psycopg

    name = f"f_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(own_server.url(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield own_server.url(database=name)
    from tests.conftest import _close_postgres_stores

    _close_postgres_stores()


def stop_all(writers: list[Writer]) -> None:
    for w in writers:
        if w.proc.poll() is None:
            w.proc.send_signal(signal.SIGKILL)
        w.drain()


def test_server_restarts_lose_no_acknowledged_write(
    own_server: postgres_server.Postgres, own_url: str, tmp_path: Path
) -> None:
    client = new_store(own_url, tmp_path / "blobs", 2)
    writers = [
        start_writer(own_url, "batch", f"w{k}", 0, f"{REGISTRY}/c{k % 2}", tmp_path / "src")
        for k in range(4)
    ]
    restarts = 0
    try:
        wait_ready(writers)
        pump(writers, 1.0)
        for mode in ("fast", "immediate", "fast", "immediate"):
            own_server.halt(mode)
            pump(writers, 0.3)  # writers meet the server gone
            own_server.start()
            restarts += 1
            pump(writers, 0.8)
        before = {w.name: len(w.done) for w in writers}
        pump(writers, 2.0)
        for w in writers:
            # The same client, never re-created, works again after the restarts.
            assert len(w.done) > before[w.name], f"writer {w.name} did not recover"
    finally:
        stop_all(writers)
    client.close()
    counts = check_store(own_url, writers, batch=True)
    assert counts["losses"] == 0
    assert counts["failed"] > 0, "no writer met a restart: the test proved nothing"
    print(f"restarts: {restarts}; {counts}")


def test_terminated_connections_leave_nothing_half_applied(
    own_server: postgres_server.Postgres, own_url: str, tmp_path: Path
) -> None:
    import psycopg

    client = new_store(own_url, tmp_path / "blobs", 2)
    database = own_url.rsplit("/", 1)[1]
    writers = [
        start_writer(own_url, "batch", f"w{k}", 0, f"{REGISTRY}/c{k % 2}", tmp_path / "src")
        for k in range(4)
    ]
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    terminated = 0
    try:
        wait_ready(writers)
        with psycopg.connect(own_server.url(), autocommit=True) as admin:
            end = time.monotonic() + 6.0
            while time.monotonic() < end:
                pump(writers, rng.uniform(0.02, 0.15))
                rows = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
                    "AND backend_type = 'client backend'",
                    [database],
                ).fetchall()
                terminated += sum(1 for (ok,) in rows if ok)
        before = {w.name: len(w.done) for w in writers}
        pump(writers, 1.5)
        for w in writers:
            assert len(w.done) > before[w.name], f"writer {w.name} did not recover"
    finally:
        stop_all(writers)
    client.close()
    counts = check_store(own_url, writers, batch=True)
    assert counts["losses"] == 0
    assert terminated > 0, "no connection was terminated: the test proved nothing"
    print(f"terminated connections: {terminated}; {counts}")


KILL_ROUNDS = 12
KILLED_AT_ONCE = 3


def test_killed_clients_lose_no_acknowledged_write(
    own_server: postgres_server.Postgres, own_url: str, tmp_path: Path
) -> None:
    client = new_store(own_url, tmp_path / "blobs", 3)
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    everyone: list[Writer] = []
    kills = 0
    for r in range(KILL_ROUNDS):
        writers = [
            start_writer(own_url, "batch", f"r{r}k{k}", 0, f"{REGISTRY}/c{k}", tmp_path / "src")
            for k in range(KILLED_AT_ONCE)
        ]
        everyone.extend(writers)
        wait_ready(writers)
        for w in writers:
            want = rng.choice((0, 1, 2, 5, 10))
            deadline = time.monotonic() + 30
            while len(w.done) < want and w.proc.poll() is None:
                assert time.monotonic() < deadline, f"writer {w.name} made no progress"
                w.read(0.05)
        pump(writers, rng.uniform(0, 0.05))
        for w in writers:
            w.proc.send_signal(signal.SIGKILL)
            kills += 1
        for w in writers:
            w.drain()
            assert w.proc.returncode == -signal.SIGKILL, f"writer {w.name} died by itself"
    client.close()
    counts = check_store(own_url, everyone, batch=True)
    assert counts["losses"] == 0
    assert counts["failed"] == 0
    print(f"kills: {kills}; {counts}")
