"""Turn domain objects into the small JSON-able dicts the widget's pages show."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from registry_widget.errors import ValidationError
from registry_widget.paths import parse_path

__all__ = [
    "artifact_summary",
    "clip",
    "collection_detail",
    "collection_summary",
    "find_link",
    "link_row",
    "metadata_columns",
    "page_of",
    "registry_summary",
    "version_detail",
]

MAX_COLUMNS = 6
"""At most this many metadata keys become columns of the versions table."""

_CELL_CHARS = 80
_CLIP_CHARS = 2000
_CLIP_ITEMS = 200


def find_link(client: Any, path: str) -> Any:
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


def page_of(rows: Sequence[Any], offset: int, limit: int) -> dict[str, Any]:
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


def registry_summary(reg: Any) -> dict[str, Any]:
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


def collection_summary(coll: Any) -> dict[str, Any]:
    """Describe a collection for a row of the registry page."""
    return {
        "name": coll.name,
        "path": coll.path,
        "type": coll.type,
        "tags": list(coll.tags),
        "count": coll.count,
        "updated_at": coll.updated_at,
    }


def collection_detail(coll: Any) -> dict[str, Any]:
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


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def metadata_columns(links: Iterable[Any]) -> list[str]:
    """Choose the metadata keys shown as columns: scalar top-level keys, most common first."""
    counts: Counter[str] = Counter()
    for link in links:
        for key, value in link.metadata.items():
            if _scalar(value):
                counts[key] += 1
    return [key for key, _ in counts.most_common(MAX_COLUMNS)]


def _cell(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _CELL_CHARS:
        return value[: _CELL_CHARS - 1] + "…"
    return value if _scalar(value) else None


def _aliases(link: Any, protected: set[str]) -> list[dict[str, Any]]:
    return [{"name": a, "protected": a in protected} for a in link.aliases]


def link_row(link: Any, protected: set[str], keys: Sequence[str]) -> dict[str, Any]:
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


def artifact_summary(art: Any) -> dict[str, Any]:
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


def clip(value: Any, state: dict[str, bool]) -> Any:
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


def version_detail(link: Any, file_offset: int, file_limit: int) -> dict[str, Any]:
    """Describe a linked version for its page: facts, metadata, a page of files, other links."""
    art = link.artifact
    coll = link.collection
    protected = set(coll.registry.protected_aliases)
    files = [
        {"path": path, "size": entry["size"], "digest": entry["digest"]}
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
