"""Runs and lineage (SPEC §9, §10): edges, states, visibility, filters, history.

Every test runs on every store backend through the ``client``/``make_client`` fixtures;
the kill test needs a store file that two processes share.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import registry_widget as rw
from registry_widget.domain import run_query

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dataset(client: rw.Client, files: Callable[..., Path]) -> rw.Link:
    """``Datasets/cats:production``, linked from ``cats:v0``."""
    version = client.log_artifact("cats", type="dataset", files=files("d.csv", "a,b\n1,2\n"))
    return client.link(version, "Datasets/cats", aliases=["production"])


def _model(run: rw.Run, files: Callable[..., Path], name: str, content: str) -> rw.ArtifactVersion:
    return run.log_artifact(name, type="model", files=files("w.bin", content))


@pytest.fixture
def chain(client: rw.Client, dataset: rw.Link, files: Callable[..., Path]) -> dict[str, Any]:
    """dataset → train → model → finetune → tuned: a 3-hop chain of runs and versions."""
    with client.start_run("train", config={"lr": 0.001, "arch": "resnet50"}) as train:
        train.use("Datasets/cats:production")
        model = _model(train, files, "cat-resnet", "base")
        train.link(model, "Models/cat-resnet", aliases=["production"])
    with client.start_run("finetune", config={"lr": 0.0001, "arch": "resnet50"}) as tune:
        tune.use(model.ref)
        tuned = _model(tune, files, "cat-resnet-tuned", "tuned")
    return {
        "dataset": dataset.artifact,
        "train": train,
        "model": model,
        "tune": tune,
        "tuned": tuned,
    }


def _keys(nodes: list[rw.LineageNode], kind: str | None = None) -> set[str]:
    return {n.label for n in nodes if kind is None or n.kind == kind}


# -- edges ----------------------------------------------------------------------------------


def test_a_run_records_its_inputs_outputs_and_producing_run(
    client: rw.Client, dataset: rw.Link, files: Callable[..., Path]
) -> None:
    with client.start_run("train", config={"lr": 0.001}, tags=["baseline"]) as run:
        used = run.use("Datasets/cats:production")
        assert isinstance(used, rw.Link)
        assert used == dataset
        by_ref = run.use("cats:v0")
        assert isinstance(by_ref, rw.ArtifactVersion)
        model = _model(run, files, "cat-resnet", "w")
        link = run.link(model, "Models/cat-resnet", aliases=["staging"])
        assert run.state == "running"
        assert run.ended_at is None
    assert run.state == "finished"
    assert run.ended_at is not None
    assert run.duration >= timedelta(0)
    assert (run.name, run.config, run.tags, run.created_by) == (
        "train",
        {"lr": 0.001},
        ["baseline"],
        "ada",
    )
    assert run.inputs == [dataset.artifact]
    assert run.outputs == [model]
    assert model.run == run
    assert dataset.artifact.run is None
    assert dataset.artifact.used_by() == [run]
    assert model.used_by() == []
    assert link.aliases == ["latest", "staging"]
    assert client.run(run.id) == run
    assert client.run(int(run.id)) == run
    assert "train" in repr(run)
    assert "finished" in repr(run)


def test_using_a_version_twice_records_one_input(client: rw.Client, dataset: rw.Link) -> None:
    with client.start_run("r") as run:
        run.use("Datasets/cats:production")
        run.use("Datasets/cats:v0")
        run.use("cats:v0")
        run.use(dataset)
        run.use(dataset.artifact)
    assert run.inputs == [dataset.artifact]
    assert [e.action for e in run.history()].count("run.input") == 1
    assert dataset.artifact.used_by() == [run]


def test_logging_identical_files_twice_records_one_output(
    client: rw.Client, files: Callable[..., Path]
) -> None:
    path = files("w.bin", "same")
    with client.start_run("r") as run:
        a = run.log_artifact("m", type="model", files=path)
        b = run.log_artifact("m", type="model", files=path)
    assert a == b
    assert run.outputs == [a]
    with client.start_run("r2") as second:
        c = second.log_artifact("m", type="model", files=path)
    assert c == a
    assert second.outputs == [a]
    assert a.run == run  # the version's producing run is the first that logged it


def test_a_version_logged_outside_runs_has_no_run(client: rw.Client, log: Any) -> None:
    version = log("plain")
    assert version.run is None
    assert version.used_by() == []
    graph = version.lineage()
    assert [n.key for n in graph.nodes] == [graph.root]
    assert graph.edges == []


# -- states -----------------------------------------------------------------------------------


def test_an_exception_fails_the_run_with_its_text_and_propagates(client: rw.Client) -> None:
    run = client.start_run("diverged")
    with pytest.raises(ValueError, match="learning rate too high"), run:
        raise ValueError("learning rate too high")
    assert run.state == "failed"
    assert run.error == "ValueError: learning rate too high"
    assert run.ended_at is not None
    assert client.runs({"state": "failed"}) == [run]


def test_finish_ends_the_run_and_later_writes_are_refused(
    client: rw.Client, dataset: rw.Link, files: Callable[..., Path], store_state: Any
) -> None:
    run = client.start_run("r")
    run.finish()
    assert run.state == "finished"
    before = store_state(client)
    with pytest.raises(rw.ConflictError, match="has ended"):
        run.use("Datasets/cats:production")
    with pytest.raises(rw.ConflictError, match="has ended"):
        run.log_artifact("m", type="model", files=files("w.bin", "x"))
    with pytest.raises(rw.ConflictError, match="has ended"):
        run.summary["acc"] = 1
    with pytest.raises(rw.ConflictError, match="has ended"):
        run.finish()
    assert store_state(client) == before
    run2 = client.start_run("r2")
    run2.finish(error="stopped by hand")
    assert (run2.state, run2.error) == ("failed", "stopped by hand")


def test_a_running_run_with_an_old_heartbeat_reads_as_crashed(
    client: rw.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = client.start_run("r", config={"lr": 0.1})
    done = client.start_run("done")
    done.finish()
    assert run.state == "running"
    assert client.runs({"state": "running"}) == [run]
    assert client.runs({"state": "crashed"}) == []
    # Time passes beyond the threshold: the heartbeat is now old.
    monkeypatch.setattr(run_query, "HEARTBEAT_TIMEOUT", timedelta(seconds=0.2))
    time.sleep(0.3)
    assert run.state == "crashed"
    assert done.state == "finished"  # an ended run never crashes
    assert client.runs({"state": "crashed"}) == [run]
    assert client.runs({"state": "running"}) == []
    assert client.runs({"state": {"$in": ["crashed", "finished"]}}) == [done, run]
    assert client.runs({"state": {"$ne": "crashed"}}) == [done]
    assert client.runs({"config.lr": 0.1, "state": "crashed"}) == [run]
    # A write through it is a sign of life: it runs again.
    run.heartbeat()
    assert run.state == "running"
    assert client.runs({"state": "running"}) == [run]


def test_a_run_killed_mid_way_becomes_crashed_with_exactly_its_committed_edges(
    tmp_path: Path, files: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "registry.json"
    admin = rw.Client(store, user="ada")
    admin.link(
        admin.log_artifact("cats", type="dataset", files=files("d.csv", "cats")),
        "Datasets/cats",
        aliases=["production"],
    )
    admin.log_artifact("dogs", type="dataset", files=files("d.csv", "dogs"))
    weights = files("w.bin", "weights")
    more = files("w2.bin", "more weights")
    child = textwrap.dedent(
        f"""
        import sys, time
        import registry_widget as rw
        client = rw.Client({str(store)!r}, user="ada")
        run = client.start_run("train", config={{"lr": 0.01}})
        run.use("Datasets/cats:production")
        run.log_artifact("cat-model", type="model", files={str(weights)!r})
        run.summary["epoch"] = 3
        print("committed", run.id, flush=True)
        with client.batch():
            run.use("dogs:v0")
            run.log_artifact("dog-model", type="model", files={str(more)!r})
            print("inside", flush=True)
            time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    committed = proc.stdout.readline().split()
    assert committed[0] == b"committed"
    assert proc.stdout.readline() == b"inside\n"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()

    reader = rw.Client(store, user="ada")
    run = reader.run(committed[1].decode())
    assert run.state == "running"  # its heartbeat is still fresh
    monkeypatch.setattr(run_query, "HEARTBEAT_TIMEOUT", timedelta(0))
    assert run.state == "crashed"
    assert run.ended_at is None
    assert [v.ref for v in run.inputs] == ["cats:v0"]
    assert [v.ref for v in run.outputs] == ["cat-model:v0"]
    assert dict(run.summary) == {"epoch": 3}
    # The batch under way when it was killed left nothing behind.
    assert reader.artifact("dogs:v0").used_by() == []
    with pytest.raises(rw.NotFoundError):
        reader.artifact("dog-model:v0")
    assert [e.action for e in run.history()] == ["run.output", "run.input", "run.start"]
    assert reader.runs({"state": "crashed"}) == [run]


# -- summary and config -------------------------------------------------------------------------


def test_summary_is_stored_and_read_like_a_dict(client: rw.Client, make_client: Any) -> None:
    run = client.start_run("r")
    run.summary["acc"] = 0.94
    run.summary.update({"loss": 0.1, "curve": [1, 2, 3]}, best={"epoch": 4})
    del run.summary["loss"]
    other = make_client("ada").run(run.id)
    assert dict(other.summary) == {"acc": 0.94, "curve": [1, 2, 3], "best": {"epoch": 4}}
    assert other.summary["best"] == {"epoch": 4}
    assert len(other.summary) == 3
    with pytest.raises(KeyError):
        del run.summary["missing"]
    assert client.runs({"summary.best.epoch": {"$gte": 4}}) == [run]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("nan", math.nan),
        ("inf", math.inf),
        ("huge", 2**70),
        ("obj", object()),
        ("deep", json.loads("[" * 30 + "]" * 30)),
    ],
)
def test_summary_values_follow_the_metadata_rules(
    client: rw.Client, store_state: Any, key: str, value: Any
) -> None:
    run = client.start_run("r")
    run.summary["ok"] = 1
    before = store_state(client)
    with pytest.raises(rw.ValidationError):
        run.summary[key] = value
    assert store_state(client) == before
    assert dict(run.summary) == {"ok": 1}


def test_summary_refuses_more_than_100_keys(client: rw.Client, store_state: Any) -> None:
    run = client.start_run("r")
    run.summary.update({f"k{i}": i for i in range(100)})
    before = store_state(client)
    with pytest.raises(rw.ValidationError, match="100"):
        run.summary["one_more"] = 1
    assert store_state(client) == before


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": ""},
        {"name": "a\x00b"},
        {"name": "x" * 129},
        {"name": 3},
        {"name": "r", "config": {"lr": math.nan}},
        {"name": "r", "config": "lr=1"},
        {"name": "r", "tags": ["not/a tag"]},
    ],
)
def test_start_run_refuses_bad_input_and_changes_nothing(
    client: rw.Client, store_state: Any, kwargs: dict[str, Any]
) -> None:
    before = store_state(client)
    kwargs = dict(kwargs)
    name = kwargs.pop("name")
    with pytest.raises(rw.ValidationError):
        client.start_run(name, **kwargs)
    assert store_state(client) == before


def test_config_is_fixed_at_start(client: rw.Client) -> None:
    run = client.start_run("r", config={"lr": 0.1, "layers": [64, 64]})
    run.config["lr"] = 99
    run.config["layers"].append(1)
    assert run.config == {"lr": 0.1, "layers": [64, 64]}
    assert not hasattr(type(run), "update_config")


# -- who may write -----------------------------------------------------------------------------


def test_only_members_start_runs_and_only_the_creator_writes_to_one(
    client: rw.Client, make_client: Any, dataset: rw.Link, store_state: Any
) -> None:
    client.add_user("vic", "viewer")
    client.add_user("bob", "member")
    before = store_state(client)
    with pytest.raises(rw.PermissionDeniedError, match="'member'"):
        make_client("vic").start_run("r")
    assert store_state(client) == before
    run = client.start_run("r")
    bobs = make_client("bob").run(run.id)
    assert bobs.name == "r"  # every organisation user reads it
    before = store_state(client)
    with pytest.raises(rw.PermissionDeniedError, match="only its creator 'ada'"):
        bobs.use("Datasets/cats:production")
    with pytest.raises(rw.PermissionDeniedError):
        bobs.summary["acc"] = 1
    with pytest.raises(rw.PermissionDeniedError):
        bobs.finish()
    assert store_state(client) == before


def test_unknown_run_ids_are_refused(client: rw.Client) -> None:
    with pytest.raises(rw.NotFoundError):
        client.run("999")
    for bad in ("", "abc", "-1", "1.5", None, True):
        with pytest.raises(rw.ValidationError):
            client.run(bad)  # type: ignore[arg-type]


# -- filters --------------------------------------------------------------------------------------


def test_runs_are_listed_newest_first_and_filtered_on_their_fields(
    client: rw.Client, make_client: Any
) -> None:
    client.add_user("bob", "member")
    a = client.start_run("sweep", config={"lr": 0.1, "opt": {"name": "adam"}}, tags=["grid"])
    a.summary["acc"] = 0.8
    a.finish()
    b = make_client("bob").start_run("sweep", config={"lr": 0.001, "opt": {"name": "sgd"}})
    b.summary["acc"] = 0.9
    b.finish(error="oom")
    c = client.start_run("eval")
    assert client.runs() == [c, b, a]
    assert client.runs(limit=1, offset=1) == [b]
    assert client.runs({"name": "sweep"}) == [b, a]
    assert client.runs({"config.lr": {"$lt": 0.01}}) == [b]
    assert client.runs({"config.opt.name": "adam"}) == [a]
    assert client.runs({"summary.acc": {"$gt": 0.85}}) == [b]
    assert client.runs({"state": "failed"}) == [b]
    assert client.runs({"created_by": "BOB"}) == [b]
    assert client.runs({"tag": "grid"}) == [a]
    assert client.runs({"$or": [{"state": "running"}, {"summary.acc": 0.8}]}) == [c, a]
    with pytest.raises(rw.ValidationError, match=r"config\.<dotted\.path>"):
        client.runs({"metadata.x": 1})


def test_versions_are_filtered_by_their_producing_run(
    client: rw.Client, chain: dict[str, Any], log: Any
) -> None:
    plain = log("cat-resnet")
    client.link(plain, "Models/cat-resnet")
    model, tuned = chain["model"], chain["tuned"]
    assert client.artifacts({"run.config.lr": {"$lt": 0.0005}}) == [tuned]
    assert client.artifacts({"run.config.arch": "resnet50"}) == [tuned, model]
    assert client.artifacts({"run.name": "train"}) == [model]
    assert client.artifacts({"run.state": "finished", "type": "model"}) == [tuned, model]
    assert plain in client.artifacts({"run.config.lr": {"$exists": False}})
    assert model not in client.artifacts({"run.config.lr": {"$exists": False}})
    assert [lk.artifact for lk in client.versions({"run.config.lr": 0.001})] == [model]
    registry = client.registry("Models")
    assert [lk.artifact for lk in registry.versions({"run.created_by": "ADA"})] == [model]
    coll = registry.collection("cat-resnet")
    assert [lk.artifact for lk in coll.versions({"run.config.lr": {"$gte": 0}})] == [model]
    assert [lk.artifact for lk in coll.versions({"run.config.lr": {"$ne": 0.001}})] == [plain]
    assert client.artifacts({"run.summary.acc": 1}) == []


# -- lineage --------------------------------------------------------------------------------------


def test_lineage_of_a_three_hop_chain_follows_the_depth_limits(chain: dict[str, Any]) -> None:
    tuned, dataset = chain["tuned"], chain["dataset"]
    full = tuned.lineage(upstream=4, downstream=0)
    assert _keys(full.nodes, "version") == {"cat-resnet-tuned:v0", "cat-resnet:v0", "cats:v0"}
    assert _keys(full.nodes, "run") == {"train", "finetune"}
    assert _keys(full.nodes, "link") == {"Models/cat-resnet:v0", "Datasets/cats:v0"}
    depth = {n.label: n.depth for n in full.nodes}
    assert depth == {
        "cat-resnet-tuned:v0": 0,
        "finetune": -1,
        "cat-resnet:v0": -2,
        "train": -3,
        "cats:v0": -4,
        "Models/cat-resnet:v0": -2,
        "Datasets/cats:v0": -4,
    }
    label = {n.key: n.label for n in full.nodes}
    edges = {(label[e.source], label[e.target], e.kind) for e in full.edges}
    assert edges == {
        ("finetune", "cat-resnet-tuned:v0", "output"),
        ("cat-resnet:v0", "finetune", "input"),
        ("train", "cat-resnet:v0", "output"),
        ("cats:v0", "train", "input"),
        ("cat-resnet:v0", "Models/cat-resnet:v0", "link"),
        ("cats:v0", "Datasets/cats:v0", "link"),
    }
    assert full.node(full.root).ref == tuned
    assert {type(n.ref) for n in full.nodes} == {rw.ArtifactVersion, rw.Run, rw.Link}

    assert _keys(tuned.lineage(upstream=1, downstream=0).nodes) == {
        "cat-resnet-tuned:v0",
        "finetune",
    }
    assert _keys(tuned.lineage().nodes, "version") == {"cat-resnet-tuned:v0", "cat-resnet:v0"}
    assert _keys(tuned.lineage(upstream=3).nodes, "run") == {"finetune", "train"}
    assert "cats:v0" not in _keys(tuned.lineage(upstream=3).nodes)

    down = dataset.lineage(upstream=0, downstream=4)
    assert _keys(down.nodes, "version") == {"cats:v0", "cat-resnet:v0", "cat-resnet-tuned:v0"}
    assert {n.label: n.depth for n in down.nodes if n.kind != "link"} == {
        "cats:v0": 0,
        "train": 1,
        "cat-resnet:v0": 2,
        "finetune": 3,
        "cat-resnet-tuned:v0": 4,
    }
    assert _keys(dataset.lineage(upstream=5, downstream=1).nodes, "version") == {"cats:v0"}
    middle = chain["model"].lineage(upstream=1, downstream=1)
    assert _keys(middle.nodes, "run") == {"train", "finetune"}
    assert _keys(middle.nodes, "version") == {"cat-resnet:v0"}


@pytest.mark.parametrize("bad", [-1, 51, 1.5, "2", True, None])
def test_lineage_refuses_bad_depths(chain: dict[str, Any], bad: Any) -> None:
    with pytest.raises(rw.ValidationError, match="steps"):
        chain["tuned"].lineage(upstream=bad)
    with pytest.raises(rw.ValidationError, match="steps"):
        chain["tuned"].lineage(downstream=bad)


# -- visibility ------------------------------------------------------------------------------------

ROLES = {
    # user: (organisation role, role in the restricted registry Team or None)
    "ada": ("admin", None),
    "rv": ("member", "restricted_viewer"),
    "tv": ("member", "viewer"),
    "tm": ("member", "member"),
    "out": ("member", None),
    "ov": ("viewer", None),
}
SEES_TEAM = {"ada", "rv", "tv", "tm"}


@pytest.fixture
def team(
    client: rw.Client, make_client: Any, dataset: rw.Link, files: Callable[..., Path]
) -> dict[str, Any]:
    """A run that used a public dataset and a secret one, and produced a public model
    and a secret one (linked only into the restricted registry Team); a second run that
    used only the secret model and produced only a secret version."""
    for name, (org_role, _) in ROLES.items():
        if name != "ada":
            client.add_user(name, org_role)
    reg = client.create_registry("Team", visibility="restricted")
    for name, (_, role) in ROLES.items():
        if role is not None:
            reg.add_member(name, role)
    secret_data = client.log_artifact("secret-data", type="dataset", files=files("s", "s"))
    client.link(secret_data, "Team/data")
    with client.start_run("mixed", config={"lr": 0.1}) as mixed:
        mixed.use("Datasets/cats:production")
        mixed.use("Team/data:latest")
        public = mixed.log_artifact("public-model", type="model", files=files("p", "p"))
        mixed.link(public, "Models/public")
        secret = mixed.log_artifact("secret-model", type="model", files=files("q", "q"))
        mixed.link(secret, "Team/models")
    with client.start_run("hidden-only", config={"lr": 0.5}) as hidden:
        hidden.use(secret)
        out = hidden.log_artifact("secret-tuned", type="model", files=files("r", "r"))
        hidden.link(out, "Team/models")
    return {"mixed": mixed, "hidden": hidden}


def test_lineage_shows_only_the_links_into_registries_the_user_sees(
    client: rw.Client, make_client: Any, files: Callable[..., Path]
) -> None:
    client.add_user("bob", "member")
    client.add_user("cy", "member")
    client.create_registry("Team", visibility="restricted").add_member("bob", "viewer")
    with client.start_run("train") as run:
        model = _model(run, files, "cat-resnet", "w")
    client.link(model, "Team/models")
    client.link(model, "Models/cat-resnet")
    client.link(model, "Team/best")
    for user, links in [
        ("bob", ["Team/models:v0", "Models/cat-resnet:v0", "Team/best:v0"]),
        ("cy", ["Models/cat-resnet:v0"]),
    ]:
        graph = make_client(user).artifact("cat-resnet:v0").lineage(upstream=1)
        assert [n.label for n in graph.nodes if n.kind == "link"] == links  # in link order
        assert _keys(graph.nodes, "run") == {"train"}


@pytest.mark.parametrize("user", sorted(ROLES))
def test_each_role_sees_exactly_the_nodes_and_edges_it_may(
    team: dict[str, Any], make_client: Any, user: str
) -> None:
    me = make_client(user)
    sees = user in SEES_TEAM
    mixed = me.run(team["mixed"].id)
    hidden = me.run(team["hidden"].id)
    # Runs: every organisation user sees them, with their name and config.
    assert {r.name for r in me.runs()} == {"mixed", "hidden-only"}
    assert (hidden.name, hidden.config, hidden.state) == ("hidden-only", {"lr": 0.5}, "finished")
    assert me.runs({"config.lr": 0.5}) == [hidden]
    # Edges: only to versions the user may see.
    expect_in = {"cats:v0", "secret-data:v0"} if sees else {"cats:v0"}
    expect_out = {"public-model:v0", "secret-model:v0"} if sees else {"public-model:v0"}
    assert {v.ref for v in mixed.inputs} == expect_in
    assert {v.ref for v in mixed.outputs} == expect_out
    assert {v.ref for v in hidden.inputs} == ({"secret-model:v0"} if sees else set())
    assert {v.ref for v in hidden.outputs} == ({"secret-tuned:v0"} if sees else set())
    assert me.artifact("cats:v0").used_by() == [mixed]
    # Versions: a hidden one is not found, whatever path leads to it.
    if sees:
        assert me.artifact("secret-model:v0").run == mixed
        assert me.artifact("secret-model:v0").used_by() == [hidden]
    else:
        with pytest.raises(rw.NotFoundError):
            me.artifact("secret-model:v0")
    # Lineage: hidden versions and their links are absent, and not followed.
    graph = me.artifact("cats:v0").lineage(upstream=2, downstream=4)
    labels = _keys(graph.nodes)
    secret_labels = {
        "secret-model:v0",
        "secret-tuned:v0",
        "hidden-only",
        "Team/models:v0",
        "Team/models:v1",
    }
    if sees:
        assert secret_labels <= labels
    else:
        assert labels == {
            "cats:v0",
            "Datasets/cats:v0",
            "mixed",
            "public-model:v0",
            "Models/public:v0",
        }
        assert not any("secret" in repr(e) or "Team" in repr(e) for e in graph.edges)
        keys = {n.key for n in graph.nodes}
        assert all(e.source in keys and e.target in keys for e in graph.edges)
    upstream = me.artifact("public-model:v0").lineage(upstream=2, downstream=0)
    assert ({"secret-data:v0", "Team/data:v0"} <= _keys(upstream.nodes)) is sees
    assert _keys(upstream.nodes, "run") == {"mixed"}
    assert len(upstream.edges) == (6 if sees else 4)
    # History: edges to hidden versions are left out of the run's history.
    shown = " ".join(str(e.after) for e in mixed.history())
    assert ("secret" in shown) is sees
    assert len(hidden.history()) == (4 if sees else 2)  # start, in, out, end
    # Filters: versions by their run never reveal a hidden one.
    found = {v.ref for v in me.artifacts({"run.config.lr": {"$gte": 0}})}
    all_out = {"public-model:v0", "secret-model:v0", "secret-tuned:v0"}
    assert found == (all_out if sees else {"public-model:v0"})
    found_links = {lk.artifact.ref for lk in me.versions({"run.name": "mixed"})}
    assert found_links == ({"public-model:v0", "secret-model:v0"} if sees else {"public-model:v0"})


def test_using_needs_the_viewer_role_and_a_refusal_changes_nothing(
    team: dict[str, Any], make_client: Any, store_state: Any
) -> None:
    rv = make_client("rv")
    run = rv.start_run("peek")
    before = store_state(rv)
    with pytest.raises(rw.PermissionDeniedError, match="restricted_viewer"):
        run.use("Team/data:latest")
    assert store_state(rv) == before
    out = make_client("out").start_run("guess")
    before = store_state(rv)
    with pytest.raises(rw.NotFoundError):
        out.use("Team/data:latest")
    with pytest.raises(rw.NotFoundError):
        out.use("secret-data:v0")
    assert store_state(rv) == before


# -- history and old stores --------------------------------------------------------------------


def test_run_start_edges_and_end_are_recorded_in_history(
    client: rw.Client, dataset: rw.Link, files: Callable[..., Path]
) -> None:
    with client.start_run("r", config={"lr": 1}) as run:
        run.use("Datasets/cats:production")
        model = _model(run, files, "m", "w")
    entries = run.history()
    assert [(e.action, e.user, e.target) for e in entries] == [
        ("run.end", "ada", f"r (run {run.id})"),
        ("run.output", "ada", f"r (run {run.id})"),
        ("run.input", "ada", f"r (run {run.id})"),
        ("run.start", "ada", f"r (run {run.id})"),
    ]
    assert entries[0].after == {"state": "finished", "error": None}
    assert entries[1].after == "m:v0"
    assert entries[2].after == "cats:v0"
    assert entries[3].after == {"config": {"lr": 1}}
    assert "run.output" in [e.action for e in model.history()]
    assert "run.input" in [e.action for e in dataset.artifact.history()]
    assert run.history(limit=1, offset=1)[0].action == "run.output"


def test_a_store_without_runs_opens_with_none(client: rw.Client, log: Any) -> None:
    version = log("m")
    assert client.runs() == []
    assert version.run is None
    assert version.used_by() == []
    assert client.artifacts({"run.config.lr": 1}) == []
    with pytest.raises(rw.NotFoundError):
        client.run("1")
    run = client.start_run("first")
    assert run.id == "1"
