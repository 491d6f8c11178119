"""Collections: numbered links to artifact versions of one type, inside a registry."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from registry_widget.choices import validate_page
from registry_widget.domain.handle import Handle, edits
from registry_widget.domain.history import HistoryEntry, read_history
from registry_widget.domain.linking import LATEST, alias_action, link_version, unlink
from registry_widget.domain.reprs import short
from registry_widget.domain.retry import retried
from registry_widget.domain.session import Doc, Session, now
from registry_widget.errors import NotFoundError
from registry_widget.paths import validate_selector, version_index
from registry_widget.permissions import Action
from registry_widget.text import quoted

if TYPE_CHECKING:
    from registry_widget.domain.artifact_version import ArtifactVersion
    from registry_widget.domain.link import Link
    from registry_widget.domain.registry import Registry

__all__ = ["Collection"]


class Collection(Handle[tuple[Doc, Doc]]):
    """A set of linked versions in a registry, all of one artifact type."""

    def _load(self) -> tuple[Doc, Doc]:
        return self._s._collection(self._id)

    def _doc(self) -> Doc:
        return self._docs()[0]

    def __repr__(self) -> str:
        try:
            coll, reg = self._docs()
        except NotFoundError:
            return "<Collection (deleted or hidden)>"
        return f"<Collection {reg['name']}/{coll['name']} ({coll['type']})>"

    def _repr_fields_(self) -> dict[str, str]:
        coll, reg = self._docs()
        aliases = sorted(coll["aliases"].items())
        return {
            "path": f"{reg['name']}/{coll['name']}",
            "type": coll["type"],
            "versions": str(self.count),
            "aliases": short([f"{a} → v{i}" for a, i in aliases]),
            "tags": short(coll["tags"]),
            "updated": coll["updated_at"][:16].replace("T", " "),
        }

    @property
    def name(self) -> str:
        """The collection's name."""
        return str(self._doc()["name"])

    @property
    def registry(self) -> Registry:
        """The registry it belongs to."""
        from registry_widget.domain.registry import Registry

        return Registry(self._s, self._doc()["registry_id"])

    @property
    def path(self) -> str:
        """``Registry/Collection``."""
        coll, reg = self._docs()
        return f"{reg['name']}/{coll['name']}"

    @property
    def type(self) -> str:
        """The artifact type of every version in it (fixed at creation)."""
        return str(self._doc()["type"])

    @property
    def description(self) -> str:
        """Markdown description."""
        return str(self._doc()["description"])

    @property
    def tags(self) -> list[str]:
        """Its tags."""
        return list(self._doc()["tags"])

    @property
    def aliases(self) -> dict[str, str]:
        """Every alias in the collection and the version holding it: ``{"production": "v3"}``."""
        return {a: f"v{i}" for a, i in sorted(self._doc()["aliases"].items())}

    @property
    def count(self) -> int:
        """How many versions are linked now."""
        self._doc()
        return self._s.store.count("links", collection_id=self._id)

    @property
    def updated_at(self) -> str:
        """When it, its links or its aliases last changed (ISO-8601, UTC)."""
        return str(self._doc()["updated_at"])

    @retried
    def update(
        self, *, description: str | None = None, tags: Iterable[str] | None = None
    ) -> Collection:
        """Change the description or replace the tags (members)."""
        changes = edits(description, tags)
        s = self._s
        with s.store.transaction() as txn:
            coll, reg = self._docs()
            path = f"{reg['name']}/{coll['name']}"
            if changes:
                s.require(reg, Action.WRITE, f"edit collection {path}")
            changes = {k: v for k, v in changes.items() if coll[k] != v}
            if not changes:
                return self
            txn.update("collections", self._id, {**changes, "updated_at": now()})
            s.record(
                txn,
                "collection.update",
                path,
                before={k: coll[k] for k in changes},
                after=changes,
                registry_id=coll["registry_id"],
                collection_id=self._id,
            )
        return self

    def versions(
        self,
        filter: Mapping[str, Any] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Link]:
        """Its linked versions, newest (highest number) first, optionally filtered and paged."""
        from registry_widget.domain.link import LINK_FIELDS, make_links

        limit, offset = validate_page(limit, offset)
        s = self._s
        store = s.store
        with store.reading():
            state = store.state
            coll, reg = self._docs()
            if filter is None and limit is not None:
                ids = itertools.islice(
                    s.link_ids_newest_first(self._id, coll), offset, offset + limit
                )
                rows = store.get_many("links", ids)
                return make_links(s, state, ((i, link, coll, reg) for i, link in rows))
            tree = self._s.parse_filter(filter, LINK_FIELDS)
            rows = store.query(
                "links",
                tree,
                where={"collection_id": self._id},
                order=("-index",),
                limit=limit,
                offset=offset,
            )
        return make_links(s, state, ((i, link, coll, reg) for i, link in rows))

    def version(self, selector: str = LATEST) -> Link:
        """The version ``"v3"``, or the one holding an alias (default ``latest``)."""
        from registry_widget.domain.link import Link

        coll, reg = self._docs()
        return Link(self._s, resolve_selector(self._s, self._id, coll, reg, selector))

    def link(self, version: ArtifactVersion | str, aliases: Iterable[str] = ()) -> Link:
        """Link an artifact version here; the same as ``client.link(version, self.path)``."""
        from registry_widget.domain.artifact_version import artifact_id
        from registry_widget.domain.link import Link

        return Link(
            self._s, link_version(self._s, artifact_id(self._s, version), self.path, aliases)
        )

    @retried
    def delete(self) -> None:
        """Delete the collection and its links (members); artifact versions stay.

        A member may not delete a collection where a version holds a protected alias.
        """
        s = self._s
        with s.store.transaction() as txn:
            coll, reg = self._docs()
            path = f"{reg['name']}/{coll['name']}"
            s.require(reg, Action.WRITE, f"delete collection {path}")
            if alias_action(reg["protected_aliases"], coll["aliases"]) is Action.ADMIN:
                held = sorted(a for a in coll["aliases"] if a in reg["protected_aliases"])
                s.require(
                    reg,
                    Action.ADMIN,
                    f"delete collection {path}, which holds protected alias {held[0]!r}",
                )
            for link_id in s.store.find_ids("links", collection_id=self._id):
                txn.remove("links", link_id)
            txn.remove("collections", self._id)
            s.record(
                txn,
                "collection.delete",
                path,
                before=path,
                registry_id=coll["registry_id"],
                collection_id=self._id,
            )

    @retried
    def unlink(self, selector: str) -> None:
        """Unlink the version ``"vN"`` or the one holding an alias (members)."""
        with self._s.store.transaction() as txn:
            coll, reg = self._docs()
            unlink(self._s, txn, resolve_selector(self._s, self._id, coll, reg, selector))

    def history(
        self, *, action: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[HistoryEntry]:
        """Every change to the collection, its links and aliases, newest first."""
        self._doc()
        return read_history(
            self._s.store, "collection_id", self._id, action=action, limit=limit, offset=offset
        )


def resolve_selector(s: Session, coll_id: int, coll: Doc, reg: Doc, selector: object) -> int:
    """The link id that ``selector`` (``vN`` or an alias) names in a collection."""
    selector = validate_selector(selector)
    index = version_index(selector)
    if index is None:
        index = coll["aliases"].get(selector)
    found = None if index is None else s.link_at(coll_id, index)
    if found is None:
        path = f"{reg['name']}/{coll['name']}"
        msg = (
            f"{path} has no version {selector!r}; its aliases are "
            f"{quoted(sorted(coll['aliases']))} and it numbers versions up to "
            f"v{coll['next_index'] - 1}"
            if coll["next_index"]
            else f"{path} has no version {selector!r}: nothing is linked into it yet"
        )
        raise NotFoundError(msg).with_code(
            "not_found",
            kind="version",
            name=selector,
            within=path,
            known=sorted(coll["aliases"]),
            newest=coll["next_index"] - 1,
        )
    return found[0]
