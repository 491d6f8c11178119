"""TinyDB tables over documents kept in memory with integer ids.

Stock TinyDB reads and writes a whole table through its storage on every change and
converts every document id on the way (``Table._update_table``), so a single insert
costs time proportional to the table. Here the storage holds each table as a plain
``{doc_id: document}`` mapping that is read and changed in place: reading hands out
that mapping, and a change touches only the documents it names. The big tables are
:class:`~registry_widget.store.packed.PackedDocs`, which hold each document as its JSON
text and decode it when read; the others are plain dictionaries.

TinyDB stays the query engine: :meth:`Table.search`, :meth:`Table.get`, iteration and the
query cache work unchanged over these dictionaries. Changes, however, go through the
store's transactions (which also keep the journal and the indexes); the tables refuse
TinyDB's own write methods so that nothing can bypass them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any, cast

from tinydb.storages import Storage
from tinydb.table import Document, Table

from registry_widget.store.packed import PACKED_TABLES, PackedDocs, new_docs

__all__ = ["Docs", "Tables", "WorkingSet", "WorkingSetTable", "held_as"]

Doc = dict[str, Any]
Docs = MutableMapping[int, Doc]
"""A table's documents by id: a dict, or :class:`PackedDocs` for the big tables."""
Tables = dict[str, Docs]


def held_as(name: str, docs: Docs) -> Docs:
    """``docs`` as table ``name`` holds them: packed for the big tables, else a dict."""
    if name in PACKED_TABLES and not isinstance(docs, PackedDocs):
        return PackedDocs(docs)
    return docs


class WorkingSet(Storage):
    """A TinyDB storage holding every table as ``{int doc_id: document}`` in memory.

    The big tables are packed (:func:`~registry_widget.store.packed.new_docs`).
    """

    def __init__(self) -> None:
        self.tables: Tables = {}

    def read(self) -> dict[str, dict[str, Any]]:
        """Every table (the live dictionaries by int id, not a copy)."""
        return cast("dict[str, dict[str, Any]]", self.tables)

    def write(self, data: dict[str, dict[Any, Doc]]) -> None:
        """Replace every table by ``data`` (document ids may be strings, as in JSON)."""
        self.tables = {
            name: held_as(name, {int(k): v for k, v in docs.items()}) for name, docs in data.items()
        }

    def docs(self, name: str) -> Docs:
        """The live documents of table ``name`` (created empty when missing)."""
        docs = self.tables.get(name)
        if docs is None:
            docs = self.tables[name] = new_docs(name)
        return docs


class WorkingSetTable(Table):
    """A TinyDB table reading its documents straight from a :class:`WorkingSet`."""

    default_query_cache_capacity = 30

    def _read_table(self) -> dict[str, Any]:
        storage = cast("WorkingSet", self._storage)
        return cast("dict[str, Any]", storage.docs(self.name))

    def _update_table(self, updater: Callable[[dict[int, Any]], None]) -> None:
        msg = (
            f"table {self.name!r} of a registry store is written through "
            "Store.transaction(), which keeps the journal and the indexes"
        )
        raise TypeError(msg)

    def get(
        self,
        cond: Any = None,
        doc_id: int | None = None,
        doc_ids: Iterable[int] | None = None,
    ) -> Any:
        """As :meth:`tinydb.table.Table.get`, with document ids looked up directly."""
        docs = cast("Docs", self._read_table())
        if doc_id is not None:
            raw = docs.get(doc_id)
            return None if raw is None else Document(raw, doc_id)
        if doc_ids is not None:
            return [Document(docs[i], i) for i in doc_ids if i in docs]
        return super().get(cond)

    def contains(self, cond: Any = None, doc_id: int | None = None) -> bool:
        """As :meth:`tinydb.table.Table.contains`, with document ids looked up directly."""
        if doc_id is not None:
            return doc_id in cast("Docs", self._read_table())
        return bool(super().contains(cond))

    def __iter__(self) -> Iterator[Document]:
        for doc_id, doc in cast("Docs", self._read_table()).items():
            yield Document(doc, doc_id)

    def _get_next_id(self) -> int:
        return max(cast("Docs", self._read_table()), default=0) + 1
