r"""The journal: committed transactions appended to one file, one checksummed line each.

Framing
-------
Every line is ``<crc32 of the payload, 8 hex digits> <payload>\n`` where the payload is
one compact JSON object (JSON escapes newlines inside strings, so a payload never holds
one). The first line is the header, ``{"journal": "registry_widget", "generation": N,
"token": "..."}``, naming the snapshot it continues; every further line is one committed
transaction, ``{"c": [change, ...]}`` with changes ``["i", table, id, document]``,
``["u", table, id, fields]`` and ``["r", table, id]``.

A last line that lacks its newline, or holds zero bytes (blocks a crash left unwritten;
a payload never holds a raw zero byte), is a commit that never completed: it is not part
of the store, and the next writer cuts it off. Any other bad line is damage and is
refused, the files left as they are: a bad line followed by more records, and a whole
last line (newline-terminated) whose checksum fails or that is not a well-formed record
(it was committed, then changed).

Only values that read back identically are written: integers within 64 bits, finite
floats, strings, booleans, None, lists and objects with string keys.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from registry_widget.errors import StoreCorruptedError, ValidationError
from registry_widget.store.base import Change
from registry_widget.store.snapshot import Generation

__all__ = ["JournalTail", "encode_header", "encode_record", "parse_header", "parse_records"]

MAGIC = "registry_widget"


def _frame(payload: bytes) -> bytes:
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def encode_header(generation: Generation) -> bytes:
    """The first line of a new journal of ``generation``."""
    number, token = generation
    return _frame(orjson.dumps({"journal": MAGIC, "generation": number, "token": token}))


def encode_record(changes: Iterable[Change]) -> bytes:
    """One journal line holding the committed ``changes`` of a transaction.

    Raises
    ------
    ValidationError
        If a document holds a value that would not read back identically (an integer
        beyond 64 bits, NaN, a tuple, a key that is not a string…).
    """
    out: list[list[Any]] = []
    for c in changes:
        if c.op == "insert":
            out.append(["i", c.table, c.doc_id, c.after])
        elif c.op == "update":
            out.append(["u", c.table, c.doc_id, c.fields])
        else:
            out.append(["r", c.table, c.doc_id])
    try:
        payload = orjson.dumps({"c": out})
        same = orjson.loads(payload)["c"] == out
    except TypeError:
        same = False
    if not same:
        for change in out:
            if len(change) == 4:
                _refuse_unstorable(change[1], change[2], change[3])
        msg = f"the changes {out!r} cannot be stored as JSON that reads back identically"
        raise ValidationError(msg)
    return _frame(payload)


def _refuse_unstorable(table: str, doc_id: int, doc: Any) -> None:
    """Raise ValidationError naming the first value in ``doc`` that JSON does not keep."""
    stack: list[tuple[str, Any]] = [("", doc)]
    while stack:
        path, value = stack.pop()
        kind = type(value)
        if kind is dict:
            for key, item in value.items():
                if type(key) is not str:
                    why = f"the key {key!r} is of type {type(key).__name__}, not a string"
                    _unstorable(table, doc_id, path or "document", why)
                stack.append((f"{path}.{key}" if path else key, item))
        elif kind is list:
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
        elif kind is int and not -(2**63) <= value < 2**64:
            why = f"the integer {value} is beyond 64 bits (allowed: -2**63 to 2**64 - 1)"
            _unstorable(table, doc_id, path, why)
        elif kind is float and not math.isfinite(value):
            _unstorable(table, doc_id, path, f"{value!r} is not a finite number")
        elif kind not in {str, int, float, bool, type(None)}:
            why = (
                f"a {kind.__name__} is not a JSON value "
                "(allowed: str, int, float, bool, None, list, dict)"
            )
            _unstorable(table, doc_id, path, why)


def _unstorable(table: str, doc_id: int, path: str, why: str) -> None:
    msg = f"cannot store {path} of document {doc_id} in table {table!r}: {why}"
    raise ValidationError(msg, field=path)


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
        if not isinstance(record, dict) or not _well_formed(record.get("c")):
            last = not data[nl + 1 :].strip(b"\x00")
            if last and b"\x00" in line:
                return JournalTail(records, start + pos, torn=True)
            where = "followed by more records" if not last else "(the last, complete record)"
            msg = (
                f"the journal {path} has a damaged record at byte {start + pos} {where}; "
                "the store was left untouched. Restore it from a backup"
            )
            raise StoreCorruptedError(msg)
        records.append(record["c"])
        pos = nl + 1
    return JournalTail(records, start + pos, torn=False)


_FIELDS = {"i": 4, "u": 4, "r": 3}


def _well_formed(changes: object) -> bool:
    """Whether ``changes`` is a list of well-formed insert, update and remove changes."""
    if not isinstance(changes, list):
        return False
    for change in changes:
        if (
            not isinstance(change, list)
            or not change
            or not isinstance(change[0], str)
            or _FIELDS.get(change[0]) != len(change)
            or not isinstance(change[1], str)
            or type(change[2]) is not int
            or (len(change) == 4 and not isinstance(change[3], dict))
        ):
            return False
    return True
