"""A state machine drives random operations against a store and a plain Python model.

Rules log artifact versions, link them (into new or existing collections), set, move and
remove aliases, unlink, edit collection tags, create and delete custom registries, run
batches (all or nothing) including batches that fail mid-way and must leave the store's
files byte for byte as they were, and close and reopen the store as a fresh process
would, and fold the journal into the snapshot (also folds that fail after their commit,
which must stand). After every step the store, read through the public API, must equal
the model, ids of deleted registries are never given to new ones, and handles to deleted
registries refuse to read and to write.
"""

from __future__ import annotations

import gc
import hashlib
import json
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from reliability_support import ALIASES, COLLECTIONS, NAMES, Model, Op, choose, observe, perform

import registry_widget as rw
from registry_widget.store import JSONFileStore, jsonfile

CUSTOM = ("Team A", "Team B", "Vision")


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))


class RegistryMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="rw-stateful-"))
        self.path = self.folder / "registry.json"
        self.files = self.folder / "src"
        self.files.mkdir()
        self.model = Model()
        self.customs: set[str] = set()
        self.deleted: set[int] = set()  # ids of deleted registries
        self.counter = 0
        self.client = self._open()

    def _open(self) -> rw.Client:
        """Open the store as a new process would: a store object of its own."""
        return rw.Client(JSONFileStore(self.path), user="ada")

    def _token(self) -> str:
        self.counter += 1
        return f"k{self.counter}"

    def _do(self, op: Op) -> None:
        expected = self.model.apply(op)
        assert _json(perform(self.client, op, self.files)) == _json(expected), op

    def _store_files(self) -> dict[str, str]:
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in self.folder.iterdir()
            if p.is_file() and p.name.startswith("registry.json")
        }

    def teardown(self) -> None:
        self.client.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- artifact versions and links -------------------------------------------------------

    @rule(name=st.sampled_from(NAMES))
    def log(self, name: str) -> None:
        self._do({"op": "log", "name": name, "token": self._token()})

    @rule(
        name=st.sampled_from(NAMES),
        coll=st.sampled_from(COLLECTIONS),
        aliases=st.lists(st.sampled_from(ALIASES), max_size=2, unique=True),
    )
    def log_and_link(self, name: str, coll: str, aliases: list[str]) -> None:
        op = {"op": "loglink", "name": name, "token": self._token(), "coll": coll}
        self._do({**op, "aliases": aliases})

    @precondition(lambda self: self.model.arts)
    @rule(data=st.data(), coll=st.sampled_from(COLLECTIONS))
    def link_existing(self, data: st.DataObject, coll: str) -> None:
        refs = sorted(f"{n}:v{i}" for n, ts in self.model.arts.items() for i in range(len(ts)))
        ref = data.draw(st.sampled_from(refs))  # already linked there: the same link back
        alias = data.draw(st.lists(st.sampled_from(ALIASES), max_size=1))
        self._do({"op": "link", "ref": ref, "coll": coll, "aliases": alias})

    def _linked(self) -> list[str]:
        return sorted(name for name, c in self.model.colls.items() if c.links)

    @precondition(lambda self: self._linked())
    @rule(data=st.data(), alias=st.sampled_from(ALIASES))
    def set_alias(self, data: st.DataObject, alias: str) -> None:
        coll = data.draw(st.sampled_from(self._linked()))
        index = data.draw(st.sampled_from(sorted(self.model.colls[coll].links)))
        self._do({"op": "alias", "coll": coll, "index": index, "alias": alias})

    @precondition(lambda self: any(set(c.aliases) - {"latest"} for c in self.model.colls.values()))
    @rule(data=st.data())
    def remove_alias(self, data: st.DataObject) -> None:
        held = sorted(
            (name, alias, index)
            for name, c in self.model.colls.items()
            for alias, index in c.aliases.items()
            if alias != "latest"
        )
        coll, alias, index = data.draw(st.sampled_from(held))
        self._do({"op": "unalias", "coll": coll, "index": index, "alias": alias})

    @precondition(lambda self: self._linked())
    @rule(data=st.data())
    def unlink(self, data: st.DataObject) -> None:
        coll = data.draw(st.sampled_from(self._linked()))
        index = data.draw(st.sampled_from(sorted(self.model.colls[coll].links)))
        self._do({"op": "unlink", "coll": coll, "index": index})

    @precondition(lambda self: self.model.colls)
    @rule(data=st.data(), tags=st.lists(st.sampled_from(["a", "b", "c"]), unique=True))
    def update_tags(self, data: st.DataObject, tags: list[str]) -> None:
        coll = data.draw(st.sampled_from(sorted(self.model.colls)))
        self._do({"op": "tags", "coll": coll, "tags": tags})

    # -- custom registries -----------------------------------------------------------------

    @rule(name=st.sampled_from(CUSTOM))
    def create_registry(self, name: str) -> None:
        if name in self.customs:
            before = self._store_files()
            with pytest.raises(rw.ConflictError):
                self.client.create_registry(name.upper())
            assert self._store_files() == before
        else:
            created = self.client.create_registry(name)
            assert created._id not in self.deleted, "the id of a deleted registry was reused"
            self.customs.add(name)

    @precondition(lambda self: self.customs)
    @rule(data=st.data())
    def delete_registry(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.customs)))
        registry = self.client.registry(name)
        registry.delete()
        self.deleted.add(registry._id)
        self.customs.remove(name)

    # -- batches and reopening -------------------------------------------------------------

    @rule(seed=st.integers(0, 2**32 - 1), fail=st.booleans())
    def batch(self, seed: int, fail: bool) -> None:
        rng = random.Random(seed)
        inner = self.model.copy()
        ops = []
        for _ in range(rng.randint(2, 4)):
            op = choose(inner, rng, self._token(), nested=True)
            inner.apply(op)
            ops.append(op)
        if fail:
            before = self._store_files()
            self._do({"op": "failbatch", "ops": ops})  # the model does not change
            assert self._store_files() == before, "a refused batch wrote to the store"
        else:
            self._do({"op": "batch", "ops": ops})

    @rule()
    def checkpoint(self) -> None:
        self._do({"op": "checkpoint"})  # fold the journal into the snapshot, if there is one

    @rule(name=st.sampled_from(NAMES))
    def commit_with_a_failing_fold(self, name: str) -> None:
        """The commit is durable before its fold: a fold that fails does not fail it."""

        def failing(*args: Any) -> Any:
            msg = "Integer exceeds 64-bit range"  # as orjson refused a value
            raise TypeError(msg)

        saved = jsonfile.FOLD_MIN_BYTES, jsonfile.FOLD_RATIO, jsonfile.write_snapshot
        jsonfile.FOLD_MIN_BYTES, jsonfile.FOLD_RATIO = 0, 0.0
        jsonfile.write_snapshot = failing  # type: ignore[assignment]
        try:
            self._do({"op": "log", "name": name, "token": self._token()})
        finally:
            jsonfile.FOLD_MIN_BYTES, jsonfile.FOLD_RATIO, jsonfile.write_snapshot = saved

    @rule()
    def reopen(self) -> None:
        self.client.store.close()
        del self.client
        gc.collect()
        self.client = self._open()

    # -- the store equals the model --------------------------------------------------------

    @invariant()
    def store_matches_model(self) -> None:
        assert _json(observe(self.client)) == _json(self.model.snapshot())
        regs = self.client.registries()
        assert {r.name for r in regs if r.kind == "custom"} == self.customs
        assert {r.name for r in regs if r.kind == "core"} == {"Models", "Datasets"}

    @invariant()
    def handles_to_deleted_registries_refuse(self) -> None:
        # as held by another kernel since before the deletion, the store reopened since
        for reg_id in self.deleted:
            stale = rw.Registry(self.client._s, reg_id)
            with pytest.raises(rw.NotFoundError):
                _ = stale.name
            with pytest.raises(rw.NotFoundError):
                stale.update(description="through a stale handle")


RegistryMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)
test_registry_store_matches_a_plain_model = RegistryMachine.TestCase
