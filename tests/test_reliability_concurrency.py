"""Concurrent writers: 4 processes × 500 links and alias moves on one collection.

Every worker links 500 freshly logged versions into ``Models/shared``, moving shared
aliases as it goes (on the new link, and onto earlier links made by any worker). At the
end there must be exactly 2,000 links numbered v0…v1999 without gaps or duplicates, every
alias on exactly one version (the collection's alias map and the links agree, and each
alias sits where the newest history entry for it says), ``latest`` on the highest, and no
worker may have failed.

Readers racing folds: three writers fold the journal into a new snapshot at every commit
while readers open the store afresh (and follow it) again and again. A reader overtaken
by folds reads again; it never reports the store damaged, and no fold leaves a
temporary file behind.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import time
import traceback
from pathlib import Path
from typing import Any

import pytest
from reliability_support import observe

import registry_widget as rw

pytestmark = pytest.mark.slow

WORKERS = 4
OPS_EACH = 500
COLLECTION = "Models/shared"
SHARED_ALIASES = ("production", "staging", "best")
TIMEOUT_S = 600


def _worker(path: str, worker: int, seed: int, start: Any, results: Any) -> None:
    try:
        client = rw.Client(path, user=f"w{worker}")
        rng = random.Random(seed)
        folder = Path(path).parent / f"src{worker}"
        folder.mkdir()
        moves = 0
        start.wait()
        last = -1
        for i in range(OPS_EACH):
            token = f"w{worker}-{i}"
            f = folder / "weights.bin"
            f.write_text(token)
            aliases = [rng.choice(SHARED_ALIASES)] if rng.random() < 0.4 else []
            with client.batch():
                version = client.log_artifact(
                    f"w{worker}", type="model", files=f, metadata={"token": token}
                )
                link = client.link(version, COLLECTION, aliases=aliases)
            moves += len(aliases)
            assert link.artifact.ref == f"w{worker}:v{i}"
            assert link.index > last, f"link numbers went back: v{last} then v{link.index}"
            last = link.index
            if rng.random() < 0.3:
                # move an alias onto an earlier link, possibly another worker's: every number
                # up to our own last link exists, since nothing is unlinked
                target = rng.randint(0, last)
                coll = client.registry("Models").collection("shared")
                coll.version(f"v{target}").set_alias(rng.choice(SHARED_ALIASES))
                moves += 1
        results.put((worker, None, moves))
    except BaseException:
        results.put((worker, traceback.format_exc(), 0))


def test_four_writers_link_2000_versions_without_gaps_or_duplicates(tmp_path: Path) -> None:
    seed = int(os.environ.get("RELIABILITY_SEED") or random.SystemRandom().randrange(2**32))
    print(f"RELIABILITY_SEED={seed}")
    path = tmp_path / "registry.json"
    admin = rw.Client(path, user="ada")
    for worker in range(WORKERS):
        admin.add_user(f"w{worker}")
    ctx = mp.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(str(path), w, seed + w, start, results))
        for w in range(WORKERS)
    ]
    for p in procs:
        p.start()
    began = time.monotonic()
    start.set()
    reports = {}
    try:
        for _ in range(WORKERS):
            worker, error, moves = results.get(timeout=TIMEOUT_S)
            reports[worker] = (error, moves)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    elapsed = time.monotonic() - began
    errors = {w: e for w, (e, _) in reports.items() if e}
    assert not errors, f"workers failed:\n{errors}"
    assert all(p.exitcode == 0 for p in procs)
    moves = sum(m for _, m in reports.values())
    print(f"{WORKERS} × {OPS_EACH} operations ({moves} alias moves) in {elapsed:.1f} s")

    state = observe(admin)  # alias map ↔ link aliases, latest on the highest, history numbers
    links = state["colls"]["shared"]["links"]
    assert len(links) == WORKERS * OPS_EACH
    assert sorted(links) == list(range(WORKERS * OPS_EACH))
    expected_refs = {f"w{w}:v{i}" for w in range(WORKERS) for i in range(OPS_EACH)}
    assert sorted(links.values()) == sorted(expected_refs)  # each version linked exactly once
    assert state["colls"]["shared"]["next"] == WORKERS * OPS_EACH
    aliases = state["colls"]["shared"]["aliases"]
    assert aliases["latest"] == WORKERS * OPS_EACH - 1
    assert set(aliases) == {"latest", *SHARED_ALIASES}

    # each alias sits where the newest history entry for it put it
    coll = admin.registry("Models").collection("shared")
    newest: dict[str, int] = {}
    for entry in coll.history(action="alias.set"):  # newest first
        alias = entry.after.split(" → ")[0]
        newest.setdefault(alias, int(entry.target.rsplit(":v", 1)[1]))
    assert newest == {a: i for a, i in aliases.items() if a != "latest"}
    # a move onto the version already holding the alias records nothing; no move is lost
    assert len(SHARED_ALIASES) <= len(coll.history(action="alias.set")) <= moves


FOLD_WRITERS = 3
READERS = 2
FOLD_RUN_S = 8.0
STORE_PAD = 1500


def _folding_writer(path: str, worker: int, start: Any, results: Any) -> None:
    """Commit (and so fold: every commit folds here) until the time is up."""
    try:
        from registry_widget.store import jsonfile

        jsonfile.FOLD_MIN_BYTES, jsonfile.FOLD_RATIO = 0, 0.0
        client = rw.Client(path, user=f"w{worker}")
        coll = client.registry("Models").collection("shared")
        start.wait()
        commits = 0
        deadline = time.monotonic() + FOLD_RUN_S
        while time.monotonic() < deadline:
            coll.update(tags=[f"w{worker}-{commits}"])
            commits += 1
        results.put(("writer", worker, None, commits))
    except BaseException:
        results.put(("writer", worker, traceback.format_exc(), 0))


def _reader(path: str, worker: int, start: Any, stop: Any, results: Any) -> None:
    """Open the store afresh and read it, again and again, while the writers fold."""
    try:
        from registry_widget.store import JSONFileStore

        start.wait()
        reads = 0
        kept = rw.Client(JSONFileStore(path), user="ada")  # one that follows every fold
        while not stop.is_set():
            fresh = rw.Client(JSONFileStore(path), user="ada")  # one that reads from scratch
            for client in (fresh, kept):
                tags = client.registry("Models").collection("shared").tags
                assert len(tags) == 1, tags
            fresh.store.close()
            reads += 1
        results.put(("reader", worker, None, reads))
    except BaseException:
        results.put(("reader", worker, traceback.format_exc(), 0))


def test_readers_racing_constant_folds_never_report_damage(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    admin = rw.Client(path, user="ada")
    for worker in range(FOLD_WRITERS):
        admin.add_user(f"w{worker}")
    shared = admin.registry("Models").create_collection("shared", type="model")
    with admin.batch():  # about 1 MB of history: reading a snapshot takes a while
        for i in range(STORE_PAD):
            shared.update(description=f"{i} " + "x" * 300)
    shared.update(tags=["first"])
    ctx = mp.get_context("spawn")
    start, stop, results = ctx.Event(), ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_folding_writer, args=(str(path), w, start, results))
        for w in range(FOLD_WRITERS)
    ] + [
        ctx.Process(target=_reader, args=(str(path), r, start, stop, results))
        for r in range(READERS)
    ]
    for p in procs:
        p.start()
    start.set()
    reports = []
    try:
        for _ in range(FOLD_WRITERS):
            reports.append(results.get(timeout=FOLD_RUN_S + 60))
        stop.set()
        for _ in range(READERS):
            reports.append(results.get(timeout=60))
    finally:
        stop.set()
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    errors = [f"{kind} {w}:\n{e}" for kind, w, e, _ in reports if e]
    assert not errors, "\n".join(errors)
    commits = sum(n for kind, _, _, n in reports if kind == "writer")
    reads = sum(n for kind, _, _, n in reports if kind == "reader")
    print(f"{commits} commits, each folding, under {reads} fresh reads")
    assert commits >= FOLD_WRITERS
    assert reads >= READERS
    # every fold left a whole store and no temporary file
    assert len(rw.Client(path, user="ada").registry("Models").collection("shared").tags) == 1
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
