"""Turn domain objects into the small JSON-able dicts the widget's pages show.

Each builder returns a TypedDict, so the shape of every answer is written down once, next to
the code that fills it, and ``mypy --strict`` checks both the domain calls and the answers.
This module holds the shapes several pages share (registries, collections, rows of linked
versions, pages of rows); the version page is built in :mod:`.version_view` and a
registry's settings page in :mod:`.settings_view`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TypedDict, TypeVar

from registry_widget.domain.artifact_version import ArtifactVersion
from registry_widget.domain.client import Client
from registry_widget.domain.collection import Collection
from registry_widget.domain.link import Link
from registry_widget.domain.registry import Registry
from registry_widget.errors import ValidationError
from registry_widget.paths import parse_path

__all__ = [
    "AliasView",
    "ArtifactSummary",
    "CollectionDetail",
    "CollectionSummary",
    "LinkRow",
    "Page",
    "RegistrySummary",
    "alias_views",
    "artifact_summary",
    "clip",
    "collection_at",
    "collection_detail",
    "collection_summary",
    "find_link",
    "link_row",
    "metadata_columns",
    "page_of",
    "registry_summary",
]

JSON = object
"""A JSON value as the domain stores it (metadata, history values): shown, never inspected."""

_Row = TypeVar("_Row")


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


def alias_views(link: Link, protected: set[str]) -> list[AliasView]:
    """The aliases of a linked version, each marked protected or not."""
    return [{"name": a, "protected": a in protected} for a in link.aliases]


def link_row(link: Link, protected: set[str], keys: Sequence[str]) -> LinkRow:
    """Describe a linked version for a row of the versions table."""
    art = link.artifact
    metadata = link.metadata
    return {
        "path": link.path,
        "index": link.index,
        "version": link.version,
        "aliases": alias_views(link, protected),
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
