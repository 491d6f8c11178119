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
"""

from __future__ import annotations

import heapq
import threading
from abc import abstractmethod
from collections.abc import Callable, Collection, Container, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from typing import Any, cast

from tinydb import TinyDB

from registry_widget.errors import NotFoundError, StoreCorruptedError
from registry_widget.filter_tree import MATCH_ALL, And, Condition, Filter, Not, Or, index_equalities
from registry_widget.names import normalize_key
from registry_widget.store.index import Bucket, HashIndex
from registry_widget.store.interface import (
    ID,
    JOINS,
    STORE_FORMAT,
    STORE_SCHEMA,
    CommitHooks,
    Doc,
    Fields,
    Join,
    Row,
    Store,
    Transaction,
)
from registry_widget.store.query import compile_query
from registry_widget.store.table import Tables, WorkingSet, WorkingSetTable

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

    def rollback(self) -> None:
        """Undo every change of this transaction, newest first, in memory."""
        store = self._store
        for change in reversed(self.changes):
            if change.op == "insert":
                store._delete(change.table, change.doc_id)
            else:
                assert change.before is not None
                current = store._docs(change.table).get(change.doc_id)
                store._put(change.table, change.doc_id, change.before, current)
        self.changes.clear()


class WorkingSetStore(Store):
    """TinyDB tables in memory plus a durability strategy.

    Reads go through :meth:`get`, :meth:`find`, :meth:`query` and their kin after
    :meth:`refresh`;
    writes go through :meth:`transaction`, which holds the store's lock (a thread lock,
    and a file lock for stores shared between processes), brings the working set up to
    date, runs the caller's changes, and either persists them all or rolls them all back.
    """

    def __init__(self) -> None:
        self._db = TinyDB(storage=WorkingSet)
        self._db.table_class = WorkingSetTable
        self._storage = cast("WorkingSet", self._db.storage)
        self._thread_lock = threading.RLock()
        self._txn: WorkingSetTransaction | None = None
        self._depth = 0
        self._revision = 0
        self._subscribers: list[Callable[[], None]] = []
        self._commit_hooks = CommitHooks()
        self._indexes: dict[str, dict[str, HashIndex]] = {}
        self._next_ids: dict[str, int] = {}
        self._reading = threading.local()
        self._state = 0
        self._fields: Fields = {}
        self._outdated = False
        """Whether the working set was read from documents of an older shape (see
        :data:`STORE_SCHEMA`), which the first commit writes anew in today's."""

    # -- reading -----------------------------------------------------------------------
    # Rows are ``(id, document)`` pairs. The document is the stored dictionary itself,
    # not a copy: callers read it and never change it (changes go through a
    # Transaction). None of these methods refresh; call :meth:`refresh` or read inside
    # :meth:`reading` first.

    def get(self, table: str, doc_id: int) -> Doc | None:
        """Document ``doc_id`` of ``table`` (the stored one: never change it), or None."""
        return self._docs(table).get(doc_id)

    def get_many(self, table: str, ids: Iterable[int]) -> list[Row]:
        """The rows of ``table`` with these ids, in the order given; missing ids are skipped."""
        docs = self._docs(table)
        return [(i, docs[i]) for i in ids if i in docs]

    def find(self, table: str, **equal: Any) -> list[Row]:
        """The rows of ``table`` whose fields equal (or, for lists, contain) the values.

        ``store.find("links", collection_id=3, index=0)``. Each field named is looked up
        in a hash index, built on first use and kept up to date by every change, so the
        cost follows the number of matches, not the size of the table. Values are
        strings, numbers, booleans or None. Rows come in insertion order.
        """
        docs = self._docs(table)
        return [(i, docs[i]) for i in self.find_ids(table, **equal)]

    def find_one(self, table: str, **equal: Any) -> Row | None:
        """The first row :meth:`find` would return, or None."""
        if len(equal) == 1:
            ((field, value),) = equal.items()
            bucket = self._index(table, field).lookup(value)
            doc_id = next(iter(bucket), None)
            if doc_id is None:
                return None
        else:
            ids = self.find_ids(table, **equal)
            if not ids:
                return None
            doc_id = ids[0]
        return doc_id, self._docs(table)[doc_id]

    def find_ids(self, table: str, **equal: Any) -> list[int]:
        """The ids of the rows :meth:`find` would return."""
        if not equal:
            msg = "find() needs at least one field=value"
            raise TypeError(msg)
        if len(equal) == 1:
            ((field, value),) = equal.items()
            return list(self._index(table, field).lookup(value))
        if len(equal) == 2:  # the common case (a number in a collection), kept short
            (f1, v1), (f2, v2) = equal.items()
            a, b = self._index(table, f1).lookup(v1), self._index(table, f2).lookup(v2)
            if len(a) > len(b):
                a, b = b, a
            return [i for i in a if i in b]
        return self._match_ids(table, list(equal.items()))

    def count(self, table: str, **equal: Any) -> int:
        """How many rows :meth:`find` would return; without fields, the size of ``table``."""
        if not equal:
            return len(self._docs(table))
        if len(equal) == 1:
            ((field, value),) = equal.items()
            return len(self._index(table, field).lookup(value))
        return len(self._match_ids(table, list(equal.items())))

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
        """The matching rows, from the hash indexes and the compiled filter, sorted and paged."""
        join = JOINS.get(table)
        if join is not None:
            return self._query_joined(table, join, filter, where, order, limit, offset)
        equal, rest = index_equalities(filter)
        terms = [*equal.items(), *(where or {}).items()]
        docs = self._docs(table)
        rows: list[Row]
        if terms:
            ids = self._match_ids(table, terms)
            if rest == MATCH_ALL:
                rows = [(i, docs[i]) for i in ids]
            else:
                test = compile_query(rest)
                rows = [(i, doc) for i in ids if test(doc := docs[i])]
        elif rest == MATCH_ALL:
            rows = list(docs.items())
        else:
            # Through TinyDB's search, whose query cache answers a repeated filter.
            found = self._db.table(table).search(compile_query(rest))
            rows = [(d.doc_id, docs[d.doc_id]) for d in found]
        return _page(rows, order, limit, offset)

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
        docs = self._docs(table)
        ids: Iterable[int] = self._match_ids(table, list(where.items())) if where else docs
        found: list[Row] = []
        if limit is not None and limit <= 0:
            return found
        join = JOINS.get(table)
        view = None
        if join is not None and any(field in join.fields for field in fields):
            view = _Joined(join, self._docs(join.table))
        for doc_id in ids:
            doc = docs[doc_id]
            seen = doc if view is None else view.over(doc)
            if any(_contains_text(seen.get(field), text) for field in fields):
                found.append((doc_id, doc))
                if limit is not None and len(found) >= limit:
                    break
        return found

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
        docs = self._docs("history")
        prefixes = None if kinds is None else tuple(f"{kind}." for kind in kinds)
        found: list[Row] = []
        skip = offset
        for doc_id in sorted(self.find_ids("history", **{field: value}), reverse=True):
            if limit is not None and len(found) >= limit:
                break
            doc = docs[doc_id]
            if registries is not None:
                reg_id = doc["registry_id"]
                if reg_id is not None and reg_id not in registries:
                    continue
            if kinds is not None and prefixes is not None:
                action = doc["action"]
                if action not in kinds and not action.startswith(prefixes):
                    continue
            if skip:
                skip -= 1
                continue
            found.append((doc_id, doc))
        return found

    def referenced_digests(self, among: Collection[str] | None = None) -> set[str]:
        """The blob digests named by the ``files`` of the ``artifacts`` documents.

        Only those in ``among``, if given. What garbage collection must keep.
        """
        used = {
            entry["digest"]
            for doc in self._docs("artifacts").values()
            for entry in doc["files"].values()
        }
        return used if among is None else used & set(among)

    def _query_joined(
        self,
        table: str,
        join: Join,
        filter: Filter,
        where: Mapping[str, Any] | None,
        order: Sequence[str],
        limit: int | None,
        offset: int,
    ) -> list[Row]:
        """:meth:`query` on a table of :data:`JOINS`: joined fields read from the other row.

        Equalities on joined fields go through the other table's indexes, and the parts
        of the filter about joined fields only test the other rows themselves; what is
        left tests each row together with its other row.
        """
        equal, rest = index_equalities(filter)
        own: list[tuple[str, Any]] = []
        other: list[tuple[str, Any]] = []
        for field, value in [*equal.items(), *(where or {}).items()]:
            if field in join.fields:
                other.append((join.fields[field], value))
            else:
                own.append((field, value))
        theirs, rest = _split_joined(rest, join)
        test = None if theirs == MATCH_ALL else compile_query(theirs)
        docs = self._docs(table)
        ids: Iterable[int]
        if other:
            ids = self._joined_ids(table, join, own, other, test)
        else:
            ids = self._match_ids(table, own) if own else docs
            if test is not None:
                others, key = self._docs(join.table), join.key
                ids = [i for i in ids if (o := others.get(docs[i][key])) is not None and test(o)]
        by_joined = any(key.removeprefix("-") in join.fields for key in order)
        if rest == MATCH_ALL and not by_joined:
            return _page([(i, docs[i]) for i in ids], order, limit, offset)
        view = _Joined(join, self._docs(join.table))
        views = [(i, view.over(docs[i])) for i in ids]
        if rest != MATCH_ALL:
            matches = compile_query(rest)
            views = [row for row in views if matches(row[1])]  # type: ignore[arg-type]
        paged = _page(views, order, limit, offset)  # type: ignore[arg-type]
        return [(i, cast("_Joined", seen).doc) for i, seen in paged]

    def _joined_ids(
        self,
        table: str,
        join: Join,
        own: list[tuple[str, Any]],
        other: list[tuple[str, Any]],
        test: Callable[[Doc], bool] | None,
    ) -> list[int]:
        """The ids of ``table`` matching ``own`` whose other row matches ``other`` and ``test``.

        Driven from whichever side the indexes say has fewer candidates.
        """
        others = self._match_ids(join.table, other)
        docs = self._docs(table)
        rows = self._docs(join.table)
        key = join.key
        if own and self._estimate(table, own) < len(others):
            wanted = set(others)
            ids = [i for i in self._match_ids(table, own) if docs[i][key] in wanted]
            if test is not None:
                ids = [i for i in ids if test(rows[docs[i][key]])]
            return ids
        if test is not None:
            others = [o for o in others if test(rows[o])]
        by_key = self._index(table, key)
        ids = sorted(i for o in others for i in by_key.lookup(o))
        for field, value in own:
            index = self._index(table, field)
            values = value if isinstance(value, (list, tuple, set, frozenset)) else (value,)
            buckets = [index.lookup(v) for v in values]
            ids = [i for i in ids if any(i in b for b in buckets)]
        return ids

    def _estimate(self, table: str, terms: list[tuple[str, Any]]) -> int:
        """The candidates of the most selective term, from the sizes of index buckets."""
        sizes = []
        for field, value in terms:
            index = self._index(table, field)
            values = value if isinstance(value, (list, tuple, set, frozenset)) else (value,)
            sizes.append(sum(len(index.lookup(v)) for v in values))
        return min(sizes)

    def _match_ids(self, table: str, terms: list[tuple[str, Any]]) -> list[int]:
        """The ids matching every ``(field, value)`` term through the hash indexes.

        A term whose value is a list, tuple or set matches any of its values. The term
        with the fewest candidates drives; the others are membership tests.
        """
        singles: list[Bucket] = []
        unions: list[list[Bucket]] = []
        for field, value in terms:
            index = self._index(table, field)
            if isinstance(value, (list, tuple, set, frozenset)):
                buckets = [b for b in map(index.lookup, value) if b]
                if len(buckets) == 1:
                    singles.append(buckets[0])
                else:
                    unions.append(buckets)  # empty: matches nothing
            else:
                singles.append(index.lookup(value))
        if unions:
            smallest = min(unions, key=lambda bs: sum(map(len, bs)))
            if not singles or sum(map(len, smallest)) < min(map(len, singles)):
                unions.remove(smallest)
                ids: Iterable[int] = sorted(set().union(*smallest))
                return [
                    i
                    for i in ids
                    if all(i in b for b in singles)
                    and all(any(i in b for b in bs) for bs in unions)
                ]
        singles.sort(key=len)
        first, rest = singles[0], singles[1:]
        if unions:
            return [
                i
                for i in first
                if all(i in b for b in rest) and all(any(i in b for b in bs) for bs in unions)
            ]
        if not rest:
            return list(first)
        if len(rest) == 1:
            (second,) = rest
            return [i for i in first if i in second]
        if len(rest) == 2:
            second, third = rest
            return [i for i in first if i in second and i in third]
        return [i for i in first if all(i in b for b in rest)]

    def refresh(self) -> None:
        """Bring the working set up to date with what other processes committed.

        Inside :meth:`reading` only the first call checks.
        """
        if self._txn is not None:
            return  # inside a transaction the working set is already current
        local = self._reading
        if getattr(local, "fresh", False) or self._unchanged():
            return
        with self._thread_lock:
            if self._txn is None:
                self._refresh_unlocked()

    def expect_fields(self, fields: Fields) -> None:
        """Refuse, as damage, documents without these fields of these types.

        The working set is checked now, and every load and replayed change from then on.

        Raises
        ------
        StoreCorruptedError
            If a document of the working set lacks a field or holds one of another type.
        """
        if fields == self._fields:
            return
        problem = self._misshapen(self._storage.tables, fields)
        if problem is not None:
            msg = f"the store {self._files()} holds {problem}; it was left untouched"
            raise StoreCorruptedError(msg)
        self._fields = fields

    def _files(self) -> str:
        """The store's files, for messages."""
        return str(getattr(self, "location", repr(self)))

    def _misshapen(self, tables: Tables, expected: Fields | None = None) -> str | None:
        """What is wrong with the first document of ``tables`` lacking an expected field."""
        expected = self._fields if expected is None else expected
        for table, fields in expected.items():
            required = fields.keys()
            for doc_id, doc in tables.get(table, {}).items():
                if not required <= doc.keys() or not all(
                    isinstance(doc[f], kinds) for f, kinds in fields.items()
                ):
                    return self._misshapen_doc(table, doc_id, doc, fields)
        return None

    def _misshapen_doc(
        self,
        table: str,
        doc_id: int,
        doc: Doc,
        fields: Mapping[str, tuple[type, ...]] | None = None,
    ) -> str | None:
        """What is wrong with ``doc`` (document ``doc_id`` of ``table``), or None."""
        if fields is None:
            fields = self._fields.get(table, {})
        for field, kinds in fields.items():
            if field not in doc:
                return f"document {doc_id} of table {table!r} without its field {field!r}"
            value = doc[field]
            if not isinstance(value, kinds):
                allowed = " or ".join(k.__name__ for k in kinds)
                return (
                    f"document {doc_id} of table {table!r} whose field {field!r} is "
                    f"{value!r}, not {allowed}"
                )
        return None

    def is_initialized(self) -> bool:
        """Whether the working set holds a registry store (its ``meta`` marker)."""
        meta = self._docs("meta").get(1)
        return meta is not None and meta.get("format") == STORE_FORMAT

    @property
    def state(self) -> int:
        """A number that changes with every change to the working set, rollbacks included.

        For caching what was derived from the working set; does not refresh.
        """
        return self._state

    @property
    def revision(self) -> int:
        """A number that grows whenever the working set changes (commit or reload)."""
        self.refresh()
        return self._revision

    # -- writing -----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[WorkingSetTransaction]:
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
                txn = WorkingSetTransaction(self)
                self._txn = txn
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

    # -- the working set -------------------------------------------------------------------

    def _docs(self, table: str) -> dict[int, Doc]:
        return self._storage.docs(table)

    def _index(self, table: str, field: str) -> HashIndex:
        by_field = self._indexes.get(table)
        if by_field is None:
            by_field = self._indexes[table] = {}
        index = by_field.get(field)
        if index is None:
            index = by_field[field] = HashIndex(field, self._docs(table))
        return index

    def _next_id(self, table: str) -> int:
        doc_id = self._next_ids.get(table)
        if doc_id is None:
            doc_id = max(self._docs(table), default=0) + 1
        self._next_ids[table] = doc_id + 1
        return doc_id

    def next_ids(self) -> dict[str, int]:
        """The id each table gives its next document, never that of a removed one."""
        return dict(self._next_ids)  # every insert and every load keeps them up to date

    def _put(
        self,
        table: str,
        doc_id: int,
        doc: Doc,
        previous: Doc | None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        """Store ``doc`` as document ``doc_id`` (replacing ``previous``), indexes included.

        ``fields``, when given, names the only fields that differ from ``previous``.
        """
        self._docs(table)[doc_id] = doc
        indexes = self._indexes.get(table)
        if indexes:
            for field, index in indexes.items():
                if previous is not None:
                    if fields is not None and field not in fields:
                        continue
                    index.discard(doc_id, previous)
                index.add(doc_id, doc)
        if doc_id >= self._next_ids.get(table, 1):
            # inserts, replayed ones included, raise the mark; removals never lower it
            self._next_ids[table] = doc_id + 1
        self._changed(table)

    def _delete(self, table: str, doc_id: int) -> None:
        previous = self._docs(table).pop(doc_id, None)
        if previous is None:
            return
        indexes = self._indexes.get(table)
        if indexes:
            for index in indexes.values():
                index.discard(doc_id, previous)
        self._changed(table)

    def _changed(self, table: str) -> None:
        self._state += 1
        t = self._db._tables.get(table)
        if t is not None:
            t.clear_cache()

    def _load(self, data: Tables, next_ids: Mapping[str, int] | None = None) -> None:
        """Replace the working set by ``data`` (tables of documents by int id).

        ``next_ids`` are the tables' high-water marks as stored (absent in stores written
        before they were kept): a table's next id is past its mark, its highest document
        and every id this store object handed out, so no id is ever given out twice.
        """
        stripped = [
            _drop_joined(name, doc) for name in JOINS for doc in data.get(name, {}).values()
        ]
        meta = data.get("meta", {}).get(1)
        schema = meta.get("schema") if isinstance(meta, dict) else None
        self._outdated = any(stripped) or (type(schema) is int and schema < STORE_SCHEMA)
        self._storage.tables = data
        # TinyDB's table objects cache query results; new table objects start with none.
        self._db._tables.clear()
        self._indexes.clear()
        marks = dict(self._next_ids)
        for name, mark in (next_ids or {}).items():
            marks[name] = max(marks.get(name, 1), mark)
        for name, docs in data.items():
            if docs:
                marks[name] = max(marks.get(name, 1), max(docs) + 1)
        self._next_ids = marks
        self._state += 1
        self._revision += 1

    def _dump(self) -> Tables:
        """The working set: tables of documents by int id (live, do not change)."""
        return self._storage.tables


def _split_joined(tree: Filter, join: Join) -> tuple[Filter, Filter]:
    """``tree`` split in two: its parts about joined fields only, and the others.

    The first are renamed as the other table names the fields; either is
    :data:`MATCH_ALL` when empty.
    """
    parts = tree.parts if isinstance(tree, And) else (tree,)
    theirs: list[Filter] = []
    ours: list[Filter] = []
    for part in parts:
        renamed = _renamed(part, join.fields)
        if renamed is None:
            ours.append(part)
        else:
            theirs.append(renamed)
    return _all_of(theirs), _all_of(ours)


def _all_of(parts: list[Filter]) -> Filter:
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _renamed(tree: Filter, fields: Mapping[str, str]) -> Filter | None:
    """``tree`` with its paths' heads renamed by ``fields``; None if one is not there."""
    if isinstance(tree, Condition):
        name = fields.get(tree.path[0]) if tree.path else None
        return None if name is None else replace(tree, path=(name, *tree.path[1:]))
    if isinstance(tree, Not):
        inner = _renamed(tree.part, fields)
        return None if inner is None else Not(inner)
    parts = [_renamed(part, fields) for part in tree.parts]
    if not parts or any(part is None for part in parts):
        return None
    renamed = tuple(part for part in parts if part is not None)
    return And(renamed) if isinstance(tree, And) else Or(renamed)


def _drop_joined(table: str, doc: Doc) -> bool:
    """Remove from ``doc`` the copies of joined fields older stores kept; whether any were."""
    join = JOINS.get(table)
    if join is None:
        return False
    found = [field for field in join.fields if field in doc]
    for field in found:
        del doc[field]
    return bool(found)


class _Joined:
    """A document as filters see it on a table of :data:`JOINS`: read-only, by field.

    A joined field reads the row the document refers to (missing when that row is);
    every other field reads the document. :meth:`over` points it at another document.
    """

    __slots__ = ("doc", "fields", "key", "others", "row")

    def __init__(self, join: Join, others: Mapping[int, Doc]) -> None:
        self.fields = join.fields
        self.key = join.key
        self.others = others
        self.doc: Doc = {}
        self.row: Doc | None = None

    def over(self, doc: Doc) -> _Joined:
        """A view of ``doc`` (a new object: views of several documents live together)."""
        view = _Joined.__new__(_Joined)
        view.fields, view.key, view.others = self.fields, self.key, self.others
        view.doc = doc
        view.row = self.others.get(doc.get(self.key))  # type: ignore[arg-type]
        return view

    def __getitem__(self, field: str) -> Any:
        name = self.fields.get(field)
        if name is None:
            return self.doc[field]
        if self.row is None:
            raise KeyError(field)
        return self.row[name]

    def get(self, field: str, default: Any = None) -> Any:
        """The field's value, or ``default`` when it has none."""
        try:
            return self[field]
        except KeyError:
            return default


def _contains_text(value: object, text: str) -> bool:
    if isinstance(value, str):
        return text in normalize_key(value)
    if isinstance(value, list):
        return any(isinstance(item, str) and text in normalize_key(item) for item in value)
    return False


def _sort_key(field: str) -> Callable[[Row], Any]:
    if field == ID:
        return lambda row: row[0]
    return lambda row: row[1][field]


def _row_key(fields: list[str]) -> Callable[[Row], Any]:
    """The sort key of rows by ``fields`` (document fields, or :data:`ID`)."""
    if len(fields) == 1:
        return _sort_key(fields[0])
    if len(fields) == 2 and fields[1] == ID and fields[0] != ID:
        first = fields[0]  # the common "by a field, then by id" needs no generator
        return lambda row: (row[1][first], row[0])
    getters = [_sort_key(field) for field in fields]
    return lambda row: tuple(get(row) for get in getters)


def _page(rows: list[Row], order: Sequence[str], limit: int | None, offset: int) -> list[Row]:
    """``rows`` sorted by ``order`` (see :meth:`Store.query`), then paged."""
    end = None if limit is None else offset + limit
    if order:
        keys = [(key.removeprefix("-"), key.startswith("-")) for key in order]
        descending = {desc for _, desc in keys}
        if len(descending) == 1:
            (reverse,) = descending
            key = _row_key([field for field, _ in keys])

            if end is not None and end < len(rows):
                pick = heapq.nlargest if reverse else heapq.nsmallest
                return pick(end, rows, key=key)[offset:]
            rows.sort(key=key, reverse=reverse)
        else:
            for field, desc in reversed(keys):  # stable sorts, least significant key first
                rows.sort(key=_sort_key(field), reverse=desc)
    if offset or end is not None:
        return rows[offset:end]
    return rows
