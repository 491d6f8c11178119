"""Artifact versions: immutable snapshots of files with metadata, logged by name.

The handle class and the look-up of a version by reference live here; logging a new
version is :mod:`registry_widget.domain.artifact_log`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry_widget.domain.artifact_log import newest_version
from registry_widget.domain.handle import Handle, edits
from registry_widget.domain.history import HistoryEntry, read_history
from registry_widget.domain.reprs import ResultList, metadata_text, short, size_text
from registry_widget.domain.retry import retried
from registry_widget.domain.run_query import version_run_fields
from registry_widget.domain.session import Doc, Session, copy_json
from registry_widget.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from registry_widget.files import artifacts
from registry_widget.paths import parse_artifact_ref, version_index
from registry_widget.permissions import Action, may_edit_artifact, require
from registry_widget.text import plural, quoted

if TYPE_CHECKING:
    from registry_widget.domain.lineage import Lineage
    from registry_widget.domain.link import Link
    from registry_widget.domain.run import Run

__all__ = ["ARTIFACT_FIELDS", "ArtifactVersion", "find_artifact"]

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
        newest = newest_version(s, name)
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
        n = len(doc["files"])
        return (
            f"<ArtifactVersion {doc['name']}:v{doc['index']} ({doc['type']}, "
            f"{plural(n, 'file')}, {doc['digest'][:12]})>"
        )

    def _repr_fields_(self) -> dict[str, str]:
        doc = self._doc()
        n = len(doc["files"])
        return {
            "artifact": f"{doc['name']}:v{doc['index']}",
            "type": doc["type"],
            "files": f"{plural(n, 'file')}, {size_text(self.size)}",
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
                f"its files are {quoted(sorted(doc['files'])[:10])}"
                + (" and more" if len(doc["files"]) > 10 else "")
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
