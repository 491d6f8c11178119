"""The user, the store and the blobs behind a client, with the lookups every object uses.

A :class:`Session` is shared by a :class:`~registry_widget.client.Client` and every object
it hands out. Objects hold document ids, never documents: each property read refreshes
the store and looks the document up again, so what another process committed is seen at
once, and a registry that became invisible answers "not found".
"""

from __future__ import annotations

import weakref
from datetime import datetime, timezone
from typing import Any

from tinydb import where
from tinydb.table import Document

from registry_widget.blobs import BlobStore, FileBlobStore, MemoryBlobStore
from registry_widget.errors import NotFoundError, PermissionDeniedError
from registry_widget.names import normalize_key
from registry_widget.permissions import Action, effective_role, require
from registry_widget.store import JSONFileStore, Store, Transaction

__all__ = ["Doc", "Session", "now"]

Doc = dict[str, Any]
_blob_stores: weakref.WeakKeyDictionary[Store, BlobStore] = weakref.WeakKeyDictionary()


def now() -> str:
    """The current time as an ISO-8601 UTC string with microseconds."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def blobs_for(store: Store) -> BlobStore:
    """The blob store beside ``store``: ``<stem>.blobs/`` next to a file, else in memory."""
    blobs = _blob_stores.get(store)
    if blobs is None:
        if isinstance(store, JSONFileStore):
            blobs = FileBlobStore(store.path.with_name(store.path.stem + ".blobs"))
        else:
            blobs = MemoryBlobStore()
        _blob_stores[store] = blobs
    return blobs


class Session:
    """One user's view of one store."""

    def __init__(self, store: Store, user: str) -> None:
        self.store = store
        self.user = user
        self.blobs = blobs_for(store)

    # -- users -------------------------------------------------------------------------

    def user_doc(self, name: str | None = None) -> tuple[int, Doc] | None:
        """The document of user ``name`` (default: this session's user)."""
        key = normalize_key(name if name is not None else self.user)
        found = self.store.table("users").search(where("key") == key)
        return (found[0].doc_id, found[0]) if found else None

    def org_role(self) -> str:
        """This user's organisation role; refuses a user who is not (or no longer) known."""
        self.store.refresh()
        found = self.user_doc()
        if found is None:
            admins = sorted(
                d["name"] for d in self.store.table("users").all() if d["role"] == "admin"
            )
            msg = (
                f"user {self.user!r} is not a user of this store's organisation. Ask an "
                f"organisation admin ({', '.join(map(repr, admins)) or 'none'}) to run "
                f"client.add_user({self.user!r}), or open the store as a known user with "
                "Client(path, user=...) or $REGISTRY_WIDGET_USER"
            )
            raise PermissionDeniedError(msg)
        return str(found[1]["role"])

    def require_org(self, minimal: str, what: str) -> None:
        """Refuse unless this user's organisation role is at least ``minimal``."""
        order = ("viewer", "member", "admin")
        role = self.org_role()
        if order.index(role) < order.index(minimal):
            msg = (
                f"user {self.user!r} may not {what}: that needs the organisation role "
                f"{minimal!r}, and theirs is {role!r}"
            )
            raise PermissionDeniedError(msg)

    # -- registries ----------------------------------------------------------------------

    def role_on(self, reg: Doc) -> str | None:
        """This user's effective role on registry ``reg`` (None: invisible to them)."""
        return effective_role(self.org_role(), reg["members"].get(self.user), reg["visibility"])

    def registry(self, reg_id: int) -> Doc:
        """The registry document ``reg_id``, if it exists and this user may see it."""
        self.store.refresh()
        reg = self.store.table("registries").get(doc_id=reg_id)
        if reg is None or self.role_on(reg) is None:
            msg = "the registry no longer exists, or you may no longer see it"
            raise NotFoundError(msg)
        return reg

    def find_registry(self, name: str) -> tuple[int, Doc]:
        """The registry named ``name`` (case-insensitively), if this user may see it."""
        self.store.refresh()
        found = self.store.table("registries").search(where("key") == normalize_key(name))
        if not found or self.role_on(found[0]) is None:
            visible = [r["name"] for r in self.visible_registries()]
            msg = f"no registry named {name!r}; registries you can see: {visible}"
            raise NotFoundError(msg)
        return found[0].doc_id, found[0]

    def visible_registries(self) -> list[Document]:
        """Every registry this user may see, as documents with ``doc_id``."""
        self.store.refresh()
        return [r for r in self.store.table("registries").all() if self.role_on(r) is not None]

    def require(self, reg: Doc, action: Action, what: str) -> None:
        """Refuse unless this user's role on ``reg`` allows ``action``."""
        require(self.role_on(reg), action, user=self.user, registry=reg["name"], what=what)

    # -- collections and links -------------------------------------------------------------

    def collection(self, coll_id: int) -> tuple[Doc, Doc]:
        """The collection ``coll_id`` and its registry, if visible."""
        self.store.refresh()
        coll = self.store.table("collections").get(doc_id=coll_id)
        if coll is None:
            msg = "the collection no longer exists"
            raise NotFoundError(msg)
        return coll, self.registry(coll["registry_id"])

    def find_collection(self, reg_id: int, name: str) -> tuple[int, Doc] | None:
        """The collection ``name`` of registry ``reg_id`` (case-insensitively), or None."""
        found = self.store.table("collections").search(
            (where("registry_id") == reg_id) & (where("key") == normalize_key(name))
        )
        return (found[0].doc_id, found[0]) if found else None

    def link_at(self, coll_id: int, index: int) -> tuple[int, Doc] | None:
        """The link numbered ``index`` in collection ``coll_id``, or None."""
        found = self.store.table("links").search(
            (where("collection_id") == coll_id) & (where("index") == index)
        )
        return (found[0].doc_id, found[0]) if found else None

    def link(self, link_id: int) -> tuple[Doc, Doc, Doc]:
        """The link ``link_id`` with its collection and registry, if visible."""
        self.store.refresh()
        link = self.store.table("links").get(doc_id=link_id)
        if link is None:
            msg = "the linked version no longer exists (it was unlinked or its registry deleted)"
            raise NotFoundError(msg)
        coll, reg = self.collection(link["collection_id"])
        return link, coll, reg

    # -- history ---------------------------------------------------------------------------

    def record(
        self,
        txn: Transaction,
        action: str,
        target: str,
        *,
        before: Any = None,
        after: Any = None,
        **ids: int | None,
    ) -> None:
        """Append one entry to the history (who, when, what, before → after)."""
        txn.insert(
            "history",
            {
                "at": now(),
                "user": self.user,
                "action": action,
                "target": target,
                "before": before,
                "after": after,
                "registry_id": ids.get("registry_id"),
                "collection_id": ids.get("collection_id"),
                "link_id": ids.get("link_id"),
                "artifact_id": ids.get("artifact_id"),
            },
        )
