"""Hash indexes over one field of a table, kept up to date change by change.

An index maps each value of a field to the ids of the documents holding it. A field
whose value is a list (tags, aliases) is indexed under every element, so a lookup finds
the documents whose field *is* the value or *contains* it. Only scalar JSON values
(strings, numbers, booleans, null) are indexed; a document whose field holds an object is
found by no lookup, which matches what equality with a scalar means.

A value held by one document only (an id, a digest, a link number) is kept as the bare
id rather than a dictionary: in a large store most values of such fields are, and an int
takes a fraction of the memory. Nor is it a container the garbage collector follows: an
index of such values is a dictionary the collector never traverses, however large.
:meth:`HashIndex.lookup` answers a one-element tuple for it; every bucket it answers
supports ``in``, ``len`` and iteration, in insertion order.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Any, TypeAlias

__all__ = ["Bucket", "HashIndex", "build_indexes", "index_key"]

Bucket: TypeAlias = dict[int, None] | tuple[int]
"""The ids of the documents holding one value, as :meth:`HashIndex.lookup` answers them."""

_Held: TypeAlias = dict[int, None] | int
"""A bucket as an index holds it: the id alone while there is one."""

_MISSING = object()


def index_key(value: object) -> Hashable | None:
    """The key under which a scalar is indexed; None for values that are not indexed.

    Booleans are kept apart from the numbers 0 and 1 (which Python hashes alike); ints
    and floats of equal value share a key, as in JSON.
    """
    kind = type(value)
    if kind is str or kind is int or kind is float:
        return value
    if kind is bool:
        return ("bool", value)
    if value is None:
        return ("null",)
    return None


def _lookup_key(value: object) -> Hashable:
    key = index_key(value)
    if key is None:
        msg = f"index lookups take a str, number, bool or None, not {value!r}"
        raise TypeError(msg)
    return key


def _keys(value: object) -> Iterator[Hashable]:
    if isinstance(value, list):
        for item in value:
            key = index_key(item)
            if key is not None:
                yield key
    else:
        key = index_key(value)
        if key is not None:
            yield key


class HashIndex:
    """The documents of one table by the value of one field."""

    __slots__ = ("buckets", "field")

    def __init__(self, field: str) -> None:
        self.field = field
        self.buckets: dict[Hashable, _Held] = {}

    def add(self, doc_id: int, doc: dict[str, Any]) -> None:
        """Index document ``doc_id``."""
        value = doc.get(self.field, _MISSING)
        if value is _MISSING:
            return
        buckets = self.buckets
        for key in _keys(value):
            bucket = buckets.get(key)
            if bucket is None:
                buckets[key] = doc_id
            elif isinstance(bucket, int):
                if bucket != doc_id:
                    buckets[key] = {bucket: None, doc_id: None}
            else:
                bucket[doc_id] = None

    def discard(self, doc_id: int, doc: dict[str, Any]) -> None:
        """Forget document ``doc_id`` (as it was indexed, from its content ``doc``)."""
        value = doc.get(self.field, _MISSING)
        if value is _MISSING:
            return
        buckets = self.buckets
        for key in _keys(value):
            bucket = buckets.get(key)
            if bucket is None:
                continue
            if isinstance(bucket, int):
                if bucket == doc_id:
                    del buckets[key]
                continue
            bucket.pop(doc_id, None)
            if not bucket:
                del buckets[key]

    def lookup(self, value: object) -> Bucket:
        """The ids of the documents whose field is (or contains) ``value``; do not change it."""
        kind = type(value)
        # every find() looks up here: strings and ints, the usual keys, skip index_key
        key = value if kind is str or kind is int else _lookup_key(value)
        bucket = self.buckets.get(key, _EMPTY)
        return (bucket,) if isinstance(bucket, int) else bucket

    def first(self, value: object) -> int | None:
        """The first id :meth:`lookup` would answer, or None."""
        kind = type(value)
        key = value if kind is str or kind is int else _lookup_key(value)
        bucket = self.buckets.get(key)
        if bucket is None or isinstance(bucket, int):
            return bucket
        return next(iter(bucket), None)

    def values(self) -> Iterable[Hashable]:
        """Every indexed key."""
        return self.buckets.keys()


_EMPTY: Bucket = {}


def build_indexes(fields: Iterable[str], docs: Mapping[int, dict[str, Any]]) -> list[HashIndex]:
    """An index of ``docs`` on each of ``fields``, reading each document once."""
    indexes = [HashIndex(field) for field in fields]
    for doc_id, doc in docs.items():
        for index in indexes:
            index.add(doc_id, doc)
    return indexes
