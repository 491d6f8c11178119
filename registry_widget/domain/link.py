"""Links: a collection's numbered pointer to an artifact version, where aliases live."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry_widget.domain.handle import Handle
from registry_widget.domain.history import HistoryEntry, read_history
from registry_widget.domain.linking import link_path, remove_alias, set_alias, unlink
from registry_widget.domain.reprs import ResultList, metadata_text, short
from registry_widget.domain.retry import retried
from registry_widget.domain.run_query import version_run_fields
from registry_widget.domain.session import Doc, Session, copy_json
from registry_widget.errors import NotFoundError
from registry_widget.names import validate_alias

if TYPE_CHECKING:
    from registry_widget.domain.artifact_version import ArtifactVersion
    from registry_widget.domain.collection import Collection
    from registry_widget.domain.registry import Registry

__all__ = ["LINK_FIELDS", "Link", "make_links"]

LINK_FIELDS = {
    "name": ("artifact_name",),
    "description": ("description",),
    "tag": ("tags",),
    "alias": ("aliases",),
    "type": ("type",),
    "created_at": ("created_at",),
    "created_by": ("created_by",),
    "metadata": ("metadata",),
    **version_run_fields("artifact_id"),
}
"""Filter fields of linked versions and where they live in a link document.

``name``, ``description``, ``tag``, ``type`` and ``metadata`` are the artifact version's
(the store reads them from the version the link refers to, see
:data:`registry_widget.store.interface.JOINS`); ``alias``, ``created_at`` and
``created_by`` are the link's own (when and by whom it was linked); ``run.<field>`` are
those of the run that produced the version (``run.config.lr``).
"""


def make_links(
    s: Session, state: int, rows: Iterable[tuple[int, Doc, Doc | None, Doc]]
) -> list[Link]:
    """Links from ``(link id, link, collection, registry)`` rows just read at ``state``.

    The documents must be what :meth:`Session.link` returns for each id at that state
    (the registry visible to the user); the links then need no lookup of their own until
    the store changes. A row without its collection gives a link that looks it up.
    """
    out: list[Link] = ResultList()
    for link_id, link, coll, reg in rows:
        obj = Link(s, link_id)
        if coll is not None and coll["registry_id"] == link["registry_id"]:
            obj._prime(state, (link, coll, reg))
        out.append(obj)
    return out


class Link(Handle[tuple[Doc, Doc, Doc]]):
    """A linked version ``Registry/Collection:vN``: aliases live here, files on its artifact."""

    def _load(self) -> tuple[Doc, Doc, Doc]:
        return self._s._link(self._id)

    def _doc(self) -> Doc:
        return self._docs()[0]

    def __repr__(self) -> str:
        try:
            link, coll, reg = self._docs()
        except NotFoundError:
            return "<Link (unlinked or hidden)>"
        aliases = f" {link['aliases']}" if link["aliases"] else ""
        return f"<Link {link_path(reg, coll, link['index'])}{aliases} → {self._ref()}>"

    def _repr_fields_(self) -> dict[str, str]:
        link, coll, reg = self._docs()
        return {
            "version": link_path(reg, coll, link["index"]),
            "aliases": short(link["aliases"]),
            "artifact": self._ref(),
            "linked": f"{link['created_at'][:16].replace('T', ' ')} by {link['created_by']}",
            "metadata": metadata_text(self.metadata),
        }

    def _version_doc(self) -> Doc:
        """The document of the artifact version it points to."""
        art = self._s.store.get("artifacts", self._doc()["artifact_id"])
        if art is None:
            msg = "the artifact version of this link no longer exists, or you may not see it"
            raise NotFoundError(msg)
        return art

    def _ref(self) -> str:
        art = self._version_doc()
        return f"{art['name']}:v{art['index']}"

    @property
    def path(self) -> str:
        """``Registry/Collection:vN``."""
        link, coll, reg = self._docs()
        return link_path(reg, coll, link["index"])

    @property
    def index(self) -> int:
        """The number of the link in its collection."""
        return int(self._doc()["index"])

    @property
    def version(self) -> str:
        """``"vN"``."""
        return f"v{self.index}"

    @property
    def aliases(self) -> list[str]:
        """Its aliases, ``latest`` included when it is the newest link."""
        return list(self._doc()["aliases"])

    @property
    def artifact(self) -> ArtifactVersion:
        """The artifact version it points to."""
        from registry_widget.domain.artifact_version import ArtifactVersion

        link = self._doc()
        return ArtifactVersion(self._s, link["artifact_id"], via_registry=link["registry_id"])

    @property
    def metadata(self) -> dict[str, Any]:
        """The artifact version's metadata (a copy).

        Fixed at logging.
        """
        return copy_json(self._version_doc()["metadata"])  # type: ignore[no-any-return]

    @property
    def collection(self) -> Collection:
        """The collection it is linked in."""
        from registry_widget.domain.collection import Collection

        return Collection(self._s, self._doc()["collection_id"])

    @property
    def registry(self) -> Registry:
        """The registry of its collection."""
        from registry_widget.domain.registry import Registry

        return Registry(self._s, self._doc()["registry_id"])

    @retried
    def set_alias(self, alias: str) -> Link:
        """Set ``alias`` here, moving it from the version of this collection that holds it."""
        alias = validate_alias(alias)
        with self._s.store.transaction() as txn:
            set_alias(self._s, txn, self._id, alias)
        return self

    @retried
    def remove_alias(self, alias: str) -> Link:
        """Remove ``alias`` from this version."""
        alias = validate_alias(alias)
        with self._s.store.transaction() as txn:
            remove_alias(self._s, txn, self._id, alias)
        return self

    @retried
    def unlink(self) -> None:
        """Remove this link; the artifact version stays (members)."""
        with self._s.store.transaction() as txn:
            unlink(self._s, txn, self._id)

    def download(self, root: str | Path | None = None) -> Path:
        """Download the files (viewers and above); see :meth:`ArtifactVersion.download`."""
        return self.artifact.download(root)

    def history(
        self, *, action: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[HistoryEntry]:
        """Changes to this linked version (link, aliases, unlink), newest first."""
        self._doc()
        return read_history(
            self._s.store, "link_id", self._id, action=action, limit=limit, offset=offset
        )
