"""The join of a table's rows with the rows they refer to, as filters and the stores see it.

A table of :data:`~registry_widget.store.interface.JOINS` (links, which refer to their
artifact version) does not copy the other row's fields: a query names them all the same,
and the working-set stores read them from the other row. This module holds what that
takes beside the indexes: the split of a filter into the parts about joined fields and
the rest (:func:`split_joined`), the view of a row with its other row
(:class:`JoinedView`), and the removal of the copies older stores kept
(:func:`drop_joined`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from registry_widget.filter_tree import And, Condition, Filter, Not, Or
from registry_widget.store.interface import JOINS, Doc, Join

__all__ = ["JoinedView", "drop_joined", "split_joined"]


def split_joined(tree: Filter, join: Join) -> tuple[Filter, Filter]:
    """``tree`` split in two: its parts about joined fields only, and the others.

    The first are renamed as the other table names the fields; either is
    :data:`MATCH_ALL` when empty.
    """
    parts = tree.parts if isinstance(tree, And) else (tree,)
    theirs: list[Filter] = []
    ours: list[Filter] = []
    for part in parts:
        renamed = _renamed(part, join.fields)
        if renamed is None:
            ours.append(part)
        else:
            theirs.append(renamed)
    return _all_of(theirs), _all_of(ours)


def _all_of(parts: list[Filter]) -> Filter:
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _renamed(tree: Filter, fields: Mapping[str, str]) -> Filter | None:
    """``tree`` with its paths' heads renamed by ``fields``; None if one is not there."""
    if isinstance(tree, Condition):
        name = fields.get(tree.path[0]) if tree.path else None
        return None if name is None else replace(tree, path=(name, *tree.path[1:]))
    if isinstance(tree, Not):
        inner = _renamed(tree.part, fields)
        return None if inner is None else Not(inner)
    parts = [_renamed(part, fields) for part in tree.parts]
    if not parts or any(part is None for part in parts):
        return None
    renamed = tuple(part for part in parts if part is not None)
    return And(renamed) if isinstance(tree, And) else Or(renamed)


def drop_joined(table: str, doc: Doc) -> bool:
    """Remove from ``doc`` the copies of joined fields older stores kept; whether any were."""
    join = JOINS.get(table)
    if join is None:
        return False
    found = [field for field in join.fields if field in doc]
    for field in found:
        del doc[field]
    return bool(found)


class JoinedView:
    """A document as filters see it on a table of :data:`JOINS`: read-only, by field.

    A joined field reads the row the document refers to (missing when that row is);
    every other field reads the document. :meth:`over` points it at another document.
    """

    __slots__ = ("doc", "fields", "key", "others", "row")

    def __init__(self, join: Join, others: Mapping[int, Doc]) -> None:
        self.fields = join.fields
        self.key = join.key
        self.others = others
        self.doc: Doc = {}
        self.row: Doc | None = None

    def over(self, doc: Doc) -> JoinedView:
        """A view of ``doc`` (a new object: views of several documents live together)."""
        view = JoinedView.__new__(JoinedView)
        view.fields, view.key, view.others = self.fields, self.key, self.others
        view.doc = doc
        view.row = self.others.get(doc.get(self.key))  # type: ignore[arg-type]
        return view

    def __getitem__(self, field: str) -> Any:
        name = self.fields.get(field)
        if name is None:
            return self.doc[field]
        if self.row is None:
            raise KeyError(field)
        return self.row[name]

    def get(self, field: str, default: Any = None) -> Any:
        """The field's value, or ``default`` when it has none."""
        try:
            return self[field]
        except KeyError:
            return default
