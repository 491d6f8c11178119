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

import copy
import threading
import weakref
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
from contextlib import contextmanager
from typing import Any, ClassVar, NoReturn

import psycopg
from psycopg import errors as pgerrors
from psycopg import sql as pgsql
from psycopg.types.json import Json, Jsonb

from registry_widget.errors import (
    ConcurrentChangeError,
    DatabaseError,
    NotFoundError,
    StoreCorruptedError,
    StoreUnavailableError,
)
from registry_widget.filter_tree import MATCH_ALL, Filter
from registry_widget.names import normalize_key
from registry_widget.permissions import name_unavailable
from registry_widget.store.interface import (
    JOINS,
    STORE_FORMAT,
    CommitHooks,
    Doc,
    Fields,
    Row,
    Store,
    Transaction,
)
from registry_widget.store.postgres_cache import RowCache, read_key
from registry_widget.store.postgres_connection import PostgresConnection, one_line
from registry_widget.store.postgres_live import CONNECTED, Listener, Tables
from registry_widget.store.postgres_schema import LOCK_KEY, MIGRATIONS, SCHEMA_VERSION
from registry_widget.store.postgres_security import POLICIES
from registry_widget.store.postgres_sql import (
    compile_filter,
    equalities,
    joined_from,
    joined_source,
    order_by,
)

__all__ = ["PostgresStore", "is_postgres_url"]

_LOCK_ON_READ = {
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


def is_postgres_url(location: object) -> bool:
    """Whether ``location`` names a PostgreSQL database (``postgresql://`` or ``postgres://``)."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def _fold(doc: Doc) -> Doc:
    """The normalised keys of the document's text fields and lists of texts, for search."""
    out: Doc = {}
    for field, value in doc.items():
        if isinstance(value, str):
            out[field] = normalize_key(value)
        elif isinstance(value, list):
            out[field] = [normalize_key(v) for v in value if isinstance(v, str)]
    return out


class PostgresTransaction(Transaction):
    """The changes of one SQL transaction; rows it locked are remembered as they stand."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self.locked: dict[tuple[str, int], Doc] = {}
        self.changed = False
        self.tables: set[str] = set()
        # The first row of a locking read, by read, until the transaction writes its table:
        # the row stays locked, and no other row can come before it.
        self.firsts: dict[tuple[Hashable, ...], list[Row]] = {}

    def insert(self, table: str, doc: Doc) -> int:
        """Insert ``doc`` and return its id (an identity: never reused)."""
        store = self._store
        name = store._table(table, create=True)
        if table == "users":
            store._admit_login(str(doc["name"]), str(doc.get("role")))
        ((doc_id,),) = store._named(
            table,
            doc,
            pgsql.SQL("INSERT INTO {} (doc, folded) VALUES (%s, %s) RETURNING id").format(name),
            [Json(doc), Jsonb(_fold(doc))],
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
                _missing(table, doc_id)
            before = found[0]
        after = {**before, **fields}
        query = pgsql.SQL("UPDATE {} SET doc = %s, folded = %s WHERE id = %s").format(name)
        params = [Json(after), Jsonb(_fold(after)), doc_id]
        if table == "registries" and "key" in fields:
            store._named(table, after, query, params)
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
            [Json(doc), Jsonb(_fold(doc))],
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
            _missing(table, doc_id)
        self.locked.pop((table, doc_id), None)
        self._touch(table)

    def _touch(self, table: str) -> None:
        self.changed = True
        self.tables.add(table)
        self.firsts = {k: v for k, v in self.firsts.items() if k[0] != table}
        self._store._state += 1


def _missing(table: str, doc_id: int) -> NoReturn:
    msg = f"no document {doc_id} in table {table!r} (it was removed, or never existed)"
    raise NotFoundError(msg)


class PostgresStore(PostgresConnection, Store):
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
        PostgresConnection.__init__(self, conninfo)
        self._depth = 0
        self._state = 0
        self._revision = 0
        self._seen = -1  # the ``changes`` sequence as last seen
        self._reading = threading.local()
        self._subscribers: list[Callable[[], None]] = []
        self._listener: Listener | None = None
        self._heard = 0  # commits heard of from elsewhere; written by the listener only
        self._cache = RowCache()
        self._synced = -1  # the listener's connection the cache was last made valid for
        self._closed = False
        self._commit_hooks = CommitHooks()
        self._fields: Fields = {}
        row = self._one("SELECT current_user, current_schema()", [])
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
        self._tables.clear()

    # -- reading ------------------------------------------------------------------------------

    def _lock_clause(self, table: str) -> str:
        return _LOCK_ON_READ.get(table, "") if self._txn is not None else ""

    def _remember(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        txn = self._txn
        if txn is not None and _LOCK_ON_READ.get(table) == " FOR UPDATE":
            for doc_id, doc in rows:
                txn.locked[(table, doc_id)] = doc

    def _select(
        self, table: str, where: str, params: Sequence[Any], tail: str = "", *, joined: bool = False
    ) -> list[Row]:
        """``joined``: over the table joined with the rows it refers to (:func:`joined_from`)."""
        txn = self._txn
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
        elif joined:
            # Rows joined from another table: what the transaction wrote there may show.
            pass
        elif tail.endswith(" LIMIT 1") and _LOCK_ON_READ.get(table) == " FOR UPDATE":
            key = read_key(table, shape, where, tail, params=params)
            if key is not None:
                first = txn.firsts.get(key)
                if first is not None:
                    return [(i, copy.deepcopy(txn.locked.get((table, i), d))) for i, d in first]
                rows = self._select_now(table, where, params, tail)
                if rows:
                    txn.firsts[key] = rows
                return rows
        elif table not in _LOCK_ON_READ and table not in txn.tables:
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
        rows = self._run(_on(table, "SELECT id, doc FROM ", rest), params)
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
        row = self._one(_on(table, "SELECT count(*) FROM ", " WHERE " + where), params)
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

    # -- freshness ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Bring reads up to date with commits made elsewhere.

        While the listener is connected, nothing to do: it drops what commits made
        elsewhere changed as their notifications arrive. Otherwise one read of
        ``changes``: when anyone committed since, everything read is dropped.
        """
        if self._txn is not None or getattr(self._reading, "fresh", False):
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
            rows = self._run(_on(table, "SELECT id, doc FROM ", rest), params)
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

    # -- writing ------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[PostgresTransaction]:
        """One SQL transaction (READ COMMITTED); nested blocks join the outermost."""
        with self._lock:
            if self._txn is not None:
                self._depth += 1
                try:
                    yield self._txn
                finally:
                    self._depth -= 1
                return
            conn = self._connection()
            txn = PostgresTransaction(self)
            self._queued = [("BEGIN", ())]  # sent with the first statement
            self._begun = False
            self._txn = txn
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
                self._state += 1
            if txn.changed:
                self._announced(counted)
                self._written(txn.tables)
                self._revision += 1
                for callback in list(self._subscribers):
                    callback()

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

    def _named(self, table: str, doc: Doc, query: Any, params: Sequence[Any]) -> list[Any]:
        """Run a write of ``doc``, refusing a registry name held by a hidden registry.

        Such a refusal names neither that registry nor retries, as the domain refuses it.
        Row-level security hides such a registry from the domain's check, and its unique
        key then refuses the row; a taken name the login can see is a concurrent change,
        which the domain runs again to refuse with its usual words.
        """
        if table != "registries":
            return self._run(query, params)
        self._run("SAVEPOINT rw_name")
        try:
            rows = self._run(query, params)
        except ConcurrentChangeError as exc:
            if not isinstance(exc.__context__, pgerrors.UniqueViolation):
                raise
            self._run("ROLLBACK TO SAVEPOINT rw_name")
            if self._one("SELECT 1 FROM registries WHERE key = %s", [doc.get("key")]) is None:
                raise name_unavailable(str(doc.get("name"))) from None
            raise
        self._run("RELEASE SAVEPOINT rw_name")
        return rows

    def may_update(self, table: str, doc_id: int) -> bool:
        """Whether row ``doc_id`` passes its table's update policy for this login."""
        rule = POLICIES.get(table, {}).get("update")
        if rule is None or not self._known(table):
            return rule is not None or table not in POLICIES
        row = self._one(
            _on(table, "SELECT EXISTS (SELECT 1 FROM ", f" WHERE id = %s AND ({rule}))"),
            [doc_id],
        )
        return row is not None and bool(row[0])


def _on(table: str, head: str, rest: str) -> pgsql.Composed:
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
