"""Turn domain objects into the small JSON-able dicts the widget's pages show.

Each builder returns a TypedDict, so the shape of every answer is written down once, next to
the code that fills it, and ``mypy --strict`` checks both the domain calls and the answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal, TypedDict, TypeVar

from registry_widget.domain.artifact_version import ArtifactVersion
from registry_widget.domain.client import Client
from registry_widget.domain.collection import Collection
from registry_widget.domain.link import Link
from registry_widget.domain.registry import Registry
from registry_widget.errors import ValidationError
from registry_widget.paths import parse_path
from registry_widget.permissions import REGISTRY_ROLES, same_user
from registry_widget.widget.can import SettingsCan, settings_can

__all__ = [
    "AliasView",
    "ArtifactSummary",
    "CollectionDetail",
    "CollectionSummary",
    "Done",
    "LinkRow",
    "Page",
    "RegistrySettings",
    "RegistrySummary",
    "VersionDetail",
    "artifact_summary",
    "clip",
    "collection_at",
    "collection_detail",
    "collection_summary",
    "find_link",
    "link_row",
    "metadata_columns",
    "page_of",
    "registry_settings",
    "registry_summary",
    "version_detail",
]

JSON = object
"""A JSON value as the domain stores it (metadata, history values): shown, never inspected."""

_Row = TypeVar("_Row")


class Done(TypedDict):
    """The answer of a change: the page refetches what it shows when the store's revision moves."""

    ok: Literal[True]


class Page(TypedDict):
    """One page of rows and its position in all of them."""

    items: list[object]
    total: int
    offset: int
    limit: int


class AliasView(TypedDict):
    """An alias as a chip shows it."""

    name: str
    protected: bool


class RegistrySummary(TypedDict):
    """A registry for a card or a page header."""

    name: str
    kind: str
    description: str
    visibility: str
    artifact_types: list[str] | None
    protected_aliases: list[str]
    role: str
    collection_count: int
    created_at: str
    created_by: str


class CollectionSummary(TypedDict):
    """A collection for a row of the registry page."""

    name: str
    path: str
    type: str
    tags: list[str]
    count: int
    updated_at: str


class CollectionAlias(TypedDict):
    """An alias of a collection and the version it is on."""

    name: str
    version: str
    protected: bool


class CollectionDetail(CollectionSummary):
    """A collection for its own page (its versions are paged separately)."""

    description: str
    aliases: list[CollectionAlias]
    created_at: str
    created_by: str
    role: str


class LinkRow(TypedDict):
    """A linked version for a row of the versions table."""

    path: str
    index: int
    version: str
    aliases: list[AliasView]
    artifact: str
    tags: list[str]
    created_at: str
    created_by: str
    metadata: dict[str, JSON]


class ArtifactSummary(TypedDict):
    """A logged artifact version for the pickers and the artifacts page."""

    ref: str
    name: str
    version: str
    type: str
    size: int
    tags: list[str]
    created_at: str
    created_by: str


class FileRow(TypedDict):
    """One file of an artifact version."""

    path: str
    size: int
    digest: str


class ArtifactDetail(TypedDict):
    """The artifact version behind a linked version, for the version page."""

    ref: str
    type: str
    digest: str
    size: int
    description: str
    tags: list[str]
    created_at: str
    created_by: str
    metadata: JSON
    metadata_truncated: bool
    files: Page


class OtherLink(TypedDict):
    """Another place the same artifact version is linked."""

    path: str
    aliases: list[AliasView]


class VersionDetail(TypedDict):
    """A linked version for its page."""

    path: str
    collection_path: str
    version: str
    index: int
    aliases: list[AliasView]
    created_at: str
    created_by: str
    artifact: ArtifactDetail
    links: list[OtherLink]


class TypeRow(TypedDict):
    """An accepted artifact type of a registry and the collections using it."""

    name: str
    used_by: list[str]
    fixed: bool


class MemberRow(TypedDict):
    """A member of a registry on its settings page."""

    user: str
    role: str
    effective_role: str | None
    you: bool


class RegistrySettings(TypedDict):
    """A registry's settings page: types, members and the roles they may get."""

    registry: RegistrySummary
    user: str
    role: str
    org_role: str
    can: SettingsCan
    types: list[TypeRow] | None
    members: list[MemberRow]
    candidates: list[str]
    roles: list[str]


MAX_COLUMNS = 6
"""At most this many metadata keys become columns of the versions table."""

_CELL_CHARS = 80
_CLIP_CHARS = 2000
_CLIP_ITEMS = 200


def collection_at(client: Client, path: str) -> Collection:
    """The collection at ``Registry/Collection``, parsed by the library's path rules."""
    p = parse_path(path)
    if p.collection is None or p.selector is not None:
        msg = f"a collection path is 'Registry/Collection', not {path!r}"
        raise ValidationError(msg, field="path", value=path)
    return client.registry(p.registry).collection(p.collection)


def find_link(client: Client, path: str) -> Link:
    """The linked version at ``Registry/Collection:selector``, for looking at it.

    Unlike ``client.use`` (which is for using the files and needs ``viewer``), this only
    needs to see the registry: restricted viewers see versions, metadata and history.
    """
    p = parse_path(path)
    if p.collection is None:
        msg = f"a version path is 'Registry/Collection:vN' or an alias, not {path!r}"
        raise ValidationError(msg, field="path", value=path)
    coll = client.registry(p.registry).collection(p.collection)
    return coll.version(p.selector or "latest")


def page_of(rows: Sequence[_Row], offset: int, limit: int) -> Page:
    """Return one page of ``rows`` with its position.

    Parameters
    ----------
    rows
        All rows, already in display order.
    offset, limit
        The page's first row and size.
    """
    return {
        "items": list(rows[offset : offset + limit]),
        "total": len(rows),
        "offset": offset,
        "limit": limit,
    }


def registry_summary(reg: Registry) -> RegistrySummary:
    """Describe a registry for a card or a page header."""
    types = reg.artifact_types
    return {
        "name": reg.name,
        "kind": reg.kind,
        "description": reg.description,
        "visibility": reg.visibility,
        "artifact_types": None if types is None else list(types),
        "protected_aliases": list(reg.protected_aliases),
        "role": reg.role,
        "collection_count": len(reg.collections()),
        "created_at": reg.created_at,
        "created_by": reg.created_by,
    }


def collection_summary(coll: Collection) -> CollectionSummary:
    """Describe a collection for a row of the registry page."""
    return {
        "name": coll.name,
        "path": coll.path,
        "type": coll.type,
        "tags": list(coll.tags),
        "count": coll.count,
        "updated_at": coll.updated_at,
    }


def collection_detail(coll: Collection) -> CollectionDetail:
    """Describe a collection for its own page (without its versions, which are paged)."""
    reg = coll.registry
    protected = set(reg.protected_aliases)
    return {
        **collection_summary(coll),
        "description": coll.description,
        "aliases": [
            {"name": a, "version": v, "protected": a in protected}
            for a, v in sorted(coll.aliases.items())
        ],
        "created_at": coll.created_at,
        "created_by": coll.created_by,
        "role": reg.role,
    }


def _scalar(value: object) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def metadata_columns(links: Iterable[Link]) -> list[str]:
    """Choose the metadata keys shown as columns: scalar top-level keys, most common first."""
    counts: Counter[str] = Counter()
    for link in links:
        for key, value in link.metadata.items():
            if _scalar(value):
                counts[key] += 1
    return [key for key, _ in counts.most_common(MAX_COLUMNS)]


def _cell(value: object) -> object:
    if isinstance(value, str) and len(value) > _CELL_CHARS:
        return value[: _CELL_CHARS - 1] + "…"
    return value if _scalar(value) else None


def _aliases(link: Link, protected: set[str]) -> list[AliasView]:
    return [{"name": a, "protected": a in protected} for a in link.aliases]


def link_row(link: Link, protected: set[str], keys: Sequence[str]) -> LinkRow:
    """Describe a linked version for a row of the versions table."""
    art = link.artifact
    metadata = link.metadata
    return {
        "path": link.path,
        "index": link.index,
        "version": link.version,
        "aliases": _aliases(link, protected),
        "artifact": f"{art.name}:{art.version}",
        "tags": list(art.tags),
        "created_at": link.created_at,
        "created_by": link.created_by,
        "metadata": {k: _cell(metadata[k]) for k in keys if k in metadata},
    }


def artifact_summary(art: ArtifactVersion) -> ArtifactSummary:
    """Describe a logged artifact version for the "Link a version" picker."""
    return {
        "ref": f"{art.name}:{art.version}",
        "name": art.name,
        "version": art.version,
        "type": art.type,
        "size": art.size,
        "tags": list(art.tags),
        "created_at": art.created_at,
        "created_by": art.created_by,
    }


def clip(value: JSON, state: dict[str, bool]) -> JSON:
    """Shorten long strings and lists in a metadata tree for display.

    Parameters
    ----------
    value
        A JSON value.
    state
        Set to ``{"clipped": True}`` when anything was shortened.
    """
    if isinstance(value, str) and len(value) > _CLIP_CHARS:
        state["clipped"] = True
        return value[:_CLIP_CHARS] + "…"
    if isinstance(value, dict):
        items = list(value.items())
        if len(items) > _CLIP_ITEMS:
            state["clipped"] = True
        return {str(k): clip(v, state) for k, v in items[:_CLIP_ITEMS]}
    if isinstance(value, list):
        if len(value) > _CLIP_ITEMS:
            state["clipped"] = True
        return [clip(v, state) for v in value[:_CLIP_ITEMS]]
    return value


def version_detail(link: Link, file_offset: int, file_limit: int) -> VersionDetail:
    """Describe a linked version for its page: facts, metadata, a page of files, other links."""
    art = link.artifact
    coll = link.collection
    protected = set(coll.registry.protected_aliases)
    files: list[FileRow] = [
        {"path": path, "size": int(entry["size"]), "digest": str(entry["digest"])}
        for path, entry in sorted(art.files.items())
    ]
    state = {"clipped": False}
    metadata = clip(art.metadata, state)
    return {
        "path": link.path,
        "collection_path": coll.path,
        "version": link.version,
        "index": link.index,
        "aliases": _aliases(link, protected),
        "created_at": link.created_at,
        "created_by": link.created_by,
        "artifact": {
            "ref": f"{art.name}:{art.version}",
            "type": art.type,
            "digest": art.digest,
            "size": art.size,
            "description": art.description,
            "tags": list(art.tags),
            "created_at": art.created_at,
            "created_by": art.created_by,
            "metadata": metadata,
            "metadata_truncated": state["clipped"],
            "files": page_of(files, file_offset, file_limit),
        },
        "links": [
            {
                "path": other.path,
                "aliases": _aliases(other, set(other.collection.registry.protected_aliases)),
            }
            for other in art.links()
        ],
    }


def registry_settings(client: Client, reg: Registry) -> RegistrySettings:
    """Describe a registry's settings page: its types (and who uses them), members, roles.

    The core registries' preconfigured types are marked ``fixed``: they can never be removed.
    """
    role = reg.role
    used: dict[str, list[str]] = {}
    for coll in reg.collections():
        used.setdefault(coll.type, []).append(coll.name)
    types = reg.artifact_types
    fixed = set(reg.preconfigured_types)
    members: list[MemberRow] = [
        {
            "user": m.user,
            "role": m.role,
            "effective_role": m.effective_role,
            "you": same_user(m.user, client.user),
        }
        for m in reg.members()
    ]
    can = settings_can(reg)
    return {
        "registry": registry_summary(reg),
        "user": client.user,
        "role": role,
        "org_role": client.org_role,
        "can": can,
        "types": None
        if types is None
        else [{"name": t, "used_by": sorted(used.get(t, [])), "fixed": t in fixed} for t in types],
        "members": members,
        "candidates": sorted(
            u.name
            for u in client.users()
            if not same_user(u.name, client.user)
            and not any(same_user(u.name, m["user"]) for m in members)
        )
        if can["admin"]
        else [],
        "roles": list(REGISTRY_ROLES),
    }
