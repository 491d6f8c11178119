"""Fill the team-server workload's PostgreSQL store in bulk, from a file store built by the API.

Filling a PostgreSQL store through the API costs one durable round trip per statement, tens
of milliseconds a version on a loaded machine, so N = 100,000 takes hours. Here the same
workload is built with the public API in a one-file store (the same calls, batched, in
the same order, its blobs in the folder the server store records), then its rows are
loaded into the server store's tables as they are: the same ids, the same documents,
``folded`` computed by the server store's own function, identity sequences set past the
largest ids, then ``VACUUM ANALYZE``. The load runs as the login that owns the schema
(the workload's user), with row-level security lifted for the owner inside the one
transaction that loads (``COPY`` does not take rows under row-level security), and
forced again before it commits; the trigger that refuses ids the database did not give
is off for the ``COPY`` in the same transaction.

:func:`check_same` then asks both stores the workload's reads through the public API,
as the workload's user, and raises if any answer differs: the figures measured on the
loaded store are those of a store the API wrote.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql as pgsql
from psycopg.types.json import Json, Jsonb

import registry_widget as rw
from benchmarks.common import N_COLLECTIONS, log
from benchmarks.ours import REGISTRY, SEARCH_FILTER, STORE, USER, build, page
from registry_widget.store.interface import ID, Row
from registry_widget.store.postgres_schema import TABLES
from registry_widget.store.postgres_txn import fold

__all__ = ["FillMismatchError", "bulk_fill", "check_same", "load_rows", "rows_of"]

# Tables the store opens with (the marker, the first user, the core registries): the API
# writes them on the server store's first open, and they must match the file store's.
_OPENING = ("meta", "users")


class FillMismatchError(AssertionError):
    """The store loaded in bulk answers a read differently from the store it was loaded from."""


def bulk_fill(
    url: str, scratch: Path, n: int, budget_s: float, blobs: Path
) -> tuple[float, int, float]:
    """Build n versions in a file store, load them into the (empty) store at ``url``.

    Returns (ms per version of the file build, versions built, seconds of the load).
    """
    source = scratch / "file" / STORE
    source.parent.mkdir(parents=True)
    ms, built = build(source, scratch, n, budget_s, blobs)
    # The server store's first open: its schema, marker, first user and blob location.
    opening = rw.Client(url, user=USER, blobs=blobs)
    opening.close()
    file_client = rw.Client(str(source), user=USER, blobs=blobs)
    t0 = time.perf_counter()
    counts = load_rows(url, rows_of(file_client))
    load_s = time.perf_counter() - t0
    log(f"ours bulk load {load_s:.1f} s: " + ", ".join(f"{t} {c}" for t, c in counts.items()))
    server_client = rw.Client(url, user=USER)
    try:
        check_same(file_client, server_client)
    finally:
        server_client.close()
        file_client.close()
    return ms, built, load_s


def rows_of(client: rw.Client) -> dict[str, list[Row]]:
    """Every row of the client's store, by table, in id order (the store interface's query)."""
    return {table: client.store.query(table, order=(ID,)) for table in TABLES}


def load_rows(url: str, tables: dict[str, list[Row]]) -> dict[str, int]:
    """Replace the rows of the store at ``url`` with ``tables``' rows (same ids), in bulk.

    The rows the server store wrote at its first open (``meta``, ``users``) must equal the
    file store's; every other table is emptied and loaded. Raises
    :class:`FillMismatchError` if the opening rows differ.
    """
    counts: dict[str, int] = {}
    with psycopg.connect(url) as conn:
        for table in _OPENING:
            rows = conn.execute(
                pgsql.SQL("SELECT id, doc FROM {} ORDER BY id").format(pgsql.Identifier(table))
            ).fetchall()
            theirs = [(int(i), _comparable(table, d)) for i, d in rows]
            ours = [(i, _comparable(table, d)) for i, d in tables[table]]
            if theirs != ours:
                msg = f"{table}: the server store opened with {theirs}, the file store has {ours}"
                raise FillMismatchError(msg)
        loaded = [t for t in TABLES if t not in _OPENING]
        names = [pgsql.Identifier(t) for t in TABLES]
        for name in names:
            conn.execute(pgsql.SQL("ALTER TABLE {} NO FORCE ROW LEVEL SECURITY").format(name))
        conn.execute(
            pgsql.SQL("TRUNCATE {}").format(
                pgsql.SQL(", ").join(pgsql.Identifier(t) for t in loaded)
            )
        )
        # The rows keep the file store's ids: the trigger that refuses ids the database
        # did not give is off for the load (turned off before any row is queued for the
        # deferred checks, which a table must not have pending while it is altered).
        for table in loaded:
            name = pgsql.Identifier(table)
            conn.execute(pgsql.SQL("ALTER TABLE {} DISABLE TRIGGER rw_fresh_id").format(name))
        for table in loaded:
            name = pgsql.Identifier(table)
            copy = pgsql.SQL("COPY {} (id, doc, folded) FROM STDIN").format(name)
            with conn.cursor() as cur, cur.copy(copy) as out:
                for doc_id, doc in tables[table]:
                    out.write_row((doc_id, Json(doc), Jsonb(fold(doc))))
            counts[table] = len(tables[table])
        # The references are checked now, before the tables change back (deferred, they
        # would be checked at the commit).
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in loaded:
            name = pgsql.Identifier(table)
            conn.execute(pgsql.SQL("ALTER TABLE {} ENABLE TRIGGER rw_fresh_id").format(name))
        for table in TABLES:
            name = pgsql.Identifier(table)
            conn.execute(
                pgsql.SQL(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                    "(SELECT coalesce(max(id), 0) + 1 FROM {}), false)"
                ).format(name),
                [table],
            )
            conn.execute(pgsql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(name))
        # Readers that kept answers drop them: the commit counts as a change.
        conn.execute("SELECT nextval('changes')")
        conn.commit()
        conn.autocommit = True
        conn.execute(pgsql.SQL("VACUUM (ANALYZE) {}").format(pgsql.SQL(", ").join(names)))
    return counts


def _comparable(table: str, doc: dict[str, Any]) -> dict[str, Any]:
    """A document without the moment it was written (two stores opened at two moments)."""
    return {k: v for k, v in doc.items() if k not in ("created_at", "at")}


def check_same(expected: rw.Client, actual: rw.Client) -> int:
    """Ask both clients the workload's reads; raise :class:`FillMismatchError` on a difference.

    Returns how many answers were compared.
    """
    checks: list[tuple[str, Any]] = []
    for c in range(N_COLLECTIONS):
        for alias in ("champion", "latest"):
            checks.append((f"resolve c{c}:{alias}", lambda cl, c=c, a=alias: _resolve(cl, c, a)))
        checks.append((f"page c{c}", lambda cl, c=c: _page(cl, c)))
        checks.append((f"versions of model-{c}", lambda cl, c=c: _by_name(cl, c)))
    checks.append(("filtered versions", _filtered))
    checks.append(("search 'exp-2'", lambda cl: _search(cl, "exp-2")))
    checks.append(("search 'champion'", lambda cl: _search(cl, "champion")))
    checks.append(("search 'c3'", lambda cl: _search(cl, "c3")))
    for label, read in checks:
        want, got = read(expected), read(actual)
        if want != got:
            msg = f"{label}: the file store answers {want!r:.300}, the server store {got!r:.300}"
            raise FillMismatchError(msg)
    log(f"ours bulk load checked: {len(checks)} reads answer the same on both stores")
    return len(checks)


def _resolve(client: rw.Client, c: int, alias: str) -> tuple[Any, ...]:
    link = client.use(f"{REGISTRY}/c{c}:{alias}")
    art = link.artifact
    return (link.path, link.version, art.digest, art.name, art.metadata, art.tags)


def _page(client: rw.Client, c: int) -> list[tuple[Any, ...]]:
    collection = client.registry(REGISTRY).collection(f"c{c}")
    links = collection.versions(limit=50)
    return [(link.path, *row) for link, row in zip(links, page(collection), strict=True)]


def _by_name(client: rw.Client, c: int) -> list[str]:
    versions = client.versions(filter={"name": f"model-{c}", "metadata.acc": {"$lt": 0.5}})
    return [link.path for link in versions]


def _filtered(client: rw.Client) -> list[tuple[str, Any]]:
    return [(link.path, link.artifact.digest) for link in client.versions(filter=SEARCH_FILTER)]


def _search(client: rw.Client, text: str) -> list[tuple[str, ...]]:
    return [(h.kind, h.path, h.field, h.value) for h in client.search(text, limit=None)]
