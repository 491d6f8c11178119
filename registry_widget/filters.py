"""MongoDB-style filters: the grammar, validated into a backend-neutral tree.

A filter is a dictionary such as::

    {"tag": "baseline", "metadata.acc": {"$gte": 0.9},
     "$or": [{"alias": "production"}, {"created_at": {"$gt": "2026-01-01"}}]}

The caller says which public fields it supports and where each one lives in its
documents; when ``metadata`` is among them, ``metadata.<dotted.path>`` reaches into
the nested metadata object (a bare ``metadata`` compares the whole object). The same
holds for every field named after one of :data:`OBJECT_FIELDS` (``config``,
``run.summary``...).

Operators
---------
``$and``, ``$or``
    A non-empty list of filters, all or any of which must match.
``$not``
    At the top level, a filter that must not match (``{"$not": {"tag": "x"}}``). On a
    field, an operator object that must not match (``{"size": {"$not": {"$gt": 3}}}``).
``$eq``, ``$ne``, ``$in``, ``$nin``
    JSON equality with the operand (or one of the operand list for ``$in``/``$nin``).
    ``{"field": value}`` means ``{"field": {"$eq": value}}``. Several operators on a field
    and several keys in a dictionary must all match.
``$gt``, ``$gte``, ``$lt``, ``$lte``
    Ordering, between numbers or between strings; the operand must be a number, a string
    or a :class:`~datetime.datetime`.
``$exists``
    ``True`` if the field must be present, ``False`` if it must be missing.
``$regex``
    :func:`re.search` of the pattern (a string) in a string value.
``$contains``
    A case-sensitive substring test on a string value; membership on a list value.

Semantics
---------
- Equality is JSON equality: ``1 == 1.0``, but ``True`` is not ``1``; objects compare
  regardless of key order.
- When the document value is a list (tags, aliases...), ``$eq``, ``$in``, ``$regex``,
  ``$contains`` and the comparisons match if any element matches; ``$eq`` and ``$in`` also
  match a list equal to the operand as a whole. ``$ne`` and ``$nin`` match if no element
  (and not the whole list) matches: they are the exact negations of ``$eq`` and ``$in``.
- A missing field never matches ``$eq``, ``$in``, ``$regex``, ``$contains`` or the
  comparisons; it matches ``$ne``, ``$nin``, ``$exists: False`` and ``$not``.
- Values of different kinds never compare: ``"a" > 1``, ``None < 1`` and ``True > 0.5``
  are false, never an error. Booleans are not numbers; ints and floats compare freely.
- :class:`~datetime.datetime` operands become the ISO-8601 UTC strings in which
  timestamps are stored (``2026-11-22T04:30:43.123456Z``; naive datetimes are taken as
  UTC), so ``{"created_at": {"$gte": datetime(2026, 1, 1)}}`` works.

A filter is validated once, by :func:`parse_filter`, into the small tree of
:mod:`registry_widget.filter_tree` (:class:`~registry_widget.filter_tree.Condition`,
``And``, ``Or`` and ``Not`` nodes) whose field paths are resolved and whose operands are
canonical. That tree is what a store receives: each backend compiles it into its own
query language (TinyDB queries, SQL), and its ``matches`` method evaluates it in plain
Python over a document — the backend-neutral reference every compiled form must agree
with. Equal filters give equal, hashable trees.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, NoReturn

from registry_widget.errors import ValidationError
from registry_widget.filter_tree import (
    COMPARISONS,
    DICT_TAG,
    LIST_TAG,
    MATCH_ALL,
    And,
    Condition,
    Filter,
    Not,
    Or,
    canon,
)
from registry_widget.text import lone_surrogate

__all__ = [
    "FIELD_OPERATORS",
    "LOGICAL_OPERATORS",
    "OBJECT_FIELDS",
    "Normalizers",
    "compile_predicate",
    "parse_filter",
]

LOGICAL_OPERATORS = ("$and", "$or", "$not")
FIELD_OPERATORS = (
    "$eq",
    "$ne",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$in",
    "$nin",
    "$exists",
    "$regex",
    "$contains",
    "$not",
)
OBJECT_FIELDS = ("metadata", "config", "summary")
"""Fields holding a JSON object: ``metadata.<dotted.path>`` (or ``run.config.lr``) reaches
into them when the caller supports the field itself."""
_MAX_OPERAND_DEPTH = 32
_MAX_FILTER_DEPTH = 32
_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"

Fields = Mapping[str, tuple[str, ...]]
Normalizers = Mapping[str, Callable[[str], str]]
"""Public field name -> the function that spells a text operand as the documents do."""


def parse_filter(
    spec: Mapping[str, Any] | None, fields: Fields, *, normalize: Normalizers | None = None
) -> Filter:
    """Validate a MongoDB-style filter into the tree that stores compile.

    Parameters
    ----------
    spec
        The filter; ``None`` or ``{}`` matches every document.
    fields
        The public field names the caller supports, each mapped to the path of keys
        where it lives in a document, e.g. ``{"tag": ("tags",)}``.
    normalize
        For fields whose text is compared in a canonical spelling: public field name ->
        a function applied to each (validated) string operand of an equality on that field
        (``$eq``, ``$ne``, ``$in``, ``$nin``, a plain value), e.g. a user name written in
        any case -> the name as the organisation spells it.

    Returns
    -------
    Filter
        A hashable tree; parsing an equal filter again gives an equal tree.

    Raises
    ------
    ValidationError
        If the filter names an unknown field or operator, or an operand is malformed.
    """
    if spec is None:
        return MATCH_ALL
    return _parse(spec, fields, normalize or {}, 0)


def compile_predicate(
    spec: Mapping[str, Any] | None, fields: Fields
) -> Callable[[Mapping[str, Any]], bool]:
    """A MongoDB-style filter as a plain predicate over a document (the reference).

    Parameters
    ----------
    spec
        The filter, as for :func:`parse_filter`.
    fields
        The supported fields, as for :func:`parse_filter`.

    Returns
    -------
    Callable[[Mapping[str, Any]], bool]
        A function telling whether a document matches.

    Raises
    ------
    ValidationError
        If the filter is invalid.
    """
    return parse_filter(spec, fields).matches


# -- validation -----------------------------------------------------------------------------


def _fail(problem: str, value: object) -> NoReturn:
    try:
        shown = repr(value)
    except RecursionError:
        shown = f"<{type(value).__name__} nested too deeply to show>"
    if len(shown) > 60:
        shown = shown[:57] + "..."
    msg = f"filter {problem} (got {shown})"
    raise ValidationError(msg, field="filter", value=value)


def _all(parts: list[Filter]) -> Filter:
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _check_depth(depth: int) -> None:
    if depth > _MAX_FILTER_DEPTH:
        msg = (
            f"filter nests $and, $or and $not deeper than {_MAX_FILTER_DEPTH} levels; "
            "write it flatter"
        )
        raise ValidationError(msg, field="filter", value=None)


def _text(value: str, where: str) -> str:
    """Refuse a string that is not text: a filter with a lone surrogate matches nothing."""
    at = lone_surrogate(value)
    if at is not None:
        _fail(f"{where} contains the lone surrogate U+{ord(value[at]):04X}, not text", value)
    return value


def _parse(spec: object, fields: Fields, normalize: Normalizers, depth: int) -> Filter:
    _check_depth(depth)
    if not isinstance(spec, Mapping):
        _fail(f"must be a dict, not {type(spec).__name__}", spec)
    if not spec:
        return MATCH_ALL
    parts: list[Filter] = []
    for key, condition in spec.items():
        if not isinstance(key, str):
            _fail(f"keys are field names or {', '.join(LOGICAL_OPERATORS)}", key)
        if key in {"$and", "$or"}:
            subs = _sub_filters(key, condition, fields, normalize, depth)
            parts.append(
                _all(subs) if key == "$and" else (subs[0] if len(subs) == 1 else Or(tuple(subs)))
            )
        elif key == "$not":
            parts.append(Not(_parse(condition, fields, normalize, depth + 1)))
        elif key.startswith("$"):
            where = "needs a field" if key in FIELD_OPERATORS else "is not supported"
            allowed = ", ".join(LOGICAL_OPERATORS)
            _fail(f"operator {key!r} {where} at this level; allowed here: {allowed}", key)
        else:
            field = _text(key, "field name")
            path = _resolve(field, fields)
            parts.append(_field(path, field, condition, normalize.get(field), depth + 1))
    return _all(parts)


def _sub_filters(
    key: str, condition: object, fields: Fields, normalize: Normalizers, depth: int
) -> list[Filter]:
    if not isinstance(condition, (list, tuple)) or not condition:
        _fail(f"operator {key} needs a non-empty list of filters", condition)
    return [_parse(sub, fields, normalize, depth + 1) for sub in condition]


def _is_object_field(name: str) -> bool:
    """Whether the public field ``name`` holds a JSON object that dotted paths reach into."""
    return name.rpartition(".")[2] in OBJECT_FIELDS


def _resolve(name: str, fields: Fields) -> tuple[str, ...]:
    if name in fields:
        return tuple(fields[name])
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:cut])
        if head in fields and _is_object_field(head):
            segments = parts[cut:]
            if "" in segments:
                _fail(f"field {name!r} has an empty segment; write {head}.<key>.<key>", name)
            return (*fields[head], *segments)
    allowed = sorted(fields)
    allowed.extend(f"{field}.<dotted.path>" for field in sorted(fields) if _is_object_field(field))
    _fail(f"field {name!r} is not supported; allowed fields: {', '.join(allowed)}", name)


def _is_operator_dict(condition: object) -> bool:
    return (
        isinstance(condition, Mapping)
        and bool(condition)
        and any(isinstance(k, str) and k.startswith("$") for k in condition)
    )


_Fix = Callable[[str], str] | None


def _field(path: tuple[str, ...], name: str, condition: object, fix: _Fix, depth: int) -> Filter:
    _check_depth(depth)
    if not _is_operator_dict(condition):
        return _operator(path, name, "$eq", condition, fix, depth)
    assert isinstance(condition, Mapping)
    parts = []
    for op, operand in condition.items():
        if not (isinstance(op, str) and op.startswith("$")):
            _fail(f"on field {name!r} mixes operators and plain keys", dict(condition))
        parts.append(_operator(path, name, op, operand, fix, depth))
    return _all(parts)


def _operator(
    path: tuple[str, ...], name: str, op: str, operand: object, fix: _Fix, depth: int
) -> Filter:
    where = f"operator {op} on field {name!r}"
    if op == "$eq":
        return Condition(path, "$eq", _equal_to(operand, where, fix))
    if op == "$ne":
        return Not(Condition(path, "$eq", _equal_to(operand, where, fix)))
    if op in {"$in", "$nin"}:
        if not isinstance(operand, (list, tuple, set, frozenset)):
            _fail(f"{where} needs a list of values", operand)
        keys = frozenset(_equal_to(item, where, fix) for item in operand)
        matches = Condition(path, "$in", keys)
        return matches if op == "$in" else Not(matches)
    if op in COMPARISONS:
        value = _to_json(operand)
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            _fail(f"{where} needs a number, a string or a datetime", operand)
        if isinstance(value, str):
            _text(value, where)
        if isinstance(value, float) and math.isnan(value):
            _fail(f"{where} needs a number other than NaN", operand)
        return Condition(path, op, value)
    if op == "$exists":
        if not isinstance(operand, bool):
            _fail(f"{where} needs True or False", operand)
        exists = Condition(path, "$exists", None)
        return exists if operand else Not(exists)
    if op == "$regex":
        return Condition(path, "$regex", _pattern(operand, where))
    if op == "$contains":
        return Condition(path, "$contains", _canon_operand(operand, where))
    if op == "$not":
        if not _is_operator_dict(operand):
            _fail(f"{where} needs an operator object such as {{'$gt': 3}}", operand)
        return Not(_field(path, name, operand, fix, depth + 1))
    allowed = ", ".join(FIELD_OPERATORS)
    _fail(f"operator {op!r} on field {name!r} is not supported; allowed: {allowed}", op)


def _equal_to(operand: object, where: str, fix: _Fix) -> Any:
    """The canonical operand of an equality, a string spelt by the field's ``fix``."""
    value = _canon_operand(operand, where)
    return fix(value) if fix is not None and isinstance(value, str) else value


def _pattern(operand: object, where: str) -> re.Pattern[str]:
    if isinstance(operand, re.Pattern) and isinstance(operand.pattern, str):
        return operand
    if not isinstance(operand, str):
        _fail(f"{where} needs a regular expression string", operand)
    _text(operand, where)
    try:
        return re.compile(operand)
    except re.error as exc:
        _fail(f"{where} has an invalid regular expression: {exc}", operand)


def _to_json(value: object) -> object:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(timezone.utc).strftime(_TIMESTAMP)
    return value


def _canon_operand(value: object, where: str, depth: int = 0) -> Any:
    """Return the canonical, hashable form of a JSON operand (see :func:`canon`)."""
    value = _to_json(value)
    if depth > _MAX_OPERAND_DEPTH:
        _fail(f"{where} has an operand nested too deeply", value)
    if isinstance(value, float) and not math.isfinite(value):
        _fail(f"{where} needs a finite number", value)
    if isinstance(value, str):
        return _text(value, where)
    if value is None or isinstance(value, (bool, int, float)):
        return canon(value)
    if isinstance(value, (list, tuple)):
        return (LIST_TAG, tuple(_canon_operand(item, where, depth + 1) for item in value))
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                _fail(f"{where} has an object operand with a non-string key", key)
            _text(key, where)
            items.append((key, _canon_operand(item, where, depth + 1)))
        return (DICT_TAG, frozenset(items))
    _fail(f"{where} needs a JSON value, not {type(value).__name__}", value)
