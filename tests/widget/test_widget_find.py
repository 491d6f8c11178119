"""Finding the right version from the widget: filter, sort, pick, open a path, artifacts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

import registry_widget as rw
from registry_widget.widget.app import HANDLERS
from registry_widget.widget.protocol import dispatch
from registry_widget.widget.reads_find import parse_query


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
def cats(client: rw.Client, log: Callable[..., rw.ArtifactVersion]) -> rw.Client:
    client.registry("Models").add_protected_alias("production")
    for i in range(32):
        art = log("cat-resnet", metadata={"acc": round(0.5 + (i * 7 % 32) / 100, 2), "ep": i})
        aliases = {2: ["production"], 31: ["staging"]}.get(i, [])
        client.link(art, "Models/cats", aliases=aliases)
    log("dog-vit", metadata={"acc": 0.7})
    log("cat-data", type="dataset")
    return client


def test_short_filters_become_the_apis_filter() -> None:
    assert parse_query("") is None
    assert parse_query("tag:nightly") == {"tag": "nightly"}
    assert parse_query("alias:production acc>0.9 by:ada") == {
        "$and": [
            {"alias": "production"},
            {"metadata.acc": {"$gt": 0.9}},
            {"created_by": "ada"},
        ]
    }
    assert parse_query("opt.name=adamw") == {"metadata.opt.name": {"$eq": "adamw"}}
    assert parse_query('{"tag": "x"}') == {"tag": "x"}
    word = parse_query("resnet")
    assert word == {
        "$or": [{"name": {"$regex": "(?i)resnet"}}, {"tag": "resnet"}, {"alias": "resnet"}]
    }
    with pytest.raises(rw.ValidationError, match="not valid JSON"):
        parse_query("{oops")
    with pytest.raises(rw.ValidationError, match="needs a value"):
        parse_query("tag:")


def test_find_filters_sorts_and_pages_on_the_kernel(cats: rw.Client) -> None:
    found = ok(cats, "collection.find", path="Models/cats", query="alias:production")
    assert [r["version"] for r in found["items"]] == ["v2"]
    assert (found["total"], found["all"]) == (1, 32)
    best = ok(cats, "collection.find", path="Models/cats", sort="acc", limit=3)
    accs = [r["metadata"]["acc"] for r in best["items"]]
    assert accs == sorted(accs, reverse=True)
    assert accs[0] == max(link.metadata["acc"] for link in cats.versions())
    assert best["metadata_keys"][0] == "acc"
    worst = ok(cats, "collection.find", path="Models/cats", sort="acc", order="asc", offset=31)
    assert worst["total"] == 32
    assert len(worst["items"]) == 1
    high = ok(cats, "collection.find", path="Models/cats", query="acc>=0.8 ep<10")
    assert {r["version"] for r in high["items"]} == {
        link.version
        for link in cats.versions()
        if link.metadata["acc"] >= 0.8 and link.metadata["ep"] < 10
    }
    # The same page with no filter as collection.versions, with the row's can flags.
    plain = ok(cats, "collection.find", path="Models/cats", offset=25)
    assert [r["version"] for r in plain["items"]] == [f"v{i}" for i in range(6, -1, -1)]
    assert plain["items"][0]["can"]["set_alias"] is True
    refusal = call(cats, "collection.find", path="Models/cats", query="{nope")
    assert refusal["ok"] is False
    assert refusal["error"]["field"] == "query"


def test_link_picker_finds_by_number_shows_metrics_and_marks_linked(cats: rw.Client) -> None:
    picked = ok(cats, "artifact.pick", collection="Models/cats", type="model", query="v0")
    assert sorted(a["ref"] for a in picked["items"]) == ["cat-resnet:v0", "dog-vit:v0"]
    (one,) = ok(cats, "artifact.pick", collection="Models/cats", query="cat-resnet:v1")["items"]
    assert one["ref"] == "cat-resnet:v1"
    assert one["linked"] == ["v1"]
    assert set(one["metrics"]) == {"acc", "ep"}
    (dog,) = ok(cats, "artifact.pick", collection="Models/cats", type="model", query="dog")["items"]
    assert dog["linked"] == []
    none = ok(cats, "artifact.pick", collection="Models/cats", type="model", query="zebra")
    assert (none["items"], none["any"]) == ([], True)


def test_search_opens_a_path_and_finds_artifact_versions(cats: rw.Client) -> None:
    assert ok(cats, "search.open", text="Models/cats") == {"route": "Models/cats"}
    assert ok(cats, "search.open", text="Models/cats:production") == {"route": "Models/cats:v2"}
    assert ok(cats, "search.open", text="models") == {"route": "Models"}
    assert ok(cats, "search.open", text="cat") == {"route": None}
    assert ok(cats, "search.open", text="Models/cats:v99") == {"route": None}
    found = ok(cats, "artifact.search", text="cat-data")["items"]
    assert [(a["ref"], a["links"]) for a in found] == [("cat-data:v0", [])]
    (v3,) = ok(cats, "artifact.search", text="cat-resnet:v3")["items"]
    assert v3["links"] == ["Models/cats:v3"]


def test_artifacts_page_lists_unlinked_versions_too(
    cats: rw.Client, make_client: Callable[[str], rw.Client]
) -> None:
    page = ok(cats, "artifacts.list", query="cat-data")
    assert [(a["ref"], a["links"]) for a in page["items"]] == [("cat-data:v0", [])]
    assert page["types"] == ["dataset", "model"]
    assert page["can"] == {"link": True}
    models = ok(cats, "artifacts.list", type="model", limit=5)
    assert models["total"] == 33
    assert len(models["items"]) == 5
    newest = [(a["ref"], a["links"]) for a in models["items"][:2]]
    assert newest == [("dog-vit:v0", []), ("cat-resnet:v31", ["Models/cats:v31"])]
    cats.add_user("vic", "viewer")
    assert ok(make_client("vic"), "artifacts.list")["can"] == {"link": False}


def test_names_are_checked_for_duplicates_as_typed(cats: rw.Client) -> None:
    assert ok(cats, "name.free", name="models")["ok"] is False
    assert "already exists" in ok(cats, "name.free", name="models")["message"]
    assert ok(cats, "name.free", name="Team") == {"ok": True}
    assert ok(cats, "name.free", name="CATS", registry="Models")["ok"] is False
    assert ok(cats, "name.free", name="dogs", registry="Models") == {"ok": True}
