r"""The journal: committed transactions appended to one file, one checksummed line each.

Framing
-------
Every line is ``<crc32 of the payload, 8 hex digits> <payload>\n`` where the payload is
one compact JSON object (JSON escapes newlines inside strings, so a payload never holds
one). The first line is the header, ``{"journal": "registry_widget", "generation": N,
"token": "..."}``, naming the snapshot it continues; every further line is one committed
transaction, ``{"c": [change, ...]}`` with changes ``["i", table, id, document]``,
``["u", table, id, fields]`` and ``["r", table, id]``.

A line without its newline, or whose checksum does not match, at the very end of the
file is a commit that never completed (the process died while appending it): it is not
part of the store, and the next writer cuts it off. A bad line followed by good ones is
damage, and is refused.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from registry_widget.errors import StoreCorruptedError
from registry_widget.store.base import Change
from registry_widget.store.snapshot import Generation

__all__ = ["JournalTail", "encode_header", "encode_record", "parse_header", "parse_records"]

MAGIC = "registry_widget"


def _frame(payload: bytes) -> bytes:
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # an int beyond 64 bits, which orjson does not write
        import json

        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def encode_header(generation: Generation) -> bytes:
    """The first line of a new journal of ``generation``."""
    number, token = generation
    return _frame(_dumps({"journal": MAGIC, "generation": number, "token": token}))


def encode_record(changes: Iterable[Change]) -> bytes:
    """One journal line holding the committed ``changes`` of a transaction."""
    out: list[list[Any]] = []
    for c in changes:
        if c.op == "insert":
            out.append(["i", c.table, c.doc_id, c.after])
        elif c.op == "update":
            out.append(["u", c.table, c.doc_id, c.fields])
        else:
            out.append(["r", c.table, c.doc_id])
    return _frame(_dumps({"c": out}))


def _check(line: bytes) -> bytes | None:
    """The payload of a well-framed line (with its newline), else None."""
    if len(line) < 10 or line[8:9] != b" " or not line.endswith(b"\n"):
        return None
    payload = line[9:-1]
    try:
        crc = int(line[:8], 16)
    except ValueError:
        return None
    return payload if zlib.crc32(payload) == crc else None


def parse_header(line: bytes, path: Path) -> Generation:
    """The generation a journal's first line names; refuses anything else."""
    payload = _check(line)
    header = None
    if payload is not None:
        try:
            header = orjson.loads(payload)
        except orjson.JSONDecodeError:
            header = None
    if (
        not isinstance(header, dict)
        or header.get("journal") != MAGIC
        or not isinstance(header.get("generation"), int)
        or not isinstance(header.get("token"), str)
    ):
        msg = (
            f"the journal {path} does not start with a registry journal header; it was "
            "left untouched. Restore the store from a backup"
        )
        raise StoreCorruptedError(msg)
    return header["generation"], header["token"]


@dataclass
class JournalTail:
    """What reading a journal from some offset found."""

    records: list[list[list[Any]]]
    """The change lists of the complete records, in order."""
    end: int
    """The offset just after the last complete record."""
    torn: bool
    """Whether an incomplete record follows ``end`` (cut off by the next writer)."""


def parse_records(data: bytes, start: int, path: Path) -> JournalTail:
    """Parse the records in ``data`` (the journal's bytes from offset ``start``).

    Raises
    ------
    StoreCorruptedError
        If a damaged record is followed by more data.
    """
    records: list[list[list[Any]]] = []
    pos = 0
    size = len(data)
    loads = orjson.loads
    while pos < size:
        nl = data.find(b"\n", pos)
        if nl < 0:
            return JournalTail(records, start + pos, torn=True)
        line = data[pos : nl + 1]
        payload = _check(line)
        record = None
        if payload is not None:
            try:
                record = loads(payload)
            except orjson.JSONDecodeError:
                record = None
        if not isinstance(record, dict) or not isinstance(record.get("c"), list):
            if not data[nl + 1 :].strip(b"\x00"):
                return JournalTail(records, start + pos, torn=True)
            msg = (
                f"the journal {path} has a damaged record at byte {start + pos} followed by "
                "more records; the store was left untouched. Restore it from a backup"
            )
            raise StoreCorruptedError(msg)
        records.append(record["c"])
        pos = nl + 1
    return JournalTail(records, start + pos, torn=False)
