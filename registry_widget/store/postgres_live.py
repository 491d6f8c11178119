"""Hearing of commits made anywhere on a PostgreSQL store: one listening connection.

Every write to a store table sends ``NOTIFY`` on the channel named like the store's schema
(a trigger, :func:`~registry_widget.store.postgres_schema.notify_trigger`); PostgreSQL
delivers it to each listening session when the writing transaction commits, and never
for one rolled back.

A :class:`Listener` holds one autocommit connection that has run ``LISTEN`` and a thread
that sleeps in ``select()`` on that connection's socket (and on a pipe that wakes it to
stop): while nothing is committed anywhere, no statement is sent and nothing is polled.
Keepalives let the operating system notice a server that vanished without closing the
connection.

When the connection is lost (the server restarted, the backend was terminated, the
network went away) the state becomes :data:`RECONNECTING` and the thread reconnects with
a growing delay (:data:`FIRST_DELAY` doubling up to :data:`MAX_DELAY`). Notifications sent
meanwhile are lost, so once it listens again the listener reports a change (whatever was
shown must be read again) together with the state :data:`CONNECTED`.

Each notification names the table written (its payload; an empty payload, from a schema
before migration 4, names none): the listener reports the tables a commit made elsewhere
changed, or None for "anything may have changed". :meth:`Listener.settled` lets a reader
that is about to trust what it holds wait for notifications already at the socket to be
handled first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql as pgsql
from psycopg.conninfo import make_conninfo

__all__ = ["CONNECTED", "FIRST_DELAY", "MAX_DELAY", "RECONNECTING", "Listener", "Tables"]

Tables = frozenset[str] | None
"""The tables a commit changed; None: anything may have changed."""


CONNECTED = "connected"
"""The store hears of every commit as it happens."""
RECONNECTING = "reconnecting"
"""The store lost its server and is connecting again; what was read may be out of date."""

FIRST_DELAY = 0.1
"""Seconds before the second attempt to reconnect (the first is at once)."""
MAX_DELAY = 2.0
"""The longest wait between two attempts to reconnect, in seconds."""

_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "connect_timeout": 5,
}

_log = logging.getLogger(__name__)


class Listener:
    """A thread listening on ``channel`` of the server at ``conninfo``.

    Parameters
    ----------
    conninfo
        The store's libpq connection string.
    channel
        The channel to ``LISTEN`` on (the store's schema).
    on_event
        Called from the listening thread with ``(True, tables)`` after a commit made by a
        session other than ``own_pid()``'s (the tables it wrote), ``(True, None)`` after
        reconnecting (commits may have been missed), and ``(False, None)`` when only
        :attr:`state` changed.
    own_pid
        The server process of the store's own connection, whose commits the store has
        already reported (None: none open).
    """

    def __init__(
        self,
        conninfo: str,
        channel: str,
        on_event: Callable[[bool, Tables], None],
        own_pid: Callable[[], int | None],
    ) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._on_event = on_event
        self._own_pid = own_pid
        self._conn: psycopg.Connection[Any] | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.state = CONNECTED
        """:data:`CONNECTED` or :data:`RECONNECTING`."""
        self.backend_pid: int | None = None
        """The server process of the listening connection (None while there is none)."""
        self.connects = 0
        """How many times the listener connected (each one may have missed commits)."""
        self._handled = threading.Condition()
        self._busy = False  # between the socket turning readable and its events reported

    def settled(self, timeout: float = 0.05) -> bool:
        """Whether no notification waits to be reported (waiting up to ``timeout`` for it).

        A local look at the socket, no statement: a notification the server already sent
        is reported before a reader trusts what it holds.
        """
        conn = self._conn
        if conn is None or self.state != CONNECTED:
            return False
        deadline = None
        with self._handled:
            while True:
                try:
                    ready, _, _ = select.select([conn.fileno()], [], [], 0)
                except (OSError, ValueError, psycopg.Error):
                    return False
                if not ready and not self._busy:
                    return self.state == CONNECTED
                if deadline is None:
                    deadline = timeout
                elif deadline <= 0:
                    return False
                self._handled.wait(0.005)
                deadline -= 0.005

    def start(self) -> None:
        """Listen (at once, so that no commit made after this returns goes unheard)."""
        try:
            self._connect()
        except psycopg.Error:
            self.state = RECONNECTING
        self._thread = threading.Thread(
            target=self._run, name=f"registry_widget listener {self._channel}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and close the connection; returns when the thread has ended."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._drop()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- the thread -------------------------------------------------------------------------

    def _connect(self) -> None:
        conninfo = make_conninfo(self._conninfo, **_KEEPALIVES)
        conn = psycopg.connect(conninfo, autocommit=True)
        try:
            conn.execute(pgsql.SQL("LISTEN {}").format(pgsql.Identifier(self._channel)))
        except psycopg.Error:
            conn.close()
            raise
        self._conn = conn
        self.backend_pid = conn.info.backend_pid
        self.connects += 1

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self.backend_pid = None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def _run(self) -> None:
        failures = 0 if self._conn is not None else 1
        while not self._stopping.is_set():
            conn = self._conn
            if conn is None:
                if failures > 1 and self._sleep(min(MAX_DELAY, FIRST_DELAY * 2 ** (failures - 2))):
                    return
                try:
                    self._connect()
                except psycopg.Error:
                    failures += 1
                    continue
                failures = 0
                self.state = CONNECTED
                self._report(changed=True, tables=None)  # notifications meanwhile were lost
                continue
            ready, _, _ = select.select([conn.fileno(), self._wake_r], [], [])
            if self._wake_r in ready:
                return
            with self._handled:
                self._busy = True
            try:
                if self._heard(conn):
                    failures = 1
            finally:
                with self._handled:
                    self._busy = False
                    self._handled.notify_all()

    def _heard(self, conn: psycopg.Connection[Any]) -> bool:
        """Report what arrived on the socket; whether the connection was lost."""
        try:
            notes = [(n.pid, n.payload) for n in conn.notifies(timeout=0)]
        except psycopg.Error:
            notes = None
        if notes is None or conn.broken or conn.closed:
            self._drop()
            self.state = RECONNECTING
            self._report(changed=False, tables=None)
            return True
        own = self._own_pid()
        payloads = {payload for pid, payload in notes if pid != own}
        if payloads:
            self._report(changed=True, tables=None if "" in payloads else frozenset(payloads))
        return False

    def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` unless told to stop; whether to stop."""
        ready, _, _ = select.select([self._wake_r], [], [], seconds)
        return bool(ready) or self._stopping.is_set()

    def _report(self, *, changed: bool, tables: Tables) -> None:
        if self._stopping.is_set():
            return
        try:
            self._on_event(changed, tables)
        except Exception:  # a subscriber's bug must not stop the store hearing of changes
            _log.exception("a subscriber of %s failed", self._channel)
