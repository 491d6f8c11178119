"""The PostgreSQL store's connection, schema lookups and logins (see :mod:`.postgres`).

:class:`PostgresConnection` is the part of the store that talks to the server: it opens
(and re-opens) the connection, runs statements, turns the server's refusals into the
library's errors, finds the store's tables and version, and admits logins as users.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import errors as pgerrors
from psycopg import sql as pgsql

from registry_widget.errors import (
    ConcurrentChangeError,
    DatabaseError,
    NotFoundError,
    PermissionDeniedError,
    StoreUnavailableError,
    ValidationError,
)
from registry_widget.names import normalize_key
from registry_widget.store.postgres_schema import TABLES, notify_trigger

__all__ = ["PostgresConnection", "one_line", "redact"]

_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresConnection:
    """One connection to the store's database, as one login, used under one lock."""

    location: str
    login: str | None
    schema: str

    def __init__(self, conninfo: str) -> None:
        self.location = redact(conninfo)
        self._conninfo = conninfo
        self._lock = threading.RLock()
        self._conn: psycopg.Connection[Any] | None = None
        self._txn: Any = None  # the store's open transaction, if any
        self._tables: set[str] = set()
        # Statements whose answer nobody waits for (BEGIN, updates, history entries), sent
        # in one pipeline with the next statement that is waited for, or the COMMIT.
        self._queued: list[tuple[Any, Sequence[Any]]] = []
        self._begun = True  # the open transaction's BEGIN reached the server

    # -- the connection ------------------------------------------------------------------

    def _connection(self) -> psycopg.Connection[Any]:
        conn = self._conn
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        if self._txn is not None and self._begun:
            msg = (
                f"the connection to the PostgreSQL server {self.location} was lost during a "
                "change; the change was not committed"
            )
            raise StoreUnavailableError(msg)
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True)
        except psycopg.OperationalError as exc:
            reason = one_line(str(exc)) or type(exc).__name__
            msg = f"cannot connect to the PostgreSQL server {self.location}: {reason}"
            raise StoreUnavailableError(msg) from None
        self._conn = conn
        return conn

    def _defer(self, query: Any, params: Sequence[Any] = ()) -> None:
        """Send ``query`` with the next statement (one round trip for both); no rows back.

        Inside a transaction only: a refusal is then raised by the next statement or the
        commit, and the transaction is rolled back whole.
        """
        self._queued.append((query, params))

    def _run(self, query: Any, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement, after the deferred ones in the same round trip; its rows.

        A read outside a transaction, or the first statement of one (its BEGIN goes
        with it), that meets a lost connection runs once more on a new connection.
        """
        with self._lock:
            for attempt in (0, 1):
                conn = self._connection()
                try:
                    cur = self._send(conn, [*self._queued, (query, params)])
                    self._queued = []
                    self._begun = True
                    return cur.fetchall() if cur.description is not None else []
                except psycopg.OperationalError as exc:
                    if (self._txn is None or not self._begun) and attempt == 0 and conn.broken:
                        continue
                    self._sent()
                    raise self._error(exc) from None
                except psycopg.Error as exc:
                    self._sent()
                    raise self._error(exc) from None
            raise AssertionError  # pragma: no cover

    def _sent(self) -> None:
        """After a failed round trip: what was queued, BEGIN too, may have reached the server."""
        self._queued = []
        self._begun = True

    @staticmethod
    def _send(
        conn: psycopg.Connection[Any], statements: Sequence[tuple[Any, Sequence[Any]]]
    ) -> psycopg.Cursor[Any]:
        """Run the statements in one round trip (a pipeline); the last one's cursor."""
        if len(statements) == 1:
            ((query, params),) = statements
            return conn.execute(query, params)
        with conn.pipeline():
            for query, params in statements:
                cur = conn.execute(query, params)
        return cur

    def _one(self, query: Any, params: Sequence[Any]) -> tuple[Any, ...] | None:
        rows = self._run(query, params)
        return rows[0] if rows else None

    def _error(self, exc: psycopg.Error) -> Exception:
        """The library's error for a server's refusal."""
        reason = one_line((exc.diag.message_primary if exc.diag else None) or str(exc))
        if isinstance(
            exc,
            (pgerrors.SerializationFailure, pgerrors.DeadlockDetected, pgerrors.UniqueViolation),
        ):
            msg = (
                "the change collided with one committed at the same time by someone else "
                f"({reason}); it was not applied, and running it again will apply it to the "
                "new state"
            )
            return ConcurrentChangeError(msg)
        if isinstance(exc, pgerrors.UntranslatableCharacter):
            msg = (
                f"a PostgreSQL store cannot hold this text ({reason}): the character U+0000 "
                "(NUL) is not allowed in metadata, names or any other stored text there; "
                "nothing was changed"
            )
            return ValidationError(msg)
        if isinstance(exc, pgerrors.InsufficientPrivilege):
            msg = (
                f"the PostgreSQL login {self.login!r} may not do this in {self.location}: "
                f"{reason}. An organisation admin gives access with client.add_user(...)"
            )
            return PermissionDeniedError(msg)
        if isinstance(exc, psycopg.OperationalError):
            if self._txn is not None:
                outcome = "the change being made was not committed"
            else:
                outcome = "nothing was changed"
            msg = (
                f"the connection to the PostgreSQL server {self.location} failed ({reason}); "
                f"{outcome}"
            )
            return StoreUnavailableError(msg)
        msg = (
            f"the PostgreSQL server {self.location} refused a statement: {reason}; nothing "
            "was changed"
        )
        return DatabaseError(msg)

    def close(self) -> None:
        """Close the connection (a later call opens a new one)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- the schema -------------------------------------------------------------------------

    def _schema_version(self) -> int:
        # A query of pg_class, not to_regclass(): it sees what a migration committed while
        # this one waited for the lock (the catalog caches may not yet).
        found = self._one(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'schema_version' AND n.nspname = current_schema()",
            [],
        )
        if found is None:
            return 0
        row = self._one("SELECT max(version) FROM schema_version", [])
        return int(row[0]) if row is not None and row[0] is not None else 0

    def _table(self, table: str, *, create: bool = False) -> pgsql.Identifier:
        """The SQL name of ``table``; a table the schema lacks is made on first insert."""
        if table not in self._tables:
            if not _TABLE_NAME.fullmatch(table):
                msg = f"table names are lower-case identifiers, not {table!r}"
                raise ValueError(msg)
            if table not in TABLES and create:
                columns = (
                    "id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, doc json NOT NULL, "
                    "data jsonb GENERATED ALWAYS AS (doc::jsonb) STORED, folded jsonb"
                )
                self._run(
                    pgsql.SQL("CREATE TABLE IF NOT EXISTS {} (" + columns + ")").format(
                        pgsql.Identifier(table)
                    )
                )
                self._run(notify_trigger(table))
            if table in TABLES or create or self._exists(table):
                self._tables.add(table)
        return pgsql.Identifier(table)

    def _exists(self, table: str) -> bool:
        found = self._one("SELECT to_regclass(%s)", [table])
        return found is not None and found[0] is not None

    def _readable(self, table: str) -> bool:
        row = self._one("SELECT has_table_privilege(%s, 'SELECT')", [table])
        return row is not None and bool(row[0])

    def _known(self, table: str) -> bool:
        self._table(table)
        return table in self._tables

    # -- identity -----------------------------------------------------------------------------

    def _admit_login(self, name: str, role: str) -> None:
        """Give the login ``name`` the privileges of a user; refuse a name without a login."""
        # User names compare case-insensitively (NFC, case-folded); logins exactly. The
        # login is the one spelt as the name, else the one login of the same key.
        rows = self._run(
            "SELECT rolname FROM pg_roles WHERE rolcanlogin AND lower(rolname) = lower(%s)",
            [name],
        )
        names = [str(r[0]) for r in rows]
        same = [r for r in names if normalize_key(r) == normalize_key(name)]
        found = name if name in names else same[0] if len(same) == 1 else None
        if found is None:
            quoted = pgsql.Identifier(name).as_string(None)
            msg = (
                f"user {name!r} has no login on the PostgreSQL server of {self.location}; on "
                f"a server store every user is a database login. Create it first (as a role "
                f"that may create roles): CREATE ROLE {quoted} LOGIN PASSWORD '...'; then "
                "add the user again"
            )
            raise NotFoundError(msg).with_code("no_login", name=name)
        if found == self.login:
            return
        login = pgsql.Identifier(found)
        grant = " WITH GRANT OPTION" if role == "admin" else ""
        schema = pgsql.Identifier(self.schema)
        self._run(pgsql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, login))
        self._run(
            pgsql.SQL(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}" + grant
            ).format(schema, login)
        )
        self._run(
            pgsql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}" + grant).format(
                schema, login
            )
        )

    def blob_location(self) -> str | None:
        """The blob location recorded at creation (None: none yet)."""
        row = self._one("SELECT value FROM settings WHERE name = 'blobs'", [])
        return None if row is None else str(row[0])

    def record_blob_location(self, location: str) -> str:
        """Record where the store's blobs live, unless already recorded; the recorded one."""
        self._run(
            "INSERT INTO settings (name, value) VALUES ('blobs', %s) ON CONFLICT DO NOTHING",
            [location],
        )
        recorded = self.blob_location()
        assert recorded is not None
        return recorded


def one_line(text: str) -> str:
    """A message of libpq on one line: its lines (some indented with tabs) joined by spaces."""
    return " ".join(text.split())


def redact(conninfo: str) -> str:
    """The connection string without its password, for messages."""
    return re.sub(
        r"(://[^:/@]*:)[^@]*@", r"\1***@", re.sub(r"password=\S+", "password=***", conninfo)
    )
