"""The PostgreSQL store's reads: rows by id and by equality, queries, search and history.

Outside a transaction an answer comes from the store's cache while the cache is trusted
(:meth:`PostgresReads._trusted`, which the store decides from its listener), else from the
server, and is kept for the next read. Inside a transaction, rows of the tables it locks
are read ``FOR UPDATE``/``FOR SHARE`` and remembered as the transaction holds them.
"""

from __future__ import annotations

import copy
from collections.abc import (
    Collection,
    Container,
    Iterable,
    Mapping,
    Sequence,
)
from typing import Any

from psycopg import sql as pgsql

from registry_widget.errors import (
    StoreCorruptedError,
)
from registry_widget.filter_tree import MATCH_ALL, Filter
from registry_widget.store.interface import (
    JOINS,
    STORE_FORMAT,
    Doc,
    Fields,
    Row,
)
from registry_widget.store.postgres_cache import RowCache, read_key
from registry_widget.store.postgres_connection import PostgresConnection
from registry_widget.store.postgres_sql import (
    compile_filter,
    equalities,
    joined_from,
    joined_source,
    order_by,
)
from registry_widget.store.postgres_txn import PostgresTransaction

__all__ = ["LOCK_ON_READ", "PostgresReads", "on"]

LOCK_ON_READ = {
    "collections": " FOR UPDATE",
    "links": " FOR UPDATE",
    "artifact_names": " FOR UPDATE",
    "registries": " FOR SHARE",
    "users": " FOR SHARE",
}
_KINDS = {
    str: "jsonb_typeof(data -> %s::text) = 'string'",
    int: "(jsonb_typeof(data -> %s::text) = 'number' AND data ->> %s::text ~ '^-?[0-9]+$')",
    float: "jsonb_typeof(data -> %s::text) = 'number'",
    bool: "jsonb_typeof(data -> %s::text) = 'boolean'",
    list: "jsonb_typeof(data -> %s::text) = 'array'",
    dict: "jsonb_typeof(data -> %s::text) = 'object'",
    type(None): "jsonb_typeof(data -> %s::text) = 'null'",
}


class PostgresReads(PostgresConnection):
    """Reading a PostgreSQL store's tables (the store adds freshness and writing)."""

    _txn: PostgresTransaction | None

    def __init__(self, conninfo: str) -> None:
        PostgresConnection.__init__(self, conninfo)
        self._cache = RowCache()
        self._fields: Fields = {}

    def _trusted(self) -> bool:
        """Whether the cache's answers are current; the store knows, from its listener."""
        return False

    def _lock_clause(self, table: str) -> str:
        return LOCK_ON_READ.get(table, "") if self._txn is not None else ""

    def _remember(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        txn = self._txn
        if txn is not None and LOCK_ON_READ.get(table) == " FOR UPDATE":
            for doc_id, doc in rows:
                txn.locked[(table, doc_id)] = doc

    def _select(
        self, table: str, where: str, params: Sequence[Any], tail: str = "", *, joined: bool = False
    ) -> list[Row]:
        """``joined``: over the table joined with the rows it refers to (:func:`joined_from`)."""
        txn = self._txn
        if txn is not None and joined:
            # Rows joined from another table: what the transaction wrote there may show.
            return self._select_now(table, where, params, tail, joined=True)
        shape = "joined" if joined else "plain"
        if txn is None:
            key = read_key(table, shape, where, tail, params=params)
            if key is not None:
                found = self._cache.get(key)
                if found is not None:
                    return list(found)
                generation = self._cache.generation(table)
                rows = self._select_now(table, where, params, tail, joined=joined)
                self._cache.put(table, key, tuple(rows), generation)
                return rows
        elif tail.endswith(" LIMIT 1") and LOCK_ON_READ.get(table) == " FOR UPDATE":
            key = read_key(table, shape, where, tail, params=params)
            if key is not None:
                first = txn.firsts.get(key)
                if first is not None:
                    return [(i, copy.deepcopy(txn.locked.get((table, i), d))) for i, d in first]
                rows = self._select_now(table, where, params, tail)
                if rows:
                    txn.firsts[key] = rows
                return rows
        elif table not in LOCK_ON_READ and table not in txn.tables:
            # A row read without a lock: what the cache holds is as current as a read
            # would be (rows the transaction locks or wrote always come from the server).
            key = read_key(table, shape, where, tail, params=params)
            found = None if key is None else self._cache.get(key)
            if found is not None and self._trusted():
                return list(found)
        return self._select_now(table, where, params, tail, joined=joined)

    def _select_now(
        self, table: str, where: str, params: Sequence[Any], tail: str = "", *, joined: bool = False
    ) -> list[Row]:
        if not self._known(table):
            return []
        source = joined_from(table) if joined else None
        if source is not None:
            lock = self._lock_clause(table)
            rest = f" WHERE {where}{tail}{lock + ' OF ' + table if lock else ''}"
            query = f"SELECT {table}.id, {table}.doc FROM {source}{rest}"
            rows = self._run(query, params)
            self._remember(table, rows)
            return [(int(i), d) for i, d in rows]
        rest = " WHERE " + where + tail + self._lock_clause(table)
        rows = self._run(on(table, "SELECT id, doc FROM ", rest), params)
        self._remember(table, rows)
        return [(int(i), d) for i, d in rows]

    def get(self, table: str, doc_id: int) -> Doc | None:
        """Document ``doc_id`` of ``table``, or None (locked in a transaction, see above).

        Inside a transaction, a row it already locked or wrote is answered from what it
        holds: nobody else can have changed it since, so no statement is needed.
        """
        txn = self._txn
        if txn is not None:
            held = txn.locked.get((table, doc_id))
            if held is not None:
                return copy.deepcopy(held)
        rows = self._select(table, "id = %s", [doc_id])
        return rows[0][1] if rows else None

    def get_many(self, table: str, ids: Iterable[int]) -> list[Row]:
        """The rows of ``table`` with these ids, in the order given; missing ids skipped."""
        wanted = list(ids)
        if not wanted:
            return []
        found = dict(self._select(table, "id = ANY(%s)", [wanted]))
        return [(i, found[i]) for i in wanted if i in found]

    def find(self, table: str, **equal: Any) -> list[Row]:
        """The rows whose fields equal (or, for lists, contain) the values, in id order."""
        where, params = self._equal(table, equal)
        return self._select(table, where, params, " ORDER BY id")

    def find_one(self, table: str, **equal: Any) -> Row | None:
        """The first row :meth:`find` would return, or None."""
        where, params = self._equal(table, equal)
        rows = self._select(table, where, params, " ORDER BY id LIMIT 1")
        return rows[0] if rows else None

    def find_ids(self, table: str, **equal: Any) -> list[int]:
        """The ids of the rows :meth:`find` would return."""
        return [i for i, _ in self.find(table, **equal)]

    def _equal(self, table: str, equal: Mapping[str, Any]) -> tuple[str, list[Any]]:
        if not equal:
            msg = "find() needs at least one field=value"
            raise TypeError(msg)
        return equalities(table, equal)

    def count(self, table: str, **equal: Any) -> int:
        """How many rows :meth:`find` would return; without fields, the size of ``table``."""
        if not self._known(table):
            return 0
        where, params = equalities(table, equal)
        key = None if self._txn is not None else read_key(table, "count", where, params=params)
        if key is not None:
            found = self._cache.get(key)
            if found is not None:
                return int(found)
        generation = self._cache.generation(table)
        row = self._one(on(table, "SELECT count(*) FROM ", " WHERE " + where), params)
        counted = int(row[0]) if row is not None else 0
        if key is not None:
            self._cache.put(table, key, counted, generation)
        return counted

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
        """The matching rows, sorted and paged in SQL (in Python after an inexact filter)."""
        joined = joined_from(table) is not None
        (cond, cond_params), exact = compile_filter(filter, table if joined else None)
        narrow, narrow_params = equalities(table, where or {}, joined=joined)
        sql = f"({narrow}) AND ({cond})"
        params = [*narrow_params, *cond_params]
        keys, key_params = order_by(table, order, joined=joined)
        tail = f" ORDER BY {keys}"
        if exact:
            if limit is not None:
                tail += f" LIMIT {int(limit)}"
            if offset:
                tail += f" OFFSET {int(offset)}"
            return self._select(table, sql, [*params, *key_params], tail, joined=joined)
        # Finished in Python: the narrowed rows, sorted by the store, then filtered and paged.
        rows = self._select(table, sql, [*params, *key_params], tail, joined=joined)
        matched = [row for row in rows if filter.matches(self._as_filtered(table, row[1]))]
        end = None if limit is None else offset + limit
        return matched[offset:end]

    def search(
        self,
        table: str,
        text: str,
        fields: Sequence[str],
        *,
        where: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> list[Row]:
        """Rows where a field's normalised text (kept in ``folded``) contains ``text``."""
        if (limit is not None and limit <= 0) or not fields:
            return []
        joined = joined_from(table) is not None
        narrow, params = equalities(table, where or {}, joined=joined)
        tests = []
        for name in fields:
            folded, (field, *_) = joined_source(table if joined else None, [name], "folded")
            value = f"({folded} -> %s::text)"
            tests.append(
                f"(CASE jsonb_typeof({value}) WHEN 'string' THEN "
                f"strpos({value} #>> '{{}}', %s) > 0 "
                f"WHEN 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements_text({value}) AS el "
                "WHERE strpos(el, %s) > 0) ELSE false END)"
            )
            params.extend([field, field, text, field, text])
        tail = f" ORDER BY {table + '.' if joined else ''}id"
        tail += "" if limit is None else f" LIMIT {int(limit)}"
        found = f"({narrow}) AND ({' OR '.join(tests)})"
        return self._select(table, found, params, tail, joined=joined)

    def _as_filtered(self, table: str, doc: Doc) -> Doc:
        """``doc`` with the fields it reads from the row it refers to, as filters see it."""
        join = JOINS.get(table)
        if join is None:
            return doc
        other = self.get(join.table, doc[join.key]) or {}
        return {**doc, **{f: other[name] for f, name in join.fields.items() if name in other}}

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
        """History rows about ``field = value``, newest first, filtered and paged in SQL."""
        where, params = equalities("history", {field: value})
        if kinds is not None:
            where += (
                " AND (action = ANY(%s) OR EXISTS (SELECT 1 FROM unnest(%s::text[]) AS p"
                " WHERE starts_with(action, p)))"
            )
            params.extend([list(kinds), [f"{kind}." for kind in kinds]])
        if registries is not None:
            ids = [int(i) for i in registries] if isinstance(registries, Iterable) else None
            if ids is not None:
                where += " AND (registry_id IS NULL OR registry_id = ANY(%s))"
                params.append(ids)
        tail = " ORDER BY id DESC" + ("" if limit is None else f" LIMIT {int(limit)}")
        if offset:
            tail += f" OFFSET {int(offset)}"
        return self._select("history", where, params, tail)

    def referenced_digests(self, among: Collection[str] | None = None) -> set[str]:
        """The blob digests the versions' manifests name (only those in ``among``)."""
        query = (
            "SELECT DISTINCT f.value ->> 'digest' FROM artifacts, "
            "jsonb_each(artifacts.data -> 'files') AS f"
        )
        params: list[Any] = []
        if among is not None:
            query += " WHERE f.value ->> 'digest' = ANY(%s)"
            params.append(list(among))
        return {str(digest) for (digest,) in self._run(query, params)}

    def expect_fields(self, fields: Fields) -> None:
        """Refuse, as damage, a table holding a document without these fields."""
        if fields == self._fields:
            return
        for table, expected in fields.items():
            if not self._known(table) or not expected or not self._readable(table):
                continue  # a login not yet given access is told so by the domain
            tests = []
            params: list[Any] = []
            for field, kinds in expected.items():
                ok = " OR ".join(_KINDS[kind] for kind in kinds)
                tests.append(f"NOT (data ? %s::text AND ({ok}))")
                params.append(field)
                for kind in kinds:
                    params.extend([field] * _KINDS[kind].count("%s"))
            rest = " WHERE " + " OR ".join(tests) + " LIMIT 1"
            rows = self._run(on(table, "SELECT id, doc FROM ", rest), params)
            if rows:
                doc_id, doc = rows[0]
                problem = _misshapen(table, int(doc_id), doc, expected)
                msg = f"the store {self.location} holds {problem}; it was left untouched"
                raise StoreCorruptedError(msg)
        self._fields = fields

    def is_initialized(self) -> bool:
        """Whether the store holds its ``meta`` marker."""
        rows = self._select("meta", "true", [], " ORDER BY id LIMIT 1")
        meta = rows[0][1] if rows else None
        return meta is not None and meta.get("format") == STORE_FORMAT


def on(table: str, head: str, rest: str) -> pgsql.Composed:
    """``head`` + the quoted table name + ``rest``: SQL text around one table."""
    return pgsql.SQL(head) + pgsql.Identifier(table) + pgsql.SQL(rest)


def _misshapen(table: str, doc_id: int, doc: Doc, fields: Mapping[str, tuple[type, ...]]) -> str:
    for field, kinds in fields.items():
        if field not in doc:
            return f"document {doc_id} of table {table!r} without its field {field!r}"
        if not isinstance(doc[field], kinds):
            allowed = " or ".join(k.__name__ for k in kinds)
            return (
                f"document {doc_id} of table {table!r} whose field {field!r} is "
                f"{doc[field]!r}, not {allowed}"
            )
    return f"document {doc_id} of table {table!r}, which is misshapen"
