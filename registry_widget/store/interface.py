"""The store interface: documents by id in named tables, transactions, change notification.

The interface speaks plain dictionaries and filter trees, so that a database can answer
it: rows are ``(id, document)`` pairs; lookups go by id (:meth:`Store.get`,
:meth:`Store.get_many`) or by equality on indexed fields (:meth:`Store.find`,
:meth:`Store.count`); :meth:`Store.query` takes a validated filter
(:func:`registry_widget.filters.parse_filter`), which each backend compiles into its own
query language, and sorts and pages in the store; :meth:`Store.search`,
:meth:`Store.history` and :meth:`Store.referenced_digests` answer the text search, the
history pages and garbage collection. Writes go through :meth:`Store.transaction`.

Two families implement it: the TinyDB working set in memory
(:class:`~registry_widget.store.base.WorkingSetStore`: the memory and file stores) and the
PostgreSQL server store (:mod:`registry_widget.store.postgres`), which answers every call
with SQL and keeps no replica. Documents are plain JSON values; callers never mutate a
document they read: they pass new values to :meth:`Transaction.update`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import (
    Callable,
    Collection,
    Container,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from registry_widget.filter_tree import MATCH_ALL, Filter

__all__ = [
    "ID",
    "JOINS",
    "STORE_FORMAT",
    "STORE_SCHEMA",
    "CommitHooks",
    "Doc",
    "Fields",
    "Join",
    "Reading",
    "ReadingBlock",
    "Row",
    "Store",
    "Transaction",
]

STORE_FORMAT = "registry_widget"
"""The marker in the ``meta`` table that identifies a registry store."""
STORE_SCHEMA = 2
"""The shape of the documents a store writes, kept as ``schema`` in its ``meta`` marker.

1: links held copies of their artifact version's fields (see :data:`JOINS`); 2: they
refer to it by ``artifact_id`` only.
"""

Doc = dict[str, Any]
Row = tuple[int, Doc]
"""A document with its id: ``(id, document)``. Never change the document."""
ID = "id"
"""The sort key of :meth:`Store.query` naming the row's id (no document has this field)."""
Fields = Mapping[str, Mapping[str, tuple[type, ...]]]
"""The fields every document of a table must hold, by table, with the types allowed."""


@dataclass(frozen=True)
class Join:
    """Fields a table's rows read from the row of another table they refer to.

    ``key`` is the field holding the other row's id, ``table`` the other table, and
    ``fields`` maps each field as filters, sort keys and searches name it on this table
    to the other row's field. Those fields are not stored on this table's documents.
    """

    key: str
    table: str
    fields: Mapping[str, str]


JOINS: Mapping[str, Join] = {
    "links": Join(
        "artifact_id",
        "artifacts",
        {
            "artifact_name": "name",
            "artifact_index": "index",
            "type": "type",
            "tags": "tags",
            "description": "description",
            "metadata": "metadata",
        },
    ),
}
"""The tables whose :meth:`Store.query` and :meth:`Store.search` reach into another's rows.

A link's filters, sort keys and searches on ``type``, ``tags``, ``metadata``… are answered
from its artifact version's row; the documents the store returns are the link's own.
"""


class Transaction(ABC):
    """The write half of the store, valid inside :meth:`Store.transaction`."""

    @abstractmethod
    def insert(self, table: str, doc: Doc) -> int:
        """Insert ``doc`` into ``table`` and return its document id (never one reused)."""

    @abstractmethod
    def update(self, table: str, doc_id: int, fields: Doc) -> None:
        """Set ``fields`` on document ``doc_id`` of ``table`` (a shallow merge).

        Raises
        ------
        NotFoundError
            If there is no such document.
        """

    def append(self, table: str, doc: Doc) -> None:
        """Insert ``doc`` into ``table`` when its id is not needed (a history entry).

        A store may send it with the commit rather than at once.
        """
        self.insert(table, doc)

    @abstractmethod
    def remove(self, table: str, doc_id: int) -> None:
        """Remove document ``doc_id`` from ``table``.

        Raises
        ------
        NotFoundError
            If there is no such document.
        """


class Reading(threading.local):
    """What one thread is doing with a store.

    ``fresh`` while a :meth:`Store.reading` block holds what was seen as current, so that
    :meth:`Store.refresh` asks nothing meanwhile.
    """

    fresh = False  # a class default: a thread that never set it reads False, not an error


class ReadingBlock:
    """One :meth:`Store.reading` block (a class: every handle's read enters one)."""

    __slots__ = ("_opened", "_store")

    def __init__(self, store: Store) -> None:
        self._store = store
        self._opened = False

    def __enter__(self) -> None:
        store = self._store
        local = store._reading
        if not local.fresh:  # the outermost block of this thread checks; inner ones join
            store.refresh()
            local.fresh = self._opened = True

    def __exit__(self, *exc: object) -> None:
        if self._opened:
            self._store._reading.fresh = False


TxnT = TypeVar("TxnT", bound=Transaction)
"""A store's own kind of transaction."""


class Store(ABC):
    """Documents by id in named tables; what the domain reads and writes through.

    Reads (:meth:`get`, :meth:`find`, :meth:`query`…) answer from what the store last
    saw: call :meth:`refresh`, or read inside :meth:`reading`, to see what other processes
    committed. Writes go through :meth:`transaction`.
    """

    login: str | None = None
    """The database login the store acts as, for stores where it is the identity (a
    server store); None where the caller names its user."""

    @property
    def identity(self) -> Hashable:
        """What makes two store objects one store: by default the object itself.

        Clients of a server store connected as different logins hold different store
        objects of the same store.
        """
        return id(self)

    # -- reading -----------------------------------------------------------------------

    @abstractmethod
    def get(self, table: str, doc_id: int) -> Doc | None:
        """Document ``doc_id`` of ``table`` (never change it), or None."""

    @abstractmethod
    def get_many(self, table: str, ids: Iterable[int]) -> list[Row]:
        """The rows of ``table`` with these ids, in the order given; missing ids are skipped."""

    def find(self, table: str, **equal: Any) -> list[Row]:
        """The rows of ``table`` whose fields equal (or, for lists, contain) the values.

        ``store.find("links", collection_id=3, index=0)``. Values are strings, numbers,
        booleans or None. Rows come in insertion (id) order.
        """
        return self.get_many(table, self.find_ids(table, **equal))

    def find_one(self, table: str, **equal: Any) -> Row | None:
        """The first row :meth:`find` would return, or None."""
        rows = self.find(table, **equal)
        return rows[0] if rows else None

    @abstractmethod
    def find_ids(self, table: str, **equal: Any) -> list[int]:
        """The ids of the rows :meth:`find` would return."""

    @abstractmethod
    def count(self, table: str, **equal: Any) -> int:
        """How many rows :meth:`find` would return; without fields, the size of ``table``."""

    @abstractmethod
    def query(
        self,
        table: str,
        filter: Filter = MATCH_ALL,
        *,
        where: Mapping[str, Any] | None = None,
        order: Sequence[str] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Row]:
        """The rows of ``table`` matching ``filter`` and ``where``, sorted and paged.

        Parameters
        ----------
        table
            The table's name.
        filter
            A validated filter (:func:`registry_widget.filters.parse_filter`); the store
            compiles it into its own query language. On a table of :data:`JOINS`, paths
            starting with a joined field are answered from the row referred to.
        where
            Equalities on indexed fields, all of which must hold, as for :meth:`find`;
            a list, tuple or set of values means "any of them" (``registry_id=[1, 3]``).
        order
            Sort keys, each a document field or ``"id"`` (the row's id), prefixed with
            ``-`` for descending: ``("-created_at", "-id")``. Without keys the rows come
            in the order of the store. Equal keys keep id order.
        limit, offset
            The page: at most ``limit`` rows (None: all) after skipping ``offset``.
        """

    @abstractmethod
    def search(
        self,
        table: str,
        text: str,
        fields: Sequence[str],
        *,
        where: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> list[Row]:
        """Rows of ``table`` where one of ``fields`` contains ``text``, in id order.

        A field matches when its value, or an element of its list value, is a string
        whose normalised key (:func:`registry_widget.names.normalize_key`: case-folded,
        NFC) contains ``text``, which must itself be a normalised key. ``where`` narrows
        the rows as for :meth:`query`; at most ``limit`` rows are returned (None: all).
        """

    @abstractmethod
    def history(
        self,
        field: str,
        value: int,
        *,
        kinds: Sequence[str] | None = None,
        registries: Container[int] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Row]:
        """Rows of the ``history`` table whose ``field`` is ``value``, newest first.

        ``kinds`` keeps only entries whose ``action`` is one of them or starts with one
        of them and a dot (``"alias"`` keeps ``"alias.set"``). ``registries``, when given,
        keeps only entries about no registry or about one of these. Paged by ``limit``
        (None: all) and ``offset``.
        """

    @abstractmethod
    def referenced_digests(self, among: Collection[str] | None = None) -> set[str]:
        """The blob digests named by the ``files`` of the ``artifacts`` documents.

        Only those in ``among``, if given. What garbage collection must keep.
        """

    @abstractmethod
    def refresh(self) -> None:
        """Bring what the store answers up to date with what others committed."""

    _reading: Reading
    """Per thread, whether a :meth:`reading` block holds what was seen as current."""

    def reading(self) -> AbstractContextManager[None]:
        """Refresh once, then treat what was seen as current until the block ends.

        Many lookups that make up one answer (a path resolved, a page of versions) then
        cost one freshness check, not one each. Changes committed elsewhere meanwhile are
        seen by the next block.
        """
        return ReadingBlock(self)

    @abstractmethod
    def expect_fields(self, fields: Fields) -> None:
        """Refuse, as damage, documents without these fields of these types.

        Raises
        ------
        StoreCorruptedError
            If a stored document lacks a field or holds one of another type.
        """

    @abstractmethod
    def is_initialized(self) -> bool:
        """Whether the store holds a registry store (its ``meta`` marker)."""

    @property
    @abstractmethod
    def state(self) -> int:
        """A number that changes whenever what the store answers may have changed.

        For caching what was derived from the store; does not refresh.
        """

    @property
    @abstractmethod
    def revision(self) -> int:
        """A number that grows whenever the store changes (a commit here or elsewhere)."""

    # -- writing -----------------------------------------------------------------------

    @abstractmethod
    def transaction(self, *, batch: bool = False) -> AbstractContextManager[Transaction]:
        """Run a block of changes atomically: all are committed durably, or none.

        Nested transactions join the outermost one, which commits at its end. A
        ``batch`` block groups calls, each a block of its own: a block opened directly
        inside a batch is a savepoint, whose changes are undone alone when it raises (a
        refused call changes nothing; the batch keeps its other changes). Other nested
        blocks have no savepoint: what they raise goes up to the call. A server
        store may refuse a commit that collided with a concurrent one with
        :class:`~registry_widget.errors.ConcurrentChangeError`; the block is then to be run
        again (see :func:`registry_widget.domain.retry.retried`).
        """

    _batch = False
    """Whether the innermost open block is a ``batch`` block (see :meth:`_joined`)."""

    @contextmanager
    def _joined(
        self,
        txn: TxnT,
        batch: bool,
        savepoint: Callable[[TxnT], AbstractContextManager[object]],
    ) -> Iterator[TxnT]:
        """A block opened while the transaction ``txn`` is open: it joins ``txn``.

        A block of a call joins with nothing to undo alone; what it raises goes up to the
        call. A block opened directly inside a ``batch`` block (a call of the batch) runs
        inside ``savepoint(txn)``, which undoes that block's changes alone when it raises.
        """
        if not (self._batch or batch):
            yield txn
            return
        outer, self._batch = self._batch, batch
        try:
            if outer:
                with savepoint(txn):
                    yield txn
            else:
                yield txn
        finally:
            self._batch = outer

    @abstractmethod
    def in_transaction(self) -> bool:
        """Whether the calling code runs inside a transaction."""

    @abstractmethod
    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` after every commit made in this process; return an unsubscriber.

        A server store also calls it, from another thread, after commits made elsewhere
        and when :attr:`connection_state` changes.
        """

    @property
    def connection_state(self) -> str:
        """``"connected"``, or ``"reconnecting"`` while a server store lost its server.

        While reconnecting, a server store cannot hear of changes made elsewhere; a local
        store is always connected.
        """
        return "connected"

    @abstractmethod
    def before_commit(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` before every transaction's changes are made durable.

        For what the changes depend on, such as blob bytes that must be on disk before a
        document refers to them; an exception aborts (rolls back) the transaction. A
        callback given several times is called once. Returns a function that takes this
        registration back (the callback stays while other registrations of it do).
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources held by the store (nothing by default)."""

    def checkpoint(self) -> None:  # noqa: B027 - optional hook
        """Write every committed change into the store's main file (nothing by default)."""

    def may_update(self, table: str, doc_id: int) -> bool:
        """Whether the store's own access rules let this login change row ``doc_id``.

        A server store enforces access itself, over rows a user may not see, which the
        domain's checks cannot count; stores without rules of their own answer True.
        """
        return True

    def blob_location(self) -> str | None:
        """Where the store's blobs live, as recorded in the store (None: not recorded)."""
        return None

    def record_blob_location(self, location: str) -> str:
        """Record where the store's blobs live unless a location is; return the recorded one.

        Stores whose blobs live beside them record nothing.
        """
        return location


class CommitHooks:
    """The callbacks a store runs before each commit, counted per registration."""

    def __init__(self) -> None:
        self._users: dict[Callable[[], None], int] = {}

    def __iter__(self) -> Iterator[Callable[[], None]]:
        return iter(list(self._users))

    def add(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Register ``callback`` once more; return what takes this registration back."""
        self._users[callback] = self._users.get(callback, 0) + 1
        taken_back = False

        def take_back() -> None:
            nonlocal taken_back
            if taken_back:
                return
            taken_back = True
            left = self._users.get(callback, 0) - 1
            if left > 0:
                self._users[callback] = left
            else:
                self._users.pop(callback, None)

        return take_back
