"""rw.copy_store: everything copied between backends, numbers kept, safe to re-run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import registry_widget as rw
from registry_widget.domain.run_records import import_run
from registry_widget.store import MemoryStore
from tests.conftest import MakeClient


@pytest.fixture(params=["json", "memory", "postgres", "s3"])
def backend(request: pytest.FixtureRequest) -> str:
    """The destination: every store and blob backend (a JSON store with S3 blobs too)."""
    return str(request.param)


@pytest.fixture(params=["memory", "json"])
def make_source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeClient]:
    """Clients of the source store: in memory, or a JSON file with its blob folder."""
    memory = MemoryStore()
    path = tmp_path / "source" / "registry.json"
    path.parent.mkdir()
    made: list[rw.Client] = []

    def make(user: str = "ada") -> rw.Client:
        client = rw.Client(memory if request.param == "memory" else path, user=user)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


BIG = bytes(range(256)) * 400  # 100 KiB: a blob of its own, not in a pack


def populate(make: MakeClient, tmp_path: Path) -> dict[str, bytes]:
    """A source store with every kind of object; returns the logged files' bytes."""
    ada = make("ada")
    ada.add_user("bob", "member")
    ada.add_user("carol", "viewer")
    contents: dict[str, bytes] = {}

    def write(rel: str, data: bytes) -> Path:
        path = tmp_path / "src-files" / f"f{len(contents)}" / rel
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        contents[rel + str(len(contents))] = data
        return path

    models = ada.registry("Models")
    models.add_protected_alias("production")
    models.add_artifact_type("checkpoint")
    cats = [
        ada.log_artifact(
            "cat",
            type="model",
            files={
                "weights.bin": write("weights.bin", BIG + bytes([i])),
                "cfg.json": write("c", b"{}"),
            },
            metadata={"acc": 0.9 + i / 100},
            tags=[f"t{i}"],
        )
        for i in range(4)
    ]
    ada.link(cats[0], "Models/cat", aliases=["production"])
    ada.link(cats[1], "Models/cat")
    ada.link(cats[2], "Models/cat", aliases=["staging"])
    ada.link(cats[3], "Models/cat")
    models.collection("cat").update(description="# Cats\nthe cat models", tags=["vision"])
    ada.use("Models/cat:v1").unlink()  # a gap in the numbers
    ada.use("Models/cat:v3").unlink()  # the newest number is never reused
    cats[3].delete()  # a gap in the version numbers: cat:v3 is gone, cat:v4 comes next
    vision = ada.create_registry(
        "Vision", description="restricted work", artifact_types=["dataset"]
    )
    vision.update(visibility="restricted")
    vision.add_member("bob", "member")
    data = ada.log_artifact("faces", type="dataset", files=write("faces.csv", b"a,b\n1,2\n"))
    bob = make("bob")
    bob.link(bob.artifact("faces:v0"), "Vision/faces", aliases=["golden"])
    scratch = ada.create_registry("Scratch")
    ada.link(data, "Scratch/tmp")
    scratch.delete()  # its history is readable nowhere any more
    return contents


def view(client: rw.Client) -> dict[str, Any]:
    """What a store holds, through the public API, with no ids."""
    regs = {}
    for reg in client.registries():
        colls = {}
        for coll in reg.collections():
            colls[coll.name] = {
                "type": coll.type,
                "description": coll.description,
                "tags": coll.tags,
                "aliases": coll.aliases,
                "versions": [
                    (
                        link.index,
                        link.artifact.version,
                        link.artifact.name,
                        sorted(link.aliases),
                        [
                            (h.at, h.user, h.action, h.target, h.before, h.after)
                            for h in link.history()
                        ],
                    )
                    for link in coll.versions()
                ],
                "history": [(h.at, h.user, h.action, h.target) for h in coll.history()],
            }
        regs[reg.name] = {
            "kind": reg.kind,
            "description": reg.description,
            "visibility": reg.visibility,
            "types": reg.artifact_types,
            "protected": reg.protected_aliases,
            "members": sorted((m.user, m.role) for m in reg.members()),
            "collections": colls,
            "history": [
                (h.at, h.user, h.action, h.target, h.before, h.after) for h in reg.history()
            ],
        }
    arts = {
        f"{a.name}:{a.version}": (
            a.type,
            a.digest,
            a.files,
            a.metadata,
            a.description,
            a.tags,
            a.created_at,
            a.created_by,
            [(h.at, h.user, h.action, h.target) for h in a.history()],
            _run_ref(a.run),
            [_run_ref(r) for r in a.used_by()],
        )
        for a in client.artifacts()
    }
    users = sorted((u.name, u.role) for u in client.users())  # the admins were made apart
    runs = [
        (
            _run_ref(run),
            run.state,
            run.error,
            run.config,
            dict(run.summary),
            run.tags,
            run.ended_at,
            run.heartbeat_at,
            [f"{v.name}:{v.version}" for v in run.inputs],
            [f"{v.name}:{v.version}" for v in run.outputs],
            [(h.at, h.user, h.action, h.target, h.before, h.after) for h in run.history()],
        )
        for run in client.runs()
    ]
    return {"registries": regs, "artifacts": arts, "users": users, "runs": runs}


def _run_ref(run: rw.Run | None) -> tuple[str, str, str] | None:
    """A run without its id: its name, when it started and who started it."""
    return None if run is None else (run.name, run.created_at, run.created_by)


Stores = tuple[rw.Client, rw.Client]
"""The source's and the destination's admin clients, nothing copied yet."""
StateOf = Callable[[rw.Client], object]


@pytest.fixture
def stores(make_source: MakeClient, make_client: MakeClient, tmp_path: Path) -> Stores:
    """A source with every kind of object (:func:`populate`) and an empty destination."""
    populate(make_source, tmp_path)
    return make_source("ada"), make_client("ada")


@pytest.fixture
def copied(stores: Stores) -> tuple[rw.Client, rw.Client, rw.CopyReport]:
    src, dst = stores
    return src, dst, rw.copy_store(src, dst)


def assert_refused(
    src: rw.Client, dst: rw.Client, store_state: StateOf, error: type[Exception], match: str
) -> None:
    """``copy_store(src, dst)`` raises ``error`` matching ``match``; ``dst`` is unchanged."""
    before = store_state(dst)
    with pytest.raises(error, match=match):
        rw.copy_store(src, dst)
    assert store_state(dst) == before


@contextmanager
def dying_at(dst: rw.Client, commit: int) -> Iterator[list[int]]:
    """In the block, the process "dies" (RuntimeError) right after ``dst``'s ``commit``-th
    commit; yields the count of commits seen so far (one item)."""
    seen = [0]

    def crash() -> None:
        seen[0] += 1
        if seen[0] == commit:
            msg = "the process died"
            raise RuntimeError(msg)

    unsubscribe = dst.subscribe(crash)
    try:
        yield seen
    finally:
        unsubscribe()


def test_copies_everything_with_numbers_history_and_files(
    copied: tuple[rw.Client, rw.Client, rw.CopyReport], tmp_path: Path
) -> None:
    src, dst, report = copied
    assert view(dst) == view(src)
    assert report.copied["versions"] == 4
    assert report.copied["links"] == 3
    assert report.copied["users"] == 2  # bob and carol; ada is the destination's admin
    assert report.bytes > 3 * len(BIG)
    # Numbers with their gaps, and the next ones, are those of the source.
    cat = dst.registry("Models").collection("cat")
    assert [v.index for v in cat.versions()] == [2, 0]
    assert cat.aliases == {"production": "v0", "staging": "v2", "latest": "v2"}
    assert dst.log_artifact("cat", type="model", files=_one(tmp_path, b"new")).version == "v4"
    assert dst.link("cat:v4", "Models/cat").index == 4
    # Every file is byte-identical when downloaded from the destination.
    for art in src.artifacts():
        a = art.download(tmp_path / "from-src" / art.name / art.version)
        b = dst.artifact(f"{art.name}:{art.version}").download(
            tmp_path / "from-dst" / art.name / art.version
        )
        for rel in art.files:
            assert (b / rel).read_bytes() == (a / rel).read_bytes()


def test_restricted_registries_keep_their_members_and_stay_hidden(
    copied: tuple[rw.Client, rw.Client, rw.CopyReport], make_client: MakeClient
) -> None:
    _, dst, _ = copied
    bob, carol = make_client("bob"), make_client("carol")
    assert bob.use("Vision/faces:golden").artifact.name == "faces"
    assert "Vision" in [r.name for r in bob.registries()]
    assert "Vision" not in [r.name for r in carol.registries()]
    with pytest.raises(rw.NotFoundError):
        carol.registry("Vision")
    with pytest.raises(rw.PermissionDeniedError):  # protected alias: admins only
        bob.use("Models/cat:v2").set_alias("production")
    assert "Scratch" not in [r.name for r in dst.registries()]


def test_a_second_run_copies_nothing_and_changes_nothing(
    copied: tuple[rw.Client, rw.Client, rw.CopyReport], store_state: StateOf
) -> None:
    src, dst, _ = copied
    before = store_state(dst)
    report = rw.copy_store(src, dst)
    assert report.objects == 0
    assert report.bytes == 0
    assert store_state(dst) == before


def test_a_later_run_copies_only_what_is_new(
    copied: tuple[rw.Client, rw.Client, rw.CopyReport], tmp_path: Path
) -> None:
    src, dst, _ = copied
    new = src.log_artifact("cat", type="model", files=_one(tmp_path, b"fresh"))
    src.link(new, "Models/cat", aliases=["candidate"])
    src.add_user("dan", "viewer")
    report = rw.copy_store(src, dst)
    assert report.copied["versions"] == 1
    assert report.copied["links"] == 1
    assert report.copied["users"] == 1
    assert report.copied["registries"] == 0
    assert view(dst) == view(src)
    assert dst.use("Models/cat:latest").index == 4


def test_a_conflicting_destination_is_refused_and_left_unchanged(
    stores: Stores, store_state: StateOf
) -> None:
    src, dst = stores
    dst.create_registry("Vision", description="something else")
    assert_refused(src, dst, store_state, rw.ConflictError, r"'Vision'.*description")


def test_a_version_with_other_files_is_refused(
    stores: Stores, tmp_path: Path, store_state: StateOf
) -> None:
    src, dst = stores
    dst.log_artifact("cat", type="model", files=_one(tmp_path, b"not the source's cat"))
    assert_refused(src, dst, store_state, rw.ConflictError, r"cat:v0.*digest")


def test_an_interrupted_copy_is_finished_by_running_it_again(stores: Stores) -> None:
    src, dst = stores
    with dying_at(dst, 3) as commits, pytest.raises(RuntimeError, match="died"):
        rw.copy_store(src, dst)
    assert commits == [3]
    partial = dst.artifacts()  # whole objects only: every version's files are there
    for art in partial:
        assert art.verify(), art
    report = rw.copy_store(src, dst)
    assert report.objects > 0
    assert view(dst) == view(src)
    assert rw.copy_store(src, dst).objects == 0


def test_a_failing_file_copy_commits_no_version_and_a_rerun_finishes(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dst = stores
    blobs = src._s.blobs
    real_open, real_hint = blobs.open, blobs.path_hint
    broken = src.artifact("cat:v2").files["weights.bin"]["digest"]

    def failing_open(digest: str) -> Any:
        if digest == broken:
            raise rw.StorageError("the disk went away")
        return real_open(digest)

    def no_hint(digest: str) -> Path | None:
        return None if digest == broken else real_hint(digest)

    monkeypatch.setattr(blobs, "open", failing_open)
    monkeypatch.setattr(blobs, "path_hint", no_hint)
    with pytest.raises(rw.StorageError, match="went away"):
        rw.copy_store(src, dst)
    with pytest.raises(rw.NotFoundError):
        dst.artifact("cat:v2")
    monkeypatch.undo()
    rw.copy_store(src, dst)
    assert view(dst) == view(src)
    assert dst.artifact("cat:v2").verify()


def test_both_clients_must_be_organisation_admins(
    stores: Stores,
    make_source: MakeClient,
    make_client: MakeClient,
    store_state: StateOf,
) -> None:
    src, dst = stores
    dst.add_user("bob", "member")
    before = store_state(dst)
    assert_refused(make_source("bob"), dst, store_state, rw.PermissionDeniedError, r"'bob'.*admin")
    bob = make_client("bob")
    assert_refused(src, bob, store_state, rw.PermissionDeniedError, r"'bob'.*admin")
    assert store_state(dst) == before


def test_a_store_is_not_copied_into_itself(make_client: MakeClient) -> None:
    client = make_client("ada")
    with pytest.raises(rw.ValidationError, match="two different stores"):
        rw.copy_store(client, make_client("ada"))


LONG_AGO = "2020-01-02T03:04:05.000006Z"


def populate_runs(make: MakeClient, tmp_path: Path) -> None:
    """Runs in the source (after :func:`populate`): a 3-hop chain and runs in every state.

    raw → prepare → base → finetune → tuned, with a failed run that used ``tuned``, a
    running run, and an imported run still ``running`` since long ago (it reads crashed).
    """
    ada, bob = make("ada"), make("bob")
    raw = ada.log_artifact("raw", type="dataset", files=_one(tmp_path, b"raw rows"))
    with ada.start_run("prepare", config={"lr": 0.1, "seed": 1}, tags=["prep"]) as prep:
        prep.use(raw)
        base = prep.log_artifact("base", type="model", files=_one(tmp_path, b"base w"))
        prep.summary["loss"] = 0.5
        prep.link(base, "Models/base", aliases=["staging"])
    with bob.start_run("finetune", config={"lr": 0.01}) as tune:
        tune.use("Models/base:staging")
        tune.log_artifact("tuned", type="model", files=_one(tmp_path, b"tuned w"))
        tune.summary.update(acc=0.97, loss=0.1)
    with pytest.raises(RuntimeError), bob.start_run("sweep", config={"lr": 1.0}) as bad:
        bad.use("tuned:v0")
        msg = "diverged at step 3"
        raise RuntimeError(msg)
    live = ada.start_run("live", config={"lr": 0.001}, tags=["nightly"])
    live.use(raw)
    import_run(
        ada._s,
        "old-import",
        origin="mlflow:0123abcd",
        config={"lr": 0.3},
        summary={"acc": 0.5},
        created_at=LONG_AGO,
        ended_at=None,
        created_by="zed",
        state="running",
    )


@pytest.fixture
def stores_with_runs(stores: Stores, make_source: MakeClient, tmp_path: Path) -> Stores:
    """:func:`stores`, with runs in the source too (:func:`populate_runs`)."""
    populate_runs(make_source, tmp_path)
    return stores


@pytest.fixture
def copied_runs(stores_with_runs: Stores) -> tuple[rw.Client, rw.Client, rw.CopyReport]:
    src, dst = stores_with_runs
    return src, dst, rw.copy_store(src, dst)


def _graph(version: rw.ArtifactVersion) -> tuple[list[Any], list[Any]]:
    """A version's lineage without ids: nodes by kind, label and depth; edges by label."""
    graph = version.lineage(upstream=5, downstream=5)
    label = {n.key: f"{n.kind} {n.label}" for n in graph.nodes}
    nodes = sorted((n.kind, n.label, n.depth) for n in graph.nodes)
    edges = sorted((label[e.source], label[e.target], e.kind) for e in graph.edges)
    return nodes, edges


def test_runs_and_lineage_are_copied(
    copied_runs: tuple[rw.Client, rw.Client, rw.CopyReport],
) -> None:
    src, dst, report = copied_runs
    assert view(dst) == view(src)
    assert report.copied["runs"] == 5
    assert report.copied["run edges"] == 6  # 4 inputs, 2 outputs
    for name in ("raw:v0", "base:v0", "tuned:v0"):
        assert _graph(dst.artifact(name)) == _graph(src.artifact(name))
    nodes, _ = _graph(dst.artifact("tuned:v0"))
    assert ("version", "raw:v0", -4) in nodes  # all three hops came across
    tuned = dst.artifact("tuned:v0")
    assert tuned.run is not None
    assert (tuned.run.name, tuned.run.created_by) == ("finetune", "bob")
    assert [v.name for v in tuned.run.inputs] == ["base"]
    assert [v.name for v in tuned.run.outputs] == ["tuned"]
    assert dst.artifact("raw:v0").run is None
    assert [r.name for r in dst.artifact("raw:v0").used_by()] == ["prepare", "live"]
    assert dst.use("Models/base:staging").artifact.run == dst.artifact("base:v0").run


def test_copied_runs_keep_their_state_error_and_heartbeat(
    copied_runs: tuple[rw.Client, rw.Client, rw.CopyReport],
) -> None:
    src, dst, _ = copied_runs
    states = {r.name: (r.state, r.error, r.heartbeat_at, r.ended_at) for r in dst.runs()}
    assert states == {r.name: (r.state, r.error, r.heartbeat_at, r.ended_at) for r in src.runs()}
    assert states["finetune"][0] == "finished"
    assert states["sweep"][0] == "failed"
    assert "RuntimeError: diverged at step 3" in str(states["sweep"][1])
    assert states["live"][0] == "running"
    assert states["old-import"][:3] == ("crashed", None, LONG_AGO)
    # The destination's admin (the run's creator there too) may go on writing to it.
    (live,) = dst.runs({"name": "live"})
    live.summary["epoch"] = 1
    assert live.state == "running"


@pytest.mark.parametrize(
    "query",
    [
        {"config.lr": 0.01},
        {"config.lr": {"$lt": 0.5}},
        {"config.seed": {"$exists": True}},
        {"state": "crashed"},
        {"state": {"$in": ["failed", "running"]}},
        {"summary.acc": {"$gte": 0.9}},
        {"tag": "nightly"},
        {"created_by": "zed"},
    ],
)
def test_run_filters_answer_the_same_after_a_copy(
    copied_runs: tuple[rw.Client, rw.Client, rw.CopyReport], query: dict[str, Any]
) -> None:
    src, dst, _ = copied_runs
    expected = [_run_ref(r) for r in src.runs(query)]
    assert expected  # every filter here matches something
    assert [_run_ref(r) for r in dst.runs(query)] == expected
    by_run = {f"run.{k}": v for k, v in query.items()}
    assert [(a.name, a.version) for a in dst.artifacts(by_run)] == [
        (a.name, a.version) for a in src.artifacts(by_run)
    ]


def test_a_second_copy_of_runs_copies_nothing(
    copied_runs: tuple[rw.Client, rw.Client, rw.CopyReport], store_state: StateOf
) -> None:
    src, dst, _ = copied_runs
    before = store_state(dst)
    report = rw.copy_store(src, dst)
    assert report.objects == 0
    assert store_state(dst) == before
    # Importing the imported run again in the destination finds the copy (its origin).
    (old,) = dst.runs({"name": "old-import"})
    again = import_run(
        dst._s,
        "old-import",
        origin="mlflow:0123abcd",
        config={},
        summary={},
        created_at=LONG_AGO,
        ended_at=None,
        created_by="zed",
        state="running",
    )
    assert str(again) == old.id


def test_a_run_that_went_on_in_the_source_is_brought_up_to_date(
    copied_runs: tuple[rw.Client, rw.Client, rw.CopyReport], tmp_path: Path
) -> None:
    src, dst, _ = copied_runs
    (live,) = src.runs({"name": "live"})
    out = live.log_artifact("nightly", type="model", files=_one(tmp_path, b"nightly w"))
    live.summary["acc"] = 0.8
    live.finish()
    report = rw.copy_store(src, dst)
    assert report.copied["runs"] == 1
    assert report.copied["versions"] == 1
    assert report.copied["run edges"] == 1
    assert view(dst) == view(src)
    (copy,) = dst.runs({"name": "live"})
    assert (copy.state, dict(copy.summary)) == ("finished", {"acc": 0.8})
    assert [v.name for v in copy.outputs] == [out.name]
    assert dst.artifact("nightly:v0").run == copy


def test_a_run_that_ended_otherwise_in_the_destination_is_refused(
    copied_runs: tuple[rw.Client, rw.Client, rw.CopyReport], store_state: StateOf
) -> None:
    src, dst, _ = copied_runs
    (dst_live,) = dst.runs({"name": "live"})
    dst_live.finish(error="stopped by hand")
    (live,) = src.runs({"name": "live"})
    live.finish()
    assert_refused(src, dst, store_state, rw.ConflictError, r"'live'.*state, error")


@pytest.mark.parametrize("crash_at", [4, 5])  # after the runs; after the first versions
def test_an_interrupted_copy_of_runs_is_finished_by_running_it_again(
    stores_with_runs: Stores, crash_at: int
) -> None:
    src, dst = stores_with_runs
    with dying_at(dst, crash_at), pytest.raises(RuntimeError, match="died"):
        rw.copy_store(src, dst)
    assert rw.copy_store(src, dst).objects > 0
    assert view(dst) == view(src)
    assert _graph(dst.artifact("tuned:v0")) == _graph(src.artifact("tuned:v0"))
    assert rw.copy_store(src, dst).objects == 0


def test_a_version_with_another_producing_run_is_refused(
    stores_with_runs: Stores, tmp_path: Path, store_state: StateOf
) -> None:
    src, dst = stores_with_runs
    dst.log_artifact("raw", type="dataset", files=_one(tmp_path, b"raw rows"))
    with dst.start_run("elsewhere") as run:  # the same files, produced by another run
        run.log_artifact("base", type="model", files=_one(tmp_path, b"base w"))
    assert_refused(src, dst, store_state, rw.ConflictError, r"base:v0.*producing run")


def _one(tmp_path: Path, data: bytes) -> Path:
    folder = tmp_path / f"one-{data.hex()[:16]}"
    folder.mkdir(exist_ok=True)
    path = folder / "model.bin"
    path.write_bytes(data)
    return path
