"""The big tables of the working set, held as the JSON text of their documents.

A document held as a Python dictionary takes several times the memory of its JSON text
(the history entries of a large store about 1.1 KB each against under 300 bytes), and
most are never read after opening. :class:`PackedDocs` holds each document of a table as
its compact JSON (the line of the snapshot file as read, or the document encoded when
written) and decodes it when read: every read returns a new dictionary, equal to the
document stored. Every store refuses, when committing, a document whose JSON would not
read back as the same value (a tuple, a NaN, an integer beyond 64 bits: see
:func:`~registry_widget.store.journal.encode_record`), and rolls the write back, so
writes encode without checking. A document JSON cannot encode at all is held as the
dictionary itself until then, as the other tables hold theirs.

Decoding is what the tables of :data:`PACKED_TABLES` cost on every read; the checks of
the documents' shape need none: each table keeps the set of shapes (field names and
value types) its documents have had, and a check that every one of them passes vouches
for every document (see :meth:`PackedDocs.fits`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, ItemsView, Iterator, Mapping, MutableMapping, ValuesView
from typing import Any

import orjson

__all__ = ["INDEXED_TOGETHER", "PACKED_TABLES", "PackedDocs", "Shape", "new_docs", "reader"]

Doc = dict[str, Any]
Shape = tuple[Any, ...]
"""A document's field names followed by the types of their values, in order."""

PACKED_TABLES = frozenset({"history", "artifacts", "links"})
"""The tables held as JSON text: those growing with every version logged and linked."""

INDEXED_TOGETHER = {
    "links": ("index", "collection_id", "artifact_id", "registry_id"),
    "artifacts": ("type", "tags"),
}
"""Fields of a packed table indexed together, the first time any of them is looked up.

Building an index decodes the whole table; these are the fields nearly every session
looks up (resolving a number or an alias, a version's visibility, a search), so one
decoding pass builds all of them rather than one pass each.
"""

RECENT = 1024
"""Documents a table keeps decoded, the most recently decoded (see :class:`PackedDocs`)."""

MAX_SHAPES = 256
"""Shapes a table keeps before it stops (checks then decode every document)."""

_loads = orjson.loads
_dumps = orjson.dumps
_MISSING: Any = object()


def shape_of(doc: Doc) -> Shape:
    """The field names of ``doc`` followed by the types of their values."""
    return (*doc, *map(type, doc.values()))


def new_docs(table: str) -> MutableMapping[int, Doc]:
    """An empty table of documents by id: packed for :data:`PACKED_TABLES`, else a dict."""
    return PackedDocs() if table in PACKED_TABLES else {}


def reader(docs: Mapping[int, Doc]) -> Callable[[int], Doc]:
    """``docs[i]`` for reading many documents once: decoded without being kept."""
    # type(), not isinstance(): an isinstance check against an ABC costs more than a read
    return docs.peek if type(docs) is PackedDocs else docs.__getitem__


def _decode(held: bytes | Doc) -> Doc:
    if type(held) is bytes:
        return _loads(held)  # type: ignore[no-any-return]
    return held  # type: ignore[return-value]


def _encode(doc: Doc) -> bytes | Doc:
    """The compact JSON of ``doc``, or ``doc`` itself if it has none (see the module)."""
    try:
        return _dumps(doc)
    except TypeError:
        return doc


class PackedDocs(MutableMapping[int, Doc]):
    """Documents by id, held as their JSON text and decoded on every read.

    Writes (``docs[i] = doc``) encode the document. A document read by id (``docs[i]``,
    :meth:`get`) is decoded and kept decoded among the :data:`RECENT` last so read, so
    reading it again returns the same dictionary (as a dict table would; never change
    it); reading them all (:meth:`values`, :meth:`items`) decodes each anew.
    """

    def __init__(self, docs: Mapping[int, Doc] | None = None) -> None:
        self._held: dict[int, bytes | Doc] = {}
        self._recent: dict[int, Doc] = {}
        """Documents decoded lately (at most :data:`RECENT`), oldest first."""
        self.shapes: set[Shape] | None = set()
        """The shapes documents have had here (None: too many to keep)."""
        if docs is not None:
            for doc_id, doc in docs.items():
                self[doc_id] = doc

    def load(self, doc_id: int, raw: bytes, doc: Doc) -> None:
        """Hold ``raw``, the JSON text just decoded as ``doc``, as document ``doc_id``."""
        self._held[doc_id] = raw
        self._recent.pop(doc_id, None)
        self._saw(doc)

    def _saw(self, doc: Doc) -> None:
        shapes = self.shapes
        if shapes is not None:
            shapes.add(shape_of(doc))
            if len(shapes) > MAX_SHAPES:
                self.shapes = None

    def fits(self, fields: Mapping[str, tuple[type, ...]]) -> bool:
        """Whether every document holds ``fields`` with values of the types allowed.

        True vouches for every document; False means that some document may not (a
        document that did has been replaced since, or too many shapes to keep).
        """
        if self.shapes is None:
            return False
        for shape in self.shapes:
            half = len(shape) // 2
            types = dict(zip(shape[:half], shape[half:], strict=True))
            for field, kinds in fields.items():
                kind = types.get(field)
                if kind is None or not issubclass(kind, kinds):
                    return False
        return True

    def held(self, doc_id: int) -> bytes | Doc:
        """What holds document ``doc_id``: its JSON text, or the dictionary JSON would change."""
        return self._held[doc_id]

    def raw_items(self) -> Iterator[tuple[int, bytes]]:
        """Every ``(id, JSON text)``, in insertion order.

        Raises
        ------
        TypeError
            If a document held as a dictionary is not JSON.
        """
        for doc_id, held in self._held.items():
            yield doc_id, held if type(held) is bytes else _dumps(held)

    # -- the mapping ----------------------------------------------------------------------

    # Writers change ``_held`` first and then drop the document from ``_recent``; a reader
    # that decoded a text checks after keeping the document that the text is still the
    # one held. So whichever of them runs first, no document decoded from a replaced
    # text stays in ``_recent``, without a lock.
    def _decoded(self, doc_id: int, held: bytes) -> Doc:
        doc: Doc = _loads(held)
        recent = self._recent
        if len(recent) >= RECENT:
            with contextlib.suppress(KeyError, RuntimeError):  # another thread's eviction
                del recent[next(iter(recent))]
        recent[doc_id] = doc
        if self._held.get(doc_id) is not held:  # replaced meanwhile (another thread)
            recent.pop(doc_id, None)
        return doc

    # The reads by id are written out in full: they are the hot path of every read.
    def __getitem__(self, doc_id: int) -> Doc:
        doc = self._recent.get(doc_id)
        if doc is not None:
            return doc
        held = self._held[doc_id]
        if type(held) is not bytes:
            return held  # type: ignore[return-value]
        return self._decoded(doc_id, held)

    def get(self, doc_id: int, default: Any = None) -> Any:
        """Document ``doc_id``, or ``default``."""
        doc = self._recent.get(doc_id)
        if doc is not None:
            return doc
        held = self._held.get(doc_id)
        if type(held) is not bytes:
            return default if held is None else held
        return self._decoded(doc_id, held)

    def peek(self, doc_id: int) -> Doc:
        """Document ``doc_id``, decoded without being kept (for reading many once)."""
        doc = self._recent.get(doc_id)
        if doc is not None:
            return doc
        held = self._held[doc_id]
        if type(held) is not bytes:
            return held  # type: ignore[return-value]
        return _loads(held)  # type: ignore[no-any-return]

    def __setitem__(self, doc_id: int, doc: Doc) -> None:
        self._held[doc_id] = _encode(doc)
        self._recent.pop(doc_id, None)
        self._saw(doc)

    def __delitem__(self, doc_id: int) -> None:
        del self._held[doc_id]
        self._recent.pop(doc_id, None)

    def pop(self, doc_id: int, default: Any = _MISSING) -> Any:
        """Remove document ``doc_id`` and return it; ``default`` (or KeyError) if missing."""
        held = self._held.pop(doc_id, _MISSING)
        if held is _MISSING:
            if default is _MISSING:
                raise KeyError(doc_id)
            return default
        doc = self._recent.pop(doc_id, None)
        return _decode(held) if doc is None else doc

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._held

    def __iter__(self) -> Iterator[int]:
        return iter(self._held)

    def __len__(self) -> int:
        return len(self._held)

    def values(self) -> ValuesView[Doc]:
        """Every document, decoded one at a time."""
        return _Values(self)

    def items(self) -> ItemsView[int, Doc]:
        """Every ``(id, document)``, decoded one at a time."""
        return _Items(self)

    def __repr__(self) -> str:
        return f"PackedDocs({len(self._held)} documents)"


class _Values(ValuesView[Doc]):
    _mapping: PackedDocs

    def __iter__(self) -> Iterator[Doc]:
        return map(_decode, self._mapping._held.values())


class _Items(ItemsView[int, Doc]):
    _mapping: PackedDocs

    def __iter__(self) -> Iterator[tuple[int, Doc]]:
        for doc_id, held in self._mapping._held.items():
            yield doc_id, _decode(held)
