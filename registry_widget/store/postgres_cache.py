"""The PostgreSQL store's read cache: answers already read, kept until a commit may change them.

A :class:`RowCache` holds the rows of reads made outside a transaction, keyed by the read
(table, condition, parameters), at most :data:`CACHE_SIZE` of them (the least recently
used go first, so memory does not grow with the store). The store drops entries when a
commit may have changed them: its own commits (the tables it wrote), commits heard of by
the listening connection (the tables the notification names), and everything when it
cannot know (the listener reconnected, a change of ``changes`` seen by the per-call check).

Row-level security decides which rows a read returns, from the login's role and the
registries' members: a change of ``users``, ``registries``, ``meta`` or ``settings`` drops
everything, a change of ``links`` drops the tables whose visibility follows links
(versions, history, run edges), and a change of ``artifacts`` drops links too (queries
over links read their version's fields through a join), see :data:`DEPENDENT`.

A read that started before an entry was dropped is not stored: each table has a
generation, taken before the read and compared when storing, so a commit heard of while
a read was on the wire never leaves the answer from before it in the cache.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Collection, Hashable, Sequence
from typing import Any

from psycopg.types.json import Json, Jsonb

__all__ = ["CACHE_SIZE", "DEPENDENT", "EVERYTHING", "RowCache", "read_key"]

CACHE_SIZE = 4096
"""The most reads a store keeps answers for."""

EVERYTHING = frozenset({"users", "registries", "meta", "settings"})
"""Tables whose change may change what every read returns (roles, members, the store)."""

DEPENDENT: dict[str, frozenset[str]] = {
    "links": frozenset({"links", "artifacts", "history", "run_edges"}),
    "artifacts": frozenset({"artifacts", "links", "history", "run_edges"}),
}
"""A table's change drops these tables' reads too (visibility follows links, links join)."""

Generation = tuple[int, int]


def _frozen(value: Any) -> Hashable:
    if isinstance(value, (Json, Jsonb)):
        return ("json", json.dumps(value.obj, sort_keys=True, default=repr))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return ("json", json.dumps(value, sort_keys=True, default=repr))
    if isinstance(value, (str, int, float, bool)) or value is None:
        return (type(value).__name__, value)
    msg = f"no cache key for {type(value).__name__}"
    raise TypeError(msg)


def read_key(table: str, *parts: str, params: Sequence[Any] = ()) -> tuple[Hashable, ...] | None:
    """The key of one read of ``table`` (None: a parameter that cannot be a key)."""
    try:
        return (table, *parts, _frozen(list(params)))
    except TypeError:
        return None


class RowCache:
    """Answers of reads, dropped by table; thread-safe (the listener drops from its thread)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._tables: dict[str, int] = {}
        self._all = 0
        self.epoch = 0
        """Grows with every drop: what was derived from the cache's answers is stale."""

    def __len__(self) -> int:
        return len(self._entries)

    def generation(self, table: str) -> Generation:
        """Taken before a read; :meth:`put` stores only if nothing was dropped since."""
        return (self._all, self._tables.get(table, 0))

    def get(self, key: Hashable) -> Any | None:
        """The answer stored for ``key`` (None: none)."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, table: str, key: Hashable, value: Any, generation: Generation) -> None:
        """Store ``value`` for ``key`` unless ``table`` was dropped since ``generation``."""
        with self._lock:
            if generation != (self._all, self._tables.get(table, 0)):
                return
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def drop(self, tables: Collection[str] | None) -> None:
        """Forget the reads of ``tables`` and those that depend on them (None: all)."""
        with self._lock:
            self.epoch += 1
            if tables is None or not EVERYTHING.isdisjoint(tables):
                self._all += 1
                self._entries.clear()
                return
            wide = set(tables)
            for table in tables:
                wide |= DEPENDENT.get(table, frozenset())
            for table in wide:
                self._tables[table] = self._tables.get(table, 0) + 1
            stale = [key for key in self._entries if isinstance(key, tuple) and key[0] in wide]
            for key in stale:
                del self._entries[key]
