"""Request handlers for reading: what anyone who may see a registry may ask for.

Each handler receives the widget's client and the request's :class:`Params`, calls the
domain API (which decides what the user may see) and returns only what the page shows,
with the ``can`` flags that decide which controls the page offers. Lists are paged so that
a large store never sends large messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict

from registry_widget import entity_names, names
from registry_widget.domain.client import Client
from registry_widget.errors import ValidationError
from registry_widget.permissions import ORG_ROLES, Action, same_user
from registry_widget.widget.can import (
    ArtifactCan,
    CollectionCan,
    LinkCan,
    OrgCan,
    RegistryCan,
    artifact_can,
    collection_can,
    link_can,
    org_can,
    registry_can,
)
from registry_widget.widget.protocol import Params, handler
from registry_widget.widget.settings_view import RegistrySettings, registry_settings
from registry_widget.widget.version_view import VersionDetail, version_detail
from registry_widget.widget.views import (
    CollectionDetail,
    LinkRow,
    Page,
    RegistrySummary,
    collection_at,
    collection_detail,
    collection_summary,
    find_link,
    link_row,
    metadata_columns,
    page_of,
    registry_summary,
)
from registry_widget.widget.wording import in_words

__all__ = ["LinkRowCan", "VersionsPage"]


class RegistriesPage(TypedDict):
    """The registries page: core and custom registries, and the user's organisation role."""

    org_role: str
    can: OrgCan
    core: list[RegistrySummary]
    custom: list[RegistrySummary]


class RegistryPageHeader(RegistrySummary):
    """A registry with the controls its page shows."""

    can: RegistryCan


class RegistryPage(TypedDict):
    """A registry and one page of its collections."""

    registry: RegistryPageHeader
    collections: Page


class CollectionPage(CollectionDetail):
    """A collection's header with the controls its page shows."""

    can: CollectionCan


class LinkRowCan(LinkRow):
    """A row of the versions table with the controls it shows."""

    can: LinkCan


class VersionsPage(TypedDict):
    """One page of a collection's versions and the metadata keys shown as columns."""

    items: list[LinkRowCan]
    metadata_keys: list[str]
    total: int
    offset: int
    limit: int


class VersionCan(LinkCan, ArtifactCan):
    """The controls of a version's page."""


class VersionPage(VersionDetail):
    """A linked version's page with its controls.

    With the user's role in its registry and the role downloading its files needs, to say
    why a user may not.
    """

    can: VersionCan
    registry: str
    role: str | None
    download_role: str


class Hit(TypedDict):
    """One search result."""

    kind: str
    path: str
    name: str
    field: str
    value: str


class SearchAnswer(TypedDict):
    """Search results, and whether there are more than were sent."""

    hits: list[Hit]
    more: bool


class OrgUser(TypedDict):
    """An organisation user on the organisation page."""

    name: str
    role: str
    created_at: str
    you: bool


class OrgPage(TypedDict):
    """The organisation page: its users, the roles they may get, and the controls shown."""

    user: str
    role: str
    can: OrgCan
    users: list[OrgUser]
    roles: list[str]


class Check(TypedDict, total=False):
    """The answer of a check made as the user types: ok, or why not."""

    ok: bool
    message: str


@handler("registries.list")
def registries_list(client: Client, p: Params) -> RegistriesPage:
    """List the registries the user may see, core first, and the user's organisation role."""
    p.done()
    regs = [registry_summary(r) for r in client.registries()]
    return {
        "org_role": client.org_role,
        "can": org_can(client.org_role),
        "core": [r for r in regs if r["kind"] == "core"],
        "custom": [r for r in regs if r["kind"] != "core"],
    }


@handler("registry.get")
def registry_get(client: Client, p: Params) -> RegistryPage:
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


@handler("collection.get")
def collection_get(client: Client, p: Params) -> CollectionPage:
    """Return a collection's header: description, tags, aliases, the user's role."""
    path = p.text("path")
    p.done()
    coll = collection_at(client, path)
    return {**collection_detail(coll), "can": collection_can(coll)}


@handler("collection.versions")
def collection_versions(client: Client, p: Params) -> VersionsPage:
    """Return a page of a collection's linked versions, newest first."""
    path = p.text("path")
    offset = p.integer("offset", 0, high=10**9)
    limit = p.integer("limit", 25, low=1, high=100)
    p.done()
    coll = collection_at(client, path)
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


@handler("version.get")
def version_get(client: Client, p: Params) -> VersionPage:
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
        "registry": reg.name,
        "role": reg.role,
        "download_role": Action.USE.value,
    }


@handler("search")
def search(client: Client, p: Params) -> SearchAnswer:
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


@handler("settings.get")
def settings_get(client: Client, p: Params) -> RegistrySettings:
    """Return a registry's settings: types (with the collections using them), members, roles."""
    name = p.text("name")
    p.done()
    return registry_settings(client, client.registry(name))


@handler("org.get")
def org_get(client: Client, p: Params) -> OrgPage:
    """Return the organisation's users and the current user's organisation role."""
    p.done()
    return {
        "user": client.user,
        "role": client.org_role,
        "can": org_can(client.org_role),
        "users": [
            {
                "name": u.name,
                "role": u.role,
                "created_at": u.created_at,
                "you": same_user(u.name, client.user),
            }
            for u in client.users()
        ],
        "roles": list(ORG_ROLES),
    }


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _each(check: Callable[[object], object]) -> Callable[[str], object]:
    def run(text: str) -> object:
        return [check(part) for part in _split(text)]

    return run


_VALIDATORS: dict[str, Callable[[str], object]] = {
    "registry_name": entity_names.validate_registry_name,
    "collection_name": entity_names.validate_collection_name,
    "artifact_type": names.validate_artifact_type,
    "artifact_types": lambda text: names.validate_artifact_types(_split(text)),
    "alias": names.validate_alias,
    "aliases": _each(names.validate_alias),
    "tags": lambda text: names.validate_tags(_split(text)),
    "user_name": entity_names.validate_user_name,
}


@handler("validate")
def validate(_client: Client, p: Params) -> Check:
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
        return {"ok": False, "message": in_words(exc) or str(exc)}
    return {"ok": True}
