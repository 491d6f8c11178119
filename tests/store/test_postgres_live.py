"""Live changes on the PostgreSQL store: NOTIFY, the listening connection, reconnection.

A commit made anywhere (another process, plain SQL) reaches subscribers and open widgets
within a second; nothing is sent to the server while nothing changes; a lost listening
connection is reported as ``"reconnecting"`` and, once back, everything is read again.
The restart tests stop and start a server of their own, so the run's shared server is
never disturbed.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

import registry_widget as rw
from registry_widget.store.postgres import PostgresStore
from tests.conftest import PgCluster
from tests.servers import postgres as postgres_server
from tests.widget.test_widget import run_on_fresh_loop

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "test-artifacts"
COMMITS = 50


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Whether ``check()`` became true within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def pg_store(client: rw.Client) -> PostgresStore:
    store = client.store
    assert isinstance(store, PostgresStore)
    return store


def listener_pid(store: PostgresStore) -> int:
    listener = store._listener
    assert listener is not None
    assert listener.backend_pid is not None
    return listener.backend_pid


class Heard:
    """A subscriber that records what the store said when it called."""

    def __init__(self, client: rw.Client) -> None:
        self.client = client
        self.calls: list[tuple[float, int, str]] = []
        self.event = threading.Event()

    def __call__(self) -> None:
        self.calls.append((time.monotonic(), self.client.revision, self.client.connection_state))
        self.event.set()

    def states(self) -> list[str]:
        return [state for _, _, state in self.calls]


@pytest.fixture
def url(postgres: PgCluster, pg_schema: str) -> Callable[[str], str]:
    return lambda user="ada": postgres.url(user, pg_schema)


@pytest.fixture
def ada(url: Callable[[str], str], tmp_path: Path) -> rw.Client:
    return rw.Client(url("ada"), blobs=tmp_path / "blobs")


def child(url: str, body: str) -> subprocess.Popen[str]:
    """A Python process with ``client`` open on ``url``; it prints "ready", then runs ``body``."""
    code = (
        "import sys, time\nimport registry_widget as rw\n"
        f"client = rw.Client({url!r})\nprint('ready', flush=True)\n{body}"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_a_commit_in_another_process_is_heard_within_a_second(
    ada: rw.Client, url: Callable[[str], str]
) -> None:
    heard = Heard(ada)
    unsubscribe = ada.subscribe(heard)
    # The writer commits one change per line it reads and prints when its call started
    # and returned (the monotonic clock is the machine's, the same in both processes).
    proc = child(
        url("ada"),
        "for i, _ in enumerate(sys.stdin):\n"
        "    t0 = time.monotonic(); client.create_registry(f'R{i}'); t1 = time.monotonic()\n"
        "    print(t0, t1, flush=True)\n",
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "ready"
        since_return: list[float] = []
        since_call: list[float] = []
        for _ in range(COMMITS):
            before = ada.revision
            heard.event.clear()
            heard.calls.clear()
            proc.stdin.write("go\n")
            proc.stdin.flush()
            started, returned = map(float, proc.stdout.readline().split())
            assert heard.event.wait(5.0), "the commit was not heard within 5 s"
            seen, revision, _ = heard.calls[0]
            assert revision > before
            since_return.append((seen - returned) * 1000)  # < 0: heard before it returned
            since_call.append((seen - started) * 1000)
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        unsubscribe()
    assert {f"R{i}" for i in range(COMMITS)} <= {r.name for r in ada.registries()}

    def quantiles(values: list[float]) -> dict[str, float]:
        cuts = statistics.quantiles(values, n=100)
        return {"p50": round(cuts[49], 3), "p95": round(cuts[94], 3), "max": round(max(values), 3)}

    figures = {
        "commits": COMMITS,
        "ms_after_the_writers_call_returned": quantiles(since_return),
        "ms_after_the_writers_call_started": quantiles(since_call),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "postgres-notify-latency.json").write_text(json.dumps(figures, indent=2))
    print("\nNOTIFY latency, another process's commit heard here:", figures)
    assert figures["ms_after_the_writers_call_started"]["p95"] < 1000


def test_revision_counts_commits_made_elsewhere_without_asking_the_server(
    ada: rw.Client, url: Callable[[str], str]
) -> None:
    heard = Heard(ada)
    unsubscribe = ada.subscribe(heard)
    bob_side = rw.Client(url("ada"))  # another connection, as another process would hold
    try:
        before = ada.revision
        bob_side.create_registry("Elsewhere")
        assert wait_for(lambda: ada.revision > before, timeout=1.0)
        assert "Elsewhere" in [r.name for r in ada.registries()]
    finally:
        unsubscribe()


def test_one_notification_per_table_a_commit_wrote_and_none_for_a_rollback(
    ada: rw.Client,
) -> None:
    store = pg_store(ada)
    conninfo = store._conninfo
    with psycopg.connect(conninfo, autocommit=True) as listen:
        listen.execute(f'LISTEN "{store.schema}"')

        def pending() -> list[psycopg.Notify]:
            return list(listen.notifies(timeout=0.3))

        class AbortError(Exception):
            pass

        with pytest.raises(AbortError), store.transaction() as txn:
            txn.insert("history", {"action": "test", "at": "never"})
            raise AbortError
        assert pending() == []
        with store.transaction() as txn:
            for n in range(3):
                txn.insert("history", {"action": "test", "at": f"now {n}"})
            txn.insert("artifact_names", {"name": "probe", "type": "model", "next_index": 1})
        got = pending()
        assert sorted((n.channel, n.pid, n.payload) for n in got) == [
            (store.schema, store._own_pid(), "artifact_names"),
            (store.schema, store._own_pid(), "history"),
        ]
        with psycopg.connect(conninfo, autocommit=True) as raw:
            raw.execute("BEGIN")
            raw.execute("UPDATE history SET doc = doc")
            raw.execute("ROLLBACK")
        assert pending() == []


def test_a_change_made_with_plain_sql_reaches_subscribers(ada: rw.Client) -> None:
    ada.create_registry("Vision")
    store = pg_store(ada)
    heard = Heard(ada)
    unsubscribe = ada.subscribe(heard)
    try:
        with psycopg.connect(store._conninfo, autocommit=True) as raw:
            raw.execute("UPDATE registries SET doc = doc")  # e.g. an administrator in psql
        assert heard.event.wait(1.0)
    finally:
        unsubscribe()


def test_nothing_is_sent_to_the_server_while_nothing_changes(
    ada: rw.Client, postgres: PgCluster, url: Callable[[str], str]
) -> None:
    ada.create_registry("Vision")
    store = pg_store(ada)

    def last_statement(pid: int) -> Any:
        row = postgres.admin.execute(
            "SELECT state_change FROM pg_stat_activity WHERE pid = %s", [pid]
        ).fetchone()
        assert row is not None, pid
        return row[0]

    async def idle_widget_with_an_open_view() -> tuple[int, int, int]:
        w = rw.RegistryWidget(ada, poll_interval=0.05)
        w.send = lambda *a, **k: None
        w._on_message(w, {"kind": "view", "view": "a", "open": True}, [])
        await asyncio.sleep(0.3)
        own, listening = store._own_pid(), listener_pid(store)
        assert own is not None
        marks = (last_statement(own), last_statement(listening))
        revision = w.revision
        await asyncio.sleep(2.0)  # forty of the widget's checks for changes
        assert (last_statement(own), last_statement(listening)) == marks
        assert w.revision == revision
        # ... and a change made elsewhere still arrives, without any check asking for it.
        rw.Client(url("ada")).create_registry("Elsewhere")
        for _ in range(100):
            await asyncio.sleep(0.01)
            if w.revision > revision:
                break
        result = (revision, w.revision, "Elsewhere" in [r.name for r in ada.registries()])
        w.close()
        return result

    before, after, seen = run_on_fresh_loop(idle_widget_with_an_open_view)
    assert after == before + 1
    assert seen


def test_one_listener_runs_from_the_first_read_until_the_store_is_closed(
    ada: rw.Client, postgres: PgCluster
) -> None:
    store = pg_store(ada)

    def listening() -> int:
        row = postgres.admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'LISTEN %%' AND query LIKE %s",
            [f"%{store.schema}%"],
        ).fetchone()
        return int(row[0]) if row is not None else 0

    ada.registries()  # the first read starts it: the read cache is trusted while it listens
    assert store._listener is not None
    assert listening() == 1
    first = ada.subscribe(lambda: None)
    second = ada.subscribe(lambda: None)
    assert listening() == 1
    first()
    second()
    assert listening() == 1  # still keeping the cache fresh
    store.close()
    assert store._listener is None
    assert wait_for(lambda: listening() == 0, timeout=5)
    ada.registries()  # closed: reads ask the server per call instead, without listening
    assert store._listener is None
    ada.subscribe(lambda: None)  # a subscriber listens again
    assert listening() == 1
    store.close()
    assert wait_for(lambda: listening() == 0, timeout=5)


def test_a_terminated_listener_reconnects_and_subscribers_read_again(
    ada: rw.Client, postgres: PgCluster, url: Callable[[str], str]
) -> None:
    store = pg_store(ada)
    heard = Heard(ada)
    unsubscribe = ada.subscribe(heard)
    try:
        old = listener_pid(store)
        before = ada.revision
        postgres.admin.execute("SELECT pg_terminate_backend(%s)", [old])
        assert wait_for(lambda: "connected" in heard.states(), timeout=5)
        assert heard.states() == ["reconnecting", "connected"]
        assert heard.calls[-1][1] > before  # told to read everything again
        assert listener_pid(store) != old
        assert ada.connection_state == "connected"
        heard.calls.clear()
        heard.event.clear()
        rw.Client(url("ada")).create_registry("AfterReconnect")
        assert heard.event.wait(1.0)
    finally:
        unsubscribe()


@pytest.fixture
def own_server() -> Iterator[postgres_server.Postgres]:
    """A server of the test's own, which it may stop and start."""
    server = postgres_server.start(fsync=False)
    try:
        yield server
    finally:
        server.stop()


def test_a_server_restart_shows_reconnecting_then_reads_again(
    own_server: postgres_server.Postgres, tmp_path: Path
) -> None:
    client = rw.Client(own_server.url(), blobs=tmp_path / "blobs")
    client.create_registry("Vision")
    heard = Heard(client)
    unsubscribe = client.subscribe(heard)
    widget = rw.RegistryWidget(client)
    try:
        assert widget.connection == "connected"
        _other_connection_commits(own_server.url(), "Text")
        assert wait_for(lambda: widget.revision == 1, timeout=1)
        # The frontend reads again (refreshing the store) ... and that is no new change.
        message = {"kind": "request", "id": "1", "method": "registries.list", "params": {}}
        assert widget.handle_request(message)["ok"]
        before = widget.revision
        heard.calls.clear()
        own_server.halt()
        assert wait_for(lambda: client.connection_state == "reconnecting", timeout=10)
        assert widget.connection == "reconnecting"
        assert widget.revision == before  # nothing to read meanwhile
        time.sleep(0.5)  # a few attempts to reconnect fail meanwhile
        assert client.connection_state == "reconnecting"
        own_server.start()
        assert wait_for(lambda: client.connection_state == "connected", timeout=10)
        assert wait_for(lambda: widget.connection == "connected", timeout=1)
        assert widget.revision == before + 1  # the frontend reads what it shows again
        assert heard.states()[0] == "reconnecting"
        assert heard.states()[-1] == "connected"
        assert "Vision" in [r.name for r in client.registries()]
        heard.event.clear()
        rw.Client(own_server.url()).create_registry("AfterRestart")
        assert heard.event.wait(1.0)
        assert wait_for(lambda: widget.revision == before + 2, timeout=1)
    finally:
        widget.close()
        unsubscribe()
        client.store.close()


def _other_connection_commits(url: str, registry: str) -> None:
    proc = child(url, f"client.create_registry({registry!r})")
    assert proc.wait(timeout=60) == 0


def test_a_change_by_another_process_reaches_the_open_widget(
    ada: rw.Client, url: Callable[[str], str]
) -> None:
    widget = rw.RegistryWidget(ada)
    widget.sent = []
    widget.send = lambda content, buffers=None: widget.sent.append(content)
    try:
        before = widget.revision
        proc = child(url("ada"), "client.create_registry('FromElsewhere')")
        assert proc.wait(timeout=60) == 0
        assert wait_for(lambda: widget.revision == before + 1, timeout=1.0)
        message = {"kind": "request", "id": "1", "method": "registries.list", "params": {}}
        widget._on_message(widget, message, [])
        reply = widget.sent.pop()
        assert reply["ok"], reply
        assert "FromElsewhere" in json.dumps(reply["result"])
    finally:
        widget.close()


# -- the read cache the notifications keep fresh -------------------------------------------------


class Sent:
    """The statements a store sends on its own connection (the listener's are not counted)."""

    def __init__(self, store: PostgresStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[str] = []
        run = store._run

        def counted(query: Any, params: Any = ()) -> list[tuple[Any, ...]]:
            self.sent.append(query if isinstance(query, str) else query.as_string(None))
            return run(query, params)

        monkeypatch.setattr(store, "_run", counted)


def test_a_commit_elsewhere_drops_only_the_reads_of_the_tables_it_wrote(
    ada: rw.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada.create_registry("Vision").create_collection("cnn", type="model")
    store = pg_store(ada)
    assert store.find("registries", key="vision")
    assert store.find("collections", key="cnn")
    sent = Sent(store, monkeypatch)
    before = store.state
    with psycopg.connect(store._conninfo, autocommit=True) as raw:
        raw.execute("UPDATE collections SET doc = doc")  # plain SQL, as in psql
    assert wait_for(lambda: store.state != before, timeout=1.0)
    store.refresh()
    assert store.find("registries", key="vision")
    assert sent.sent == []  # registries were not written: still answered from the cache
    assert store.find("collections", key="cnn")
    assert len(sent.sent) == 1
    assert "collections" in sent.sent[0]


def test_a_notification_that_names_no_table_drops_every_read(
    ada: rw.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada.create_registry("Vision")
    store = pg_store(ada)
    assert store.find("registries", key="vision")
    sent = Sent(store, monkeypatch)
    before = store.state
    with psycopg.connect(store._conninfo, autocommit=True) as raw:
        # What a store migrated only to version 3 sends: the notification names nothing.
        raw.execute("SELECT pg_notify(%s, '')", [store.schema])
    assert wait_for(lambda: store.state != before, timeout=1.0)
    assert store.find("registries", key="vision")
    assert len(sent.sent) == 1


def test_a_change_of_membership_drops_what_the_user_may_see(
    ada: rw.Client, url: Callable[[str], str], tmp_path: Path
) -> None:
    secret = ada.create_registry("Secret", visibility="restricted")
    secret.create_collection("plans", type="model")
    ada.add_user("bob", role="member")
    bob = pg_store(rw.Client(url("bob"), blobs=tmp_path / "blobs"))
    found = ada.store.find_one("registries", key="secret")
    assert found is not None
    bob.refresh()
    assert bob.find("collections", registry_id=found[0]) == []  # hidden from bob, cached
    before = bob.state
    code = (
        "import registry_widget as rw\n"
        f"c = rw.Client({url('ada')!r})\n"
        "c.registry('Secret').add_member('bob', 'viewer')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    # Only the registry was written; what bob may see of every other table changed too.
    assert wait_for(lambda: bob.state != before, timeout=1.0)
    bob.refresh()
    assert [d["name"] for _, d in bob.find("collections", registry_id=found[0])] == ["plans"]
