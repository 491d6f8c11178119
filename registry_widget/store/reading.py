"""Queries over the working set: filters, text search, history, and the joined tables.

:class:`WorkingSetReads` answers :meth:`Store.query`, :meth:`Store.search` and
:meth:`Store.history` from the hash indexes of
:class:`~registry_widget.store.indexed.IndexedTables` and the filters compiled to TinyDB
queries; on a table of :data:`~registry_widget.store.interface.JOINS` it reads the joined
fields from the other row (:mod:`~registry_widget.store.joined`). Rows are sorted and
paged here too.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Container, Iterable, Mapping, Sequence
from typing import Any, cast

from registry_widget.filter_tree import MATCH_ALL, Filter, index_equalities
from registry_widget.names import normalize_key
from registry_widget.store.indexed import IndexedTables
from registry_widget.store.interface import ID, JOINS, Doc, Join, Row
from registry_widget.store.joined import JoinedView, split_joined
from registry_widget.store.packed import reader
from registry_widget.store.query import compile_query

__all__ = ["WorkingSetReads"]


class WorkingSetReads(IndexedTables):
    """The queries of the working-set stores, over the indexed tables.

    As for the lookups, rows are ``(id, document)`` pairs holding the stored document
    itself (never change it), and none of these methods refresh: call :meth:`refresh` or
    read inside :meth:`reading` first.
    """

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
            read = reader(docs)
            if rest == MATCH_ALL:
                rows = [(i, read(i)) for i in ids]
            else:
                test = compile_query(rest)
                rows = [(i, doc) for i in ids if test(doc := read(i))]
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
        read = reader(docs)
        ids: Iterable[int] = self._match_ids(table, list(where.items())) if where else docs
        found: list[Row] = []
        if limit is not None and limit <= 0:
            return found
        join = JOINS.get(table)
        view = None
        if join is not None and any(field in join.fields for field in fields):
            view = JoinedView(join, self._docs(join.table))
        for doc_id in ids:
            doc = read(doc_id)
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
        read = reader(self._docs("history"))
        prefixes = None if kinds is None else tuple(f"{kind}." for kind in kinds)
        found: list[Row] = []
        skip = offset
        for doc_id in sorted(self.find_ids("history", **{field: value}), reverse=True):
            if limit is not None and len(found) >= limit:
                break
            doc = read(doc_id)
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
        theirs, rest = split_joined(rest, join)
        test = None if theirs == MATCH_ALL else compile_query(theirs)
        docs = self._docs(table)
        read = reader(docs)
        ids: Iterable[int]
        if other:
            ids = self._joined_ids(table, join, own, other, test)
        else:
            ids = self._match_ids(table, own) if own else docs
            if test is not None:
                others, key = self._docs(join.table), join.key
                keyed = [(i, read(i)[key]) for i in ids]
                ok = set(
                    self._passing(join.table, test, {o: None for _, o in keyed if o in others})
                )
                ids = [i for i, o in keyed if o in ok]
        by_joined = any(key.removeprefix("-") in join.fields for key in order)
        if rest == MATCH_ALL and not by_joined:
            return _page([(i, read(i)) for i in ids], order, limit, offset)
        view = JoinedView(join, self._docs(join.table))
        views = [(i, view.over(read(i))) for i in ids]
        if rest != MATCH_ALL:
            matches = compile_query(rest)
            views = [row for row in views if matches(row[1])]  # type: ignore[arg-type]
        paged = _page(views, order, limit, offset)  # type: ignore[arg-type]
        return [(i, cast("JoinedView", seen).doc) for i, seen in paged]

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
        read = reader(self._docs(table))
        key = join.key
        if own and self._estimate(table, own) < len(others):
            wanted = set(others)
            keyed = [(i, o) for i in self._match_ids(table, own) if (o := read(i)[key]) in wanted]
            if test is not None:
                ok = set(self._passing(join.table, test, {o: None for _, o in keyed}))
                keyed = [(i, o) for i, o in keyed if o in ok]
            return [i for i, _ in keyed]
        if test is not None:
            others = self._passing(join.table, test, others)
        by_key = self._index(table, key)
        ids = sorted(i for o in others for i in by_key.lookup(o))
        for field, value in own:
            index = self._index(table, field)
            values = value if isinstance(value, (list, tuple, set, frozenset)) else (value,)
            buckets = [index.lookup(v) for v in values]
            ids = [i for i in ids if any(i in b for b in buckets)]
        return ids


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
