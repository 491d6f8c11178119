"""Request handlers of the widget: domain objects in, small JSON-able dicts out.

Each handler receives the widget's client and the request's :class:`Params`, calls the
domain API (which checks permissions and rules) and returns only what the page shows.
Lists are paged so that a large store never sends large messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from registry_widget import names
from registry_widget.errors import ValidationError
from registry_widget.widget.can import (
    artifact_can,
    collection_can,
    link_can,
    org_can,
    registry_can,
)
from registry_widget.widget.protocol import Handler, Params
from registry_widget.widget.views import (
    artifact_summary,
    collection_detail,
    collection_summary,
    find_link,
    link_row,
    metadata_columns,
    page_of,
    registry_summary,
    version_detail,
)

__all__ = ["HANDLERS"]

HANDLERS: dict[str, Handler] = {}


_F = TypeVar("_F", bound=Handler)


def _handler(name: str) -> Callable[[_F], _F]:
    def register(fn: _F) -> _F:
        HANDLERS[name] = fn
        return fn

    return register


@_handler("registries.list")
def registries_list(client: Any, p: Params) -> dict[str, Any]:
    """List the registries the user may see, core first, and the user's organisation role."""
    p.done()
    regs = [registry_summary(r) for r in client.registries()]
    return {
        "org_role": client.org_role,
        "can": org_can(client.org_role),
        "core": [r for r in regs if r["kind"] == "core"],
        "custom": [r for r in regs if r["kind"] != "core"],
    }


@_handler("registry.create")
def registry_create(client: Any, p: Params) -> dict[str, Any]:
    """Create a registry from the form's fields."""
    name = p.text("name")
    description = p.text("description", "")
    visibility = p.text("visibility", "organization")
    types = p.text_list("artifact_types", optional=True)
    p.done()
    reg = client.create_registry(
        name, description=description, visibility=visibility, artifact_types=types
    )
    return registry_summary(reg)


@_handler("registry.get")
def registry_get(client: Any, p: Params) -> dict[str, Any]:
    """Return one registry and a page of its collections, optionally filtered by text."""
    name = p.text("name")
    needle = p.text("filter", "").strip().casefold()
    offset = p.integer("offset", 0, high=10**9)
    limit = p.integer("limit", 50, low=1, high=200)
    p.done()
    reg = client.registry(name)
    colls = reg.collections()
    if needle:
        colls = [
            c
            for c in colls
            if needle in c.name.casefold() or any(needle in t.casefold() for t in c.tags)
        ]
    rows = sorted(
        (collection_summary(c) for c in colls),
        key=lambda row: row["updated_at"] or "",
        reverse=True,
    )
    return {
        "registry": {**registry_summary(reg), "can": registry_can(reg)},
        "collections": page_of(rows, offset, limit),
    }


@_handler("collection.create")
def collection_create(client: Any, p: Params) -> dict[str, Any]:
    """Create a collection in a registry."""
    registry = p.text("registry")
    name = p.text("name")
    type_ = p.text("type")
    description = p.text("description", "")
    tags = p.text_list("tags") or []
    p.done()
    reg = client.registry(registry)
    coll = reg.create_collection(name, type=type_, description=description, tags=tags)
    return collection_summary(coll)


def _collection(client: Any, path: str) -> Any:
    registry, _, name = path.partition("/")
    return client.registry(registry).collection(name)


@_handler("collection.get")
def collection_get(client: Any, p: Params) -> dict[str, Any]:
    """Return a collection's header: description, tags, aliases, the user's role."""
    path = p.text("path")
    p.done()
    coll = _collection(client, path)
    return {**collection_detail(coll), "can": collection_can(coll)}


@_handler("collection.versions")
def collection_versions(client: Any, p: Params) -> dict[str, Any]:
    """Return a page of a collection's linked versions, newest first."""
    path = p.text("path")
    offset = p.integer("offset", 0, high=10**9)
    limit = p.integer("limit", 25, low=1, high=100)
    p.done()
    coll = _collection(client, path)
    reg = coll.registry
    protected = list(reg.protected_aliases)
    role = reg.role
    links = coll.versions(limit=limit, offset=offset)
    keys = metadata_columns(links)
    return {
        "items": [
            {**link_row(link, set(protected), keys), "can": link_can(link, role, protected)}
            for link in links
        ],
        "metadata_keys": keys,
        "total": coll.count,
        "offset": offset,
        "limit": limit,
    }


@_handler("artifact.candidates")
def artifact_candidates(client: Any, p: Params) -> dict[str, Any]:
    """Return logged artifact versions to link, of one type or all, searched by name."""
    type_ = p.opt_text("type")
    query = p.text("query", "").strip()
    limit = p.integer("limit", 20, low=1, high=100)
    p.done()
    clauses: list[dict[str, Any]] = []
    if type_ is not None:
        clauses.append({"type": type_})
    if query:
        clauses.append({"name": {"$regex": "(?i)" + re.escape(query)}})
    flt = {"$and": clauses} if clauses else None
    found = client.artifacts(flt)
    return {"items": [artifact_summary(a) for a in found[:limit]], "total": len(found)}


@_handler("link.create")
def link_create(client: Any, p: Params) -> dict[str, Any]:
    """Link an artifact version ("name:vM") into a collection, with optional aliases."""
    ref = p.text("artifact")
    target = p.text("collection")
    aliases = p.text_list("aliases") or []
    p.done()
    link = client.link(ref, target, aliases=aliases)
    return link_row(link, set(link.collection.registry.protected_aliases), [])


def _change_alias(client: Any, p: Params, *, remove: bool) -> dict[str, Any]:
    path = p.text("path")
    alias = p.text("alias")
    p.done()
    link = find_link(client, path)
    if remove:
        link.remove_alias(alias)
    else:
        link.set_alias(alias)
    protected = set(link.collection.registry.protected_aliases)
    return link_row(find_link(client, link.path), protected, [])


@_handler("alias.set")
def alias_set(client: Any, p: Params) -> dict[str, Any]:
    """Set an alias on a linked version, moving it if another version holds it."""
    return _change_alias(client, p, remove=False)


@_handler("alias.remove")
def alias_remove(client: Any, p: Params) -> dict[str, Any]:
    """Remove an alias from a linked version."""
    return _change_alias(client, p, remove=True)


@_handler("version.get")
def version_get(client: Any, p: Params) -> dict[str, Any]:
    """Return a linked version's details, with a page of its files."""
    path = p.text("path")
    file_offset = p.integer("file_offset", 0, high=10**9)
    file_limit = p.integer("file_limit", 100, low=1, high=500)
    p.done()
    link = find_link(client, path)
    reg = link.collection.registry
    return {
        **version_detail(link, file_offset, file_limit),
        "can": {**link_can(link, reg.role, list(reg.protected_aliases)), **artifact_can(client)},
    }


@_handler("search")
def search(client: Any, p: Params) -> dict[str, Any]:
    """Search names, tags and aliases across what the user may see."""
    text = p.text("text")
    limit = p.integer("limit", 100, low=1, high=500)
    p.done()
    hits = client.search(text, limit=limit + 1)
    return {
        "hits": [
            {"kind": h.kind, "path": h.path, "name": h.name, "field": h.field, "value": h.value}
            for h in hits[:limit]
        ],
        "more": len(hits) > limit,
    }


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _each(check: Callable[[object], object]) -> Callable[[str], object]:
    def run(text: str) -> object:
        return [check(part) for part in _split(text)]

    return run


_VALIDATORS: dict[str, Callable[[str], object]] = {
    "registry_name": names.validate_registry_name,
    "collection_name": names.validate_collection_name,
    "artifact_type": names.validate_artifact_type,
    "artifact_types": lambda text: names.validate_artifact_types(_split(text)),
    "alias": names.validate_alias,
    "aliases": _each(names.validate_alias),
    "tags": lambda text: names.validate_tags(_split(text)),
    "user_name": names.validate_user_name,
}


@_handler("validate")
def validate(_client: Any, p: Params) -> dict[str, Any]:
    """Check one form field as the user types, with the library's own rules.

    Comma-separated fields (``artifact_types``, ``aliases``, ``tags``) are checked item by item.
    Returns ``{"ok": True}`` or ``{"ok": False, "message": ...}``; uniqueness and permissions
    are checked when the form is submitted.
    """
    field = p.text("field")
    value = p.text("value", "")
    p.done()
    check = _VALIDATORS.get(field)
    if check is None:
        msg = f"validate: unknown field {field!r}; allowed: {', '.join(sorted(_VALIDATORS))}"
        raise ValidationError(msg, field="field", value=field)
    try:
        check(value)
    except ValidationError as exc:
        return {"ok": False, "message": str(exc)}
    return {"ok": True}
