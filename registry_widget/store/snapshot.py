"""The snapshot: the whole store as one TinyDB JSON file, one document per line.

The file is what TinyDB's JSONStorage reads (``TinyDB(path)`` opens it): an object of
tables, each an object of documents keyed by their id as a string. It is written with
one table header and one document per line::

    {
    "_journal":{
    "1":{"generation":4,"token":"9f0c...","next_ids":{"artifacts":3,...}}
    },
    "artifacts":{
    "1":{"name":"cat","index":0,...},
    "2":{...}
    }
    }   (no newline after the last brace)

so that it can be written and read a document at a time, without holding its whole text
in memory. The big tables keep each document's line as read, as its JSON text
(:class:`~registry_widget.store.packed.PackedDocs`), and are written back from it. A
file in any other layout (written by TinyDB itself, or by older versions) is read whole.
The ``_journal`` table names the journal generation that continues the snapshot (see
:mod:`registry_widget.store.jsonfile`) and each table's next document id; it is not part
of the working set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import orjson

from registry_widget._fs import fsync_dir, replace_file
from registry_widget.errors import StoreCorruptedError, StoreWriteError
from registry_widget.store.packed import PackedDocs, new_docs
from registry_widget.store.table import Tables, held_as

__all__ = ["JOURNAL_TABLE", "Generation", "Snapshot", "read_snapshot", "write_snapshot"]

JOURNAL_TABLE = "_journal"
"""The snapshot table naming the journal generation that follows it."""

Generation = tuple[int, str]
"""A journal generation: its number (growing with every fold) and a random token."""

_CHUNK = 1 << 20


class _NotLineLayoutError(Exception):
    """The file is valid or not, but not in the one-document-per-line layout."""


@dataclass
class Snapshot:
    """What a snapshot file holds, and its stat when read."""

    tables: Tables
    generation: Generation | None
    """The journal generation that continues it (None in files written without one)."""
    next_ids: dict[str, int]
    """Each table's next document id, past every id ever given out (may be empty)."""
    stat: os.stat_result


def write_snapshot(
    path: Path, tables: Tables, generation: Generation, next_ids: dict[str, int]
) -> os.stat_result:
    """Write ``tables`` atomically to ``path`` (temporary file, fsync, rename, fsync folder).

    Returns the stat of the new file.

    Raises
    ------
    StoreWriteError
        If the file cannot be written (a full disk…): ``path`` is left as it was.
    """
    try:
        st = replace_file(path, lambda f: _write(f, tables, generation, next_ids))
    except (OSError, TypeError) as exc:
        msg = f"could not write the store file {path} ({exc}); it was left as it was"
        raise StoreWriteError(msg) from exc
    fsync_dir(path.parent)
    return st


def _write(f: BinaryIO, tables: Tables, generation: Generation, next_ids: dict[str, int]) -> None:
    dumps = orjson.dumps
    number, token = generation
    f.write(b"{\n")
    names = [JOURNAL_TABLE, *(n for n in tables if n != JOURNAL_TABLE)]
    head = {"generation": number, "token": token, "next_ids": next_ids}
    for t, name in enumerate(names):
        docs = {1: head} if t == 0 else tables[name]
        f.write(dumps(name) + b":{\n")
        parts: list[bytes] = []
        size = 0
        last = len(docs) - 1
        texts = (
            docs.raw_items()
            if isinstance(docs, PackedDocs)
            else ((doc_id, dumps(doc)) for doc_id, doc in docs.items())
        )
        for k, (doc_id, text) in enumerate(texts):
            line = b'"%d":%s%s' % (doc_id, text, b"\n" if k == last else b",\n")
            parts.append(line)
            size += len(line)
            if size >= _CHUNK:
                f.write(b"".join(parts))
                parts.clear()
                size = 0
        f.write(b"".join(parts))
        f.write(b"}\n" if t == len(names) - 1 else b"},\n")
    f.write(b"}")  # no newline after it: cutting the last byte leaves invalid JSON


def read_snapshot(path: Path) -> Snapshot:
    """Read the snapshot at ``path``: its tables, journal generation, next ids and stat.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    StoreCorruptedError
        If the file is empty, not JSON, not TinyDB's layout, or not a registry store.
    """
    with path.open("rb") as f:
        st = os.fstat(f.fileno())
        try:
            tables = _read_lines(f)
        except _NotLineLayoutError:
            f.seek(0)
            tables = _read_whole(f.read(), path)
    journal = tables.pop(JOURNAL_TABLE, None)
    if journal is None:
        return Snapshot(tables, None, {}, st)  # written by TinyDB or an older version
    meta = journal.get(1)
    number = meta.get("generation") if isinstance(meta, dict) else None
    token = meta.get("token") if isinstance(meta, dict) else None
    next_ids = meta.get("next_ids", {}) if isinstance(meta, dict) else None
    if (
        type(number) is not int
        or not isinstance(token, str)
        or not isinstance(next_ids, dict)
        or not all(type(n) is int for n in next_ids.values())
    ):
        msg = (
            f"the store file {path} has a damaged {JOURNAL_TABLE!r} table (expected "
            "document 1 with an integer 'generation', a string 'token' and integer "
            f"'next_ids', found {meta!r}); it was left untouched. Restore it from a backup"
        )
        raise StoreCorruptedError(msg)
    return Snapshot(tables, (number, token), next_ids, st)


def _read_lines(f: BinaryIO) -> Tables:
    loads = orjson.loads
    lines = iter(f)
    if next(lines, None) != b"{\n":
        raise _NotLineLayoutError
    tables: Tables = {}
    for header in lines:
        if header == b"}":
            if next(lines, None) is not None:
                raise _NotLineLayoutError
            return tables
        if not header.endswith(b":{\n"):
            raise _NotLineLayoutError
        try:
            name = loads(header[:-3])
        except orjson.JSONDecodeError:
            raise _NotLineLayoutError from None
        if not isinstance(name, str) or name in tables:
            raise _NotLineLayoutError
        docs = new_docs(name)
        packed = docs if isinstance(docs, PackedDocs) else None
        for line in _documents(lines):
            sep = line.find(b'":')
            if line[:1] != b'"' or sep < 0:
                raise _NotLineLayoutError
            try:
                doc_id = int(line[1:sep])
                text = line[sep + 2 :]
                doc = loads(text)
            except (ValueError, orjson.JSONDecodeError):
                raise _NotLineLayoutError from None
            if not isinstance(doc, dict) or doc_id in docs:
                raise _NotLineLayoutError
            if packed is None:
                docs[doc_id] = doc
            else:
                packed.load(doc_id, text, doc)  # the text, not the dictionary, is kept
        tables[name] = docs
    raise _NotLineLayoutError  # no closing line: truncated


def _documents(lines: Iterator[bytes]) -> Iterator[bytes]:
    """The document lines of one table, without their line ends; consumes its closing line."""
    for line in lines:
        if line in {b"},\n", b"}\n"}:
            return
        if line.endswith(b",\n"):
            yield line[:-2]
        elif line.endswith(b"\n"):
            yield line[:-1]
            closing = next(lines, None)
            if closing not in {b"},\n", b"}\n"}:
                raise _NotLineLayoutError
            return
        else:
            raise _NotLineLayoutError
    raise _NotLineLayoutError


def _read_whole(raw: bytes, path: Path) -> Tables:
    if not raw.strip():
        msg = (
            f"the store file {path} is empty ({len(raw)} bytes); refusing to treat "
            "it as a new store. Restore it from a backup, or delete it to start afresh"
        )
        raise StoreCorruptedError(msg)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        msg = (
            f"the store file {path} is not valid JSON ({exc}); it may be truncated "
            "or damaged. It was left untouched: restore it from a backup"
        )
        raise StoreCorruptedError(msg) from None
    if not isinstance(data, dict) or not all(
        isinstance(t, dict) and all(isinstance(d, dict) for d in t.values()) for t in data.values()
    ):
        msg = (
            f"{path} is JSON but not a TinyDB store (expected an object of tables); "
            "it was left untouched"
        )
        raise StoreCorruptedError(msg)
    try:
        return {
            name: held_as(name, {int(k): v for k, v in docs.items()}) for name, docs in data.items()
        }
    except ValueError:
        msg = f"{path} has a document id that is not a number; it was left untouched"
        raise StoreCorruptedError(msg) from None
