"""Artifact versions: immutable snapshots of files with metadata, logged by name."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry_widget.domain.garbage import referenced_digests
from registry_widget.domain.handle import Handle, edits
from registry_widget.domain.history import HistoryEntry, read_history
from registry_widget.domain.reprs import ResultList, metadata_text, short, size_text
from registry_widget.domain.retry import retried
from registry_widget.domain.run_query import version_run_fields
from registry_widget.domain.session import Doc, Session, copy_json, now
from registry_widget.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RegistryError,
    ValidationError,
)
from registry_widget.files import artifacts
from registry_widget.files.blobs import Added
from registry_widget.metadata import validate_metadata
from registry_widget.names import (
    validate_artifact_name,
    validate_artifact_type,
    validate_description,
    validate_tags,
)
from registry_widget.paths import parse_artifact_ref, version_index
from registry_widget.permissions import Action, may_edit_artifact, require
from registry_widget.store import Transaction

if TYPE_CHECKING:
    from registry_widget.domain.lineage import Lineage
    from registry_widget.domain.link import Link
    from registry_widget.domain.run import Run

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
    **version_run_fields("run_id"),
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
    on_version: Callable[[Transaction, int], None] | None = None,
) -> int:
    """Store the files and record a new version of artifact ``name``; return its id.

    Content identical to the newest version of ``name`` returns that version's id.
    ``on_version(txn, id)``, when given, runs in the same transaction once the version
    is known (new or identical), so what it records commits with it or not at all.
    """
    name = validate_artifact_name(name)
    artifact_type = validate_artifact_type(artifact_type)
    meta = validate_metadata(metadata)
    description = validate_description(description)
    tag_list = validate_tags(tags)
    s.require_org("member", "log artifact versions")
    sources = artifacts.collect_files(files)
    _check_type(s, name, artifact_type)
    # Files are hashed and copied into the blob store before the lock is taken; a call
    # refused after that takes back what it added, so the blob store is unchanged too.
    with s.blobs.recording() as added:
        try:
            manifest = artifacts.build_manifest(sources, s.blobs)
            digest = artifacts.manifest_digest(manifest)
            return _record_version(
                s,
                name,
                artifact_type,
                sources,
                manifest,
                digest,
                (meta, description, tag_list),
                on_version,
            )
        except BaseException:
            if added:
                _take_back(s, added)
            raise


def _check_type(s: Session, name: str, artifact_type: str) -> tuple[int, Doc] | None:
    """The name's row, after refusing a type other than the name's."""
    found = s.store.find_one("artifact_names", name=name)
    if found is None:
        return None
    name_doc = found[1]
    if name_doc["type"] != artifact_type:
        # Naming the type would confirm a name whose versions the user may not see.
        msg = (
            f"artifact {name!r} has type {name_doc['type']!r}; its versions cannot be "
            f"logged as {artifact_type!r}. Use another name for another type"
            if _newest(s, name) is not None
            else f"the artifact name {name!r} is not available for type "
            f"{artifact_type!r}; use another name"
        )
        raise ValidationError(msg, field="type", value=artifact_type)
    return found


def _take_back(s: Session, added: Added) -> None:
    """Remove what a refused call added to the blob store (none of it is referred to)."""
    # Best effort: what stays behind is unreferenced, and garbage collection removes it.
    with contextlib.suppress(RegistryError, OSError), s.store.transaction():
        s.blobs.discard(added, referenced_digests(s, added.digests))


def _ensure_blobs(s: Session, sources: Mapping[str, Path], manifest: artifacts.Manifest) -> None:
    """Store again, under the lock, blobs that garbage collection removed since ingest."""
    absent = s.blobs.missing([entry["digest"] for entry in manifest.values()])
    for rel, entry in manifest.items():
        if entry["digest"] not in absent:
            continue
        absent.discard(entry["digest"])
        try:
            s.blobs.put_file(sources[rel], entry["digest"])
        except ValidationError:
            msg = (
                f"file {str(sources[rel])!r} changed while it was being logged; log it again "
                "once nothing is writing to it"
            )
            raise ConflictError(msg) from None


@retried
def _record_version(
    s: Session,
    name: str,
    artifact_type: str,
    sources: Mapping[str, Path],
    manifest: artifacts.Manifest,
    digest: str,
    fields: tuple[dict[str, Any], str, list[str]],
    on_version: Callable[[Transaction, int], None] | None,
) -> int:
    meta, description, tag_list = fields
    with s.store.transaction() as txn:
        name_row = _check_type(s, name, artifact_type)
        if name_row is not None:
            name_id, name_doc = name_row
            newest = _newest(s, name, visible=False)
            # Identical content returns the newest version, unless the user may not see it.
            if newest is not None and newest[1]["digest"] == digest and s.sees_artifact(newest[0]):
                _warn_unapplied(newest[1], meta, description, tag_list)
                if on_version is not None:
                    on_version(txn, newest[0])
                return newest[0]
            index = int(name_doc["next_index"])
            txn.update("artifact_names", name_id, {"next_index": index + 1})
        else:
            index = 0
            txn.insert("artifact_names", {"name": name, "type": artifact_type, "next_index": 1})
        _ensure_blobs(s, sources, manifest)
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
        if on_version is not None:
            on_version(txn, art_id)
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


def _newest(s: Session, name: str, *, visible: bool = True) -> tuple[int, Doc] | None:
    """The newest version of ``name``: probed down from the next number, then sorted.

    Only versions the user may see count, unless ``visible`` is False.
    """
    store = s.store
    name_row = store.find_one("artifact_names", name=name)
    top = int(name_row[1]["next_index"]) - 1 if name_row is not None else -1
    for index in range(top, max(top - _MAX_PROBES, -1), -1):
        found = store.find_one("artifacts", index=index, name=name)
        if found is not None and (not visible or s.sees_artifact(found[0])):
            return found
    for art_id, doc in store.query("artifacts", where={"name": name}, order=("-index",)):
        if doc["index"] <= top - _MAX_PROBES and (not visible or s.sees_artifact(art_id)):
            return art_id, doc
    return None


def artifact_id(s: Session, version: ArtifactVersion | str) -> int:
    """The id of ``version``: an :class:`ArtifactVersion` of this store or a ``name:vM`` ref."""
    if isinstance(version, ArtifactVersion):
        if version._s.store.identity != s.store.identity:
            msg = "that artifact version belongs to another store"
            raise ValidationError(msg, field="version", value=version)
        return version._id
    if isinstance(version, str):
        return find_artifact(s, version)
    msg = f"version must be an ArtifactVersion or a 'name:vM' str, not {version!r}"
    raise ValidationError(msg, field="version", value=version)


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
        if found is not None and s.sees_artifact(found[0]):
            return found[0]
    # A version the user may not see is answered exactly like one that does not exist.
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
        return self._s.artifact(self._id)

    def _doc(self) -> Doc:
        return self._docs()

    def __repr__(self) -> str:
        try:
            doc = self._doc()
        except NotFoundError:
            return "<ArtifactVersion (deleted or hidden)>"
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

    @retried
    def update(
        self, *, description: str | None = None, tags: Iterable[str] | None = None
    ) -> ArtifactVersion:
        """Change the description or replace the tags.

        Needs ``member`` in every registry the version is linked into; while it is linked
        nowhere, only its creator (or an organisation admin) may.
        """
        changes = edits(description, tags)
        s = self._s
        with s.store.transaction() as txn:
            doc = self._doc()
            self._require_edit(doc)
            changes = {k: v for k, v in changes.items() if doc[k] != v}
            if not changes:
                return self
            try:
                txn.update("artifacts", self._id, changes)  # its links read it from there
            except PermissionDeniedError:
                # A server store refuses it when it is linked into registries the user may
                # not see, which the check above could not count: refused in the same words.
                raise self._not_everywhere(doc) from None
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
        from registry_widget.domain.link import Link

        self._doc()
        visible = [reg_id for reg_id, _ in self._s.visible_registries()]
        rows = self._s.store.query(
            "links", where={"artifact_id": self._id, "registry_id": visible}, order=("id",)
        )
        return ResultList(Link(self._s, link_id) for link_id, _ in rows)

    @property
    def run(self) -> Run | None:
        """The run that logged this version first (None: logged outside any run)."""
        from registry_widget.domain.run import Run, producing_run

        self._doc()
        run_id = producing_run(self._s, self._id)
        return None if run_id is None else Run(self._s, run_id)

    def used_by(self) -> list[Run]:
        """The runs that used this version as an input, in the order they first used it."""
        from registry_widget.domain.run import Run, run_edge_ids

        self._doc()
        ids = run_edge_ids(self._s, kind="input", art_id=self._id)
        return ResultList(Run(self._s, i) for i in ids)

    def lineage(self, upstream: int = 2, downstream: int = 2) -> Lineage:
        """The graph of runs and versions around this version, ``upstream``/``downstream`` steps.

        One step follows one edge: upstream from a version to the run that produced it,
        from a run to the versions it used; downstream from a version to the runs that
        used it, from a run to the versions it produced. Each version is also joined to
        the links that hold it in registries the user may see. Versions the user may not
        see are left out, with their edges, and are not followed.
        """
        from registry_widget.domain.lineage import lineage

        self._doc()
        return lineage(self._s, self._id, upstream, downstream)

    def _require_edit(self, doc: Doc) -> None:
        s = self._s
        ref = f"{doc['name']}:v{doc['index']}"
        regs = s.artifact_registries(self._id)
        creator = s.is_user(doc["created_by"])
        if may_edit_artifact((r for _, r in regs), creator=creator, org_role=s._org_role()):
            if not s.store.may_update("artifacts", self._id):
                raise self._not_everywhere(doc)  # linked where the user may not see it
            return
        if not regs:
            msg = (
                f"user {s.user!r} may not edit {ref}: while it is linked nowhere only its "
                f"creator {doc['created_by']!r} or an organisation admin may"
            )
            raise PermissionDeniedError(msg)
        for reg, role in sorted(regs, key=lambda r: r[0]["key"]):
            if role is not None:  # registries the user may not see are never named
                what = f"edit {ref}, which is linked into registry {reg['name']!r}"
                require(role, Action.WRITE, user=s.user, registry=reg["name"], what=what)
        raise self._not_everywhere(doc)

    def _not_everywhere(self, doc: Doc) -> PermissionDeniedError:
        msg = (
            f"user {self._s.user!r} may not edit {doc['name']}:v{doc['index']}: that needs "
            "the 'member' role in every registry it is linked into"
        )
        return PermissionDeniedError(msg)

    def _require_download(self) -> Doc:
        doc = self._doc()
        s = self._s
        if self._via is not None:
            reg = s.registry(self._via)
            s.require(reg, Action.USE, f"download files from registry {reg['name']!r}")
        else:
            s.require_artifact_use(self._id, f"{doc['name']}:v{doc['index']}")
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

    @retried
    def delete(self) -> None:
        """Delete this version (its creator or org admins); refused while it is linked.

        Its files stay in the blob store until :meth:`Client.collect_garbage` removes the
        ones no version refers to any more.
        """
        s = self._s
        with s.store.transaction() as txn:
            doc = self._doc()
            ref = f"{doc['name']}:v{doc['index']}"
            if not s.is_user(doc["created_by"]):
                s.require_org("admin", f"delete {ref}, which {doc['created_by']!r} logged")
            else:
                s.require_org("member", f"delete {ref}")
            linked = s.store.find("links", artifact_id=self._id)
            if linked:
                # Links in registries the user may not see are neither named nor counted.
                visible = {reg_id for reg_id, _ in s.visible_registries()}
                paths = sorted(_path_of(s, d) for _, d in linked if d["registry_id"] in visible)
                msg = (
                    f"{ref} is still linked; it can be deleted once it is unlinked everywhere "
                    f"(linked where you can see it: {paths})"
                )
                raise ConflictError(msg)
            txn.remove("artifacts", self._id)
            s.record(
                txn, "artifact.delete", ref, before={"digest": doc["digest"]}, artifact_id=self._id
            )

    def history(
        self, *, action: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[HistoryEntry]:
        """Changes to this artifact version (logged, edited, linked), newest first.

        Links into registries the user may not see are left out.
        """
        self._doc()
        visible = {reg_id for reg_id, _ in self._s.visible_registries()}
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
    from registry_widget.domain.linking import link_path

    coll = s.store.get("collections", link["collection_id"])
    reg = s.store.get("registries", link["registry_id"])
    assert coll is not None
    assert reg is not None
    return link_path(reg, coll, link["index"])
