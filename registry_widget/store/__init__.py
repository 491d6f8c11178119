"""Persistence: TinyDB documents in named tables, transactions, and their storages.

The store knows nothing of registries, users or widgets. It keeps documents in TinyDB
tables in memory (TinyDB is also the query engine) and makes committed transactions
durable through a :class:`~registry_widget.store.base.Store` implementation.
"""

from __future__ import annotations

from registry_widget.store.base import STORE_FORMAT, Store, Transaction
from registry_widget.store.jsonfile import JSONFileStore
from registry_widget.store.memory import MemoryStore
from registry_widget.store.opener import open_store

__all__ = ["STORE_FORMAT", "JSONFileStore", "MemoryStore", "Store", "Transaction", "open_store"]
