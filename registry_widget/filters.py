"""MongoDB-style filters compiled to TinyDB queries.

A filter is a dictionary such as::

    {"tag": "baseline", "metadata.acc": {"$gte": 0.9},
     "$or": [{"alias": "production"}, {"created_at": {"$gt": "2026-01-01"}}]}

:func:`compile_filter` turns it into a :class:`tinydb.queries.QueryInstance` that a TinyDB
table can ``search()``; :func:`compile_predicate` gives the same logic as a plain callable
over a document. The caller says which public fields it supports and where each one lives
in its documents; when ``metadata`` is among them, ``metadata.<dotted.path>`` reaches into
the nested metadata object (a bare ``metadata`` compares the whole object).

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

Compiled queries are built from module-level test functions and frozen operands, so that
compiling the same filter twice gives equal queries with equal hashes, as the TinyDB
query cache requires.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from functools import reduce
from typing import Any, NoReturn

from tinydb.queries import Query, QueryInstance

from registry_widget.errors import ValidationError
from registry_widget.names import lone_surrogate

__all__ = [
    "FIELD_OPERATORS",
    "LOGICAL_OPERATORS",
    "compile_filter",
    "compile_predicate",
    "split_filter",
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
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}
_MAX_OPERAND_DEPTH = 32
_MAX_FILTER_DEPTH = 32
_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"

Fields = Mapping[str, tuple[str, ...]]


def compile_filter(spec: Mapping[str, Any] | None, fields: Fields) -> QueryInstance:
    """Compile a MongoDB-style filter into a TinyDB query.

    Parameters
    ----------
    spec
        The filter; ``None`` or ``{}`` matches every document.
    fields
        The public field names the caller supports, each mapped to the path of keys
        where it lives in a document, e.g. ``{"tag": ("tags",)}``.

    Returns
    -------
    QueryInstance
        A hashable query; compiling an equal filter again gives an equal query.

    Raises
    ------
    ValidationError
        If the filter names an unknown field or operator, or an operand is malformed.
    """
    if spec is None:
        return Query().noop()
    return _compile(spec, fields, 0)


def compile_predicate(
    spec: Mapping[str, Any] | None, fields: Fields
) -> Callable[[Mapping[str, Any]], bool]:
    """Compile a MongoDB-style filter into a plain predicate over a document.

    Parameters
    ----------
    spec
        The filter, as for :func:`compile_filter`.
    fields
        The supported fields, as for :func:`compile_filter`.

    Returns
    -------
    Callable[[Mapping[str, Any]], bool]
        A function telling whether a document matches.

    Raises
    ------
    ValidationError
        If the filter is invalid.
    """
    query = compile_filter(spec, fields)

    def predicate(document: Mapping[str, Any]) -> bool:
        return bool(query(document))

    return predicate


def split_filter(
    spec: Mapping[str, Any] | None, fields: Fields
) -> tuple[dict[str, str], QueryInstance | None]:
    """Split a filter into string equalities an index can answer and a query for the rest.

    Top-level conditions ``{"field": "text"}`` or ``{"field": {"$eq": "text"}}`` (also
    inside a top-level ``$and``) on a field that lives at the top of the document become
    ``{document_key: "text"}``: a document matches them exactly when its value is that
    string or a list holding it, which is what a hash index finds. Everything else is
    compiled into the returned query. Together they match what :func:`compile_filter`
    matches; the whole filter is validated first.

    Returns
    -------
    tuple[dict[str, str], QueryInstance | None]
        The equalities by document key, and the query for the remaining conditions
        (None when nothing remains).
    """
    compile_filter(spec, fields)
    if not spec:
        return {}, None
    terms: list[tuple[str, object]] = []
    for key, condition in spec.items():
        if key == "$and" and isinstance(condition, (list, tuple)):
            for sub in condition:
                terms.extend(sub.items())
        else:
            terms.append((key, condition))
    equal: dict[str, str] = {}
    rest: dict[str, Any] = {}
    others: list[Any] = []
    for key, condition in terms:
        value = condition
        if _is_operator_dict(condition) and len(condition) == 1 and "$eq" in condition:  # type: ignore[operator, arg-type]
            value = condition["$eq"]  # type: ignore[index]
        path = fields.get(key) if not key.startswith("$") else None
        if isinstance(value, str) and path is not None and len(path) == 1 and path[0] not in equal:
            equal[path[0]] = value
        elif key in rest:
            others.append({key: condition})
        else:
            rest[key] = condition
    if others:
        rest = {"$and": [rest, *others]} if rest else {"$and": others}
    return equal, compile_filter(rest, fields) if rest else None


# -- compilation --------------------------------------------------------------------------


def _fail(problem: str, value: object) -> NoReturn:
    try:
        shown = repr(value)
    except RecursionError:
        shown = f"<{type(value).__name__} nested too deeply to show>"
    if len(shown) > 60:
        shown = shown[:57] + "..."
    msg = f"filter {problem} (got {shown})"
    raise ValidationError(msg, field="filter", value=value)


def _all(queries: list[QueryInstance]) -> QueryInstance:
    return reduce(operator.and_, queries)


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


def _compile(spec: object, fields: Fields, depth: int) -> QueryInstance:
    _check_depth(depth)
    if not isinstance(spec, Mapping):
        _fail(f"must be a dict, not {type(spec).__name__}", spec)
    if not spec:
        return Query().noop()
    parts: list[QueryInstance] = []
    for key, condition in spec.items():
        if not isinstance(key, str):
            _fail(f"keys are field names or {', '.join(LOGICAL_OPERATORS)}", key)
        if key in {"$and", "$or"}:
            subs = _sub_filters(key, condition, fields, depth)
            parts.append(reduce(operator.and_ if key == "$and" else operator.or_, subs))
        elif key == "$not":
            parts.append(~_compile(condition, fields, depth + 1))
        elif key.startswith("$"):
            where = "needs a field" if key in FIELD_OPERATORS else "is not supported"
            allowed = ", ".join(LOGICAL_OPERATORS)
            _fail(f"operator {key!r} {where} at this level; allowed here: {allowed}", key)
        else:
            field = _text(key, "field name")
            parts.append(_field(_resolve(field, fields), field, condition, depth + 1))
    return _all(parts)


def _sub_filters(key: str, condition: object, fields: Fields, depth: int) -> list[QueryInstance]:
    if not isinstance(condition, (list, tuple)) or not condition:
        _fail(f"operator {key} needs a non-empty list of filters", condition)
    return [_compile(sub, fields, depth + 1) for sub in condition]


def _resolve(name: str, fields: Fields) -> tuple[str, ...]:
    if name in fields:
        return tuple(fields[name])
    head, dot, rest = name.partition(".")
    if dot and head == "metadata" and "metadata" in fields:
        segments = rest.split(".")
        if "" in segments:
            _fail(f"field {name!r} has an empty segment; write metadata.<key>.<key>", name)
        return (*fields["metadata"], *segments)
    allowed = sorted(fields)
    if "metadata" in fields:
        allowed.append("metadata.<dotted.path>")
    _fail(f"field {name!r} is not supported; allowed fields: {', '.join(allowed)}", name)


def _is_operator_dict(condition: object) -> bool:
    return (
        isinstance(condition, Mapping)
        and bool(condition)
        and any(isinstance(k, str) and k.startswith("$") for k in condition)
    )


def _field(path: tuple[str, ...], name: str, condition: object, depth: int) -> QueryInstance:
    _check_depth(depth)
    if not _is_operator_dict(condition):
        return _operator(path, name, "$eq", condition, depth)
    assert isinstance(condition, Mapping)
    parts = []
    for op, operand in condition.items():
        if not (isinstance(op, str) and op.startswith("$")):
            _fail(f"on field {name!r} mixes operators and plain keys", dict(condition))
        parts.append(_operator(path, name, op, operand, depth))
    return _all(parts)


def _operator(
    path: tuple[str, ...], name: str, op: str, operand: object, depth: int
) -> QueryInstance:
    query: Query = Query()
    for part in path:
        query = query[part]
    where = f"operator {op} on field {name!r}"
    if op == "$eq":
        return _test(query, _eq, _canon_operand(operand, where))
    if op == "$ne":
        return ~_test(query, _eq, _canon_operand(operand, where))
    if op in {"$in", "$nin"}:
        if not isinstance(operand, (list, tuple, set, frozenset)):
            _fail(f"{where} needs a list of values", operand)
        keys = frozenset(_canon_operand(item, where) for item in operand)
        matches = _test(query, _in, keys)
        return matches if op == "$in" else ~matches
    if op in _COMPARISONS:
        value = _to_json(operand)
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            _fail(f"{where} needs a number, a string or a datetime", operand)
        if isinstance(value, str):
            _text(value, where)
        if isinstance(value, float) and math.isnan(value):
            _fail(f"{where} needs a number other than NaN", operand)
        return _test(query, _compare, _COMPARISONS[op], value)
    if op == "$exists":
        if not isinstance(operand, bool):
            _fail(f"{where} needs True or False", operand)
        exists = _test(query, _exists)
        return exists if operand else ~exists
    if op == "$regex":
        return _test(query, _regex, _pattern(operand, where))
    if op == "$contains":
        return _test(query, _contains, _canon_operand(operand, where))
    if op == "$not":
        if not _is_operator_dict(operand):
            _fail(f"{where} needs an operator object such as {{'$gt': 3}}", operand)
        return ~_field(path, name, operand, depth + 1)
    allowed = ", ".join(FIELD_OPERATORS)
    _fail(f"operator {op!r} on field {name!r} is not supported; allowed: {allowed}", op)


def _test(query: Query, func: Callable[..., bool], *operands: Any) -> QueryInstance:
    # ``Query.test`` passes extra arguments on to ``func`` and freezes them into the hash.
    return query.test(func, *operands)


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
    """Return the canonical, hashable form of a JSON operand (see :func:`_canon`)."""
    value = _to_json(value)
    if depth > _MAX_OPERAND_DEPTH:
        _fail(f"{where} has an operand nested too deeply", value)
    if isinstance(value, float) and not math.isfinite(value):
        _fail(f"{where} needs a finite number", value)
    if isinstance(value, str):
        return _text(value, where)
    if value is None or isinstance(value, (bool, int, float)):
        return _canon(value)
    if isinstance(value, (list, tuple)):
        return (_LIST, tuple(_canon_operand(item, where, depth + 1) for item in value))
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                _fail(f"{where} has an object operand with a non-string key", key)
            _text(key, where)
            items.append((key, _canon_operand(item, where, depth + 1)))
        return (_DICT, frozenset(items))
    _fail(f"{where} needs a JSON value, not {type(value).__name__}", value)


# -- evaluation ---------------------------------------------------------------------------
# Canonical forms make JSON equality a plain ``==`` on hashable values: strings, numbers
# and None stand for themselves (1 == 1.0 as in JSON); booleans, lists and objects are
# tagged tuples, so that True and 1 differ and objects ignore key order.

_BOOL, _LIST, _DICT, _OTHER = "bool", "list", "dict", "other"


def _canon(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is float or value is None:
        return value
    if kind is bool:
        return (_BOOL, value)
    if isinstance(value, (list, tuple)):
        return (_LIST, tuple(_canon(item) for item in value))
    if isinstance(value, Mapping):
        return (_DICT, frozenset((key, _canon(item)) for key, item in value.items()))
    if isinstance(value, bool):
        return (_BOOL, bool(value))
    if isinstance(value, (int, float, str)):
        return value
    return (_OTHER, id(value))  # not JSON: equal to no operand


def _eq(value: Any, key: Any) -> bool:
    if isinstance(value, (list, tuple)):
        if type(key) is tuple and _canon(value) == key:
            return True
        return any(_canon(item) == key for item in value)
    return bool(_canon(value) == key)


def _in(value: Any, keys: frozenset[Any]) -> bool:
    if isinstance(value, (list, tuple)):
        return _canon(value) in keys or any(_canon(item) in keys for item in value)
    return _canon(value) in keys


def _compare_one(value: Any, op: Callable[[Any, Any], bool], operand: Any) -> bool:
    if isinstance(operand, str):
        return isinstance(value, str) and op(value, operand)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and op(value, operand)


def _compare(value: Any, op: Callable[[Any, Any], bool], operand: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_compare_one(item, op, operand) for item in value)
    return _compare_one(value, op, operand)


def _exists(value: Any) -> bool:  # reaching the value is the test
    return True


def _regex(value: Any, pattern: re.Pattern[str]) -> bool:
    if isinstance(value, str):
        return pattern.search(value) is not None
    if isinstance(value, (list, tuple)):
        return any(isinstance(item, str) and pattern.search(item) for item in value)
    return False


def _contains(value: Any, key: Any) -> bool:
    if isinstance(value, str):
        return isinstance(key, str) and key in value
    if isinstance(value, (list, tuple)):
        return any(_canon(item) == key for item in value)
    return False
