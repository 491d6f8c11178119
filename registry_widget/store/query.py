"""Filters compiled to TinyDB queries, for the stores that keep documents in TinyDB tables.

A validated filter (:func:`registry_widget.filters.parse_filter`) becomes a
:class:`tinydb.queries.QueryInstance` that a TinyDB table can ``search()``. The compiled
query applies the same tests as the filter's own predicate
(:meth:`registry_widget.filter_tree.Filter.matches`, the backend-neutral reference), through
TinyDB's path resolution. Queries are built from module-level test functions and frozen
operands, so that compiling an equal filter twice gives equal queries with equal hashes,
as the TinyDB query cache requires.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from functools import reduce
from typing import Any

from tinydb.queries import Query, QueryInstance

from registry_widget.filter_tree import COMPARISONS, TESTS, And, Condition, Filter, Not, Or, compare
from registry_widget.filters import Fields, parse_filter

__all__ = ["compile_filter", "compile_query"]


def compile_query(tree: Filter) -> QueryInstance:
    """The TinyDB query matching exactly the documents ``tree`` matches."""
    if isinstance(tree, Condition):
        query: Query = Query()
        for part in tree.path:
            query = query[part]
        if tree.op in COMPARISONS:
            return _test(query, compare, COMPARISONS[tree.op], tree.operand)
        return _test(query, TESTS[tree.op], tree.operand)
    if isinstance(tree, Not):
        return ~compile_query(tree.part)
    if isinstance(tree, And):
        if not tree.parts:
            return Query().noop()
        return reduce(operator.and_, map(compile_query, tree.parts))
    assert isinstance(tree, Or)
    return reduce(operator.or_, map(compile_query, tree.parts))


def _test(query: Query, func: Callable[..., bool], *operands: Any) -> QueryInstance:
    # ``Query.test`` passes extra arguments on to ``func`` and freezes them into the hash.
    return query.test(func, *operands)


def compile_filter(spec: Mapping[str, Any] | None, fields: Fields) -> QueryInstance:
    """Validate a MongoDB-style filter and compile it into a TinyDB query.

    Raises
    ------
    ValidationError
        If the filter is invalid (see :func:`registry_widget.filters.parse_filter`).
    """
    return compile_query(parse_filter(spec, fields))
