"""The store interface: TinyDB tables in memory, transactions, change notification.

Every implementation keeps the working set in TinyDB tables over an in-memory storage
and differs only in how committed changes become durable and how changes made by other
processes are picked up (:meth:`Store._refresh_locked`, :meth:`Store._persist`).

Documents are plain JSON values. Callers never mutate a document they read in place:
they pass new values to :meth:`Transaction.update`, which is what makes rollback exact.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from tinydb import TinyDB
from tinydb.storages import MemoryStorage
from tinydb.table import Document, Table

__all__ = ["STORE_FORMAT", "Change", "Store", "Transaction"]

STORE_FORMAT = "registry_widget"
"""The marker in the ``meta`` table that identifies a registry store."""

Doc = dict[str, Any]


@dataclass(frozen=True)
class Change:
    """One document change of a transaction.

    ``op`` is ``"insert"``, ``"update"`` or ``"remove"``; ``before`` is the document before
    the change (None for an insert), ``after`` the document after it (None for a remove).
    """

    op: str
    table: str
    doc_id: int
    before: Doc | None
    after: Doc | None


class Transaction:
    """The write half of the store: changes recorded so they can be undone or persisted."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.changes: list[Change] = []

    def insert(self, table: str, doc: Doc) -> int:
        """Insert ``doc`` into ``table`` and return its document id."""
        t = self._store.table(table)
        doc_id: int = t.insert(doc)
        self.changes.append(Change("insert", table, doc_id, None, dict(doc)))
        return doc_id

    def update(self, table: str, doc_id: int, fields: Doc) -> None:
        """Set ``fields`` on document ``doc_id`` of ``table`` (a shallow merge)."""
        t = self._store.table(table)
        found = t.get(doc_id=doc_id)
        if found is None:
            msg = f"no document {doc_id} in table {table!r}"
            raise KeyError(msg)
        before = dict(found)
        t.update(fields, doc_ids=[doc_id])
        self.changes.append(Change("update", table, doc_id, before, {**before, **fields}))

    def remove(self, table: str, doc_id: int) -> None:
        """Remove document ``doc_id`` from ``table``."""
        t = self._store.table(table)
        before = t.get(doc_id=doc_id)
        if before is None:
            msg = f"no document {doc_id} in table {table!r}"
            raise KeyError(msg)
        t.remove(doc_ids=[doc_id])
        self.changes.append(Change("remove", table, doc_id, dict(before), None))

    def rollback(self) -> None:
        """Undo every change of this transaction, newest first, in memory."""
        for change in reversed(self.changes):
            t = self._store.table(change.table)
            if change.op == "insert":
                t.remove(doc_ids=[change.doc_id])
            elif change.op == "update":
                assert change.before is not None
                # Replace the whole document so that fields added by the update go away.
                t.remove(doc_ids=[change.doc_id])
                t.insert(Document(change.before, doc_id=change.doc_id))
            else:
                assert change.before is not None
                t.insert(Document(change.before, doc_id=change.doc_id))
        self.changes.clear()


class Store(ABC):
    """TinyDB tables in memory plus a durability strategy.

    Reads go through :meth:`table` after :meth:`refresh`; writes go through
    :meth:`transaction`, which holds the store's lock (a thread lock, and a file lock for
    stores shared between processes), brings the working set up to date, runs the
    caller's changes, and either persists them all or rolls them all back.
    """

    def __init__(self) -> None:
        self._db = TinyDB(storage=MemoryStorage)
        self._thread_lock = threading.RLock()
        self._txn: Transaction | None = None
        self._depth = 0
        self._revision = 0
        self._subscribers: list[Callable[[], None]] = []

    # -- reading -----------------------------------------------------------------------

    def table(self, name: str) -> Table:
        """The TinyDB table ``name`` of the working set (does not refresh)."""
        return self._db.table(name)

    def refresh(self) -> None:
        """Bring the working set up to date with what other processes committed."""
        if self._txn is not None:
            return  # inside a transaction the working set is already current
        with self._thread_lock:
            if self._txn is None:
                self._refresh_unlocked()

    def is_initialized(self) -> bool:
        """Whether the working set holds a registry store (its ``meta`` marker)."""
        meta = self.table("meta").get(doc_id=1)
        return meta is not None and meta.get("format") == STORE_FORMAT

    @property
    def revision(self) -> int:
        """A number that grows whenever the working set changes (commit or reload)."""
        self.refresh()
        return self._revision

    # -- writing -----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Run a block of changes atomically: all are committed durably, or none.

        Nested transactions join the outermost one, which commits at its end.
        """
        with self._thread_lock:
            if self._txn is not None:
                self._depth += 1
                try:
                    yield self._txn
                finally:
                    self._depth -= 1
                return
            with self._process_lock():
                self._refresh_locked()
                txn = Transaction(self)
                self._txn = txn
                try:
                    yield txn
                    if txn.changes:
                        self._persist(txn.changes)
                except BaseException:
                    txn.rollback()
                    raise
                finally:
                    self._txn = None
            if txn.changes:
                self._revision += 1
                self._notify()

    def in_transaction(self) -> bool:
        """Whether the calling code runs inside a transaction."""
        return self._txn is not None

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` after every commit made in this process; return an unsubscriber."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def _notify(self) -> None:
        for callback in list(self._subscribers):
            callback()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources held by the store (nothing by default)."""

    # -- the durability strategy ---------------------------------------------------------

    def _process_lock(self) -> AbstractContextManager[object]:
        """The lock that serialises writers across processes (none by default)."""
        return nullcontext()

    def _refresh_unlocked(self) -> None:  # noqa: B027 - optional hook
        """Refresh without the process lock, for reads (nothing to do by default)."""

    def _refresh_locked(self) -> None:  # noqa: B027 - optional hook
        """Refresh while holding the process lock, before a transaction."""

    @abstractmethod
    def _persist(self, changes: list[Change]) -> None:
        """Make the committed ``changes`` durable; raise to abort the transaction."""

    def _load(self, data: dict[str, dict[str, Doc]]) -> None:
        """Replace the working set by ``data`` (TinyDB's on-disk layout)."""
        self._db.storage.write(data)
        # TinyDB's table objects cache query results and the next document id; new table
        # objects over the new data start with neither.
        self._db._tables.clear()
        self._revision += 1

    def _dump(self) -> dict[str, dict[str, Doc]]:
        """The working set in TinyDB's on-disk layout."""
        data = self._db.storage.read()
        return data if data is not None else {}
