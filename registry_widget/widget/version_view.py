"""The version page's answer: a linked version, its artifact, a page of its files, other links."""

from __future__ import annotations

from typing import TypedDict

from registry_widget.domain.link import Link
from registry_widget.widget.views import JSON, AliasView, Page, alias_views, clip, page_of

__all__ = ["VersionDetail", "version_detail"]


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
        "aliases": alias_views(link, protected),
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
                "aliases": alias_views(other, set(other.collection.registry.protected_aliases)),
            }
            for other in art.links()
        ],
    }
