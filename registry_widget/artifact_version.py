"""Artifact versions: immutable snapshots of files with metadata, logged by name."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry_widget import artifacts
from registry_widget.errors import ConflictError, NotFoundError, ValidationError
from registry_widget.handle import Handle, edits
from registry_widget.history import HistoryEntry, read_history
from registry_widget.names import (
    parse_artifact_ref,
    validate_artifact_name,
    validate_artifact_type,
    validate_description,
    validate_metadata,
    validate_tags,
    version_index,
)
from registry_widget.permissions import Action
from registry_widget.reprs import ResultList, metadata_text, short, size_text
from registry_widget.session import Doc, Session, copy_json, now

if TYPE_CHECKING:
    from registry_widget.link import Link

__all__ = ["ARTIFACT_FIELDS", "ArtifactVersion", "find_artifact", "log_artifact"]

_MAX_PROBES = 64

ARTIFACT_FIELDS = {
    "name": ("name",),
    "description": ("description",),
    "tag": ("tags",),
    "type": ("type",),
    "created_at": ("created_at",),
    "created_by": ("created_by",),
    "metadata": ("metadata",),
}


def log_artifact(
    s: Session,
    name: str,
    *,
    artifact_type: str,
    files: object,
    metadata: Mapping[str, Any] | None,
    description: str,
    tags: Iterable[str],
) -> int:
    """Store the files and record a new version of artifact ``name``; return its id.

    Content identical to the newest version of ``name`` returns that version's id.
    """
    name = validate_artifact_name(name)
    artifact_type = validate_artifact_type(artifact_type)
    meta = validate_metadata(metadata)
    description = validate_description(description)
    tag_list = validate_tags(tags)
    s.require_org("member", "log artifact versions")
    sources = artifacts.collect_files(files)
    # Files are hashed and copied into the blob store before the lock is taken: blobs are
    # content-addressed, so a blob left behind by a failed call harms nothing.
    manifest = artifacts.build_manifest(sources, s.blobs)
    digest = artifacts.manifest_digest(manifest)
    with s.store.transaction() as txn:
        name_doc = s.store.find_one("artifact_names", name=name)
        if name_doc is not None:
            name_id = name_doc.doc_id
            if name_doc["type"] != artifact_type:
                msg = (
                    f"artifact {name!r} has type {name_doc['type']!r}; its versions cannot be "
                    f"logged as {artifact_type!r}. Use another name for another type"
                )
                raise ValidationError(msg, field="type", value=artifact_type)
            newest = _newest(s, name)
            if newest is not None and newest[1]["digest"] == digest:
                _warn_unapplied(newest[1], meta, description, tag_list)
                return newest[0]
            index = int(name_doc["next_index"])
            txn.update("artifact_names", name_id, {"next_index": index + 1})
        else:
            index = 0
            txn.insert("artifact_names", {"name": name, "type": artifact_type, "next_index": 1})
        art_id = txn.insert(
            "artifacts",
            {
                "name": name,
                "index": index,
                "type": artifact_type,
                "digest": digest,
                "size": artifacts.manifest_size(manifest),
                "files": manifest,
                "metadata": meta,
                "description": description,
                "tags": tag_list,
                "created_at": now(),
                "created_by": s.user,
            },
        )
        s.record(
            txn,
            "artifact.create",
            f"{name}:v{index}",
            after={"digest": digest},
            artifact_id=art_id,
        )
    return art_id


def _warn_unapplied(doc: Doc, meta: dict[str, Any], description: str, tags: list[str]) -> None:
    """Warn when identical files came with other metadata, which the call does not apply."""
    differ = [
        field
        for field, given in (("metadata", meta), ("description", description), ("tags", tags))
        if given and given != doc[field]
    ]
    if differ:
        ref = f"{doc['name']}:v{doc['index']}"
        msg = (
            f"the files are identical to {ref}, so {ref} is returned and the "
            f"{' and '.join(differ)} given here were not applied (metadata is fixed at "
            f"logging; use {ref}.update() for description and tags)"
        )
        warnings.warn(msg, UserWarning, stacklevel=4)


def _newest(s: Session, name: str) -> tuple[int, Doc] | None:
    """The newest version of ``name``: probed down from the next number, then sorted."""
    store = s.store
    name_doc = store.find_one("artifact_names", name=name)
    top = int(name_doc["next_index"]) - 1 if name_doc is not None else -1
    for index in range(top, max(top - _MAX_PROBES, -1), -1):
        found = store.find_one("artifacts", index=index, name=name)
        if found is not None:
            return found.doc_id, found
    docs = store.find("artifacts", name=name)
    if not docs:
        return None
    newest = max(docs, key=lambda d: d["index"])
    return newest.doc_id, newest


def find_artifact(s: Session, ref: str) -> int:
    """The id of the artifact version ``name``, ``name:vM`` or ``name:latest``."""
    name, selector = parse_artifact_ref(ref)
    s.org_role()
    if selector is None or selector == "latest":
        newest = _newest(s, name)
        if newest is not None:
            return newest[0]
    else:
        index = version_index(selector)
        if index is None:
            msg = (
                f"artifact versions are named {name}:vN or {name}:latest, not {ref!r}; aliases "
                "belong to linked versions (Registry/Collection:alias)"
            )
            raise ValidationError(msg, field="ref", value=ref)
        found = s.store.find_one("artifacts", index=index, name=name)
        if found is not None:
            return found.doc_id
    msg = f"no artifact version {ref!r}"
    raise NotFoundError(msg)


class ArtifactVersion(Handle[Doc]):
    """An immutable snapshot: files (by sha256), metadata, type, under ``name:vM``.

    Description and tags stay editable; files, metadata and type never change.
    """

    def __init__(self, session: Session, art_id: int, *, via_registry: int | None = None) -> None:
        super().__init__(session, art_id)
        self._via = via_registry

    def _load(self) -> Doc:
        self._s._org_role()
        doc = self._s.store.doc("artifacts", self._id)
        if doc is None:
            msg = "the artifact version no longer exists (it was deleted)"
            raise NotFoundError(msg)
        return doc

    def _doc(self) -> Doc:
        return self._docs()

    def __repr__(self) -> str:
        try:
            doc = self._doc()
        except NotFoundError:
            return "<ArtifactVersion (deleted)>"
        return (
            f"<ArtifactVersion {doc['name']}:v{doc['index']} ({doc['type']}, "
            f"{len(doc['files'])} files, {doc['digest'][:12]})>"
        )

    def _repr_fields_(self) -> dict[str, str]:
        doc = self._doc()
        n = len(doc["files"])
        return {
            "artifact": f"{doc['name']}:v{doc['index']}",
            "type": doc["type"],
            "files": f"{n} file{'' if n == 1 else 's'}, {size_text(self.size)}",
            "tags": short(doc["tags"]),
            "logged": f"{doc['created_at'][:16].replace('T', ' ')} by {doc['created_by']}",
            "metadata": metadata_text(doc["metadata"]),
        }

    @property
    def name(self) -> str:
        """The artifact's name."""
        return str(self._doc()["name"])

    @property
    def index(self) -> int:
        """The version number within the name."""
        return int(self._doc()["index"])

    @property
    def version(self) -> str:
        """``"vM"``."""
        return f"v{self.index}"

    @property
    def ref(self) -> str:
        """``name:vM``."""
        doc = self._doc()
        return f"{doc['name']}:v{doc['index']}"

    @property
    def type(self) -> str:
        """The artifact type, e.g. ``"model"``."""
        return str(self._doc()["type"])

    @property
    def digest(self) -> str:
        """sha256 over the manifest: equal digests mean identical files."""
        return str(self._doc()["digest"])

    @property
    def size(self) -> int:
        """Total size of the files in bytes."""
        return int(self._doc()["size"])

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        """The manifest: relative path → ``{"digest", "size"}``."""
        return copy_json(self._doc()["files"])  # type: ignore[no-any-return]

    @property
    def metadata(self) -> dict[str, Any]:
        """Metadata fixed at logging (a copy)."""
        return copy_json(self._doc()["metadata"])  # type: ignore[no-any-return]

    @property
    def description(self) -> str:
        """Its description."""
        return str(self._doc()["description"])

    @property
    def tags(self) -> list[str]:
        """Its tags."""
        return list(self._doc()["tags"])

    @property
    def created_at(self) -> str:
        """When it was logged (ISO-8601, UTC)."""
        return str(self._doc()["created_at"])

    @property
    def created_by(self) -> str:
        """Who logged it."""
        return str(self._doc()["created_by"])

    def update(
        self, *, description: str | None = None, tags: Iterable[str] | None = None
    ) -> ArtifactVersion:
        """Change the description or replace the tags (organisation members)."""
        changes = edits(description, tags)
        s = self._s
        with s.store.transaction() as txn:
            doc = self._doc()
            changes = {k: v for k, v in changes.items() if doc[k] != v}
            if not changes:
                return self
            s.require_org("member", f"edit artifact version {doc['name']}:v{doc['index']}")
            txn.update("artifacts", self._id, changes)
            for link in s.store.find("links", artifact_id=self._id):
                txn.update("links", link.doc_id, changes)
            s.record(
                txn,
                "artifact.update",
                f"{doc['name']}:v{doc['index']}",
                before={k: doc[k] for k in changes},
                after=changes,
                artifact_id=self._id,
            )
        return self

    def links(self) -> list[Link]:
        """Where it is linked, in the registries the user may see."""
        from registry_widget.link import Link

        self._doc()
        visible = {r.doc_id for r in self._s.visible_registries()}
        docs = self._s.store.find("links", artifact_id=self._id)
        return ResultList(Link(self._s, d.doc_id) for d in docs if d["registry_id"] in visible)

    def _require_download(self) -> Doc:
        doc = self._doc()
        if self._via is not None:
            reg = self._s.registry(self._via)
            self._s.require(reg, Action.USE, f"download files from registry {reg['name']!r}")
        return doc

    def download(
        self,
        root: str | Path | None = None,
        *,
        progress: bool | None = None,
        files: Iterable[str] | None = None,
    ) -> Path:
        """Write the files under ``root`` (default ``artifacts/<name>/v<M>``) and return it.

        Nothing is ever written outside ``root``. Files already there with the right
        content are left alone. ``files`` restricts the download to some of its paths.
        """
        doc = self._require_download()
        manifest = doc["files"] if files is None else self._subset(doc, files)
        target = (
            Path(root) if root is not None else Path("artifacts", doc["name"], f"v{doc['index']}")
        )
        return artifacts.download(manifest, self._s.blobs, target, progress=progress)

    def _subset(self, doc: Doc, files: Iterable[str]) -> dict[str, Any]:
        wanted = [files] if isinstance(files, str) else list(files)
        unknown = [rel for rel in wanted if rel not in doc["files"]]
        if unknown:
            msg = (
                f"{doc['name']}:v{doc['index']} has no file {unknown[0]!r}; "
                f"its files are {sorted(doc['files'])[:10]}"
            )
            raise NotFoundError(msg)
        return {rel: doc["files"][rel] for rel in wanted}

    def read_file(self, relpath: str, *, limit: int | None = None) -> bytes:
        """The content of one of its files (at most ``limit`` bytes), for viewers and above."""
        doc = self._require_download()
        entry = self._subset(doc, [relpath])[relpath]
        with self._s.blobs.open(entry["digest"]) as src:
            data: bytes = src.read(-1 if limit is None else limit)
        return data

    def verify(self, root: str | Path | None = None) -> artifacts.VerifyReport:
        """Re-hash the stored files (or a downloaded copy under ``root``) against the manifest."""
        doc = self._require_download()
        return artifacts.verify(doc["files"], self._s.blobs, None if root is None else Path(root))

    def delete(self) -> None:
        """Delete this version and the blobs no other version uses (its creator or org admins).

        Refused while it is linked anywhere.
        """
        s = self._s
        with s.store.transaction() as txn:
            doc = self._doc()
            ref = f"{doc['name']}:v{doc['index']}"
            if doc["created_by"] != s.user:
                s.require_org("admin", f"delete {ref}, which {doc['created_by']!r} logged")
            else:
                s.require_org("member", f"delete {ref}")
            linked = s.store.find("links", artifact_id=self._id)
            if linked:
                visible = {r.doc_id for r in s.visible_registries()}
                paths = [_path_of(s, d) for d in linked if d["registry_id"] in visible]
                hidden = len(linked) - len(paths)
                more = f" and {hidden} you cannot see" if hidden else ""
                msg = f"{ref} is still linked at {paths}{more}; unlink it everywhere first"
                raise ConflictError(msg)
            txn.remove("artifacts", self._id)
            s.record(
                txn, "artifact.delete", ref, before={"digest": doc["digest"]}, artifact_id=self._id
            )
            used = {
                e["digest"] for a in s.store.table("artifacts").all() for e in a["files"].values()
            }
        for entry in doc["files"].values():
            if entry["digest"] not in used:
                s.blobs.remove(entry["digest"])

    def history(
        self, *, action: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[HistoryEntry]:
        """Changes to this artifact version (logged, edited, linked), newest first.

        Links into registries the user may not see are left out.
        """
        self._doc()
        visible = {r.doc_id for r in self._s.visible_registries()}
        return read_history(
            self._s.store,
            "artifact_id",
            self._id,
            action=action,
            limit=limit,
            offset=offset,
            registries=visible,
        )


def _path_of(s: Session, link: Doc) -> str:
    """``Registry/Collection:vN`` of a link document."""
    from registry_widget.linking import link_path

    coll = s.store.get("collections", link["collection_id"])
    reg = s.store.get("registries", link["registry_id"])
    assert coll is not None
    assert reg is not None
    return link_path(reg, coll, link["index"])
