"""SQL for the PostgreSQL store: filters, equalities and sort keys compiled to SQL text.

Every piece is ``(sql, params)`` with ``%s`` placeholders, for psycopg. A validated filter
(:func:`registry_widget.filters.parse_filter`) compiles into a condition on the table's
``data`` column (the document as ``jsonb``) that is *exact* — true for precisely the
documents :meth:`~registry_widget.filter_tree.Filter.matches` accepts — where SQL can say the
same thing, and a *superset* (``true``) where it cannot (``$regex``: PostgreSQL's regular
expressions are not Python's), in which case the store finishes with the Python predicate
on the narrowed rows, and sorts and pages in Python. Each condition is two-valued (a
missing field is false, never NULL), so a negation of an exact condition is exact.

On a table of :data:`~registry_widget.store.interface.JOINS` (links), the query joins the
row referred to (``links JOIN artifacts``, :func:`joined_from`): every column is then
qualified by its table, and a path starting with a joined field reads the other table's
``data`` (``type`` of a link is ``artifacts.data -> 'type'``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg.types.json import Jsonb

from registry_widget.filter_tree import COMPARISONS, And, Condition, Filter, Not, Or
from registry_widget.store.interface import ID, JOINS

__all__ = [
    "SqlPart",
    "compile_filter",
    "equalities",
    "joined_from",
    "joined_source",
    "order_by",
    "uncanon",
]

SqlPart = tuple[str, list[Any]]

COLUMNS: dict[str, dict[str, tuple[str, type]]] = {
    "users": {"name": ("name", str), "key": ("key", str), "role": ("role", str)},
    "registries": {
        "name": ("name", str),
        "key": ("key", str),
        "kind": ("kind", str),
        "visibility": ("visibility", str),
    },
    "collections": {
        "registry_id": ("registry_id", int),
        "name": ("name", str),
        "key": ("key", str),
        "type": ("type", str),
    },
    "links": {
        "registry_id": ("registry_id", int),
        "collection_id": ("collection_id", int),
        "artifact_id": ("artifact_id", int),
        "index": ("number", int),
        "created_at": ("created_at", str),
    },
    "artifact_names": {"name": ("name", str), "type": ("type", str)},
    "artifacts": {
        "name": ("name", str),
        "index": ("number", int),
        "type": ("type", str),
        "digest": ("digest", str),
    },
    "history": {
        "registry_id": ("registry_id", int),
        "collection_id": ("collection_id", int),
        "link_id": ("link_id", int),
        "artifact_id": ("artifact_id", int),
        "action": ("action", str),
    },
}
"""The document fields each table keeps as a real column: ``field: (column, type)``."""

_TRUE: SqlPart = ("true", [])
_OPS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
assert _OPS.keys() == COMPARISONS.keys()


def uncanon(value: Any) -> Any:
    """The JSON value of a canonical operand (see :func:`registry_widget.filter_tree.canon`)."""
    if type(value) is tuple and len(value) == 2:
        tag, inner = value
        if tag == "bool":
            return inner
        if tag == "list":
            return [uncanon(v) for v in inner]
        if tag == "dict":
            return {k: uncanon(v) for k, v in inner}
    return value


def joined_from(table: str) -> str | None:
    """The ``FROM`` list of a query on ``table`` joining the rows it refers to, or None."""
    join = JOINS.get(table)
    if join is None:
        return None
    return f"{table} JOIN {join.table} ON {join.table}.id = {table}.{join.key}"


def joined_source(table: str | None, path: Sequence[str], column: str = "data") -> SqlPart:
    """The ``column`` (``data`` or ``folded``) a path reads and the path within it.

    Unqualified for a table without joins; on a joined table, the other table's column
    for a joined field (the path's head renamed as it is there), else the table's own.
    """
    join = JOINS.get(table) if table is not None else None
    if join is None:
        return column, list(path)
    name = join.fields.get(path[0]) if path else None
    if name is None:
        return f"{table}.{column}", list(path)
    return f"{join.table}.{column}", [name, *path[1:]]


def _path(path: Sequence[str], table: str | None = None) -> SqlPart:
    expr, path = joined_source(table, path)
    params: list[Any] = []
    for part in path:
        expr = f"({expr} -> %s::text)"
        params.append(part)
    return expr, params


def _elements(expr: str) -> str:
    """The elements of ``expr`` when it is an array, else none (never an error)."""
    return f"jsonb_array_elements(CASE WHEN jsonb_typeof({expr}) = 'array' THEN {expr} END)"


def _nest(path: Sequence[str], value: Any) -> Any:
    """The document holding only ``value`` at ``path``: ``{"a": {"b": value}}``."""
    for part in reversed(path):
        value = {part: value}
    return value


def _equal(path: Sequence[str], value: Any, table: str | None = None) -> SqlPart:
    """The value at ``path`` is ``value`` (JSON equality), holds it, or is a list equal to it.

    For a scalar, as containment (``@>``), which the GIN index on ``data`` serves: a
    document contains ``{"f": v}`` exactly when its ``f`` equals ``v`` (numbers by value,
    ``true`` never ``1``), and ``{"f": [v]}`` exactly when ``f`` is a list holding ``v``.
    A list or object operand is not contained only when equal, so it is compared.
    """
    if value is None or isinstance(value, (str, int, float, bool)):
        data, inner = joined_source(table, path)
        return (
            f"({data} @> %s OR {data} @> %s)",
            [Jsonb(_nest(inner, value)), Jsonb(_nest(inner, [value]))],
        )
    expr, params = _path(path, table)
    operand = Jsonb(value)
    sql = (
        f"COALESCE({expr} = %s OR EXISTS (SELECT 1 FROM {_elements(expr)} AS el "
        "WHERE el = %s), false)"
    )
    return sql, [*params, operand, *params, *params, operand]


def _compare(path: Sequence[str], op: str, operand: Any, table: str | None = None) -> SqlPart:
    expr, params = _path(path, table)
    sym = _OPS[op]
    if isinstance(operand, str):
        kind, cast, value = "string", "#>> '{}') COLLATE \"C\"", operand
        right = '%s::text COLLATE "C"'
    else:  # the number's shortest exact decimal, so that no float rounding intervenes
        kind, cast, value = "number", "#>> '{}')::numeric", repr(operand)
        right = "%s::numeric"
    one = (
        f"CASE WHEN jsonb_typeof(VALUE) = '{kind}' THEN (VALUE {cast} {sym} {right} ELSE false END"
    )
    sql = (
        f"COALESCE({one.replace('VALUE', expr)} OR EXISTS (SELECT 1 FROM {_elements(expr)} "
        f"AS el WHERE {one.replace('VALUE', 'el')}), false)"
    )
    return sql, [*params, *params, value, *params, *params, value]


def _contains(path: Sequence[str], operand: Any, table: str | None = None) -> SqlPart:
    expr, params = _path(path, table)
    value = uncanon(operand)
    in_list = f"EXISTS (SELECT 1 FROM {_elements(expr)} AS el WHERE el = %s)"
    if isinstance(value, str):
        sql = (
            f"COALESCE((jsonb_typeof({expr}) = 'string' AND "
            f"strpos({expr} #>> '{{}}', %s) > 0) OR {in_list}, false)"
        )
        return sql, [*params, *params, value, *params, *params, Jsonb(value)]
    return f"COALESCE({in_list}, false)", [*params, *params, Jsonb(value)]


def compile_filter(tree: Filter, table: str | None = None) -> tuple[SqlPart, bool]:
    """The SQL condition for ``tree`` and whether it is exact (else a superset).

    With a ``table`` of :data:`JOINS`, for a query that joins its rows (:func:`joined_from`).
    """
    if isinstance(tree, Condition):
        return _condition(tree, table)
    if isinstance(tree, Not):
        (sql, params), exact = compile_filter(tree.part, table)
        return ((f"NOT ({sql})", params), True) if exact else (_TRUE, False)
    joiner = " AND " if isinstance(tree, And) else " OR "
    assert isinstance(tree, (And, Or))
    if not tree.parts:
        return _TRUE, True
    parts = [compile_filter(part, table) for part in tree.parts]
    sql = joiner.join(f"({s})" for (s, _), _ in parts)
    params = [p for (_, ps), _ in parts for p in ps]
    return (sql, params), all(exact for _, exact in parts)


def _condition(cond: Condition, table: str | None) -> tuple[SqlPart, bool]:
    op = cond.op
    if op == "$eq":
        return _equal(cond.path, uncanon(cond.operand), table), True
    if op == "$in":
        if not cond.operand:
            return ("false", []), True
        parts = [_equal(cond.path, uncanon(v), table) for v in sorted(cond.operand, key=repr)]
        return (" OR ".join(s for s, _ in parts), [p for _, ps in parts for p in ps]), True
    if op in _OPS:
        return _compare(cond.path, op, cond.operand, table), True
    if op == "$exists":
        expr, params = _path(cond.path, table)
        return (f"({expr} IS NOT NULL)", params), True
    if op == "$contains":
        return _contains(cond.path, cond.operand, table), True
    return _TRUE, False  # $regex: Python's regular expressions, finished in Python


def equalities(table: str, terms: Mapping[str, Any], *, joined: bool = False) -> SqlPart:
    """``field = value`` for each term (a list, tuple or set: any of its values), ANDed.

    As :meth:`Store.find` means it: the field is the value or a list holding it.
    ``joined``: for a query that joins the table's rows (:func:`joined_from`).
    """
    columns = COLUMNS.get(table, {})
    on = table if joined else None
    prefix = f"{table}." if joined else ""
    sql: list[str] = []
    params: list[Any] = []
    for field, value in terms.items():
        values = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
        column = columns.get(field)
        if column is not None and values and all(type(v) is column[1] for v in values):
            if len(values) == 1:
                sql.append(f"{prefix}{column[0]} = %s")
                params.append(values[0])
            else:
                sql.append(f"{prefix}{column[0]} = ANY(%s)")
                params.append(values)
            continue
        if not values:
            sql.append("false")
            continue
        ors = [_equal((field,), v, on) for v in values]
        sql.append("(" + " OR ".join(s for s, _ in ors) + ")")
        params.extend(p for _, ps in ors for p in ps)
    return " AND ".join(sql) or "true", params


def order_by(table: str, order: Sequence[str], *, joined: bool = False) -> SqlPart:
    """The ORDER BY list for sort keys (see :meth:`Store.query`), ties in id order.

    Strings sort by code point (``COLLATE "C"``), as Python sorts them. ``joined``: for
    a query that joins the table's rows (:func:`joined_from`).
    """
    columns = COLUMNS.get(table, {})
    prefix = f"{table}." if joined else ""
    keys: list[str] = []
    params: list[Any] = []
    has_id = False
    for key in order:
        field = key.removeprefix("-")
        direction = " DESC" if key.startswith("-") else ""
        if field == ID:
            keys.append(f"{prefix}id" + direction)
            has_id = True
            continue
        column = columns.get(field)
        if column is not None:
            name, kind = prefix + column[0], column[1]
            keys.append(f'{name} COLLATE "C"{direction}' if kind is str else name + direction)
            continue
        data, (field, *_) = joined_source(table if joined else None, [field])
        expr = f"({data} -> %s::text)"
        keys.append(
            f"(CASE WHEN jsonb_typeof({expr}) = 'string' THEN {expr} #>> '{{}}' END) "
            f'COLLATE "C"{direction}'
        )
        keys.append(expr + direction)
        params.extend([field, field, field])
    if not has_id:
        keys.append(f"{prefix}id")
    return ", ".join(keys), params
