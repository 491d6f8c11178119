"""The PostgreSQL store's transaction: the writes of one SQL transaction.

Inserts return their id at once; updates of rows the transaction holds locked, and
entries appended without needing their id, are sent with the next statement that needs an
answer or with the commit. Every row written carries ``folded``, the normalised keys its
text fields are searched by.
"""

from __future__ import annotations

from collections.abc import (
    Callable,
    Hashable,
    Sequence,
)
from typing import Any, NoReturn

from psycopg import errors as pgerrors
from psycopg import sql as pgsql
from psycopg.types.json import Json, Jsonb

from registry_widget.errors import (
    ConcurrentChangeError,
    NotFoundError,
)
from registry_widget.names import normalize_key
from registry_widget.permissions import name_unavailable
from registry_widget.store.interface import (
    Doc,
    Row,
    Transaction,
)
from registry_widget.store.postgres_connection import PostgresConnection

__all__ = ["PostgresTransaction", "fold", "missing", "named"]


def fold(doc: Doc) -> Doc:
    """The normalised keys of the document's text fields and lists of texts, for search."""
    out: Doc = {}
    for field, value in doc.items():
        if isinstance(value, str):
            out[field] = normalize_key(value)
        elif isinstance(value, list):
            out[field] = [normalize_key(v) for v in value if isinstance(v, str)]
    return out


def missing(table: str, doc_id: int) -> NoReturn:
    """Refuse a write to a row that is not there."""
    msg = f"no document {doc_id} in table {table!r} (it was removed, or never existed)"
    raise NotFoundError(msg)


def named(
    store: PostgresConnection, table: str, doc: Doc, query: Any, params: Sequence[Any]
) -> list[Any]:
    """Run a write of ``doc``, refusing a registry name held by a hidden registry.

    Such a refusal names neither that registry nor retries, as the domain refuses it.
    Row-level security hides such a registry from the domain's check, and its unique
    key then refuses the row; a taken name the login can see is a concurrent change,
    which the domain runs again to refuse with its usual words.
    """
    if table != "registries":
        return store._run(query, params)
    store._run("SAVEPOINT rw_name")
    try:
        rows = store._run(query, params)
    except ConcurrentChangeError as exc:
        if not isinstance(exc.__context__, pgerrors.UniqueViolation):
            raise
        store._run("ROLLBACK TO SAVEPOINT rw_name")
        if store._one("SELECT 1 FROM registries WHERE key = %s", [doc.get("key")]) is None:
            raise name_unavailable(str(doc.get("name"))) from None
        raise
    store._run("RELEASE SAVEPOINT rw_name")
    return rows


class PostgresTransaction(Transaction):
    """The changes of one SQL transaction; rows it locked are remembered as they stand."""

    def __init__(self, store: PostgresConnection, wrote: Callable[[], None]) -> None:
        self._store = store
        self._wrote = wrote
        self.locked: dict[tuple[str, int], Doc] = {}
        self.changed = False
        self.tables: set[str] = set()
        # The first row of a locking read, by read, until the transaction writes its table:
        # the row stays locked, and no other row can come before it.
        self.firsts: dict[tuple[Hashable, ...], list[Row]] = {}
        self.savepoints = 0  # savepoints begun, for their names

    def mark(self) -> tuple[bool, frozenset[str]]:
        """What :meth:`back_to` restores: whether it wrote, and which tables."""
        return self.changed, frozenset(self.tables)

    def back_to(self, mark: tuple[bool, frozenset[str]]) -> None:
        """Forget what the transaction holds since ``mark``, after a rollback to a savepoint.

        Rows locked or written since are unlocked or undone; rather than track which, the
        rows remembered are all forgotten (the next read asks the server again).
        """
        self.changed, tables = mark
        self.tables = set(tables)
        self.locked.clear()
        self.firsts.clear()
        self._wrote()

    def insert(self, table: str, doc: Doc) -> int:
        """Insert ``doc`` and return its id (an identity: never reused)."""
        store = self._store
        name = store._table(table, create=True)
        if table == "users":
            store._admit_login(str(doc["name"]), str(doc.get("role")))
        ((doc_id,),) = named(
            store,
            table,
            doc,
            pgsql.SQL("INSERT INTO {} (doc, folded) VALUES (%s, %s) RETURNING id").format(name),
            [Json(doc), Jsonb(fold(doc))],
        )
        self.locked[(table, doc_id)] = dict(doc)
        self._touch(table)
        return int(doc_id)

    def update(self, table: str, doc_id: int, fields: Doc) -> None:
        """Set ``fields`` on the locked row (a shallow merge on its current document)."""
        store = self._store
        name = store._table(table)
        before = self.locked.get((table, doc_id))
        if before is None:
            found = store._one(
                pgsql.SQL("SELECT doc FROM {} WHERE id = %s FOR UPDATE").format(name), [doc_id]
            )
            if found is None:
                missing(table, doc_id)
            before = found[0]
        after = {**before, **fields}
        query = pgsql.SQL("UPDATE {} SET doc = %s, folded = %s WHERE id = %s").format(name)
        params = [Json(after), Jsonb(fold(after)), doc_id]
        if table == "registries" and "key" in fields:
            named(store, table, after, query, params)
        else:  # the row is locked: nothing can make it fail but a policy, seen at commit
            store._defer(query, params)
        self.locked[(table, doc_id)] = after
        self._touch(table)

    def append(self, table: str, doc: Doc) -> None:
        """Insert ``doc``, sent with the next statement or the commit (its id is not needed)."""
        store = self._store
        name = store._table(table, create=True)
        store._defer(
            pgsql.SQL("INSERT INTO {} (doc, folded) VALUES (%s, %s)").format(name),
            [Json(doc), Jsonb(fold(doc))],
        )
        self._touch(table)

    def remove(self, table: str, doc_id: int) -> None:
        """Remove the row."""
        store = self._store
        found = store._one(
            pgsql.SQL("DELETE FROM {} WHERE id = %s RETURNING id").format(store._table(table)),
            [doc_id],
        )
        if found is None:
            missing(table, doc_id)
        self.locked.pop((table, doc_id), None)
        self._touch(table)

    def _touch(self, table: str) -> None:
        self.changed = True
        self.tables.add(table)
        self.firsts = {k: v for k, v in self.firsts.items() if k[0] != table}
        self._wrote()
