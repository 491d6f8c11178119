"""Copying one store into another: graduating a file store to a team's server (SPEC §8).

:func:`copy_store` copies users, registries (settings, members, protected aliases,
types), collections, runs, artifact versions with their files and producing run, links
with their numbers and aliases, what each run used and produced, and history, through
the store interface and the blob store interface only, so it works between any two
backends.

Objects are matched by their natural keys, never by ids (ids differ between stores):
users and registries by name, collections by registry and name, artifact versions by
name and version number, links by collection and number, history entries by what they
say (when, who, what, target, before and after). A run is matched by its ``origin``
when it has one (an imported run: ``"mlflow:<run id>"``, which importing it again in
the destination then finds), else by when it started, who started it and its name
(start times have microseconds: a source with two runs alike in all three is refused);
an edge of a run by its run, its version and its kind (input or output). A run that
went on in the source since it was copied (it ended, or its summary or heartbeat
changed) is brought up to date, as long as the destination's copy is still the running
run it was. History entries are copied as they read, so one naming a run by its source
id (``train (run 7)``) keeps that text.

A copy first reads both stores and refuses, before writing anything, any object the
destination holds that differs from the source's; then it copies what the destination
lacks, one whole object per transaction (an artifact version's files are in the
destination's blob store before the version is committed). A copy that fails part-way
leaves whole objects only, and running it again copies the rest; a copy with nothing
new changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry_widget.domain.linking import LATEST, insert_link, place_alias
from registry_widget.domain.session import Doc, Session, copy_json
from registry_widget.errors import (
    ConflictError,
    NotFoundError,
    StoreCorruptedError,
    ValidationError,
)
from registry_widget.files.blobs import CHUNK_SIZE, BlobStore
from registry_widget.names import normalize_key
from registry_widget.store import Transaction

if TYPE_CHECKING:
    from registry_widget.domain.client import Client

__all__ = ["KINDS", "CopyReport", "copy_store"]

KINDS = (
    "users",
    "registries",
    "artifact names",
    "runs",
    "versions",
    "collections",
    "links",
    "run edges",
    "history",
)
"""The kinds of object copied, in the order they are copied."""

_BATCH = 200
"""At most this many objects of one kind are copied per transaction."""
_BATCH_BYTES = 64 * 1024 * 1024
"""Artifact versions with more bytes of new files than this get a transaction of their own."""

_PROGRESS_OBJECTS = 200
_PROGRESS_BYTES = 4 * 1024 * 1024
"""Without ``progress=``, bars are shown for copies of more objects or bytes than these."""

_REGISTRY_SETTINGS = (
    "name",
    "kind",
    "description",
    "visibility",
    "artifact_types",
    "preconfigured_types",
    "protected_aliases",
)
_ARTIFACT_CONTENT = ("type", "digest", "files", "metadata", "description", "tags")
_COLLECTION_CONTENT = ("name", "type", "description", "tags")
_RUN_CONTENT = ("name", "config", "tags", "created_at", "created_by", "origin")
"""What a run is given when it starts (or is imported), never changed later."""
_RUN_PROGRESS = ("state", "error", "summary", "ended_at", "heartbeat_at")
"""What changes while a run runs, and when it ends."""

RunKey = tuple[str, ...]
"""A run's natural key: ``("origin", origin)`` or ``("started", at, by, name)``."""


@dataclass(frozen=True)
class CopyReport:
    """What :func:`copy_store` copied.

    Attributes
    ----------
    copied
        The number of objects copied (or brought up to date) by kind (:data:`KINDS`).
    bytes
        The bytes of files copied into the destination's blob store (files whose
        content was already there cost nothing).
    """

    copied: Mapping[str, int]
    bytes: int

    @property
    def objects(self) -> int:
        """How many objects were copied in all."""
        return sum(self.copied.values())

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {kind}" for kind, n in self.copied.items() if n)
        return f"copied {self.objects} objects ({counts or 'nothing new'}), {self.bytes} bytes"


@dataclass
class _Step:
    """One whole object to copy: its kind, what it is called, its source document(s)."""

    kind: str
    label: str
    docs: list[Doc]
    size: int = 0
    digests: dict[str, int] = field(default_factory=dict)
    refs: dict[str, Any] = field(default_factory=dict)
    """The natural keys of the objects it refers to (they are copied before it)."""


class _Bars:
    """Progress over objects and bytes (tqdm.auto: a widget in notebooks)."""

    def __init__(self, objects: int, size: int, show: bool) -> None:
        self._objects: Any = None
        self._bytes: Any = None
        if not show:
            return
        from tqdm.auto import tqdm  # slow to import, rarely needed

        self._objects = tqdm(total=objects, desc="copying objects", unit="object", file=sys.stderr)
        if size:
            self._bytes = tqdm(
                total=size,
                desc="copying files",
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
            )

    def object(self, n: int) -> None:
        if self._objects is not None:
            self._objects.update(n)

    def bytes(self, n: int) -> None:
        if self._bytes is not None:
            self._bytes.update(n)

    def close(self) -> None:
        for bar in (self._objects, self._bytes):
            if bar is not None:
                bar.close()


def copy_store(src: Client, dst: Client, *, progress: bool | None = None) -> CopyReport:
    """Copy everything in ``src``'s store that ``dst``'s store lacks into it.

    Users with their roles; registries with their settings, members, protected aliases
    and types; collections; runs with their state, times, heartbeat, config, summary,
    tags, origin and error (a run reads as it does in the source: a crashed run stays
    crashed); artifact versions with their files (copied between the two blob stores,
    whatever they are) and their producing run; links with their numbers (gaps
    included) and aliases; what each run used and produced; and the history, each entry
    with its original time, user and action. Safe to re-run: objects already copied are
    recognised by their natural keys (see the module's documentation) and left as they
    are, so a second run copies only what is new.

    Parameters
    ----------
    src, dst
        Clients of the two stores, each acting as an organisation admin of its store.
    progress
        Show progress bars over objects and bytes (tqdm). Default: when there are more
        than a few hundred objects or a few MB to copy.

    Raises
    ------
    PermissionDeniedError
        If either client's user is not an organisation admin of their store.
    ValidationError
        If both clients work on the same store.
    ConflictError
        If the destination holds an object of the same name as one of the source's but
        with different content (a registry with other settings, a version with other
        files…). The error names the object and what differs; nothing is written.
    """
    s, d = src._s, dst._s
    if s.store is d.store:
        msg = "copy_store() needs two different stores; both clients work on the same one"
        raise ValidationError(msg, field="dst_client", value=dst)
    s.require_org("admin", "copy the store (copy_store reads every object of the source)")
    d.require_org("admin", "copy a store into theirs (copy_store writes into the destination)")
    copier = _Copier(s, d)
    steps = copier.plan()
    size = sum(step.size for step in steps)
    show = (
        progress
        if progress is not None
        else (len(steps) > _PROGRESS_OBJECTS or size > _PROGRESS_BYTES)
    )
    bars = _Bars(len(steps), size, show)
    copied = dict.fromkeys(KINDS, 0)
    try:
        with tempfile.TemporaryDirectory(prefix="registry-copy-") as scratch:
            copier.scratch = Path(scratch)
            for chunk in _chunks(steps):
                copied[chunk[0].kind] += copier.run(chunk, bars)
    finally:
        bars.close()
    return CopyReport(copied=copied, bytes=copier.copied_bytes)


def _chunks(steps: list[_Step]) -> Iterator[list[_Step]]:
    """``steps`` in runs of one kind, at most :data:`_BATCH` long."""
    chunk: list[_Step] = []
    size = 0
    for step in steps:
        if chunk and (
            step.kind != chunk[0].kind or len(chunk) >= _BATCH or size + step.size > _BATCH_BYTES
        ):
            yield chunk
            chunk, size = [], 0
        chunk.append(step)
        size += step.size
    if chunk:
        yield chunk


def _differs(a: Doc, b: Doc, fields: tuple[str, ...]) -> list[str]:
    return [f for f in fields if a.get(f) != b.get(f)]


def _members(reg: Doc) -> dict[str, str]:
    return {normalize_key(name): role for name, role in reg["members"].items()}


def _aliases(link: Doc) -> set[str]:
    return {a for a in link["aliases"] if a != LATEST}


def _signature(entry: Doc) -> str:
    """What a history entry says, whatever store it is in (its ids left out)."""
    said = [entry.get(f) for f in ("at", "user", "action", "target", "before", "after")]
    return json.dumps(said, sort_keys=True, ensure_ascii=False)


def _run_key(run: Doc) -> RunKey:
    """A run's natural key: its origin, else when it started, who started it, its name."""
    if run.get("origin") is not None:
        return ("origin", str(run["origin"]))
    return ("started", str(run["created_at"]), str(run["created_by"]), str(run["name"]))


def _run_label(run: Doc) -> str:
    return f"the run {run['name']!r} started at {run['created_at']} by {run['created_by']!r}"


def _conflict(what: str, differs: list[str] | str) -> ConflictError:
    how = differs if isinstance(differs, str) else f"its {', '.join(differs)} differ"
    msg = (
        f"the destination already holds {what}, but {how} from the source's; copy_store "
        "never merges or overwrites: change or remove it in the destination (or copy "
        "into a new store), then run copy_store again. Nothing was copied"
    )
    return ConflictError(msg).with_code("copy_conflict", object=what)


class _Copier:
    """Reads the source, checks the destination, and copies one step at a time."""

    def __init__(self, src: Session, dst: Session) -> None:
        self.src = src
        self.dst = dst
        self.scratch = Path(tempfile.gettempdir())
        self.copied_bytes = 0

    # -- the source's natural keys ---------------------------------------------------------

    def _reg_key(self, reg_id: int) -> str | None:
        reg = self.src.store.get("registries", reg_id)
        return None if reg is None else str(reg["key"])

    def _run_key(self, run_id: int | None) -> RunKey | None:
        run = None if run_id is None else self.src.store.get("runs", run_id)
        return None if run is None else _run_key(run)

    def _coll_key(self, coll_id: int) -> tuple[str, str] | None:
        coll = self.src.store.get("collections", coll_id)
        if coll is None:
            return None
        reg_key = self._reg_key(coll["registry_id"])
        return None if reg_key is None else (reg_key, str(coll["key"]))

    # -- the destination's objects by natural key (current within a transaction) ------------

    def _dst_reg(self, key: str | None) -> tuple[int, Doc] | None:
        return None if key is None else self.dst.store.find_one("registries", key=key)

    def _dst_coll(self, key: tuple[str, str] | None) -> tuple[int, Doc] | None:
        if key is None:
            return None
        reg = self._dst_reg(key[0])
        if reg is None:
            return None
        return self.dst.store.find_one("collections", key=key[1], registry_id=reg[0])

    def _dst_art(self, name: str, index: int) -> tuple[int, Doc] | None:
        return self.dst.store.find_one("artifacts", name=name, index=index)

    def _dst_run(self, key: RunKey | None) -> tuple[int, Doc] | None:
        if key is None:
            return None
        if key[0] == "origin":
            return self.dst.store.find_one("runs", origin=key[1])
        _, at, by, name = key
        for row in self.dst.store.find("runs", created_at=at, created_by=by, name=name):
            if row[1].get("origin") is None:
                return row
        return None

    def _dst_run_key(self, run_id: int | None) -> RunKey | None:
        run = None if run_id is None else self.dst.store.get("runs", run_id)
        return None if run is None else _run_key(run)

    def _dst_link(self, coll_key: tuple[str, str] | None, index: int) -> tuple[int, Doc] | None:
        coll = self._dst_coll(coll_key)
        if coll is None:
            return None
        return self.dst.store.find_one("links", index=index, collection_id=coll[0])

    # -- planning: read both stores, refuse conflicts, list the work --------------------------

    def plan(self) -> list[_Step]:
        """Every object the destination lacks, in copying order; refuses conflicts first."""
        src, dst = self.src.store, self.dst.store
        steps: list[_Step] = []
        with src.reading(), dst.reading():
            steps += self._plan_users()
            steps += self._plan_registries()
            steps += self._plan_runs()
            steps += self._plan_artifacts()
            steps += self._plan_collections()
            steps += self._plan_links()
            steps += self._plan_run_edges()
            steps += self._plan_history()
        return steps

    def _plan_users(self) -> Iterator[_Step]:
        for _, user in self.src.store.query("users", order=("id",)):
            found = self.dst.store.find_one("users", key=user["key"])
            if found is None:
                yield _Step("users", f"user {user['name']!r}", [copy_json(user)])
            elif found[1]["role"] != user["role"]:
                raise _conflict(
                    f"the user {found[1]['name']!r}",
                    f"their organisation role is {found[1]['role']!r}, not {user['role']!r} as",
                )

    def _plan_registries(self) -> Iterator[_Step]:
        for _, reg in self.src.store.query("registries", order=("id",)):
            what = f"the registry {reg['name']!r}"
            found = self._dst_reg(reg["key"])
            if found is None:
                yield _Step("registries", what, [copy_json(reg)])
                continue
            there = found[1]
            differs = _differs(there, reg, _REGISTRY_SETTINGS)
            if _members(there) != _members(reg):
                differs.append("members")
            if not differs:
                continue
            if reg["kind"] == "core" and _untouched_core(there):
                yield _Step("registries", what, [copy_json(reg)])  # its settings, once
                continue
            raise _conflict(what, differs)

    def _plan_runs(self) -> Iterator[_Step]:
        seen: set[RunKey] = set()
        for _, run in self.src.store.query("runs", order=("id",)):
            what = _run_label(run)
            key = _run_key(run)
            if key in seen:
                msg = (
                    f"the source holds two runs with the natural key {key!r} ({what}); "
                    "copy_store could not tell their copies apart. Nothing was copied"
                )
                raise ConflictError(msg).with_code("copy_conflict", object=what)
            seen.add(key)
            found = self._dst_run(key)
            if found is None:
                yield _Step("runs", what, [copy_json(run)])
                continue
            there = found[1]
            differs = _differs(there, run, _RUN_CONTENT)
            if differs:
                raise _conflict(what, differs)
            progress = _differs(there, run, _RUN_PROGRESS)
            if not progress:
                continue
            if _behind(there, run):
                yield _Step("runs", what, [copy_json(run)])  # it went on in the source
                continue
            raise _conflict(what, progress)

    def _plan_artifacts(self) -> Iterator[_Step]:
        src, dst = self.src.store, self.dst.store
        for _, name_doc in src.query("artifact_names", order=("id",)):
            found = dst.find_one("artifact_names", name=name_doc["name"])
            what = f"the artifact name {name_doc['name']!r}"
            if found is None or found[1]["next_index"] < name_doc["next_index"]:
                if found is not None and found[1]["type"] != name_doc["type"]:
                    raise _conflict(what, ["type"])
                yield _Step("artifact names", what, [copy_json(name_doc)])
            elif found[1]["type"] != name_doc["type"]:
                raise _conflict(what, ["type"])
        versions: list[_Step] = []
        for _, art in src.query("artifacts", order=("id",)):
            what = f"the artifact version {art['name']}:v{art['index']}"
            found = self._dst_art(art["name"], art["index"])
            run_key = self._run_key(art.get("run_id"))
            if found is not None:
                differs = _differs(found[1], art, _ARTIFACT_CONTENT)
                if self._dst_run_key(found[1].get("run_id")) != run_key:
                    differs.append("producing run")
                if differs:
                    raise _conflict(what, differs)
                continue
            digests = {e["digest"]: int(e["size"]) for e in art["files"].values()}
            refs = {"run": run_key}
            versions.append(_Step("versions", what, [copy_json(art)], digests=digests, refs=refs))
        wanted = {digest for step in versions for digest in step.digests}
        absent = self.dst.blobs.missing(sorted(wanted)) if wanted else set()
        for step in versions:
            step.size = sum(n for digest, n in step.digests.items() if digest in absent)
            absent -= step.digests.keys()  # counted once, with the first version needing it
        yield from versions

    def _plan_collections(self) -> Iterator[_Step]:
        for _, coll in self.src.store.query("collections", order=("id",)):
            reg = self.src.store.get("registries", coll["registry_id"])
            assert reg is not None
            what = f"the collection {reg['name']}/{coll['name']}"
            found = self._dst_coll((reg["key"], coll["key"]))
            if found is None:
                yield _Step("collections", what, [copy_json(coll), copy_json(reg)])
                continue
            differs = _differs(found[1], coll, _COLLECTION_CONTENT)
            if differs:
                raise _conflict(what, differs)
            if found[1]["next_index"] < coll["next_index"]:  # numbers used since
                yield _Step("collections", what, [copy_json(coll), copy_json(reg)])

    def _plan_links(self) -> Iterator[_Step]:
        src = self.src.store
        for _, link in src.query("links", order=("id",)):
            coll = src.get("collections", link["collection_id"])
            reg = src.get("registries", link["registry_id"])
            art = src.get("artifacts", link["artifact_id"])
            assert coll is not None
            assert reg is not None
            assert art is not None
            what = f"the linked version {reg['name']}/{coll['name']}:v{link['index']}"
            coll_key = (str(reg["key"]), str(coll["key"]))
            found = self._dst_link(coll_key, link["index"])
            if found is not None:
                there = found[1]
                held = self.dst.store.get("artifacts", there["artifact_id"])
                same = held is not None and (held["name"], held["index"]) == (
                    art["name"],
                    art["index"],
                )
                if not same:
                    raise _conflict(what, "it links another artifact version")
                if _aliases(there) != _aliases(link):
                    raise _conflict(what, ["aliases"])
                continue
            dst_coll = self._dst_coll(coll_key)
            if dst_coll is not None:
                for alias in sorted(_aliases(link)):
                    holder = dst_coll[1]["aliases"].get(alias)
                    if holder is not None and holder != link["index"]:
                        raise _conflict(
                            f"the alias {alias!r} in {reg['name']}/{coll['name']}",
                            f"it names v{holder} there, not v{link['index']} as",
                        )
            ref = {"name": art["name"], "index": art["index"]}
            yield _Step("links", what, [copy_json(link), copy_json(coll), copy_json(reg), ref])

    def _plan_run_edges(self) -> Iterator[_Step]:
        src = self.src.store
        for _, edge in src.query("run_edges", order=("id",)):
            run = src.get("runs", edge["run_id"])
            art = src.get("artifacts", edge["artifact_id"])
            if run is None or art is None:
                continue  # about a version deleted since: it shows nowhere
            run_key, art_key = _run_key(run), (str(art["name"]), int(art["index"]))
            if self._dst_edge(run_key, art_key, edge["kind"]):
                continue
            what = f"the {edge['kind']} {art['name']}:v{art['index']} of {_run_label(run)}"
            refs = {"run": run_key, "artifact": art_key}
            yield _Step("run edges", what, [copy_json(edge)], refs=refs)

    def _dst_edge(self, run_key: RunKey, art_key: tuple[str, int], kind: str) -> bool:
        run, art = self._dst_run(run_key), self._dst_art(*art_key)
        if run is None or art is None:
            return False
        return bool(
            self.dst.store.find_ids("run_edges", run_id=run[0], artifact_id=art[0], kind=kind)
        )

    def _plan_history(self) -> Iterator[_Step]:
        have = Counter(_signature(doc) for _, doc in self.dst.store.query("history"))
        batch: list[Doc] = []
        for _, entry in self.src.store.query("history", order=("id",)):
            sig = _signature(entry)
            if have[sig] > 0:
                have[sig] -= 1
                continue
            keys = self._history_keys(entry)
            if keys is None:
                continue  # about objects that no longer exist anywhere: unreadable
            batch.append({**copy_json(entry), "_keys": keys})
        for entry in batch:
            yield _Step("history", f"history entry {entry['action']!r}", [entry])

    def _history_keys(self, entry: Doc) -> dict[str, Any] | None:
        """The natural keys of the objects a history entry is about (None: drop it).

        An id naming an object deleted since is dropped. An entry about a registry
        deleted since, or only about objects all deleted since, can no longer be read in
        the source (history is read per registry, collection or version) and is left
        out: with its ids gone it would read as being about the whole organisation.
        """
        src = self.src.store
        keys: dict[str, Any] = {}
        had = 0
        if entry.get("registry_id") is not None:
            had += 1
            keys["registry_id"] = self._reg_key(entry["registry_id"])
            if keys["registry_id"] is None:
                return None
        if entry.get("collection_id") is not None:
            had += 1
            keys["collection_id"] = self._coll_key(entry["collection_id"])
        if entry.get("link_id") is not None:
            had += 1
            link = src.get("links", entry["link_id"])
            keys["link_id"] = (
                None
                if link is None
                else (self._coll_key(link["collection_id"]), int(link["index"]))
            )
        if entry.get("artifact_id") is not None:
            had += 1
            art = src.get("artifacts", entry["artifact_id"])
            keys["artifact_id"] = None if art is None else (str(art["name"]), int(art["index"]))
        if entry.get("run_id") is not None:
            had += 1
            keys["run_id"] = self._run_key(entry["run_id"])
        if had and all(v is None for v in keys.values()):
            return None
        return keys

    # -- copying: one whole object per transaction -------------------------------------------

    def run(self, steps: list[_Step], bars: _Bars) -> int:
        """Copy the objects of ``steps`` (one kind) in one transaction; return how many.

        Objects found already there (copied meanwhile) are not counted. The files of
        artifact versions are put into the destination's blob store first.
        """
        kind = steps[0].kind
        if kind == "versions":
            for step in steps:
                self._copy_blobs(step, bars)
        do: Callable[[_Step, Transaction], int] = getattr(self, "_" + kind.replace(" ", "_"))
        with self.dst.store.transaction() as txn:
            written = sum(do(step, txn) for step in steps)
        bars.object(len(steps))
        return written

    def _users(self, step: _Step, txn: Transaction) -> int:
        (user,) = step.docs
        if self.dst.store.find_one("users", key=user["key"]) is not None:
            return 0
        txn.insert("users", user)
        return 1

    def _registries(self, step: _Step, txn: Transaction) -> int:
        (reg,) = step.docs
        found = self._dst_reg(reg["key"])
        if found is None:
            txn.insert("registries", reg)
            return 1
        there = found[1]
        settings = {f: reg[f] for f in (*_REGISTRY_SETTINGS, "members")}
        if all(there.get(f) == v for f, v in settings.items()):
            return 0
        if not _untouched_core(there):
            raise _conflict(step.label, "it changed while copying")
        txn.update("registries", found[0], {**settings, "updated_at": reg.get("updated_at")})
        return 1

    def _artifact_names(self, step: _Step, txn: Transaction) -> int:
        (name_doc,) = step.docs
        found = self.dst.store.find_one("artifact_names", name=name_doc["name"])
        if found is None:
            txn.insert("artifact_names", name_doc)
            return 1
        if found[1]["next_index"] >= name_doc["next_index"]:
            return 0
        txn.update("artifact_names", found[0], {"next_index": name_doc["next_index"]})
        return 1

    def _runs(self, step: _Step, txn: Transaction) -> int:
        (run,) = step.docs
        found = self._dst_run(_run_key(run))
        if found is None:
            # The document as it is, not import_run(): that records a new "run.import"
            # entry (the source's own history is copied instead), needs an origin, and
            # sets the heartbeat from the run's times, which could end a running run.
            txn.insert("runs", run)
            return 1
        there = found[1]
        if not _differs(there, run, _RUN_PROGRESS):
            return 0
        if not _behind(there, run):
            raise _conflict(step.label, "it changed while copying")
        txn.update("runs", found[0], {f: run[f] for f in _RUN_PROGRESS})
        return 1

    def _versions(self, step: _Step, txn: Transaction) -> int:
        (art,) = step.docs
        if self._dst_art(art["name"], art["index"]) is not None:
            return 0
        doc = dict(art)
        if step.refs["run"] is not None:
            run = self._dst_run(step.refs["run"])
            if run is None:
                msg = f"cannot copy {step.label}: its producing run is missing in the destination"
                raise NotFoundError(msg)
            doc["run_id"] = run[0]
        elif "run_id" in doc:
            doc["run_id"] = None  # its run is not in the source: no run to name
        # Under the lock: a blob collected since it was copied is copied again.
        for digest in self.dst.blobs.missing(sorted(step.digests)):
            self._copy_blob(digest, None)
        txn.insert("artifacts", doc)
        return 1

    def _collections(self, step: _Step, txn: Transaction) -> int:
        coll, reg = step.docs
        dst_reg = self._dst_reg(reg["key"])
        if dst_reg is None:
            raise _conflict(step.label, "its registry was deleted while copying")
        found = self.dst.store.find_one("collections", key=coll["key"], registry_id=dst_reg[0])
        if found is None:
            txn.insert("collections", {**coll, "registry_id": dst_reg[0], "aliases": {}})
            return 1
        if found[1]["next_index"] >= coll["next_index"]:
            return 0
        txn.update("collections", found[0], {"next_index": coll["next_index"]})
        return 1

    def _links(self, step: _Step, txn: Transaction) -> int:
        link, coll, reg, ref = step.docs
        coll_key = (str(reg["key"]), str(coll["key"]))
        if self._dst_link(coll_key, link["index"]) is not None:
            return 0
        dst_reg = self._dst_reg(reg["key"])
        dst_coll = self._dst_coll(coll_key)
        art = self._dst_art(ref["name"], ref["index"])
        if dst_reg is None or dst_coll is None or art is None:
            msg = f"cannot copy {step.label}: what it links to is missing in the destination"
            raise NotFoundError(msg)
        d = self.dst
        link_id = insert_link(
            d,
            txn,
            dst_reg[0],
            dst_reg[1],
            dst_coll[0],
            art[0],
            art[1],
            index=int(link["index"]),
            created=(str(link["created_at"]), str(link["created_by"])),
        )
        for alias in link["aliases"]:
            if alias != LATEST:
                place_alias(d, txn, link_id, alias)
        return 1

    def _run_edges(self, step: _Step, txn: Transaction) -> int:
        (edge,) = step.docs
        run_key, art_key = step.refs["run"], step.refs["artifact"]
        if self._dst_edge(run_key, art_key, edge["kind"]):
            return 0
        run, art = self._dst_run(run_key), self._dst_art(*art_key)
        if run is None or art is None:
            msg = f"cannot copy {step.label}: its run or version is missing in the destination"
            raise NotFoundError(msg)
        txn.insert("run_edges", {**edge, "run_id": run[0], "artifact_id": art[0]})
        return 1

    def _history(self, step: _Step, txn: Transaction) -> int:
        (entry,) = step.docs
        keys = entry["_keys"]
        ids: dict[str, int | None] = {}
        for field_name, key in keys.items():
            found: tuple[int, Doc] | None
            if key is None:
                found = None
            elif field_name == "registry_id":
                found = self._dst_reg(key)
            elif field_name == "collection_id":
                found = self._dst_coll(tuple(key))
            elif field_name == "link_id":
                found = self._dst_link(None if key[0] is None else tuple(key[0]), key[1])
            elif field_name == "run_id":
                found = self._dst_run(key)
            else:
                found = self._dst_art(key[0], key[1])
            ids[field_name] = None if found is None else found[0]
        doc = {k: v for k, v in entry.items() if k != "_keys"}
        ids_fields = ("registry_id", "collection_id", "link_id", "artifact_id", "run_id")
        doc.update(dict.fromkeys(ids_fields))
        doc.update(ids)
        txn.insert("history", doc)
        return 1

    # -- files ------------------------------------------------------------------------------------

    def _copy_blobs(self, step: _Step, bars: _Bars) -> None:
        """Put the files of an artifact version into the destination's blob store."""
        for digest in sorted(self.dst.blobs.missing(sorted(step.digests))):
            self._copy_blob(digest, bars)

    def _copy_blob(self, digest: str, bars: _Bars | None) -> None:
        src_blobs: BlobStore = self.src.blobs
        local = src_blobs.path_hint(digest)
        if local is not None:
            self.dst.blobs.put_file(local, digest)
            size = local.stat().st_size
        else:
            with self._spooled(src_blobs, digest) as (path, size):
                self.dst.blobs.put_file(path, digest)
        self.copied_bytes += size
        if bars is not None:
            bars.bytes(size)

    @contextmanager
    def _spooled(self, blobs: BlobStore, digest: str) -> Iterator[tuple[Path, int]]:
        """The blob ``digest`` of ``blobs`` in a local file, checked against its digest."""
        path = self.scratch / digest
        hasher = hashlib.sha256()
        size = 0
        try:
            with blobs.open(digest) as src, path.open("wb") as out:
                while chunk := src.read(CHUNK_SIZE):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            if hasher.hexdigest() != digest:
                msg = (
                    f"blob {digest} of the source store's blob store {blobs!r} holds content "
                    f"with sha256 {hasher.hexdigest()}; it is damaged and was not copied"
                )
                raise StoreCorruptedError(msg)
            yield path, size
        finally:
            path.unlink(missing_ok=True)


def _behind(there: Doc, run: Doc) -> bool:
    """Whether the destination's copy ``there`` of ``run`` is an earlier state of it.

    It is when it was copied while running and nobody wrote to it since: it is still
    ``running`` and its heartbeat (renewed by every write) is older than the source's.
    """
    return bool(there["state"] == "running" and there["heartbeat_at"] < run["heartbeat_at"])


def _untouched_core(reg: Doc) -> bool:
    """Whether a core registry is as every new store creates it (nobody changed it)."""
    return (
        reg["kind"] == "core"
        and reg["visibility"] == "organization"
        and not reg["members"]
        and not reg["protected_aliases"]
        and reg["artifact_types"] == reg["preconfigured_types"]
    )
