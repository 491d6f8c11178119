"""Registries: the top-level catalogues, their rules, members and protected aliases."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from registry_widget.choices import validate_visibility
from registry_widget.domain.accepted_types import (
    AcceptedType,
    collections_by_type,
    removal_refusal,
)
from registry_widget.domain.history import HistoryEntry, read_history
from registry_widget.domain.registry_access import RegistryAccess
from registry_widget.domain.reprs import ResultList, short
from registry_widget.domain.retry import retried
from registry_widget.domain.session import Doc, now
from registry_widget.entity_names import validate_collection_name, validate_registry_name
from registry_widget.errors import ConflictError, NotFoundError
from registry_widget.names import (
    known_artifact_type,
    normalize_key,
    validate_artifact_type,
    validate_description,
    validate_tags,
)
from registry_widget.permissions import (
    Action,
)
from registry_widget.text import quoted

if TYPE_CHECKING:
    from registry_widget.domain.collection import Collection
    from registry_widget.domain.link import Link

__all__ = ["COLLECTION_FIELDS", "REGISTRY_FIELDS", "Registry"]

REGISTRY_FIELDS = {
    "name": ("name",),
    "description": ("description",),
    "type": ("artifact_types",),
    "kind": ("kind",),
    "visibility": ("visibility",),
    "created_at": ("created_at",),
    "created_by": ("created_by",),
}
COLLECTION_FIELDS = {
    "name": ("name",),
    "description": ("description",),
    "tag": ("tags",),
    "type": ("type",),
    "created_at": ("created_at",),
    "created_by": ("created_by",),
}


class Registry(RegistryAccess):
    """A registry: collections of linked artifact versions, with its own members and rules.

    Obtain it from :meth:`Client.registry`, :meth:`Client.registries` or
    :meth:`Client.create_registry`. Every attribute read sees the store as it is now.
    """

    def _load(self) -> Doc:
        return self._s.registry(self._id)

    def _doc(self) -> Doc:
        return self._docs()

    def __repr__(self) -> str:
        try:
            doc = self._doc()
        except NotFoundError:
            return "<Registry (deleted or hidden)>"
        return f"<Registry {doc['name']!r} ({doc['kind']}, {doc['visibility']})>"

    def _repr_fields_(self) -> dict[str, str]:
        doc = self._doc()
        types = doc["artifact_types"]
        return {
            "name": doc["name"],
            "kind": doc["kind"],
            "visibility": doc["visibility"],
            "types": "all" if types is None else short(types),
            "your role": self.role,
            "description": short(doc["description"]),
        }

    # -- attributes --------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The registry's name."""
        return str(self._doc()["name"])

    @property
    def kind(self) -> str:
        """``"core"`` (``Models``, ``Datasets``) or ``"custom"``."""
        return str(self._doc()["kind"])

    @property
    def description(self) -> str:
        """What the registry is for."""
        return str(self._doc()["description"])

    @property
    def visibility(self) -> str:
        """``"organization"`` (every organisation user sees it) or ``"restricted"``."""
        return str(self._doc()["visibility"])

    @property
    def artifact_types(self) -> list[str] | None:
        """The artifact types it accepts; None means every type."""
        types = self._doc()["artifact_types"]
        return None if types is None else list(types)

    @property
    def preconfigured_types(self) -> list[str]:
        """The types a core registry was created with; they can never be removed."""
        return list(self._doc()["preconfigured_types"])

    def accepted_types(self) -> list[AcceptedType] | None:
        """The types it accepts, each with the collections using it; None means every type.

        Each says whether :meth:`remove_artifact_type` would refuse it now, and why (a core
        registry's preconfigured type, a type some collection holds, the last type).
        """
        with self._s.store.reading():
            reg = self._doc()
            types = reg["artifact_types"]
            if types is None:
                return None
            used = collections_by_type(self._s.store, self._id)
        fixed = set(reg["preconfigured_types"])
        return ResultList(
            AcceptedType(t, used.get(t, []), t in fixed, removal_refusal(reg, t, used.get(t, [])))
            for t in types
        )

    @property
    def protected_aliases(self) -> list[str]:
        """Aliases only registry admins may set, move or remove."""
        return list(self._doc()["protected_aliases"])

    @property
    def role(self) -> str:
        """The current user's effective role here."""
        role = self._s.role_on(self._doc())
        assert role is not None
        return role

    # -- changes to the registry ---------------------------------------------------------------

    @retried
    def update(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        visibility: str | None = None,
    ) -> Registry:
        """Rename, describe or restrict the registry (admins; custom registries only).

        A custom registry may go from ``organization`` to ``restricted``, never back.
        Arguments left at None are unchanged.
        """
        s = self._s
        asked: dict[str, Any] = {}
        if name is not None:
            asked["name"] = validate_registry_name(name)
        if description is not None:
            asked["description"] = validate_description(description)
        if visibility is not None:
            asked["visibility"] = validate_visibility(visibility)
        with s.store.transaction() as txn:
            reg = self._doc()
            if asked:
                # The right is checked first: a change that would change nothing is no
                # exception for a user who may not make it.
                what = f"change {', '.join(asked)} of registry {reg['name']!r}"
                s.require(reg, Action.ADMIN, what)
            changes = {k: v for k, v in asked.items() if v != reg[k]}
            if not changes:
                return self
            if reg["kind"] == "core":
                fixed = {"name": "name", "description": "description", "visibility": "visibility"}
                what = ", ".join(fixed[k] for k in changes)
                msg = (
                    f"{reg['name']!r} is a core registry: its {what} cannot be changed "
                    "(core registries keep their name, description and 'organization' "
                    "visibility)"
                )
                raise ConflictError(msg)
            if changes.get("visibility") == "organization":
                msg = (
                    f"registry {reg['name']!r} is restricted and cannot be made visible to the "
                    "whole organisation again; only organization → restricted is allowed"
                )
                raise ConflictError(msg)
            if "name" in changes:
                s.check_registry_name_free(changes["name"], keep=self._id)
                changes["key"] = normalize_key(changes["name"])
            changes["updated_at"] = now()
            txn.update("registries", self._id, changes)
            for key in ("name", "description", "visibility"):
                if key in changes:
                    s.record(
                        txn,
                        "registry.update",
                        str(changes.get("name", reg["name"])),
                        before={key: reg[key]},
                        after={key: changes[key]},
                        registry_id=self._id,
                    )
        return self

    @retried
    def delete(self) -> None:
        """Delete the registry with its collections and links (admins; custom only).

        Artifact versions are never deleted with it.
        """
        s = self._s
        with s.store.transaction() as txn:
            reg = self._doc()
            s.require(reg, Action.ADMIN, f"delete registry {reg['name']!r}")
            if reg["kind"] == "core":
                msg = f"{reg['name']!r} is a core registry and cannot be deleted"
                raise ConflictError(msg)
            # The entry first: a server store takes entries about a registry from its members.
            s.record(txn, "registry.delete", reg["name"], before=reg["name"], registry_id=self._id)
            for link_id in s.store.find_ids("links", registry_id=self._id):
                txn.remove("links", link_id)
            for coll_id in s.store.find_ids("collections", registry_id=self._id):
                txn.remove("collections", coll_id)
            txn.remove("registries", self._id)

    # -- accepted types -------------------------------------------------------------------------

    @retried
    def add_artifact_type(self, artifact_type: str) -> None:
        """Accept one more artifact type (admins)."""
        t = validate_artifact_type(artifact_type)
        s = self._s
        with s.store.transaction() as txn:
            reg = self._doc()
            s.require(reg, Action.ADMIN, f"add accepted types to registry {reg['name']!r}")
            types = reg["artifact_types"]
            if types is None:
                msg = f"registry {reg['name']!r} already accepts every artifact type"
                raise ConflictError(msg)
            if t in types:
                msg = f"registry {reg['name']!r} already accepts type {t!r}"
                raise ConflictError(msg)
            txn.update("registries", self._id, {"artifact_types": [*types, t]})
            s.record(
                txn,
                "registry.type.add",
                reg["name"],
                before=list(types),
                after=[*types, t],
                registry_id=self._id,
            )

    @retried
    def remove_artifact_type(self, artifact_type: str) -> None:
        """Stop accepting a type (admins), while no collection uses it.

        A core registry's preconfigured type can never be removed. A type accepted
        before the type rules were tightened can still be removed by its exact name.
        """
        t = known_artifact_type(artifact_type)
        s = self._s
        with s.store.transaction() as txn:
            reg = self._doc()
            s.require(reg, Action.ADMIN, f"remove accepted types of registry {reg['name']!r}")
            types = reg["artifact_types"]
            if types is None:
                msg = (
                    f"registry {reg['name']!r} accepts every artifact type; there is no list to "
                    f"remove {t!r} from"
                )
                raise ConflictError(msg)
            if t not in types:
                msg = (
                    f"registry {reg['name']!r} does not accept type {t!r}; it accepts "
                    f"{quoted(types)}"
                )
                raise NotFoundError(msg)
            users = collections_by_type(s.store, self._id, t).get(t, [])
            refusal = removal_refusal(reg, t, users)
            if refusal is not None:
                raise refusal
            remaining = [x for x in types if x != t]
            txn.update("registries", self._id, {"artifact_types": remaining})
            s.record(
                txn,
                "registry.type.remove",
                reg["name"],
                before=list(types),
                after=remaining,
                registry_id=self._id,
            )

    # -- collections ---------------------------------------------------------------------------

    @retried
    def create_collection(
        self,
        name: str,
        *,
        type: str,
        description: str = "",
        tags: Iterable[str] = (),
        exist_ok: bool = False,
    ) -> Collection:
        """Create an empty collection for artifacts of one ``type`` (members).

        With ``exist_ok=True`` a collection of that name is returned as it is (like
        ``mkdir -p``; its description and tags are not compared or changed, and nothing is
        written), provided it holds the same artifact type: a collection of another type
        is refused with :class:`ConflictError`, since its type never changes.
        """
        from registry_widget.domain.collection import Collection
        from registry_widget.domain.linking import create_collection_doc

        name = validate_collection_name(name)
        t = validate_artifact_type(type)
        description = validate_description(description)
        tag_list = validate_tags(tags)
        if exist_ok:
            with self._s.store.reading():
                reg = self._doc()
                found = self._s.find_collection(self._id, name)
            if found is not None:
                if found[1]["type"] != t:
                    msg = (
                        f"registry {reg['name']!r} already has a collection named "
                        f"{found[1]['name']!r}, of type {found[1]['type']!r}, not {t!r}; "
                        "a collection's type never changes, so choose another name"
                    )
                    raise ConflictError(msg)
                return Collection(self._s, found[0])
        with self._s.store.transaction() as txn:
            reg = self._doc()
            coll_id = create_collection_doc(
                self._s, txn, self._id, reg, name, t, description, tag_list, looked=exist_ok
            )
        return Collection(self._s, coll_id)

    def collection(self, name: str) -> Collection:
        """The collection named ``name``."""
        from registry_widget.domain.collection import Collection

        name = validate_collection_name(name)
        reg = self._doc()
        found = self._s.find_collection(self._id, name)
        if found is None:
            names = [c["name"] for _, c in self._s.store.find("collections", registry_id=self._id)]
            msg = f"registry {reg['name']!r} has no collection {name!r}; " + (
                f"it has {quoted(sorted(names))}" if names else "it has none yet"
            )
            raise NotFoundError(msg).with_code(
                "not_found", kind="collection", name=name, within=reg["name"], known=sorted(names)
            )
        return Collection(self._s, found[0])

    def collections(self, filter: Mapping[str, Any] | None = None) -> list[Collection]:
        """Its collections, optionally filtered (MongoDB-style), by name."""
        from registry_widget.domain.collection import Collection

        tree = self._s.parse_filter(filter, COLLECTION_FIELDS)
        with self._s.store.reading():
            self._doc()
            rows = self._s.store.query(
                "collections", tree, where={"registry_id": self._id}, order=("key",)
            )
        return ResultList(Collection(self._s, coll_id) for coll_id, _ in rows)

    def versions(self, filter: Mapping[str, Any] | None = None) -> list[Link]:
        """Every linked version in the registry, optionally filtered, newest first."""
        from registry_widget.domain.link import LINK_FIELDS, Link

        tree = self._s.parse_filter(filter, LINK_FIELDS)
        with self._s.store.reading():
            self._doc()
            rows = self._s.store.query(
                "links", tree, where={"registry_id": self._id}, order=("-created_at", "-id")
            )
        return ResultList(Link(self._s, link_id) for link_id, _ in rows)

    def history(
        self, *, action: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[HistoryEntry]:
        """Every change to the registry and what is in it, newest first."""
        self._doc()
        return read_history(
            self._s.store, "registry_id", self._id, action=action, limit=limit, offset=offset
        )
