"""Planning a copy: read both stores, refuse conflicts, list the objects to copy.

:meth:`Planner.plan` reads the source and the destination in one reading block each and
returns a :class:`Step` per whole object the destination lacks (or holds in an earlier
state), in copying order; any object the destination holds that differs from the
source's is refused before anything is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from registry_widget.domain.copy_match import (
    ARTIFACT_CONTENT,
    COLLECTION_CONTENT,
    REGISTRY_SETTINGS,
    RUN_CONTENT,
    RUN_PROGRESS,
    Matcher,
    RunKey,
    changed_fields,
    conflict,
    history_signature,
    is_behind,
    member_roles,
    named_aliases,
    natural_run_key,
    run_label,
    untouched_core,
)
from registry_widget.domain.session import Doc, copy_json
from registry_widget.errors import ConflictError

__all__ = ["Planner", "Step"]


@dataclass
class Step:
    """One whole object to copy: its kind, what it is called, its source document(s)."""

    kind: str
    label: str
    docs: list[Doc]
    size: int = 0
    digests: dict[str, int] = field(default_factory=dict)
    refs: dict[str, Any] = field(default_factory=dict)
    """The natural keys of the objects it refers to (they are copied before it)."""


class Planner(Matcher):
    """Lists what a copy has to do, refusing conflicts before anything is written."""

    def plan(self) -> list[Step]:
        """Every object the destination lacks, in copying order; refuses conflicts first."""
        src, dst = self.src.store, self.dst.store
        steps: list[Step] = []
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

    def _plan_users(self) -> Iterator[Step]:
        for _, user in self.src.store.query("users", order=("id",)):
            found = self.dst.store.find_one("users", key=user["key"])
            if found is None:
                yield Step("users", f"user {user['name']!r}", [copy_json(user)])
            elif found[1]["role"] != user["role"]:
                raise conflict(
                    f"the user {found[1]['name']!r}",
                    f"their organisation role is {found[1]['role']!r}, not {user['role']!r} as",
                )

    def _plan_registries(self) -> Iterator[Step]:
        for _, reg in self.src.store.query("registries", order=("id",)):
            what = f"the registry {reg['name']!r}"
            found = self.dst_reg(reg["key"])
            if found is None:
                yield Step("registries", what, [copy_json(reg)])
                continue
            there = found[1]
            differs = changed_fields(there, reg, REGISTRY_SETTINGS)
            if member_roles(there) != member_roles(reg):
                differs.append("members")
            if not differs:
                continue
            if reg["kind"] == "core" and untouched_core(there):
                yield Step("registries", what, [copy_json(reg)])  # its settings, once
                continue
            raise conflict(what, differs)

    def _plan_runs(self) -> Iterator[Step]:
        seen: set[RunKey] = set()
        for _, run in self.src.store.query("runs", order=("id",)):
            what = run_label(run)
            key = natural_run_key(run)
            if key in seen:
                msg = (
                    f"the source holds two runs with the natural key {key!r} ({what}); "
                    "copy_store could not tell their copies apart. Nothing was copied"
                )
                raise ConflictError(msg).with_code("copy_conflict", object=what)
            seen.add(key)
            found = self.dst_run(key)
            if found is None:
                yield Step("runs", what, [copy_json(run)])
                continue
            there = found[1]
            differs = changed_fields(there, run, RUN_CONTENT)
            if differs:
                raise conflict(what, differs)
            progress = changed_fields(there, run, RUN_PROGRESS)
            if not progress:
                continue
            if is_behind(there, run):
                yield Step("runs", what, [copy_json(run)])  # it went on in the source
                continue
            raise conflict(what, progress)

    def _plan_artifacts(self) -> Iterator[Step]:
        src, dst = self.src.store, self.dst.store
        for _, name_doc in src.query("artifact_names", order=("id",)):
            found = dst.find_one("artifact_names", name=name_doc["name"])
            what = f"the artifact name {name_doc['name']!r}"
            if found is None or found[1]["next_index"] < name_doc["next_index"]:
                if found is not None and found[1]["type"] != name_doc["type"]:
                    raise conflict(what, ["type"])
                yield Step("artifact names", what, [copy_json(name_doc)])
            elif found[1]["type"] != name_doc["type"]:
                raise conflict(what, ["type"])
        versions: list[Step] = []
        for _, art in src.query("artifacts", order=("id",)):
            what = f"the artifact version {art['name']}:v{art['index']}"
            found = self.dst_art(art["name"], art["index"])
            run_key = self.src_run_key(art.get("run_id"))
            if found is not None:
                differs = changed_fields(found[1], art, ARTIFACT_CONTENT)
                if self.dst_run_key(found[1].get("run_id")) != run_key:
                    differs.append("producing run")
                if differs:
                    raise conflict(what, differs)
                continue
            digests = {e["digest"]: int(e["size"]) for e in art["files"].values()}
            refs = {"run": run_key}
            versions.append(Step("versions", what, [copy_json(art)], digests=digests, refs=refs))
        wanted = {digest for step in versions for digest in step.digests}
        absent = self.dst.blobs.missing(sorted(wanted)) if wanted else set()
        for step in versions:
            step.size = sum(n for digest, n in step.digests.items() if digest in absent)
            absent -= step.digests.keys()  # counted once, with the first version needing it
        yield from versions

    def _plan_collections(self) -> Iterator[Step]:
        for _, coll in self.src.store.query("collections", order=("id",)):
            reg = self.src.store.get("registries", coll["registry_id"])
            assert reg is not None
            what = f"the collection {reg['name']}/{coll['name']}"
            found = self.dst_coll((reg["key"], coll["key"]))
            if found is None:
                yield Step("collections", what, [copy_json(coll), copy_json(reg)])
                continue
            differs = changed_fields(found[1], coll, COLLECTION_CONTENT)
            if differs:
                raise conflict(what, differs)
            if found[1]["next_index"] < coll["next_index"]:  # numbers used since
                yield Step("collections", what, [copy_json(coll), copy_json(reg)])

    def _plan_links(self) -> Iterator[Step]:
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
            found = self.dst_link(coll_key, link["index"])
            if found is not None:
                there = found[1]
                held = self.dst.store.get("artifacts", there["artifact_id"])
                same = held is not None and (held["name"], held["index"]) == (
                    art["name"],
                    art["index"],
                )
                if not same:
                    raise conflict(what, "it links another artifact version")
                if named_aliases(there) != named_aliases(link):
                    raise conflict(what, ["aliases"])
                continue
            dst_coll = self.dst_coll(coll_key)
            if dst_coll is not None:
                for alias in sorted(named_aliases(link)):
                    holder = dst_coll[1]["aliases"].get(alias)
                    if holder is not None and holder != link["index"]:
                        raise conflict(
                            f"the alias {alias!r} in {reg['name']}/{coll['name']}",
                            f"it names v{holder} there, not v{link['index']} as",
                        )
            ref = {"name": art["name"], "index": art["index"]}
            yield Step("links", what, [copy_json(link), copy_json(coll), copy_json(reg), ref])

    def _plan_run_edges(self) -> Iterator[Step]:
        src = self.src.store
        for _, edge in src.query("run_edges", order=("id",)):
            run = src.get("runs", edge["run_id"])
            art = src.get("artifacts", edge["artifact_id"])
            if run is None or art is None:
                continue  # about a version deleted since: it shows nowhere
            run_key, art_key = natural_run_key(run), (str(art["name"]), int(art["index"]))
            if self.dst_edge(run_key, art_key, edge["kind"]):
                continue
            what = f"the {edge['kind']} {art['name']}:v{art['index']} of {run_label(run)}"
            refs = {"run": run_key, "artifact": art_key}
            yield Step("run edges", what, [copy_json(edge)], refs=refs)

    def _plan_history(self) -> Iterator[Step]:
        have = Counter(history_signature(doc) for _, doc in self.dst.store.query("history"))
        batch: list[Doc] = []
        for _, entry in self.src.store.query("history", order=("id",)):
            sig = history_signature(entry)
            if have[sig] > 0:
                have[sig] -= 1
                continue
            keys = self._history_keys(entry)
            if keys is None:
                continue  # about objects that no longer exist anywhere: unreadable
            batch.append({**copy_json(entry), "_keys": keys})
        for entry in batch:
            yield Step("history", f"history entry {entry['action']!r}", [entry])

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
            keys["registry_id"] = self.src_reg_key(entry["registry_id"])
            if keys["registry_id"] is None:
                return None
        if entry.get("collection_id") is not None:
            had += 1
            keys["collection_id"] = self.src_coll_key(entry["collection_id"])
        if entry.get("link_id") is not None:
            had += 1
            link = src.get("links", entry["link_id"])
            keys["link_id"] = (
                None
                if link is None
                else (self.src_coll_key(link["collection_id"]), int(link["index"]))
            )
        if entry.get("artifact_id") is not None:
            had += 1
            art = src.get("artifacts", entry["artifact_id"])
            keys["artifact_id"] = None if art is None else (str(art["name"]), int(art["index"]))
        if entry.get("run_id") is not None:
            had += 1
            keys["run_id"] = self.src_run_key(entry["run_id"])
        if had and all(v is None for v in keys.values()):
            return None
        return keys
