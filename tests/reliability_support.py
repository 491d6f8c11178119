"""Shared by the reliability tests: a plain model of a registry, and child processes.

The model keeps what the store should hold for the operations the tests perform (artifact
versions, collections of the ``Models`` registry, their links, aliases and tags) in plain
Python. :func:`observe` reads the same shape from a store through the public API only, and
checks the store's internal agreement on the way (link aliases against collection alias
maps, ``latest`` on the highest link, every link's artifact present).

Run as a script it is a child process for the kill tests::

    python tests/reliability_support.py registry <store> <seed>   # needs <store>.model.json
    python tests/reliability_support.py tinydb <file> <seed>

Each child prints ``ready``, then for every call ``begin <op>`` before it and
``done <op-with-result>`` only after it returned, one JSON line each, flushed.
"""

from __future__ import annotations

import copy
import json
import os
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import registry_widget as rw

REGISTRY = "Models"
COLLECTIONS = ("c0", "c1", "c2", "c3")
ALIASES = ("prod", "staging", "best", "candidate")
NAMES = ("m0", "m1", "m2")
Op = dict[str, Any]


@dataclass
class CollectionModel:
    """One collection: the next link number, links by number, aliases, tags."""

    next: int = 0
    links: dict[int, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)

    def fix_latest(self) -> None:
        self.aliases.pop("latest", None)
        if self.links:
            self.aliases["latest"] = max(self.links)


@dataclass
class Model:
    """What the store should hold: artifact tokens by name and version, and collections."""

    arts: dict[str, list[str]] = field(default_factory=dict)
    colls: dict[str, CollectionModel] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        """A comparable value of the whole model."""
        return {
            "arts": {
                f"{n}:v{i}": t for n, tokens in self.arts.items() for i, t in enumerate(tokens)
            },
            "colls": {
                name: {
                    "next": c.next,
                    "links": dict(c.links),
                    "aliases": dict(c.aliases),
                    "tags": sorted(c.tags),
                }
                for name, c in self.colls.items()
            },
        }

    @classmethod
    def from_snapshot(cls, snap: dict[str, Any]) -> Model:
        model = cls()
        for ref, token in sorted(snap["arts"].items(), key=lambda kv: _ref_key(kv[0])):
            name, version = ref.split(":v")
            tokens = model.arts.setdefault(name, [])
            assert int(version) == len(tokens), f"artifact versions of {name} have a gap: {ref}"
            tokens.append(token)
        for name, c in snap["colls"].items():
            model.colls[name] = CollectionModel(
                c["next"],
                {int(i): ref for i, ref in c["links"].items()},  # JSON keys are str
                {a: int(i) for a, i in c["aliases"].items()},
                list(c["tags"]),
            )
        return model

    def copy(self) -> Model:
        return copy.deepcopy(self)

    def linked_refs(self, coll: str) -> set[str]:
        c = self.colls.get(coll)
        return set(c.links.values()) if c else set()

    # -- operations ----------------------------------------------------------------------

    def apply(self, op: Op) -> Any:
        """Apply ``op`` and return the result the store's call must give."""
        kind = op["op"]
        if kind == "log":
            tokens = self.arts.setdefault(op["name"], [])
            tokens.append(op["token"])
            return f"{op['name']}:v{len(tokens) - 1}"
        if kind == "link":
            return self._link(op["ref"], op["coll"], op["aliases"])
        if kind == "loglink":
            ref = self.apply({"op": "log", "name": op["name"], "token": op["token"]})
            return [ref, self._link(ref, op["coll"], op["aliases"])]
        if kind == "batch":
            return [self.apply(sub) for sub in op["ops"]]
        if kind == "failbatch":
            return "rolled back"
        if kind == "checkpoint":
            return None
        c = self.colls[op["coll"]]
        if kind == "alias":
            assert op["index"] in c.links
            c.aliases[op["alias"]] = op["index"]
        elif kind == "unalias":
            assert c.aliases.get(op["alias"]) == op["index"]
            del c.aliases[op["alias"]]
        elif kind == "unlink":
            del c.links[op["index"]]
            c.aliases = {a: i for a, i in c.aliases.items() if i != op["index"]}
            c.fix_latest()
        elif kind == "tags":
            c.tags = list(op["tags"])
        else:
            msg = f"unknown operation {kind!r}"
            raise ValueError(msg)
        return None

    def _link(self, ref: str, coll: str, aliases: list[str]) -> int:
        c = self.colls.setdefault(coll, CollectionModel())
        existing = [i for i, r in c.links.items() if r == ref]
        if existing:
            index = existing[0]
        else:
            index = c.next
            c.links[index] = ref
            c.next += 1
            c.fix_latest()
        for alias in aliases:
            c.aliases[alias] = index
        return index


def _ref_key(ref: str) -> tuple[str, int]:
    name, version = ref.split(":v")
    return name, int(version)


# -- reading a store --------------------------------------------------------------------


def observe(client: rw.Client) -> dict[str, Any]:
    """Read the model's shape from ``client``'s store, checking its internal agreement."""
    arts: dict[str, str] = {}
    for art in client.artifacts():
        assert art.ref not in arts, f"artifact version {art.ref} appears twice"
        arts[art.ref] = art.metadata["token"]
    colls: dict[str, Any] = {}
    for coll in client.registry(REGISTRY).collections():
        links: dict[int, str] = {}
        held: dict[str, int] = {}
        for link in coll.versions():
            assert link.index not in links, f"{coll.path} numbers two links v{link.index}"
            ref = link.artifact.ref
            assert ref in arts, f"{link.path} points to {ref}, which is not in the store"
            links[link.index] = ref
            for alias in link.aliases:
                assert alias not in held, f"alias {alias!r} is on two versions of {coll.path}"
                held[alias] = link.index
        aliases = {a: int(v.removeprefix("v")) for a, v in coll.aliases.items()}
        assert aliases == held, f"{coll.path}: alias map {aliases} but links hold {held}"
        if links:
            assert aliases.get("latest") == max(links), f"{coll.path}: latest not on the highest"
        else:
            assert "latest" not in aliases
        created = coll.history(action="link.create")
        numbers = sorted(int(e.target.rsplit(":v", 1)[1]) for e in created)
        assert numbers == list(range(len(numbers))), f"{coll.path} link numbers: {numbers}"
        assert not links or max(links) < len(numbers)
        colls[coll.name] = {
            "next": len(numbers),
            "links": links,
            "aliases": aliases,
            "tags": sorted(coll.tags),
        }
    return {"arts": arts, "colls": colls}


# -- performing operations ----------------------------------------------------------------


def perform(client: rw.Client, op: Op, files: Path) -> Any:
    """Perform ``op`` through the public API and return its result (as the model does)."""
    kind = op["op"]
    if kind == "log":
        path = files / f"{op['token']}.bin"
        path.write_text(op["token"])
        art = client.log_artifact(op["name"], type="model", files=path, metadata=op)
        return art.ref
    if kind == "link":
        return client.link(op["ref"], f"{REGISTRY}/{op['coll']}", aliases=op["aliases"]).index
    if kind == "loglink":
        ref = perform(client, {"op": "log", "name": op["name"], "token": op["token"]}, files)
        sub = {"op": "link", "ref": ref, "coll": op["coll"], "aliases": op["aliases"]}
        return [ref, perform(client, sub, files)]
    if kind == "batch":
        with client.batch():
            return [perform(client, sub, files) for sub in op["ops"]]
    if kind == "failbatch":
        try:
            with client.batch():
                for sub in op["ops"]:
                    perform(client, sub, files)
                client.link(f"{NAMES[0]}:v0", "No such registry/x")
        except rw.NotFoundError:
            return "rolled back"
        msg = "the failing batch did not fail"
        raise AssertionError(msg)
    if kind == "checkpoint":
        # a store that keeps a journal folds it into its snapshot now
        checkpoint = getattr(client.store, "checkpoint", None)
        if checkpoint is not None:
            checkpoint()
        return None
    coll = client.registry(REGISTRY).collection(op["coll"])
    if kind == "tags":
        coll.update(tags=op["tags"])
        return None
    link = coll.version(f"v{op['index']}")
    if kind == "alias":
        link.set_alias(op["alias"])
    elif kind == "unalias":
        link.remove_alias(op["alias"])
    elif kind == "unlink":
        link.unlink()
    else:
        msg = f"unknown operation {kind!r}"
        raise ValueError(msg)
    return None


def choose(model: Model, rng: random.Random, token: str, *, nested: bool = False) -> Op:
    """A random operation that is valid on ``model`` (``token`` makes content unique)."""
    roll = rng.random()
    colls = [name for name, c in model.colls.items() if c.links]
    if not nested and roll < 0.12:
        # the sub-operations are chosen against the model as it will be inside the batch
        inner = model.copy()
        ops = []
        for i in range(rng.randint(2, 4)):
            sub = choose(inner, rng, f"{token}.{i}", nested=True)
            inner.apply(sub)
            ops.append(sub)
        return {"op": "failbatch" if rng.random() < 0.3 else "batch", "ops": ops}
    if not nested and roll < 0.17:
        return {"op": "checkpoint"}
    if roll < 0.45 or not colls:
        aliases = [rng.choice(ALIASES)] if rng.random() < 0.3 else []
        coll = rng.choice(COLLECTIONS)
        name = rng.choice(NAMES)
        return {"op": "loglink", "name": name, "token": token, "coll": coll, "aliases": aliases}
    coll = rng.choice(colls)
    c = model.colls[coll]
    if roll < 0.52:
        return {"op": "log", "name": rng.choice(NAMES), "token": token}
    if roll < 0.6:
        candidates = sorted(
            f"{n}:v{i}"
            for n, tokens in model.arts.items()
            for i in range(len(tokens))
            if f"{n}:v{i}" not in model.linked_refs(coll)
        )
        if candidates:
            return {"op": "link", "ref": rng.choice(candidates), "coll": coll, "aliases": []}
    if roll < 0.8:
        index = rng.choice(sorted(c.links))
        return {"op": "alias", "coll": coll, "index": index, "alias": rng.choice(ALIASES)}
    removable = sorted((a, i) for a, i in c.aliases.items() if a != "latest")
    if roll < 0.86 and removable:
        alias, index = rng.choice(removable)
        return {"op": "unalias", "coll": coll, "index": index, "alias": alias}
    if roll < 0.92:
        return {"op": "unlink", "coll": coll, "index": rng.choice(sorted(c.links))}
    tags = sorted(
        [*rng.sample(["a", "b", "c", "d"], rng.randint(0, 3)), f"t{token}".replace(".", "-")]
    )
    return {"op": "tags", "coll": coll, "tags": tags}


# -- child processes ----------------------------------------------------------------------


def _emit(kind: str, op: Op) -> None:
    sys.stdout.write(f"{kind} {json.dumps(op)}\n")
    sys.stdout.flush()


def registry_child(path: str, seed: int) -> None:
    """Open the store, then perform random operations until killed, reporting each one.

    The parent leaves the state it checked in ``<store>.model.json``; the child chooses
    valid operations from it and checks every result against it.
    """
    client = rw.Client(path, user="ada")
    model = Model.from_snapshot(json.loads(Path(f"{path}.model.json").read_text()))
    files = Path(path).parent / f"src-{os.getpid()}"
    files.mkdir()
    rng = random.Random(seed)
    print("ready", flush=True)
    for n in range(1_000_000):
        op = choose(model, rng, f"{seed}-{n}")
        _emit("begin", op)
        result = perform(client, op, files)
        expected = model.apply(op)
        assert json.loads(json.dumps(result)) == json.loads(json.dumps(expected)), (
            op,
            result,
            expected,
        )
        _emit("done", {**op, "result": result})


def tinydb_child(path: str, seed: int) -> None:
    """Insert documents into ``TinyDB(path)`` (stock JSONStorage) until killed."""
    from tinydb import TinyDB

    db = TinyDB(path)
    print("ready", flush=True)
    for n in range(1_000_000):
        key = f"{seed}-{n}"
        _emit("begin", {"key": key})
        db.table("log").insert({"key": key})
        _emit("done", {"key": key})


if __name__ == "__main__":
    child = {"registry": registry_child, "tinydb": tinydb_child}[sys.argv[1]]
    child(sys.argv[2], int(sys.argv[3]))
