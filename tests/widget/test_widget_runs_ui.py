"""What the runs pages, the lineage graph and compare show: filters, sorting, states, trimming.

The handlers are called as the frontend calls them, on every store backend.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import registry_widget as rw
from registry_widget.domain import run_query as run_states
from registry_widget.widget.app import HANDLERS
from registry_widget.widget.protocol import dispatch
from registry_widget.widget.runs import run_query

MakeClient = Callable[[str], rw.Client]


def call(client: rw.Client, method: str, **params: Any) -> dict[str, Any]:
    reply = dispatch(
        HANDLERS, client, {"kind": "request", "id": "r", "method": method, "params": params}
    )
    json.dumps(reply, allow_nan=False)
    return reply


def ok(client: rw.Client, method: str, **params: Any) -> Any:
    reply = call(client, method, **params)
    assert reply["ok"], reply
    return reply["result"]


@pytest.fixture
def chain(
    client: rw.Client, log: Callable[..., rw.ArtifactVersion], files: Callable[..., Path]
) -> dict[str, Any]:
    """dataset → train → model → finetune → tuned, and a secret dataset in a restricted registry.

    ``train`` also uses ``secret``, linked only into the restricted registry Team; bob, an
    organisation member outside Team, may not see it.
    """
    client.add_user("bob", "member")
    team = client.create_registry("Team", visibility="restricted")
    data = client.link(log("cats", type="dataset"), "Datasets/cats", aliases=["production"])
    secret = client.link(log("secret-data", type="dataset"), "Team/secret").artifact
    with client.start_run("train", config={"lr": 0.01, "opt": {"name": "adamw"}}) as train:
        train.use("Datasets/cats:production")
        train.use("Team/secret:v0")
        model = train.log_artifact("resnet", type="model", files=files("w.bin", "resnet"))
        train.summary["acc"] = 0.91
        train.link(model, "Models/resnet", aliases=["staging"])
    with client.start_run("finetune", config={"lr": 0.001}) as tune:
        tune.use("Models/resnet:staging")
        tuned = tune.log_artifact("resnet-tuned", type="model", files=files("w.bin", "tuned"))
        tune.summary["acc"] = 0.95
        tune.link(tuned, "Models/resnet")
    return {
        "team": team,
        "data": data,
        "train": train,
        "tune": tune,
        "model": model,
        "secret": secret,
        "tuned": tuned,
    }


def _labels(graph: dict[str, Any], kind: str) -> set[str]:
    return {n["label"] for n in graph["nodes"] if n["kind"] == kind}


def test_lineage_graph_of_a_three_hop_chain(chain: dict[str, Any], client: rw.Client) -> None:
    graph = ok(client, "lineage.graph", path="Models/resnet:v0", upstream=2, downstream=2)
    assert _labels(graph, "version") == {
        "cats:v0",
        "resnet:v0",
        "secret-data:v0",
        "resnet-tuned:v0",
    }
    assert _labels(graph, "run") == {"train", "finetune"}
    assert _labels(graph, "link") == {
        "Datasets/cats:v0",
        "Models/resnet:v0",
        "Team/secret:v0",
        "Models/resnet:v1",
    }
    nodes = {n["key"]: n for n in graph["nodes"]}
    root = nodes[graph["root"]]
    assert root["label"] == "resnet:v0"
    assert root["current"]
    assert root["path"] == "Models/resnet:v0"
    assert root["depth"] == 0
    # Every node names its page: versions where they are linked, runs their run page.
    by_label = {n["label"]: n for n in graph["nodes"]}
    assert by_label["cats:v0"]["path"] == "Datasets/cats:v0"
    assert by_label["cats:v0"]["sub"] == "dataset"
    assert by_label["cats:v0"]["depth"] == -2
    assert by_label["train"]["target"] == chain["train"].id
    assert by_label["train"]["path"] is None
    assert by_label["train"]["sub"] == "finished"
    assert by_label["Models/resnet:v0"]["sub"] == "staging"
    assert by_label["Models/resnet:v0"]["current"]
    assert not by_label["Models/resnet:v1"]["current"]
    edges = {
        (nodes[e["source"]]["label"], nodes[e["target"]]["label"], e["kind"])
        for e in graph["edges"]
    }
    assert ("cats:v0", "train", "input") in edges
    assert ("train", "resnet:v0", "output") in edges
    assert ("resnet:v0", "finetune", "input") in edges
    assert ("finetune", "resnet-tuned:v0", "output") in edges
    assert ("resnet:v0", "Models/resnet:v0", "link") in edges
    assert graph["more_upstream"] is False
    assert graph["more_downstream"] is False


def test_lineage_graph_leaves_out_what_the_user_may_not_see(
    chain: dict[str, Any], make_client: MakeClient
) -> None:
    bob = make_client("bob")
    graph = ok(bob, "lineage.graph", path="Models/resnet:v0")
    text = json.dumps(graph)
    assert "secret" not in text
    assert "Team" not in text
    assert _labels(graph, "run") == {"train", "finetune"}
    assert _labels(graph, "version") == {"cats:v0", "resnet:v0", "resnet-tuned:v0"}
    keys = {n["key"] for n in graph["nodes"]}
    assert all(e["source"] in keys and e["target"] in keys for e in graph["edges"])
    # The run's page does not show the hidden output either.
    run = ok(bob, "run.get", id=chain["train"].id)
    assert [i["ref"] for i in run["inputs"]] == ["cats:v0"]
    assert "secret" not in json.dumps(run)


def test_lineage_graph_is_trimmed_to_the_steps_asked_and_says_more_lies_beyond(
    chain: dict[str, Any], client: rw.Client
) -> None:
    graph = ok(client, "lineage.graph", path="Models/resnet:v1", upstream=2, downstream=2)
    assert _labels(graph, "run") == {"finetune"}
    assert _labels(graph, "version") == {"resnet-tuned:v0", "resnet:v0"}  # train is 3 up
    assert graph["more_upstream"] is True
    assert graph["more_downstream"] is False
    keys = {n["key"] for n in graph["nodes"]}
    assert all(e["source"] in keys and e["target"] in keys for e in graph["edges"])
    wider = ok(client, "lineage.graph", path="Models/resnet:v1", upstream=4, downstream=0)
    assert "cats:v0" in _labels(wider, "version")
    assert _labels(wider, "run") == {"finetune", "train"}
    assert wider["more_upstream"] is False
    refused = call(client, "lineage.graph", path="Models/resnet:v1", upstream=99)
    assert not refused["ok"]
    assert refused["error"]["field"] == "upstream"


def test_a_version_logged_outside_runs_has_a_graph_of_itself_and_its_links(
    client: rw.Client, log: Callable[..., rw.ArtifactVersion]
) -> None:
    client.link(log("plain"), "Models/plain")
    graph = ok(client, "lineage.graph", path="Models/plain:v0")
    version, link = graph["nodes"]
    assert (version["kind"], link["kind"]) == ("version", "link")
    assert link["path"] == version["path"] == "Models/plain:v0"
    assert graph["edges"] == [{"source": version["key"], "target": link["key"], "kind": "link"}]


def test_run_page_shows_state_config_summary_who_how_long_inputs_and_outputs(
    chain: dict[str, Any], client: rw.Client
) -> None:
    run = ok(client, "run.get", id=chain["train"].id)
    assert run["name"] == "train"
    assert run["state"] == "finished"
    assert run["created_by"] == "ada"
    assert run["ended_at"] is not None
    assert run["duration_s"] >= 0
    assert run["config"] == {"lr": 0.01, "opt.name": "adamw"}
    assert run["summary"] == {"acc": 0.91}
    assert run["error"] is None
    assert run["inputs"] == [
        {
            "ref": "cats:v0",
            "type": "dataset",
            "paths": ["Datasets/cats:v0"],
        },
        {
            "ref": "secret-data:v0",
            "type": "dataset",
            "paths": ["Team/secret:v0"],
        },
    ]
    assert [(o["ref"], o["paths"]) for o in run["outputs"]] == [("resnet:v0", ["Models/resnet:v0"])]
    missing = call(client, "run.get", id="999")
    assert not missing["ok"]
    assert missing["error"]["type"] == "NotFoundError"
    bad = call(client, "run.get", id="seven")
    assert not bad["ok"]
    assert bad["error"]["type"] == "ValidationError"


def test_run_page_of_a_failed_and_of_a_crashed_run(
    client: rw.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(RuntimeError), client.start_run("boom") as failed:
        raise RuntimeError("out of memory on batch 12")
    page = ok(client, "run.get", id=failed.id)
    assert page["state"] == "failed"
    assert "out of memory on batch 12" in page["error"]
    stuck = client.start_run("stuck")
    monkeypatch.setattr(run_states, "HEARTBEAT_TIMEOUT", timedelta(0))
    page = ok(client, "run.get", id=stuck.id)
    assert page["state"] == "crashed"
    assert page["ended_at"] is None
    assert page["heartbeat_at"] == stuck.heartbeat_at


@pytest.fixture
def many_runs(client: rw.Client) -> list[rw.Run]:
    runs = []
    for i in range(30):
        run = client.start_run(
            "sweep" if i % 2 else "baseline",
            config={"lr": round(0.001 * (i + 1), 4), "arch": "resnet" if i % 3 else "vit"},
            tags=["night"] if i % 5 == 0 else [],
        )
        if i % 7 == 6:
            run.finish(error="diverged")
        else:
            if i != 29:
                run.summary["acc"] = round(0.5 + i / 100, 2)
            run.finish()
        runs.append(run)
    return runs


def test_runs_page_lists_newest_first_with_config_and_summary_columns(
    many_runs: list[rw.Run], client: rw.Client
) -> None:
    page = ok(client, "runs.list", limit=10)
    assert page["total"] == page["all"] == 30
    assert [r["id"] for r in page["items"]] == [r.id for r in many_runs[::-1][:10]]
    assert set(page["config_columns"]) == {"lr", "arch"}
    assert page["summary_columns"] == ["acc"]
    assert page["items"][0]["state"] == "finished"
    second = ok(client, "runs.list", limit=10, offset=10)
    assert [r["id"] for r in second["items"]] == [r.id for r in many_runs[::-1][10:20]]


def test_runs_page_sorts_by_config_summary_and_run_fields(
    many_runs: list[rw.Run], client: rw.Client
) -> None:
    page = ok(client, "runs.list", sort="summary.acc", order="desc", limit=100)
    accs = [r["summary"].get("acc") for r in page["items"]]
    present = [a for a in accs if a is not None]
    assert present == sorted(present, reverse=True)
    assert accs[-1] is None  # a run without the value comes last, either way
    assert page["summary_columns"][0] == "acc"
    up = ok(client, "runs.list", sort="config.lr", order="asc", limit=3)
    assert [r["config"]["lr"] for r in up["items"]] == [0.001, 0.002, 0.003]
    assert up["config_columns"][0] == "lr"
    by_name = ok(client, "runs.list", sort="name", order="asc", limit=100)
    assert [r["name"] for r in by_name["items"]] == ["baseline"] * 15 + ["sweep"] * 15
    refused = call(client, "runs.list", sort="colour")
    assert not refused["ok"]
    assert refused["error"]["field"] == "sort"


def test_runs_page_filters_with_the_short_grammar_and_json(
    many_runs: list[rw.Run], client: rw.Client
) -> None:
    def names(query: str) -> list[str]:
        page = ok(client, "runs.list", query=query, limit=100)
        assert page["all"] == 30
        return [r["id"] for r in page["items"]]

    failed = [r.id for r in many_runs if r.state == "failed"][::-1]
    assert names("state:failed") == failed
    assert names("config.lr<0.0035") == [r.id for r in many_runs[:3]][::-1]
    assert names("lr<0.0035") == names("config.lr<0.0035")  # a bare key: config or summary
    assert (
        names("summary.acc>=0.78")
        == [r.id for r in many_runs if r.summary.get("acc", 0) >= 0.78][::-1]
    )
    assert (
        names("config.arch=vit sweep")
        == [r.id for r in many_runs if r.config["arch"] == "vit" and r.name == "sweep"][::-1]
    )
    assert names("tag:night") == [r.id for r in many_runs if "night" in r.tags][::-1]
    assert names("by:ada") == [r.id for r in many_runs][::-1]
    assert names("by:bob") == []
    assert names('{"state": {"$in": ["failed"]}}') == failed
    bad = call(client, "runs.list", query="{oops")
    assert not bad["ok"]
    assert bad["error"]["field"] == "query"


def test_the_run_filter_grammar_is_the_versions_filter_grammar() -> None:
    assert run_query("") is None
    assert run_query("state:failed by:ada") == {
        "$and": [{"state": "failed"}, {"created_by": "ada"}]
    }
    assert run_query("config.lr<0.01") == {"config.lr": {"$lt": 0.01}}
    assert run_query("acc>0.9") == {
        "$or": [{"config.acc": {"$gt": 0.9}}, {"summary.acc": {"$gt": 0.9}}]
    }
    assert run_query("train") == {"$or": [{"name": {"$regex": "(?i)train"}}, {"tag": "train"}]}
    with pytest.raises(rw.ValidationError, match="needs a value"):
        run_query("state:")


def test_compare_shows_each_versions_run_config(chain: dict[str, Any], client: rw.Client) -> None:
    page = ok(client, "compare.get", path="Models/resnet")
    v0, v1 = page["versions"]
    assert v0["run"] == {
        "id": chain["train"].id,
        "name": "train",
        "config": {"lr": 0.01, "opt.name": "adamw"},
    }
    assert v1["run"]["name"] == "finetune"
    assert v1["run"]["config"] == {"lr": 0.001}


def test_compare_says_no_run_for_a_version_logged_outside_runs(
    client: rw.Client, log: Callable[..., rw.ArtifactVersion]
) -> None:
    for _ in range(2):
        client.link(log("plain"), "Models/plain")
    page = ok(client, "compare.get", path="Models/plain")
    assert [v["run"] for v in page["versions"]] == [None, None]
