"""The PostgreSQL store: the store interface answered by SQL on a shared server.

Design
------
- **Schema.** One SQL table per store table (:mod:`~registry_widget.store.postgres_schema`):
  identity ids, the document as ``json`` (read back exactly as written), a generated
  ``jsonb`` copy for queries, and real generated columns for what lookups, constraints and
  row-level security need. Created by the first login to open an empty schema, through
  numbered migrations under an advisory lock.
- **Privileges.** The tables belong to the login that created them (the first
  organisation admin). ``meta``, ``users`` and ``schema_version`` are readable by every
  login that can use the schema, so that an unknown login is told how to be added; an
  organisation admin's ``add_user`` grants the named login the table privileges it needs
  (with grant option for admins). Row-level security decides which rows (below).
- **Identity.** The acting user is the login (``current_user``, :attr:`login`).
- **Security model.** The database enforces access, not only Python
  (:mod:`~registry_widget.store.postgres_security`): every table has row-level security
  enabled and forced (the owner too), with one policy per command derived from the roles
  of SPEC §3. A login sees the registries where it has a role (organisation registries:
  every user; restricted ones: their members and organisation admins), their
  collections, links and history, and the versions linked into one of them or linked
  nowhere; what it may insert or change follows its effective role there (links and
  collections: member; the registry row, so members and settings: admin; users: org
  admins), history is appended under one's own name only and never changed, and no row
  moves to another registry. A login that is not a user (or no longer one) sees only the
  store's bookkeeping and its admins. The checks are ``SECURITY DEFINER`` functions with a
  fixed ``search_path``; triggers keep what a policy cannot compare (protected aliases,
  core registries, restriction). Python refuses first, with the friendly errors; where a
  refusal depends on rows the user cannot see (a name held by a hidden registry, an edit
  of a version linked where they cannot look), the store answers in the domain's words
  (:meth:`may_update`, :func:`~registry_widget.permissions.name_unavailable`).
- **Reads** outside a transaction are answered from a bounded cache of earlier answers
  (:mod:`~registry_widget.store.postgres_cache`) while the listening connection (below)
  is connected: it drops what a commit made elsewhere may have changed, the store what
  its own commits wrote, so :meth:`refresh` sends nothing and a warm read costs no round
  trip. A commit elsewhere is seen once its notification arrives (milliseconds); a
  notification already at the socket is handled before a read trusts the cache. While
  the listener is not connected, :meth:`refresh` asks the server once per call whether
  anything was committed since (one read of the ``changes`` sequence) and drops the
  cache if so. Inside a transaction every read goes to the server (rows locked, current).
- **Writes.** :meth:`transaction` is one READ COMMITTED transaction on the store's
  connection. Rows that hold counters and alias maps (collections, links, artifact names)
  are read ``FOR UPDATE`` inside a transaction, registries and users ``FOR SHARE``: the
  domain's read-then-update of a collection's ``next_index`` is then a row-locked counter,
  gap-free under concurrent writers, while writers of different collections never wait
  for each other. Deadlocks, serialisation failures and unique violations raise
  :class:`~registry_widget.errors.ConcurrentChangeError`, which the domain answers by
  running the call again (:func:`registry_widget.domain.retry.retried`). A row the
  transaction already locked or wrote is read again from what it holds, without a
  statement; ``COMMIT`` and the count in ``changes`` that makes readers refresh go in one
  round trip.
- **Batches.** Inside ``client.batch()`` each call is a savepoint (``SAVEPOINT`` and
  ``RELEASE`` go with the call's next statements, no round trip of their own): a call
  refused, by Python or by the server, is rolled back alone and the batch goes on. Each
  is a subtransaction on the server, whose bookkeeping grows with the batch: a call in a
  batch of thousands costs more than one in a batch of hundreds. Plain calls have none.
- **Failures.** A lost connection is re-opened by the next call; one lost inside a
  transaction raises :class:`~registry_widget.errors.StoreUnavailableError` (nothing is
  acknowledged that was not committed).
- **Live.** From the first read on, a second connection listens for the ``NOTIFY`` every
  commit sends, naming the tables it wrote (:mod:`~registry_widget.store.postgres_live`):
  the cache is dropped narrowly, subscribers (an open widget) are told of commits made
  anywhere within milliseconds, :attr:`revision` counts them without asking the server,
  and nothing is sent to the server while nothing changes. Stores of the same database in
  one process drop each other's cache at their commits, without waiting for the server.
  :attr:`connection_state` says ``"reconnecting"`` while that connection is lost; once
  back, subscribers are told that everything may have changed.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import (
    Callable,
    Hashable,
    Iterator,
)
from contextlib import contextmanager
from typing import Any, ClassVar

import psycopg
from psycopg import pq
from psycopg import sql as pgsql

from registry_widget.errors import (
    DatabaseError,
    PermissionDeniedError,
    RegistryError,
    StoreCorruptedError,
    StoreUnavailableError,
)
from registry_widget.store.interface import (
    CommitHooks,
    Reading,
    Store,
)
from registry_widget.store.postgres_connection import one_line
from registry_widget.store.postgres_guards import OTHERS_CREATE_SQL
from registry_widget.store.postgres_live import CONNECTED, Listener, Tables
from registry_widget.store.postgres_reads import PostgresReads, on
from registry_widget.store.postgres_schema import LOCK_KEY, MIGRATIONS, SCHEMA_VERSION
from registry_widget.store.postgres_security import POLICIES
from registry_widget.store.postgres_txn import PostgresTransaction

__all__ = ["PostgresStore", "is_postgres_url"]


def is_postgres_url(location: object) -> bool:
    """Whether ``location`` names a PostgreSQL database (``postgresql://`` or ``postgres://``)."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


class PostgresStore(PostgresReads, Store):
    """A registry store in a PostgreSQL database (see the module's design notes).

    Parameters
    ----------
    conninfo
        A libpq connection string or URL (``postgresql://user@host:port/db?options=…``);
        ``PG*`` variables and ``~/.pgpass`` fill in what it leaves out, as for psql.

    Raises
    ------
    StoreUnavailableError
        If the server cannot be reached or refuses the login.
    """

    _txn: PostgresTransaction | None
    _open: ClassVar[weakref.WeakSet[PostgresStore]] = weakref.WeakSet()

    def __init__(self, conninfo: str) -> None:
        PostgresReads.__init__(self, conninfo)
        self._state = 0
        self._revision = 0
        self._seen = -1  # the ``changes`` sequence as last seen
        self._reading = Reading()
        self._subscribers: list[Callable[[], None]] = []
        self._listener: Listener | None = None
        self._heard = 0  # commits heard of from elsewhere; written by the listener only
        self._synced = -1  # the listener's connection the cache was last made valid for
        self._closed = False
        self._commit_hooks = CommitHooks()
        row = self._one(
            "SELECT current_user, current_schema(), quote_ident(current_schema()), "
            f"({OTHERS_CREATE_SQL})",
            [],
        )
        assert row is not None
        self.login = str(row[0])
        if row[1] is None:
            msg = (
                f"the PostgreSQL database {self.location} has no schema to create the "
                "registry's tables in (none of the search_path exists); create one, or "
                "connect with ?options=-csearch_path%3D<schema>"
            )
            raise DatabaseError(msg)
        self.schema = str(row[1])
        if row[3]:
            others = ", ".join(row[3])
            msg = (
                f"the schema {self.schema!r} of {self.location} lets {others} create objects "
                "in it; a function or operator made there could stand in for one the "
                "registry's access checks call, so the registry is not opened there. As the "
                f"schema's owner, run: REVOKE CREATE ON SCHEMA {row[2]} "
                f"FROM {others}"
            )
            raise DatabaseError(msg)
        info = self._connection().info
        self._identity = ("postgresql", info.host, info.port, info.dbname, self.schema)
        self._migrate()
        PostgresStore._open.add(self)

    def __repr__(self) -> str:
        return f"PostgresStore({self.location!r})"

    @property
    def identity(self) -> Hashable:
        """The server, database and schema: one store, whichever login connects."""
        return self._identity

    # -- the schema -------------------------------------------------------------------------

    def _migrate(self) -> None:
        """Bring the schema to :data:`SCHEMA_VERSION`, under the advisory lock."""
        version = self._schema_version()
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            msg = (
                f"the registry store {self.location} has schema version {version}, newer than "
                f"this registry_widget knows ({SCHEMA_VERSION}); upgrade registry_widget"
            )
            raise StoreCorruptedError(msg)
        found = self._one(
            "SELECT current_user, (SELECT pg_get_userbyid(relowner) FROM pg_class "
            "WHERE oid = to_regclass('schema_version'))",
            [],
        )
        login, owner = found if found is not None else (None, None)
        try:
            self._migrate_from(version)
        except PermissionDeniedError:
            if owner is None or owner == login:
                raise
            msg = (
                f"the registry store {self.location} has schema version {version} and this "
                f"registry_widget needs version {SCHEMA_VERSION}; only the login that owns "
                f"its tables, {owner!r}, may bring it there (login {login!r} may not): "
                f"open it once as {owner!r} with this version of registry_widget"
            )
            raise PermissionDeniedError(msg) from None
        self._tables.clear()

    def _migrate_from(self, version: int) -> None:
        """Apply the migrations after ``version`` in one transaction, under the lock."""
        with self.transaction():
            self._run("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
            version = self._schema_version()
            for number in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[number - 1]:
                    self._run(statement)
                self._run("INSERT INTO schema_version (version) VALUES (%s)", [number])
            if version == 0:
                for table in ("schema_version", "settings", "meta", "users"):
                    self._run(f"GRANT SELECT ON {table} TO PUBLIC")
                self._run("GRANT SELECT, USAGE ON SEQUENCE changes TO PUBLIC")

    # -- reading ------------------------------------------------------------------------------

    # -- freshness ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Bring reads up to date with commits made elsewhere.

        While the listener is connected, nothing to do: it drops what commits made
        elsewhere changed as their notifications arrive. Otherwise one read of
        ``changes``: when anyone committed since, everything read is dropped.
        """
        if self._txn is not None or self._reading.fresh:
            return
        if self._trusted():
            return
        row = self._one("SELECT last_value, is_called FROM changes", [])
        seen = -1 if row is None else int(row[0]) if row[1] else 0
        with self._lock:
            if seen != self._seen:
                self._seen = seen
                self._cache.drop(None)
                if self._listener is None:  # else it counts the same commits as it hears them
                    self._revision += 1

    def _trusted(self) -> bool:
        """Whether the listener is connected and has told of every commit made elsewhere."""
        listener = self._listener if self._closed else self._listen()
        return (
            listener is not None
            and listener.connects == self._synced
            and listener.state == CONNECTED
            and listener.settled()
        )

    def _listen(self) -> Listener | None:
        """The listener, started on first use (the cache is only trusted while it listens)."""
        with self._lock:
            if self._listener is None:
                this = weakref.ref(self)

                def heard(changed: bool, tables: Tables) -> None:
                    store = this()
                    if store is not None:
                        store._heard_of(changed, tables)

                def own_pid() -> int | None:
                    store = this()
                    return None if store is None else store._own_pid()

                listener = Listener(self._conninfo, self.schema, heard, own_pid)
                listener.start()
                self._listener = listener
                weakref.finalize(self, listener.stop)
                self._cache.drop(None)  # commits before it listened were never heard of
                self._synced = listener.connects
            return self._listener

    @property
    def state(self) -> int:
        """Changes whenever a commit here or elsewhere may have changed what is read."""
        return self._state + self._cache.epoch

    @property
    def revision(self) -> int:
        """Grows with every commit seen, here or by anyone else.

        While a listener runs (someone subscribed), without asking the server.
        """
        if self._listener is None:
            self.refresh()
        return self._revision + self._heard

    @property
    def connection_state(self) -> str:
        """``"connected"``, or ``"reconnecting"`` while the listening connection is lost."""
        listener = self._listener
        return CONNECTED if listener is None else listener.state

    # -- writing ------------------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, batch: bool = False) -> Iterator[PostgresTransaction]:
        """One SQL transaction (READ COMMITTED); nested blocks join the outermost.

        A block opened directly inside a ``batch`` block is a savepoint: when it raises,
        the server rolls back to it and the batch keeps its other changes.
        """
        with self._lock:
            txn = self._txn
            if txn is not None:
                with self._joined(txn, batch, self._savepoint) as joined:
                    yield joined
                return
            conn = self._connection()
            txn = PostgresTransaction(self, self._wrote)
            self._queued = [("BEGIN", ())]  # sent with the first statement
            self._begun = False
            self._txn = txn
            self._batch = batch
            try:
                yield txn
                if txn.changed:
                    for hook in self._commit_hooks:
                        hook()
                counted = self._commit(announce=txn.changed)
            except BaseException:
                self._rollback(conn)
                raise
            finally:
                self._txn = None
                self._batch = False
                self._state += 1
            if txn.changed:
                self._announced(counted)
                self._written(txn.tables)
                self._revision += 1
                for callback in list(self._subscribers):
                    callback()

    @contextmanager
    def _savepoint(self, txn: PostgresTransaction) -> Iterator[None]:
        """A savepoint around the block: rolled back to when the block raises, else released.

        ``SAVEPOINT`` and ``RELEASE`` are sent with the next statement (no round trip of
        their own); a block that sent nothing meanwhile needs neither.
        """
        txn.savepoints += 1
        name = pgsql.Identifier(f"rw_call_{txn.savepoints}")
        begin = (pgsql.SQL("SAVEPOINT {}").format(name), ())
        at = len(self._queued)
        self._queued.append(begin)
        mark = txn.mark()
        tables = set(self._tables)
        try:
            yield
        except BaseException:
            if self._unsent(begin, at):
                del self._queued[at:]  # nothing since the savepoint reached the server
            else:
                self._queued = []  # all after the savepoint: rolled back with it
                self._back_to_savepoint(name)
            txn.back_to(mark)
            self._tables &= tables  # a table made since is gone again
            raise
        if self._unsent(begin, at):
            del self._queued[at]
        else:
            self._defer(pgsql.SQL("RELEASE SAVEPOINT {}").format(name))

    def _unsent(self, statement: object, at: int) -> bool:
        """Whether ``statement``, queued at ``at``, is still waiting to be sent."""
        queued = self._queued
        return len(queued) > at and queued[at] is statement

    def _back_to_savepoint(self, name: pgsql.Identifier) -> None:
        """Roll back to the savepoint ``name`` and drop it.

        When that fails (the connection was lost, or the savepoint never began because a
        statement before it was refused) the transaction stays aborted, and its commit is
        refused; the block's own error is the one raised.
        """
        self._defer(pgsql.SQL("ROLLBACK TO SAVEPOINT {}").format(name))
        with contextlib.suppress(RegistryError):
            self._run(pgsql.SQL("RELEASE SAVEPOINT {}").format(name))

    def _wrote(self) -> None:
        """A transaction wrote a row: what was read may have changed."""
        self._state += 1

    def _written(self, tables: set[str]) -> None:
        """Drop what this commit changed, here and in the process's other stores of it."""
        self._cache.drop(tables)
        for other in list(PostgresStore._open):
            if other is not self and other._identity == self._identity:
                other._cache.drop(tables)

    def _announced(self, counted: int | None) -> None:
        """Note the number the commit took in ``changes`` (see :meth:`_commit`).

        When it follows the one last seen, nobody else committed meanwhile: what was read
        stays valid, and the next refresh has nothing to reload.
        """
        if counted is not None and counted == self._seen + 1:
            self._seen = counted

    def _rollback(self, conn: psycopg.Connection[Any]) -> None:
        self._queued = []
        conn = self._conn or conn
        if not self._begun or conn.closed or conn.broken:
            return  # not begun: BEGIN was never sent, so there is nothing to roll back
        try:
            conn.execute("ROLLBACK")
        except psycopg.Error:
            conn.close()

    def in_transaction(self) -> bool:
        """Whether a transaction is open on this store."""
        return self._txn is not None

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` after every commit made anywhere and on connection changes.

        The listener runs from the first read or subscriber until :meth:`close`;
        :attr:`connection_state` says whether it is connected. Commits made through this
        store object are reported from the committing thread, others from the listener's
        thread.
        """
        with self._lock:
            self._subscribers.append(callback)
            self._closed = False
        self._listen()

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def _own_pid(self) -> int | None:
        conn = self._conn
        return None if conn is None or conn.closed else conn.info.backend_pid

    def _heard_of(self, changed: bool, tables: Tables) -> None:
        """The listener heard of a commit made elsewhere (``changed``) or a state change.

        ``tables``: what the commit wrote; None after (re)connecting, when commits made
        meanwhile went unheard, so everything is dropped and the cache trusted again.
        """
        listener = self._listener
        if changed:
            connects = listener.connects if listener is not None else -1
            self._cache.drop(tables)
            if tables is None:
                self._synced = connects
            self._heard += 1
        for callback in list(self._subscribers):
            callback()

    def _stop_listening(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()

    def close(self) -> None:
        """Stop listening and close the connection (a later call opens a new one).

        After closing, reads ask the server once per call whether anything changed.
        """
        self._closed = True
        self._stop_listening()
        self._cache.drop(None)
        super().close()

    def _commit(self, *, announce: bool) -> int | None:
        """COMMIT; a connection lost meanwhile leaves the outcome unknown, and says so.

        The server may have made the change durable and then lost the connection before
        its answer arrived (a restart or a terminated backend does exactly that), so the
        error must not claim that nothing was committed.

        With ``announce``, the commit is then counted in ``changes``, in the same round
        trip, so that every reader refreshes; the number it took is returned (None when
        that failed: readers see the commit with the next one counted). After the commit,
        not before: a reader that sees the new number sees the commit too, so no cache
        made before the commit outlives it. The server runs the count only once the
        COMMIT succeeded. (A process killed between the two leaves readers' caches to the
        next commit anyone makes.)
        """
        if not self._begun and self._queued == [("BEGIN", ())]:
            self._queued = []  # nothing was sent: nothing to commit
            return None
        conn = self._connection()
        if conn.info.transaction_status == pq.TransactionStatus.INERROR:
            # The server would answer COMMIT with a silent ROLLBACK.
            msg = (
                f"the PostgreSQL server {self.location} refused a statement of this change "
                "and could not go on with it; nothing was changed"
            )
            raise DatabaseError(msg)
        statements = [*self._queued, ("COMMIT", ())]
        if announce:
            statements.append(("SELECT nextval('changes')", ()))
        self._sent()
        try:
            cur = self._send(conn, statements)
            if not announce:
                return None
            row = cur.fetchone()
            return None if row is None else int(row[0])
        except psycopg.OperationalError as exc:
            reason = one_line((exc.diag.message_primary if exc.diag else None) or str(exc))
            msg = (
                f"the connection to the PostgreSQL server {self.location} was lost while the "
                f"change was being committed ({reason}); the server may or may not have "
                "applied it (all of it or none): look at the store before making it again"
            )
            raise StoreUnavailableError(msg) from None
        except psycopg.Error as exc:
            raise self._error(exc) from None

    def before_commit(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` before every commit; an exception rolls it back."""
        return self._commit_hooks.add(callback)

    # -- access the database enforces ---------------------------------------------------------

    def may_update(self, table: str, doc_id: int) -> bool:
        """Whether row ``doc_id`` passes its table's update policy for this login."""
        rule = POLICIES.get(table, {}).get("update")
        if rule is None or not self._known(table):
            return rule is not None or table not in POLICIES
        row = self._one(
            on(table, "SELECT EXISTS (SELECT 1 FROM ", f" WHERE id = %s AND ({rule}))"),
            [doc_id],
        )
        return row is not None and bool(row[0])
