"""The widget's runs and lineage requests: typed answers, sorting, and nothing hidden.

Every test runs on every store backend, through the widget's own dispatcher.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import registry_widget as rw
from registry_widget.widget.app import HANDLERS
from registry_widget.widget.protocol import dispatch


def call(client: rw.Client, method: str, **params: Any) -> dict[str, Any]:
    """One request as the frontend sends it; the reply's result, or its error."""
    reply = dispatch(
        HANDLERS, client, {"kind": "request", "id": "r", "method": method, "params": params}
    )
    return reply["result"] if reply["ok"] else {"error": reply["error"]}


@pytest.fixture
def runs(client: rw.Client, make_client: Any, files: Callable[..., Path]) -> dict[str, Any]:
    """Three finished runs over a public dataset; the last also used a secret one and
    produced a model linked only into the restricted registry Team."""
    client.add_user("out", "member")
    data = client.log_artifact("cats", type="dataset", files=files("d", "cats"))
    client.link(data, "Datasets/cats", aliases=["production"])
    client.create_registry("Team", visibility="restricted")
    secret = client.log_artifact("secret", type="dataset", files=files("s", "s"))
    client.link(secret, "Team/data")
    made = {}
    for i, lr in enumerate((0.1, 0.001, 0.01)):
        with client.start_run(f"sweep-{i}", config={"lr": lr, "opt": {"name": "adam"}}) as run:
            run.use("Datasets/cats:production")
            model = run.log_artifact("cat", type="model", files=files("w", f"w{i}"))
            run.link(model, "Models/cat")
            run.summary["acc"] = (80 + i) / 100
            if i == 2:
                run.use("Team/data:latest")
                hidden = run.log_artifact("cat-secret", type="model", files=files("h", "h"))
                run.link(hidden, "Team/models")
        made[f"sweep-{i}"] = run
    client.start_run("no-summary")
    return made


def test_runs_list_pages_sorts_and_filters(client: rw.Client, runs: dict[str, Any]) -> None:
    page = call(client, "runs.list")
    assert [r["name"] for r in page["items"]] == ["no-summary", "sweep-2", "sweep-1", "sweep-0"]
    assert page["total"] == 4
    assert page["config_columns"] == ["lr", "opt.name"]
    assert page["summary_columns"] == ["acc"]
    row = page["items"][1]
    assert row["config"] == {"lr": 0.01, "opt.name": "adam"}
    assert row["summary"] == {"acc": 0.82}
    assert (row["state"], row["inputs"], row["outputs"]) == ("finished", 2, 2)
    by_lr = call(client, "runs.list", sort="config.lr", order="asc")
    assert [r["name"] for r in by_lr["items"]] == ["sweep-1", "sweep-2", "sweep-0", "no-summary"]
    by_acc = call(client, "runs.list", sort="summary.acc", limit=2, offset=1)
    assert [r["name"] for r in by_acc["items"]] == ["sweep-1", "sweep-0"]
    assert by_acc["total"] == 4
    found = call(client, "runs.list", query='{"config.lr": {"$lt": 0.05}}', sort="name")
    assert [r["name"] for r in found["items"]] == ["sweep-2", "sweep-1"]
    assert [r["name"] for r in call(client, "runs.list", query="SWEEP-1")["items"]] == ["sweep-1"]
    refused = call(client, "runs.list", sort="metadata.x")
    assert "cannot sort by 'metadata.x'" in refused["error"]["message"]


def test_run_get_shows_a_run_and_only_visible_edges(
    client: rw.Client, make_client: Any, runs: dict[str, Any]
) -> None:
    run_id = runs["sweep-2"].id
    mine = call(client, "run.get", id=run_id)
    assert mine["name"] == "sweep-2"
    assert mine["config"] == {"lr": 0.01, "opt.name": "adam"}
    assert [v["ref"] for v in mine["inputs"]] == ["cats:v0", "secret:v0"]
    assert [v["paths"] for v in mine["outputs"]] == [["Models/cat:v2"], ["Team/models:v0"]]
    theirs = call(make_client("out"), "run.get", id=run_id)
    assert [v["ref"] for v in theirs["inputs"]] == ["cats:v0"]
    assert [v["ref"] for v in theirs["outputs"]] == ["cat:v2"]
    assert "secret" not in repr(theirs)
    assert "Team" not in repr(theirs)
    assert call(client, "run.get", id="999")["error"]["type"] == "NotFoundError"


def test_lineage_graph_links_every_node_and_hides_what_the_user_may_not_see(
    client: rw.Client, make_client: Any, runs: dict[str, Any]
) -> None:
    graph = call(client, "lineage.graph", path="Models/cat:v2", upstream=2, downstream=0)
    nodes = {n["key"]: n for n in graph["nodes"]}
    assert nodes[graph["root"]]["target"] == "cat:v2"
    assert {n["kind"] for n in nodes.values()} == {"version", "run", "link"}
    targets = {n["label"]: n["target"] for n in nodes.values()}
    assert targets["sweep-2"] == runs["sweep-2"].id
    assert targets["Team/data:v0"] == "Team/data:v0"
    assert all(e["source"] in nodes and e["target"] in nodes for e in graph["edges"])
    seen = call(make_client("out"), "lineage.graph", ref="cat:v2")
    labels = {n["label"] for n in seen["nodes"]}
    assert labels == {"cat:v2", "Models/cat:v2", "sweep-2", "cats:v0", "Datasets/cats:v0"}
    assert "secret" not in repr(seen)
    assert "Team" not in repr(seen)
    both = call(client, "lineage.graph", ref="cat:v2", path="Models/cat:v2")
    assert "either 'ref'" in both["error"]["message"]
