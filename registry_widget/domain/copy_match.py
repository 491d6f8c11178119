"""Matching objects across two stores by their natural keys, for ``copy_store``.

Ids differ between stores, so an object is found again by what names it: users and
registries by key, collections by registry and key, artifact versions by name and version
number, links by collection and number, runs by origin or by start (see
:func:`natural_run_key`), history entries by what they say. The fields compared to tell
a copy from a different object of the same name are listed here too, with the rule
(:func:`is_behind`) by which a run that went on in the source is brought up to date.
"""

from __future__ import annotations

import json

from registry_widget.domain.linking import LATEST
from registry_widget.domain.session import Doc, Session
from registry_widget.errors import ConflictError
from registry_widget.names import normalize_key

REGISTRY_SETTINGS = (
    "name",
    "kind",
    "description",
    "visibility",
    "artifact_types",
    "preconfigured_types",
    "protected_aliases",
)
ARTIFACT_CONTENT = ("type", "digest", "files", "metadata", "description", "tags")
COLLECTION_CONTENT = ("name", "type", "description", "tags")
RUN_CONTENT = ("name", "config", "tags", "created_at", "created_by", "origin")
"""What a run is given when it starts (or is imported), never changed later."""
RUN_PROGRESS = ("state", "error", "summary", "ended_at", "heartbeat_at")
"""What changes while a run runs, and when it ends."""

RunKey = tuple[str, ...]
"""A run's natural key: ``("origin", origin)`` or ``("started", at, by, name)``."""


def changed_fields(a: Doc, b: Doc, fields: tuple[str, ...]) -> list[str]:
    """The ``fields`` whose values differ between ``a`` and ``b``."""
    return [f for f in fields if a.get(f) != b.get(f)]


def member_roles(reg: Doc) -> dict[str, str]:
    """A registry's members' roles by their normalised names."""
    return {normalize_key(name): role for name, role in reg["members"].items()}


def named_aliases(link: Doc) -> set[str]:
    """A link's aliases but ``latest`` (which follows the newest link by itself)."""
    return {a for a in link["aliases"] if a != LATEST}


def history_signature(entry: Doc) -> str:
    """What a history entry says, whatever store it is in (its ids left out)."""
    said = [entry.get(f) for f in ("at", "user", "action", "target", "before", "after")]
    return json.dumps(said, sort_keys=True, ensure_ascii=False)


def natural_run_key(run: Doc) -> RunKey:
    """A run's natural key: its origin, else when it started, who started it, its name."""
    if run.get("origin") is not None:
        return ("origin", str(run["origin"]))
    return ("started", str(run["created_at"]), str(run["created_by"]), str(run["name"]))


def run_label(run: Doc) -> str:
    """How a run is named in messages: its name, when and by whom it started."""
    return f"the run {run['name']!r} started at {run['created_at']} by {run['created_by']!r}"


def conflict(what: str, differs: list[str] | str) -> ConflictError:
    """The refusal of a copy because the destination's ``what`` differs from the source's."""
    how = differs if isinstance(differs, str) else f"its {', '.join(differs)} differ"
    msg = (
        f"the destination already holds {what}, but {how} from the source's; copy_store "
        "never merges or overwrites: change or remove it in the destination (or copy "
        "into a new store), then run copy_store again. Nothing was copied"
    )
    return ConflictError(msg).with_code("copy_conflict", object=what)


def is_behind(there: Doc, run: Doc) -> bool:
    """Whether the destination's copy ``there`` of ``run`` is an earlier state of it.

    It is when it was copied while running and nobody wrote to it since: it is still
    ``running`` and its heartbeat (renewed by every write) is older than the source's.
    """
    return bool(there["state"] == "running" and there["heartbeat_at"] < run["heartbeat_at"])


def untouched_core(reg: Doc) -> bool:
    """Whether a core registry is as every new store creates it (nobody changed it)."""
    return (
        reg["kind"] == "core"
        and reg["visibility"] == "organization"
        and not reg["members"]
        and not reg["protected_aliases"]
        and reg["artifact_types"] == reg["preconfigured_types"]
    )


class Matcher:
    """Finds the source's objects' natural keys, and the destination's objects by them."""

    def __init__(self, src: Session, dst: Session) -> None:
        self.src = src
        self.dst = dst

    # -- the source's natural keys ---------------------------------------------------------

    def src_reg_key(self, reg_id: int) -> str | None:
        """The key of the source's registry ``reg_id`` (None: it is gone)."""
        reg = self.src.store.get("registries", reg_id)
        return None if reg is None else str(reg["key"])

    def src_run_key(self, run_id: int | None) -> RunKey | None:
        """The natural key of the source's run ``run_id`` (None: no run, or it is gone)."""
        run = None if run_id is None else self.src.store.get("runs", run_id)
        return None if run is None else natural_run_key(run)

    def src_coll_key(self, coll_id: int) -> tuple[str, str] | None:
        """The source's collection ``coll_id`` as (registry key, key); None: it is gone."""
        coll = self.src.store.get("collections", coll_id)
        if coll is None:
            return None
        reg_key = self.src_reg_key(coll["registry_id"])
        return None if reg_key is None else (reg_key, str(coll["key"]))

    # -- the destination's objects by natural key (current within a transaction) ------------

    def dst_reg(self, key: str | None) -> tuple[int, Doc] | None:
        """The destination's registry of key ``key``."""
        return None if key is None else self.dst.store.find_one("registries", key=key)

    def dst_coll(self, key: tuple[str, str] | None) -> tuple[int, Doc] | None:
        """The destination's collection of (registry key, key) ``key``."""
        if key is None:
            return None
        reg = self.dst_reg(key[0])
        if reg is None:
            return None
        return self.dst.store.find_one("collections", key=key[1], registry_id=reg[0])

    def dst_art(self, name: str, index: int) -> tuple[int, Doc] | None:
        """The destination's artifact version ``name:v{index}``."""
        return self.dst.store.find_one("artifacts", name=name, index=index)

    def dst_run(self, key: RunKey | None) -> tuple[int, Doc] | None:
        """The destination's run of natural key ``key``."""
        if key is None:
            return None
        if key[0] == "origin":
            return self.dst.store.find_one("runs", origin=key[1])
        _, at, by, name = key
        for row in self.dst.store.find("runs", created_at=at, created_by=by, name=name):
            if row[1].get("origin") is None:
                return row
        return None

    def dst_run_key(self, run_id: int | None) -> RunKey | None:
        """The natural key of the destination's run ``run_id``."""
        run = None if run_id is None else self.dst.store.get("runs", run_id)
        return None if run is None else natural_run_key(run)

    def dst_link(self, coll_key: tuple[str, str] | None, index: int) -> tuple[int, Doc] | None:
        """The destination's link number ``index`` of the collection ``coll_key``."""
        coll = self.dst_coll(coll_key)
        if coll is None:
            return None
        return self.dst.store.find_one("links", index=index, collection_id=coll[0])

    def dst_edge(self, run_key: RunKey, art_key: tuple[str, int], kind: str) -> bool:
        """Whether the destination records that run's ``kind`` edge to that version."""
        run, art = self.dst_run(run_key), self.dst_art(*art_key)
        if run is None or art is None:
            return False
        return bool(
            self.dst.store.find_ids("run_edges", run_id=run[0], artifact_id=art[0], kind=kind)
        )
