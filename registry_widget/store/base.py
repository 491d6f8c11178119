"""The working-set stores: the store interface over TinyDB tables in memory.

The interface is :class:`~registry_widget.store.interface.Store`. The implementations
here keep the working set in TinyDB tables over an in-memory storage
(:class:`~registry_widget.store.table.WorkingSet`), with hash indexes on the fields
looked up, and differ only in how committed changes become durable and how changes made
by other processes are picked up (:meth:`WorkingSetStore._refresh_locked`,
:meth:`WorkingSetStore._persist`).

Documents are plain JSON values. Callers never mutate a document they read in place:
they pass new values to :meth:`Transaction.update`, which is what makes rollback exact.
Every change costs time in proportion to the documents it touches, never to the size of
the store: the document dictionaries are changed in place, the hash indexes
(:meth:`Store.find`) are updated for the changed documents only, and a rollback undoes
exactly the recorded changes.

The working set and its indexes are :class:`~registry_widget.store.indexed.IndexedTables`,
the queries over it :class:`~registry_widget.store.reading.WorkingSetReads`; this module
adds transactions, the store's locks, refreshing and the durability strategy.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass

from registry_widget.errors import NotFoundError
from registry_widget.store.interface import CommitHooks, Doc, Reading, Transaction
from registry_widget.store.reading import WorkingSetReads

__all__ = ["Change", "WorkingSetStore", "WorkingSetTransaction"]


@dataclass(frozen=True)
class Change:
    """One document change of a transaction.

    ``op`` is ``"insert"``, ``"update"`` or ``"remove"``; ``before`` is the document before
    the change (None for an insert), ``after`` the document after it (None for a remove);
    ``fields`` are the fields an update set (None for inserts and removes).
    """

    op: str
    table: str
    doc_id: int
    before: Doc | None
    after: Doc | None
    fields: Doc | None = None


class WorkingSetTransaction(Transaction):
    """The write half of the store: changes recorded so they can be undone or persisted."""

    def __init__(self, store: WorkingSetStore) -> None:
        self._store = store
        self.changes: list[Change] = []

    def insert(self, table: str, doc: Doc) -> int:
        """Insert ``doc`` into ``table`` and return its document id."""
        store = self._store
        doc_id = store._next_id(table)
        new = dict(doc)
        store._put(table, doc_id, new, None)
        self.changes.append(Change("insert", table, doc_id, None, new))
        return doc_id

    def update(self, table: str, doc_id: int, fields: Doc) -> None:
        """Set ``fields`` on document ``doc_id`` of ``table`` (a shallow merge)."""
        store = self._store
        before = store._docs(table).get(doc_id)
        if before is None:
            msg = f"no document {doc_id} in table {table!r} (it was removed, or never existed)"
            raise NotFoundError(msg)
        after = {**before, **fields}
        store._put(table, doc_id, after, before, fields)
        self.changes.append(Change("update", table, doc_id, before, after, dict(fields)))

    def remove(self, table: str, doc_id: int) -> None:
        """Remove document ``doc_id`` from ``table``."""
        store = self._store
        before = store._docs(table).get(doc_id)
        if before is None:
            msg = f"no document {doc_id} in table {table!r} (it was removed, or never existed)"
            raise NotFoundError(msg)
        store._delete(table, doc_id)
        self.changes.append(Change("remove", table, doc_id, before, None))

    def rollback(self, mark: int = 0) -> None:
        """Undo the changes after the first ``mark`` (all by default), newest first, in memory.

        The indexes and the results of filters' tests follow, as for any change.
        """
        store = self._store
        changes = self.changes
        for change in reversed(changes[mark:]):
            if change.op == "insert":
                store._delete(change.table, change.doc_id)
            else:
                assert change.before is not None
                current = store._docs(change.table).get(change.doc_id)
                store._put(change.table, change.doc_id, change.before, current)
        del changes[mark:]


@contextmanager
def _undone_alone(txn: WorkingSetTransaction) -> Iterator[None]:
    """Undo the changes the block makes, and only those, when it raises."""
    mark = len(txn.changes)
    try:
        yield
    except BaseException:
        txn.rollback(mark)
        raise


class WorkingSetStore(WorkingSetReads):
    """TinyDB tables in memory plus a durability strategy.

    Reads go through :meth:`get`, :meth:`find`, :meth:`query` and their kin after
    :meth:`refresh`;
    writes go through :meth:`transaction`, which holds the store's lock (a thread lock,
    and a file lock for stores shared between processes), brings the working set up to
    date, runs the caller's changes, and either persists them all or rolls them all back.
    """

    def __init__(self) -> None:
        super().__init__()
        self._thread_lock = threading.RLock()
        self._txn: WorkingSetTransaction | None = None
        self._subscribers: list[Callable[[], None]] = []
        self._commit_hooks = CommitHooks()
        self._reading = Reading()

    def refresh(self) -> None:
        """Bring the working set up to date with what other processes committed.

        Inside :meth:`reading` only the first call checks.
        """
        if self._txn is not None:
            return  # inside a transaction the working set is already current
        local = self._reading
        if local.fresh or self._unchanged():
            return
        with self._thread_lock:
            if self._txn is None:
                self._refresh_unlocked()

    @property
    def revision(self) -> int:
        """A number that grows whenever the working set changes (commit or reload)."""
        self.refresh()
        return self._revision

    # -- writing -----------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, batch: bool = False) -> Iterator[WorkingSetTransaction]:
        """Run a block of changes atomically: all are committed durably, or none.

        Nested transactions join the outermost one, which commits at its end. A block
        opened directly inside a ``batch`` block is a savepoint: when it raises, its own
        changes are undone and the batch keeps the others.
        """
        with self._thread_lock:
            txn = self._txn
            if txn is not None:
                with self._joined(txn, batch, _undone_alone) as joined:
                    yield joined
                return
            with self._process_lock():
                self._refresh_locked()
                txn = WorkingSetTransaction(self)
                self._txn = txn
                self._batch = batch
                try:
                    yield txn
                    if txn.changes:
                        for hook in self._commit_hooks:
                            hook()
                        self._persist(txn.changes)
                except BaseException:
                    txn.rollback()
                    raise
                finally:
                    self._txn = None
                    self._batch = False
                if txn.changes:
                    self._after_commit()
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

    def before_commit(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` before every commit (see :meth:`Store.before_commit`)."""
        return self._commit_hooks.add(callback)

    def _notify(self) -> None:
        for callback in list(self._subscribers):
            callback()

    # -- the durability strategy ---------------------------------------------------------

    def _process_lock(self) -> AbstractContextManager[object]:
        """The lock that serialises writers across processes (none by default)."""
        return nullcontext()

    def _unchanged(self) -> bool:
        """A check without locks that nothing changed since the last refresh (False: unsure)."""
        return False

    def _refresh_unlocked(self) -> None:
        """Refresh without the process lock, for reads (nothing to do by default)."""

    def _refresh_locked(self) -> None:
        """Refresh while holding the process lock, before a transaction."""

    @abstractmethod
    def _persist(self, changes: list[Change]) -> None:
        """Make the committed ``changes`` durable; raise to abort the transaction."""

    def _after_commit(self) -> None:
        """Upkeep after a durable commit, still under the process lock (nothing by default).

        The commit stands whatever happens here: it must not raise for a failure that a
        later commit can make good (such as folding a journal).
        """
