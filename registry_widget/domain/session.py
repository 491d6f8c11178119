"""The user, the store and the blobs behind a client, with the lookups every object uses.

A :class:`Session` is shared by a :class:`~registry_widget.domain.client.Client` and every object
it hands out. Objects hold document ids, never live documents: each property read refreshes
the store and looks the document up again once the store has changed (see
:mod:`~registry_widget.domain.handle`), so what another process committed is seen at once,
and a registry that became invisible answers "not found".
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any, cast

from registry_widget.domain.run_query import resolve_version_runs
from registry_widget.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
)
from registry_widget.files.blobs import BlobStore
from registry_widget.filter_tree import Filter
from registry_widget.filters import Fields, parse_filter
from registry_widget.names import normalize_key
from registry_widget.permissions import (
    Action,
    allows,
    artifact_role,
    effective_role,
    member_role,
    name_unavailable,
    org_allows,
    require,
    same_user,
)
from registry_widget.store import Row, Store, Transaction
from registry_widget.text import quoted

__all__ = ["Doc", "Session", "copy_json", "now"]

Doc = dict[str, Any]
_MAX_PROBE_MISSES = 64


_clock = time.time_ns
_second: tuple[int, str] = (-1, "")
"""The last second stamped and its text up to the seconds (a write stamps many at once)."""


def now() -> str:
    """The current time as an ISO-8601 UTC string with microseconds."""
    global _second
    seconds, nanoseconds = divmod(_clock(), 1_000_000_000)
    second = _second
    if second[0] != seconds:
        second = _second = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    return f"{second[1]}.{nanoseconds // 1000:06d}Z"


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists and scalars), much cheaper than deepcopy."""
    kind = type(value)
    if kind is dict:
        return {k: copy_json(v) if type(v) in _CONTAINERS else v for k, v in value.items()}
    if kind is list:
        return [copy_json(v) if type(v) in _CONTAINERS else v for v in value]
    return value


_CONTAINERS = (dict, list)


class _Closed:
    """Stands for the store and blobs of a closed client: every use is refused."""

    def __init__(self, user: str) -> None:
        self._user = user

    def __getattr__(self, name: str) -> Any:
        msg = (
            f"this client of {self._user!r} was closed, with the registries, collections "
            "and versions it handed out; open a new rw.Client to go on"
        )
        raise StorageError(msg)


class Session:
    """One user's view of one store.

    The public lookups refresh the store first; their ``_``-prefixed twins do not, for
    callers that already did (or run inside a transaction or a reading block).
    """

    def __init__(self, store: Store, blobs: BlobStore, user: str) -> None:
        self.store = store
        self.blobs = blobs
        self.user = user
        self.user_key = normalize_key(user)
        self._role: tuple[int, str] = (-1, "")  # (store state, organisation role)
        self.closed = False

    def close(self) -> None:
        """Refuse every later use of the store and blobs through this session."""
        if not self.closed:
            self.closed = True
            self.store = cast("Store", _Closed(self.user))
            self.blobs = cast("BlobStore", _Closed(self.user))

    # -- users -------------------------------------------------------------------------

    def user_doc(self, name: str | None = None) -> tuple[int, Doc] | None:
        """The document of user ``name`` (default: this session's user)."""
        key = self.user_key if name is None else normalize_key(name)
        return self.store.find_one("users", key=key)

    def parse_filter(self, spec: Mapping[str, Any] | None, fields: Fields) -> Filter:
        """Validate a filter, with user names in ``created_by`` spelt as the organisation does.

        User names compare like registry names (NFC, case-insensitive): ``{"created_by":
        "BOB"}`` finds what ``Bob`` created. Operands that name no user stay as given.
        """
        fix = {"created_by": self._org_spelling, "run.created_by": self._org_spelling}
        tree = parse_filter(spec, fields, normalize=fix)
        # ``run.<field>`` conditions on versions are answered by querying the runs first.
        self.store.refresh()
        return resolve_version_runs(self.store, tree)

    def _org_spelling(self, name: str) -> str:
        found = self.store.find_one("users", key=normalize_key(name))
        return name if found is None else str(found[1]["name"])

    def org_role(self) -> str:
        """This user's organisation role; refuses a user who is not (or no longer) known."""
        self.store.refresh()
        return self._org_role()

    def _org_role(self) -> str:
        state, role = self._role
        if state == self.store.state:
            return role
        found = self.store.find_one("users", key=self.user_key)
        if found is None:
            admins = sorted(d["name"] for _, d in self.store.find("users", role="admin"))
            msg = (
                f"user {self.user!r} is not a user of this store's organisation. Ask an "
                f"organisation admin ({', '.join(map(repr, admins)) or 'none'}) to run "
                f"client.add_user({self.user!r}), or open the store as a known user with "
                "Client(path, user=...) or $REGISTRY_WIDGET_USER"
            )
            raise PermissionDeniedError(msg)
        role = str(found[1]["role"])
        self._role = (self.store.state, role)
        return role

    def require_org(self, minimal: str, what: str) -> None:
        """Refuse unless this user's organisation role is at least ``minimal``."""
        role = self.org_role()
        if not org_allows(role, minimal):
            msg = (
                f"user {self.user!r} may not {what}: that needs the organisation role "
                f"{minimal!r}, and theirs is {role!r}"
            )
            raise PermissionDeniedError(msg)

    # -- registries ----------------------------------------------------------------------

    def role_on(self, reg: Doc) -> str | None:
        """This user's effective role on registry ``reg`` (None: invisible to them)."""
        role = member_role(reg["members"], self.user)
        return effective_role(self._org_role(), role, reg["visibility"])

    def is_user(self, name: str) -> bool:
        """Whether ``name`` (a creator, a member, a history entry's user) is this user."""
        return same_user(name, self.user)

    def registry(self, reg_id: int) -> Doc:
        """The registry document ``reg_id``, if it exists and this user may see it."""
        self.store.refresh()
        return self._registry(reg_id)

    def _registry(self, reg_id: int) -> Doc:
        reg = self.store.get("registries", reg_id)
        if reg is None or self.role_on(reg) is None:
            msg = "the registry no longer exists, or you may no longer see it"
            raise NotFoundError(msg)
        return reg

    def find_registry(self, name: str) -> tuple[int, Doc]:
        """The registry named ``name`` (case-insensitively), if this user may see it."""
        self.store.refresh()
        found = self.store.find_one("registries", key=normalize_key(name))
        if found is None or self.role_on(found[1]) is None:
            regs = sorted(
                (r for _, r in self.visible_registries()),
                key=lambda r: (r["kind"] != "core", r["key"]),
            )
            visible = [r["name"] for r in regs]
            msg = f"no registry named {name!r}; registries you can see: {quoted(visible)}"
            raise NotFoundError(msg).with_code(
                "not_found", kind="registry", name=name, within=None, known=visible
            )
        return found

    def visible_registries(self) -> list[Row]:
        """Every registry this user may see, as ``(id, document)`` rows in id order."""
        self.store.refresh()
        rows = self.store.query("registries", order=("id",))
        return [row for row in rows if self.role_on(row[1]) is not None]

    def require(self, reg: Doc, action: Action, what: str) -> None:
        """Refuse unless this user's role on ``reg`` allows ``action``."""
        require(self.role_on(reg), action, user=self.user, registry=reg["name"], what=what)

    def check_registry_name_free(self, name: str, keep: int | None = None) -> None:
        """Refuse a registry name already taken (by a registry other than ``keep``).

        A registry this user may not see is not named: its existence must not leak.
        """
        found = self.store.find_one("registries", key=normalize_key(name))
        if found is None or found[0] == keep:
            return
        if self.role_on(found[1]) is None:
            raise name_unavailable(name)
        msg = f"a registry named {found[1]['name']!r} already exists; registry names are unique"
        raise ConflictError(msg)

    # -- artifact versions ---------------------------------------------------------------------

    def artifact_registries(self, art_id: int) -> list[tuple[Doc, str | None]]:
        """Each registry artifact version ``art_id`` is linked into, with this user's role."""
        seen: dict[int, tuple[Doc, str | None]] = {}
        for _, link in self.store.find("links", artifact_id=art_id):
            reg_id = link["registry_id"]
            if reg_id not in seen:
                reg = self.store.get("registries", reg_id)
                if reg is not None:
                    seen[reg_id] = (reg, self.role_on(reg))
        return list(seen.values())

    def artifact_role(self, art_id: int) -> str | None:
        """This user's role on artifact version ``art_id`` (None: invisible to them).

        See :func:`~registry_widget.permissions.artifact_role`: the one rule deciding who
        may see and download a version, whatever path it is reached by.
        """
        return artifact_role(role for _, role in self.artifact_registries(art_id))

    def sees_artifact(self, art_id: int) -> bool:
        """Whether this user may see artifact version ``art_id`` (which must exist)."""
        return self.artifact_role(art_id) is not None

    def artifact(self, art_id: int) -> Doc:
        """The artifact version ``art_id``, if it exists and this user may see it."""
        self._org_role()
        doc = self.store.get("artifacts", art_id)
        if doc is None or not self.sees_artifact(art_id):
            msg = "the artifact version no longer exists, or you may no longer see it"
            raise NotFoundError(msg)
        return doc

    def require_artifact_use(self, art_id: int, ref: str) -> None:
        """Refuse downloading artifact version ``art_id`` unless this user may use it.

        That takes the ``viewer`` role in a registry it is linked into, or nothing more than
        being an organisation user while it is linked nowhere.
        """
        regs = self.artifact_registries(art_id)
        role = artifact_role(role for _, role in regs)
        if allows(role, Action.USE):
            return
        # Name the registry where the user's role is best (never one they may not see).
        shown = [reg["name"] for reg, r in regs if r == role]
        where = shown[0] if shown else "?"
        require(role, Action.USE, user=self.user, registry=where, what=f"download {ref}")

    # -- collections and links -------------------------------------------------------------

    def collection(self, coll_id: int) -> tuple[Doc, Doc]:
        """The collection ``coll_id`` and its registry, if visible."""
        self.store.refresh()
        return self._collection(coll_id)

    def _collection(self, coll_id: int) -> tuple[Doc, Doc]:
        coll = self.store.get("collections", coll_id)
        if coll is None:
            msg = "the collection no longer exists"
            raise NotFoundError(msg)
        return coll, self._registry(coll["registry_id"])

    def find_collection(self, reg_id: int, name: str) -> tuple[int, Doc] | None:
        """The collection ``name`` of registry ``reg_id`` (case-insensitively), or None."""
        return self.store.find_one("collections", key=normalize_key(name), registry_id=reg_id)

    def link_at(self, coll_id: int, index: int) -> tuple[int, Doc] | None:
        """The link numbered ``index`` in collection ``coll_id``, or None."""
        return self.store.find_one("links", index=index, collection_id=coll_id)

    def link_ids_newest_first(self, coll_id: int, coll: Doc) -> Iterator[int]:
        """The ids of a collection's links, highest number first, found one by one.

        Numbers are probed downwards from the collection's next number, so the first few
        cost a lookup each whatever the size of the collection; where unlinks left many
        gaps the rest come from sorting the collection's links.
        """
        store = self.store
        misses = 0
        index = int(coll["next_index"]) - 1
        while index >= 0:
            ids = store.find_ids("links", index=index, collection_id=coll_id)
            if ids:
                yield ids[0]
            else:
                misses += 1
                if misses > _MAX_PROBE_MISSES:
                    rows = store.query("links", where={"collection_id": coll_id}, order=("-index",))
                    yield from (i for i, d in rows if d["index"] < index)
                    return
            index -= 1

    def link(self, link_id: int) -> tuple[Doc, Doc, Doc]:
        """The link ``link_id`` with its collection and registry, if visible."""
        self.store.refresh()
        return self._link(link_id)

    def _link(self, link_id: int) -> tuple[Doc, Doc, Doc]:
        link = self.store.get("links", link_id)
        if link is None:
            msg = "the linked version no longer exists (it was unlinked or its registry deleted)"
            raise NotFoundError(msg)
        coll, reg = self._collection(link["collection_id"])
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
        txn.append(
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
                "run_id": ids.get("run_id"),
            },
        )
