"""The validated filter tree and its evaluation in plain Python: the filters' reference.

:func:`registry_widget.filters.parse_filter` validates a MongoDB-style filter into a small
tree of :class:`Condition`, :class:`And`, :class:`Or` and :class:`Not` nodes whose field
paths are resolved and whose operands are canonical (see :func:`canon`). That tree is what
a store receives: each backend compiles it into its own query language (TinyDB queries,
SQL), and :meth:`Filter.matches` evaluates it over a document, with the semantics the
filters module documents — the backend-neutral reference every compiled form must agree
with. Equal filters give equal, hashable trees.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

__all__ = [
    "COMPARISONS",
    "DICT_TAG",
    "LIST_TAG",
    "MATCH_ALL",
    "TESTS",
    "And",
    "Condition",
    "Filter",
    "Not",
    "Or",
    "canon",
    "compare",
    "index_equalities",
]

COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}
"""The ordering operators and the Python comparison each one applies."""


@dataclass(frozen=True)
class Condition:
    """One test on the value at ``path`` of a document.

    ``op`` is one of ``$eq``, ``$in``, ``$gt``, ``$gte``, ``$lt``, ``$lte``, ``$exists``,
    ``$regex`` or ``$contains`` (``$ne``, ``$nin``, ``$exists: False`` and a field's
    ``$not`` are a :class:`Not` around one of these). ``operand`` is canonical: for
    ``$eq`` and ``$contains`` the canonical form of the JSON value (see :func:`canon`),
    for ``$in`` a frozenset of them, for the comparisons a number or a string, for
    ``$regex`` a compiled pattern, for ``$exists`` None. A document without the path
    matches no condition.
    """

    path: tuple[str, ...]
    op: str
    operand: Any

    def matches(self, document: Mapping[str, Any]) -> bool:
        """Whether ``document`` passes the test."""
        value: Any = document
        try:
            for part in self.path:
                value = value[part]
        except (KeyError, TypeError, IndexError):
            return False
        return TESTS[self.op](value, self.operand)


@dataclass(frozen=True)
class And:
    """Every part matches (no parts: every document matches)."""

    parts: tuple[Filter, ...]

    def matches(self, document: Mapping[str, Any]) -> bool:
        """Whether ``document`` matches every part."""
        return all(part.matches(document) for part in self.parts)


@dataclass(frozen=True)
class Or:
    """At least one part matches."""

    parts: tuple[Filter, ...]

    def matches(self, document: Mapping[str, Any]) -> bool:
        """Whether ``document`` matches some part."""
        return any(part.matches(document) for part in self.parts)


@dataclass(frozen=True)
class Not:
    """The part does not match."""

    part: Filter

    def matches(self, document: Mapping[str, Any]) -> bool:
        """Whether ``document`` does not match the part."""
        return not self.part.matches(document)


Filter: TypeAlias = Condition | And | Or | Not
"""A validated filter: what stores take and compile into their own query language."""

MATCH_ALL: Filter = And(())
"""The filter every document matches."""


def index_equalities(tree: Filter) -> tuple[dict[str, str], Filter]:
    """Split off string equalities on top-level document keys, which an index answers.

    Conditions ``$eq`` with a string operand on a one-key path, at the top of the tree or
    directly inside a top-level :class:`And`, become ``{document_key: "text"}``: a
    document matches them exactly when its value is that string or a list holding it,
    which is what a hash index (or an SQL equality or containment test) finds. The rest
    of the tree is returned beside them; together they match what ``tree`` matches.
    """
    terms = tree.parts if isinstance(tree, And) else (tree,)
    equal: dict[str, str] = {}
    rest: list[Filter] = []
    for term in terms:
        if (
            isinstance(term, Condition)
            and term.op == "$eq"
            and type(term.operand) is str
            and len(term.path) == 1
            and term.path[0] not in equal
        ):
            equal[term.path[0]] = term.operand
        else:
            rest.append(term)
    remaining = rest[0] if len(rest) == 1 else And(tuple(rest))
    return equal, remaining


# -- evaluation ---------------------------------------------------------------------------
# Canonical forms make JSON equality a plain ``==`` on hashable values: strings, numbers
# and None stand for themselves (1 == 1.0 as in JSON); booleans, lists and objects are
# tagged tuples, so that True and 1 differ and objects ignore key order.

_BOOL, _OTHER = "bool", "other"
LIST_TAG = "list"
"""The tag of a list's canonical form: ``(LIST_TAG, (item, ...))``."""
DICT_TAG = "dict"
"""The tag of an object's canonical form: ``(DICT_TAG, frozenset({(key, item), ...}))``."""


def canon(value: Any) -> Any:
    """The canonical, hashable form of a JSON value: equal values, equal forms."""
    kind = type(value)
    if kind is str or kind is int or kind is float or value is None:
        return value
    if kind is bool:
        return (_BOOL, value)
    if isinstance(value, (list, tuple)):
        return (LIST_TAG, tuple(canon(item) for item in value))
    if isinstance(value, Mapping):
        return (DICT_TAG, frozenset((key, canon(item)) for key, item in value.items()))
    if isinstance(value, bool):
        return (_BOOL, bool(value))
    if isinstance(value, (int, float, str)):
        return value
    return (_OTHER, id(value))  # not JSON: equal to no operand


def _eq(value: Any, key: Any) -> bool:
    if isinstance(value, (list, tuple)):
        if type(key) is tuple and canon(value) == key:
            return True
        return any(canon(item) == key for item in value)
    return bool(canon(value) == key)


def _in(value: Any, keys: frozenset[Any]) -> bool:
    if isinstance(value, (list, tuple)):
        return canon(value) in keys or any(canon(item) in keys for item in value)
    return canon(value) in keys


def _compare_one(value: Any, op: Callable[[Any, Any], bool], operand: Any) -> bool:
    if isinstance(operand, str):
        return isinstance(value, str) and op(value, operand)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and op(value, operand)


def compare(value: Any, op: Callable[[Any, Any], bool], operand: Any) -> bool:
    """Whether ``value`` (or, for a list, an element of it) compares ``op`` to ``operand``."""
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
        return any(canon(item) == key for item in value)
    return False


def _exists_test(value: Any, operand: None) -> bool:
    return _exists(value)


def _comparison(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def test(value: Any, operand: Any) -> bool:
        return compare(value, op, operand)

    return test


TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": _eq,
    "$in": _in,
    "$exists": _exists_test,
    "$regex": _regex,
    "$contains": _contains,
    **{op: _comparison(fn) for op, fn in COMPARISONS.items()},
}
"""Each condition's test of a present value against its canonical operand."""
