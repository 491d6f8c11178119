"""The working set: TinyDB tables in memory, their hash indexes and the lookups they answer.

:class:`IndexedTables` is the lower half of the working-set stores
(:class:`~registry_widget.store.base.WorkingSetStore`): the tables of documents by id
(:class:`~registry_widget.store.table.WorkingSet`), a hash index per table and field
looked up, built on first use and updated for the changed documents only, each table's
next document id, the lookups by equality the indexes answer (:meth:`Store.find` and its
kin), the results of filters' tests per document (:meth:`IndexedTables._passing`), the
check of the documents' shape, and the loading of a whole working set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from tinydb import TinyDB

from registry_widget.errors import StoreCorruptedError
from registry_widget.store.index import Bucket, HashIndex, build_indexes
from registry_widget.store.interface import (
    JOINS,
    STORE_FORMAT,
    STORE_SCHEMA,
    Doc,
    Fields,
    Row,
    Store,
)
from registry_widget.store.joined import drop_joined
from registry_widget.store.packed import INDEXED_TOGETHER, PackedDocs, reader
from registry_widget.store.table import Docs, Tables, WorkingSet, WorkingSetTable, held_as

__all__ = ["IndexedTables"]

TESTS_KEPT = 30
"""Filters per table whose results per document are kept (the oldest is dropped)."""


class IndexedTables(Store):
    """The working set of a store: TinyDB tables in memory with hash indexes on them."""

    def __init__(self) -> None:
        self._db = TinyDB(storage=WorkingSet)
        self._db.table_class = WorkingSetTable
        self._storage = cast("WorkingSet", self._db.storage)
        self._revision = 0
        self._indexes: dict[str, dict[str, HashIndex]] = {}
        self._next_ids: dict[str, int] = {}
        self._state = 0
        self._fields: Fields = {}
        self._outdated = False
        """Whether the working set was read from documents of an older shape (see
        :data:`STORE_SCHEMA`), which the first commit writes anew in today's."""
        self._tested: dict[str, dict[Any, dict[int, bool]]] = {}
        """Per table and test, whether each document tested passed (see :meth:`_passing`)."""

    # -- reading -----------------------------------------------------------------------
    # Rows are ``(id, document)`` pairs. The document is the stored dictionary itself
    # (on the packed tables, one decoded from the stored text and possibly handed out
    # again): callers read it and never change it (changes go through a Transaction).
    # None of these methods refresh; call :meth:`refresh` or read inside :meth:`reading`
    # first.

    def get(self, table: str, doc_id: int) -> Doc | None:
        """Document ``doc_id`` of ``table`` (the stored one: never change it), or None."""
        return self._docs(table).get(doc_id)

    def get_many(self, table: str, ids: Iterable[int]) -> list[Row]:
        """The rows of ``table`` with these ids, in the order given; missing ids are skipped."""
        get = self._docs(table).get  # one read per id (a big table decodes on reads)
        return [(i, doc) for i in ids if (doc := get(i)) is not None]

    def find(self, table: str, **equal: Any) -> list[Row]:
        """The rows of ``table`` whose fields equal (or, for lists, contain) the values.

        ``store.find("links", collection_id=3, index=0)``. Each field named is looked up
        in a hash index, built on first use and kept up to date by every change, so the
        cost follows the number of matches, not the size of the table. Values are
        strings, numbers, booleans or None. Rows come in insertion order.
        """
        read = reader(self._docs(table))
        return [(i, read(i)) for i in self.find_ids(table, **equal)]

    def find_one(self, table: str, **equal: Any) -> Row | None:
        """The first row :meth:`find` would return, or None."""
        if len(equal) == 1:
            ((field, value),) = equal.items()
            doc_id = self._index(table, field).first(value)
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
            docs = tables.get(table, {})
            if isinstance(docs, PackedDocs) and docs.fits(fields):
                continue  # every shape its documents have had passes: no need to read them
            required = fields.keys()
            for doc_id, doc in docs.items():
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

    # -- the working set -------------------------------------------------------------------

    def _docs(self, table: str) -> Docs:
        docs = self._storage.tables.get(table)  # the hot path of every read, one call less
        return self._storage.docs(table) if docs is None else docs

    def _passing(self, table: str, test: Callable[[Doc], bool], ids: Iterable[int]) -> list[int]:
        """The ids among ``ids`` whose document of ``table`` passes ``test``, in order.

        What each document gave is kept per test (a compiled filter, the same for equal
        filters) until the document changes, so a repeated filter reads only the
        documents changed since: the big tables decode a document on every read.
        """
        read = reader(self._docs(table))
        if not getattr(test, "is_cacheable", lambda: False)():
            return [i for i in ids if test(read(i))]
        state = self._state
        memos = self._tested.setdefault(table, {})
        memo = memos.pop(test, None)  # put back last: the most recently used
        if memo is None:
            memo = {}
            if len(memos) >= TESTS_KEPT:
                del memos[next(iter(memos))]
        memos[test] = memo
        passed = []
        for i in ids:
            ok = memo.get(i)
            if ok is None:
                ok = memo[i] = bool(test(read(i)))
            if ok:
                passed.append(i)
        if self._state != state:  # changed meanwhile (another thread): results may be stale
            memos.pop(test, None)
        return passed

    def _forget_tests(self, table: str, doc_id: int) -> None:
        """Drop what tests gave for document ``doc_id`` (after the working set's state moved)."""
        memos = self._tested.get(table)
        if memos:
            for memo in memos.values():
                memo.pop(doc_id, None)

    def _index(self, table: str, field: str) -> HashIndex:
        by_field = self._indexes.get(table)
        if by_field is None:
            by_field = self._indexes[table] = {}
        index = by_field.get(field)
        if index is None:
            docs = self._docs(table)
            fields = [field]
            if type(docs) is PackedDocs:  # one decoding pass builds the usual companions too
                together = INDEXED_TOGETHER.get(table, ())
                fields += [f for f in together if f != field and f not in by_field]
            for built in build_indexes(fields, docs):
                by_field[built.field] = built
            index = by_field[field]
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
        self._forget_tests(table, doc_id)

    def _delete(self, table: str, doc_id: int) -> None:
        previous = self._docs(table).pop(doc_id, None)
        if previous is None:
            return
        indexes = self._indexes.get(table)
        if indexes:
            for index in indexes.values():
                index.discard(doc_id, previous)
        self._changed(table)
        self._forget_tests(table, doc_id)

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
        data = {name: held_as(name, docs) for name, docs in data.items()}
        stripped = False
        for name, join in JOINS.items():
            docs = data.get(name)
            if not docs or (
                isinstance(docs, PackedDocs)
                and docs.shapes is not None
                and not any(field in shape for shape in docs.shapes for field in join.fields)
            ):
                continue  # no document has had a copied field
            for doc_id, doc in list(docs.items()):
                if drop_joined(name, doc):
                    docs[doc_id] = doc  # a packed table holds a decoded copy: store it back
                    stripped = True
        meta = data.get("meta", {}).get(1)
        schema = meta.get("schema") if isinstance(meta, dict) else None
        self._outdated = stripped or (type(schema) is int and schema < STORE_SCHEMA)
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
        self._tested.clear()

    def _dump(self) -> Tables:
        """The working set: tables of documents by int id (live, do not change)."""
        return self._storage.tables
