"""Open a store by location, sharing one store object per file within a process."""

from __future__ import annotations

import os
import threading
import weakref
from pathlib import Path

from registry_widget.store.base import Store
from registry_widget.store.jsonfile import JSONFileStore
from registry_widget.store.memory import MemoryStore

__all__ = ["open_store"]

_open: weakref.WeakValueDictionary[str, Store] = weakref.WeakValueDictionary()
_lock = threading.Lock()


def open_store(location: str | os.PathLike[str] | Store) -> Store:
    """Return the store at ``location``.

    ``":memory:"`` makes a new in-memory store; a :class:`Store` is returned as it is; a
    path opens (or creates) a JSON file store. Every client of one file in a process gets
    the same store object, so a change made by one is seen at once by the others.
    """
    if isinstance(location, Store):
        return location
    if location == ":memory:":
        return MemoryStore()
    key = str(Path(location).absolute().resolve())
    with _lock:
        store = _open.get(key)
        if store is None:
            store = JSONFileStore(key)
            _open[key] = store
        return store
