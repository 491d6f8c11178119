"""Persistence: documents in named tables, transactions, and their storages.

The store knows nothing of registries, users or widgets. Its interface
(:class:`~registry_widget.store.interface.Store`) speaks plain dictionaries and validated
filters. The memory and file backends keep documents in TinyDB tables in memory (TinyDB
is their query engine, imported nowhere outside this package) and make committed
transactions durable in their own way; the PostgreSQL backend
(:mod:`registry_widget.store.postgres`, imported only when used) answers with SQL.
"""

from __future__ import annotations

from registry_widget.store.base import WorkingSetStore
from registry_widget.store.interface import (
    ID,
    STORE_FORMAT,
    STORE_SCHEMA,
    Row,
    Store,
    Transaction,
)
from registry_widget.store.jsonfile import JSONFileStore
from registry_widget.store.memory import MemoryStore

__all__ = [
    "ID",
    "STORE_FORMAT",
    "STORE_SCHEMA",
    "JSONFileStore",
    "MemoryStore",
    "Row",
    "Store",
    "Transaction",
    "WorkingSetStore",
]
