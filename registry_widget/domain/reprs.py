"""Rich notebook displays: domain objects and the lists the API returns as small HTML tables.

A domain object describes itself with ``_repr_fields_()`` (label -> short text); records
(users, members, history entries, search hits) are dataclasses and use their fields. A cell
that ends in ``client.registries()`` then shows a table, not a list of ``<Registry …>``.
Everything shown is escaped: names and descriptions are user text.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any, TypeVar

from registry_widget.errors import RegistryError

__all__ = [
    "ResultList",
    "fields_of",
    "metadata_text",
    "object_html",
    "short",
    "size_text",
    "table_html",
]

T = TypeVar("T")

MAX_ROWS = 50
"""Rows shown of a long list; the rest are counted, not drawn."""

_STYLE = "border-collapse:collapse;font-size:12px;text-align:left"
_CELL = "padding:2px 8px;text-align:left;vertical-align:top"


class ResultList(list[T]):
    """A plain list (equal to, and usable as, any list) that a notebook shows as a table."""

    __slots__ = ()

    def _repr_html_(self) -> str | None:
        return table_html(self)


def short(value: Any, width: int = 60) -> str:
    """A value as one line of at most ``width`` characters."""
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, (list, tuple)):
        text = ", ".join(short(v, width) for v in value)
    elif isinstance(value, Mapping):
        text = ", ".join(f"{k}={short(v, width)}" for k, v in value.items())
    else:
        text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def size_text(n: int) -> str:
    """A byte count for people: ``1536`` -> ``"1.5 KiB"``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError  # pragma: no cover


def metadata_text(metadata: Mapping[str, Any], keys: int = 4) -> str:
    """The first few plain metadata values: ``acc=0.94, epochs=20, …``."""
    plain = [(k, v) for k, v in metadata.items() if not isinstance(v, (dict, list))]
    text = ", ".join(f"{k}={short(v, 20)}" for k, v in plain[:keys])
    return text + (", …" if len(metadata) > min(keys, len(plain)) else "")


def fields_of(item: object) -> dict[str, str] | None:
    """The labelled short texts that describe ``item``, or None when it has none to show."""
    describe = getattr(item, "_repr_fields_", None)
    if callable(describe):
        try:
            found: dict[str, str] = describe()
        except RegistryError:  # deleted, unlinked or hidden meanwhile
            return None
        return found
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return {f.name: short(getattr(item, f.name)) for f in dataclasses.fields(item)}
    return None


def _table(head: Iterable[str], rows: Iterable[Iterable[str]], caption: str = "") -> str:
    th = "".join(f'<th style="{_CELL}">{escape(h)}</th>' for h in head)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{escape(c)}</td>' for c in row) + "</tr>"
        for row in rows
    )
    cap = f'<caption style="text-align:left">{escape(caption)}</caption>' if caption else ""
    return f'<table style="{_STYLE}">{cap}<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _words(class_name: str, n: int) -> str:
    """``"HistoryEntry"``, 2 -> ``"history entries"``."""
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", class_name).lower()
    if n == 1:
        return words
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


def table_html(items: list[Any]) -> str | None:
    """A list as a table, one row per item; None (the plain repr) when it cannot be."""
    if not items:
        return None
    described = [fields_of(item) for item in items[:MAX_ROWS]]
    if any(d is None for d in described):
        return None
    rows = [d for d in described if d is not None]
    head = list(rows[0])
    caption = f"{len(items)} {_words(type(items[0]).__name__, len(items))}"
    if len(items) > MAX_ROWS:
        caption += f" (the first {MAX_ROWS} shown)"
    return _table(head, ([row.get(h, "") for h in head] for row in rows), caption)


def object_html(item: object) -> str | None:
    """One object as a two-column table of its fields; None (the plain repr) when gone."""
    fields = fields_of(item)
    if fields is None:
        return None
    return _table(["", type(item).__name__], ([k, v] for k, v in fields.items()))
