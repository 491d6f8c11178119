"""Validation of artifact metadata: JSON objects, their size and the numbers JSON keeps.

:func:`validate_metadata` returns a deep copy of the metadata that shares nothing with
the caller's object, or raises :class:`~registry_widget.errors.ValidationError` naming
the key path of the offending value (``metadata.scores[2]``), worded as in
:mod:`registry_widget.text`.

This module is pure: no I/O, no store access.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Mapping
from typing import Any, NoReturn

from registry_widget.text import fail

__all__ = ["MAX_METADATA_INT", "MIN_METADATA_INT", "validate_metadata"]

MAX_METADATA_KEYS = 100
MAX_METADATA_DEPTH = 20
MAX_METADATA_BYTES = 1024 * 1024
# The integers the store writes and reads back exactly (orjson: signed and unsigned 64-bit).
MIN_METADATA_INT = -(2**63)
MAX_METADATA_INT = 2**64 - 1

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_METADATA_RULE = (
    f"metadata is a JSON object with string keys, at most {MAX_METADATA_KEYS} top-level "
    f"keys, nesting depth at most {MAX_METADATA_DEPTH}, at most 1 MiB encoded, finite "
    f"numbers and integers from -2**63 to 2**64-1"
)

# A path to a value inside the metadata, built lazily: (parent, key) pairs.
_Path = tuple[Any, "str | int"] | None


def _render(path: _Path) -> str:
    parts: list[str] = []
    while path is not None:
        path, key = path
        if isinstance(key, int):
            parts.append(f"[{key}]")
        elif _IDENTIFIER.fullmatch(key):
            parts.append(f".{key}")
        else:
            parts.append(f"[{key!r}]")
    return "metadata" + "".join(reversed(parts))


def _meta_fail(path: _Path, value: object, problem: str) -> NoReturn:
    fail(_render(path), value, problem, _METADATA_RULE)


def validate_metadata(meta: object) -> dict[str, Any]:
    """Validate artifact metadata and return a deep copy of it.

    Parameters
    ----------
    meta
        ``None`` (meaning ``{}``) or a mapping with string keys whose values are JSON
        values: None, bool, int, float, str, list, tuple (copied as a list) or mapping.

    Returns
    -------
    dict[str, Any]
        A deep copy sharing nothing with ``meta``. The top-level object is depth 1;
        each nested list or object adds one level.

    Raises
    ------
    ValidationError
        If a key is not a string, a value is not JSON, a number is NaN or infinite, or
        the object has more than 100 top-level keys, is deeper than 20 levels or is more
        than 1 MiB encoded (compact UTF-8 JSON). The message names the key path, such as
        ``metadata.scores[2]``.
    """
    if meta is None:
        return {}
    if not isinstance(meta, Mapping):
        _meta_fail(None, meta, f"is of type {type(meta).__name__}, not a JSON object")
    if len(meta) > MAX_METADATA_KEYS:
        _meta_fail(None, meta, f"has {len(meta)} top-level keys")
    root: dict[str, Any] = {}
    # Iterative walk: (source container, its copy, its path, its depth).
    stack: list[tuple[Any, Any, _Path, int]] = [(meta, root, None, 1)]
    while stack:
        source, copy, path, depth = stack.pop()
        # Strings, ints, bools and None (the common case) are copied inline.
        if isinstance(copy, dict):
            for key, value in source.items():
                if type(key) is not str:
                    key = _metadata_key(key, path)  # noqa: PLW2901
                kind = type(value)
                if (
                    kind is str
                    or kind is bool
                    or value is None
                    or (kind is int and MIN_METADATA_INT <= value <= MAX_METADATA_INT)
                ):
                    copy[key] = value
                else:
                    copy[key] = _copy_value(value, (path, key), depth, stack)
        else:
            for index, value in enumerate(source):
                kind = type(value)
                if (
                    kind is str
                    or kind is bool
                    or value is None
                    or (kind is int and MIN_METADATA_INT <= value <= MAX_METADATA_INT)
                ):
                    copy.append(value)
                else:
                    copy.append(_copy_value(value, (path, index), depth, stack))
    try:
        encoded = json.dumps(root, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        size = len(encoded.encode("utf-8"))
    except (UnicodeEncodeError, ValueError):
        _unencodable(root)
    if size > MAX_METADATA_BYTES:
        _meta_fail(None, meta, f"is {size:,} bytes encoded (at most {MAX_METADATA_BYTES:,})")
    return root


def _metadata_key(key: object, path: _Path) -> str:
    if not isinstance(key, str):
        problem = f"is of type {type(key).__name__}; keys are strings"
        fail(_render(path) + " key", key, problem, _METADATA_RULE)
    return str(key)


def _copy_value(value: object, path: _Path, depth: int, stack: list[Any]) -> Any:
    if type(value) is float:
        if not math.isfinite(value):
            _meta_fail(path, value, "is not a finite number")
        return value
    if isinstance(value, (Mapping, list, tuple)):
        if depth + 1 > MAX_METADATA_DEPTH:
            _meta_fail(path, value, f"nests deeper than {MAX_METADATA_DEPTH} levels")
        copy: dict[str, Any] | list[Any] = {} if isinstance(value, Mapping) else []
        stack.append((value, copy, path, depth + 1))
        return copy
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return _metadata_int(int(value), path)
    if isinstance(value, float):
        return _metadata_float(float(value), path, value)
    return _number(value, path)


def _metadata_int(value: int, path: _Path) -> int:
    if not MIN_METADATA_INT <= value <= MAX_METADATA_INT:
        digits = len(str(abs(value))) if value.bit_length() < 10_000 else "many"
        shown = value if value.bit_length() <= 128 else f"<integer of {digits} digits>"
        _meta_fail(path, shown, "is an integer outside the 64-bit range")
    return value


def _metadata_float(value: float, path: _Path, original: object) -> float:
    if not math.isfinite(value):
        _meta_fail(path, original, "is not a finite number")
    return value


def _number(value: object, path: _Path) -> bool | int | float:
    """Convert a number of another library (a NumPy scalar...) to its JSON equivalent.

    Objects with a NumPy-like ``dtype`` and an empty ``shape`` give their Python value
    through ``item()``; other registered numbers (:mod:`numbers`) convert directly.
    """
    item: object = value
    if hasattr(value, "dtype") and getattr(value, "shape", None) == ():
        try:
            item = value.item()  # type: ignore[attr-defined]
        except (AttributeError, TypeError, ValueError):
            item = value
    if isinstance(item, bool):
        return bool(item)
    if isinstance(item, numbers.Integral):
        return _metadata_int(int(item), path)
    if isinstance(item, numbers.Real):
        try:
            number = float(item)
        except (TypeError, ValueError, OverflowError):
            number = math.inf
        return _metadata_float(number, path, value)
    _meta_fail(path, value, f"is of type {type(value).__name__}, not a JSON value")


def _unencodable(root: dict[str, Any]) -> NoReturn:
    """Find and report the value that json/UTF-8 could not encode."""
    stack: list[tuple[Any, _Path]] = [(root, None)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                stack.extend(((key, (path, key)), (item, (path, key))))
            continue
        if isinstance(value, list):
            stack.extend((v, (path, i)) for i, v in enumerate(value))
            continue
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            _meta_fail(path, value, "contains a lone surrogate, which UTF-8 cannot encode")
        except ValueError:
            _meta_fail(path, "<integer>", "is an integer with too many digits to encode")
    _meta_fail(None, "<object>", "cannot be encoded as JSON")  # pragma: no cover
