"""Looking across every registry a user may see: linked versions, and search by text.

:func:`linked_versions` lists the linked versions of every visible registry, newest
first; :func:`search` finds registries, collections and versions whose name, tags or
aliases contain a text, case-insensitively.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from registry_widget.choices import validate_page
from registry_widget.domain.link import LINK_FIELDS, Link, make_links
from registry_widget.domain.linking import link_path
from registry_widget.domain.reprs import ResultList
from registry_widget.domain.session import Session
from registry_widget.errors import ValidationError
from registry_widget.names import normalize_key
from registry_widget.text import lone_surrogate

__all__ = ["SearchHit", "linked_versions", "search"]


@dataclass(frozen=True)
class SearchHit:
    """One search result: what was found, its path, and which field matched.

    ``kind`` is ``"registry"``, ``"collection"`` or ``"version"``; ``field`` is
    ``"name"``, ``"tag"`` or ``"alias"``; ``value`` is the matching text.
    """

    kind: str
    path: str
    name: str
    field: str
    value: str


def linked_versions(s: Session, filter: Mapping[str, Any] | None = None) -> list[Link]:
    """Linked versions across every registry the user may see, newest first."""
    store = s.store
    with store.reading():
        tree = s.parse_filter(filter, LINK_FIELDS)
        state = store.state
        visible = dict(s.visible_registries())
        found = store.query(
            "links", tree, where={"registry_id": list(visible)}, order=("-created_at", "-id")
        )
        colls = dict(store.get_many("collections", {d["collection_id"]: None for _, d in found}))
        rows = [(i, d, colls.get(d["collection_id"]), visible[d["registry_id"]]) for i, d in found]
    return make_links(s, state, rows)


def search(s: Session, text: str, *, limit: int | None = 100) -> list[SearchHit]:
    """Find registries, collections and versions whose name, tags or aliases contain ``text``.

    Case-insensitive; only what the user may see; at most ``limit`` hits (None: all).
    """
    if not isinstance(text, str):
        msg = f"search text must be a str, not {text!r}"
        raise ValidationError(msg, field="text", value=text)
    at = lone_surrogate(text)
    if at is not None:
        msg = (
            f"search text {text[:80]!r} contains the lone surrogate "
            f"U+{ord(text[at]):04X} at position {at}, which is not a character"
        )
        raise ValidationError(msg, field="text", value=text)
    limit, _ = validate_page(limit)
    needle = normalize_key(text.strip())
    if not needle:
        return ResultList()
    hits: list[SearchHit] = []
    store = s.store
    with store.reading():
        regs = dict(s.visible_registries())
        for reg in sorted(regs.values(), key=lambda r: r["key"]):
            if needle in reg["key"]:
                hits.append(SearchHit("registry", reg["name"], reg["name"], "name", reg["name"]))
        visible = {"registry_id": list(regs)}
        left = None if limit is None else max(limit - len(hits), 0)
        for _, coll in store.search(
            "collections", needle, ("key", "tags"), where=visible, limit=left
        ):
            path = f"{regs[coll['registry_id']]['name']}/{coll['name']}"
            if needle in coll["key"]:
                hits.append(SearchHit("collection", path, coll["name"], "name", coll["name"]))
            hits.extend(
                SearchHit("collection", path, coll["name"], "tag", tag)
                for tag in coll["tags"]
                if needle in normalize_key(tag)
            )
        left = None if limit is None else max(limit - len(hits), 0)
        for _, link in store.search(
            "links", needle, ("aliases", "tags"), where=visible, limit=left
        ):
            holder = store.get("collections", link["collection_id"])
            if holder is None:
                continue
            art = store.get("artifacts", link["artifact_id"])
            if art is None:
                continue
            path = link_path(regs[link["registry_id"]], holder, link["index"])
            for field, values in (("alias", link["aliases"]), ("tag", art["tags"])):
                hits.extend(
                    SearchHit("version", path, art["name"], field, value)
                    for value in values
                    if needle in normalize_key(value)
                )
    return ResultList(hits[:limit])
