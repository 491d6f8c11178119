"""Filters on registries, collections and versions, and search: only what the user may see."""

from __future__ import annotations

import pytest

import registry_widget as rw
from registry_widget.domain.link import LINK_FIELDS
from registry_widget.filters import parse_filter


@pytest.fixture
def filled(client: rw.Client, log) -> rw.Client:
    client.create_registry("Cat Models", description="cats", artifact_types=["model"])
    client.create_registry("Eval Sets", visibility="restricted", artifact_types=["dataset"])
    for i, (acc, tags) in enumerate([(0.7, ["cnn"]), (0.9, ["cnn", "big"]), (0.8, ["vit"])]):
        v = log(f"cat-{i}", metadata={"acc": acc, "train": {"epochs": 10 * (i + 1)}}, tags=tags)
        client.link(v, "Cat Models/resnet" if i < 2 else "Cat Models/vit")
    client.registry("Cat Models").collection("resnet").update(tags=["baseline"])
    client.use("Cat Models/resnet:v1").set_alias("champion")
    client.link(log("holdout", type="dataset"), "Eval Sets/holdout", aliases=["frozen"])
    return client


def test_registry_filters(filled: rw.Client) -> None:
    names = lambda f: [r.name for r in filled.registries(f)]  # noqa: E731
    assert names({"kind": "custom"}) == ["Cat Models", "Eval Sets"]
    assert names({"type": "dataset"}) == ["Datasets", "Eval Sets"]
    assert names({"name": {"$regex": "^Cat"}}) == ["Cat Models"]
    assert names({"$or": [{"visibility": "restricted"}, {"name": "Models"}]}) == [
        "Models",
        "Eval Sets",
    ]


def test_collection_filters(filled: rw.Client) -> None:
    reg = filled.registry("Cat Models")
    assert [c.name for c in reg.collections({"tag": "baseline"})] == ["resnet"]
    assert [c.name for c in reg.collections({"name": {"$ne": "resnet"}})] == ["vit"]
    assert [c.name for c in reg.collections({"created_by": "ada"})] == ["resnet", "vit"]


def test_version_filters_with_metadata_paths(filled: rw.Client) -> None:
    paths = lambda f: sorted(x.path for x in filled.versions(f))  # noqa: E731
    assert paths({"metadata.acc": {"$gt": 0.75}}) == ["Cat Models/resnet:v1", "Cat Models/vit:v0"]
    assert paths({"metadata.train.epochs": {"$lte": 20}, "tag": "cnn"}) == [
        "Cat Models/resnet:v0",
        "Cat Models/resnet:v1",
    ]
    assert paths({"alias": "champion"}) == ["Cat Models/resnet:v1"]
    assert paths({"type": "model", "tag": "cnn", "metadata.acc": {"$gt": 0.8}}) == [
        "Cat Models/resnet:v1"
    ]
    assert paths({"metadata.missing": {"$exists": True}}) == []
    assert paths({"$not": {"tag": "cnn"}}) == ["Cat Models/vit:v0", "Eval Sets/holdout:v0"]


def test_collection_versions_are_newest_first_and_paged(client: rw.Client, log) -> None:
    for _ in range(7):
        client.link(log(), "Models/many")
    coll = client.registry("Models").collection("many")
    assert [x.index for x in coll.versions()] == [6, 5, 4, 3, 2, 1, 0]
    assert [x.index for x in coll.versions(limit=3, offset=2)] == [4, 3, 2]
    with pytest.raises(rw.ValidationError, match="limit"):
        coll.versions(limit=-1)


def test_search_finds_names_tags_and_aliases(filled: rw.Client) -> None:
    hits = {(h.kind, h.path, h.field) for h in filled.search("cat")}
    assert ("registry", "Cat Models", "name") in hits
    assert {(h.kind, h.path, h.field, h.value) for h in filled.search("CHAMP")} == {
        ("version", "Cat Models/resnet:v1", "alias", "champion")
    }
    assert {(h.kind, h.path) for h in filled.search("baseline")} == {
        ("collection", "Cat Models/resnet")
    }
    assert {h.path for h in filled.search("big")} == {"Cat Models/resnet:v1"}
    assert filled.search("   ") == []


def test_search_and_listings_hide_what_the_user_may_not_see(make_client, filled: rw.Client) -> None:
    filled.add_user("bob")
    bob = make_client("bob")
    assert bob.search("holdout") == []
    assert bob.search("frozen") == []
    assert bob.search("eval") == []
    assert all(not x.path.startswith("Eval Sets") for x in bob.versions())
    assert filled.search("frozen")[0].path == "Eval Sets/holdout:v0"


def test_links_answer_with_their_versions_fields_as_they_are_now(client: rw.Client, log) -> None:
    """Filters, sort keys and search through links read the version, edits included."""
    a = log("cat", metadata={"acc": 0.9}, tags=["old"], description="first")
    b = log("dog", metadata={"acc": 0.5}, tags=["old"])
    client.link(a, "Models/pets", aliases=["best"])
    client.link(a, "Models/cats")
    client.link(b, "Models/pets")
    a.update(tags=["fresh"], description="retrained")
    fresh = [x.path for x in client.versions({"tag": "fresh"})]
    assert fresh == ["Models/cats:v0", "Models/pets:v0"]
    assert [x.path for x in client.versions({"tag": "old"})] == ["Models/pets:v1"]
    assert [x.path for x in client.versions({"description": {"$contains": "retrain"}})] == fresh
    both = {"alias": "best", "metadata.acc": {"$gt": 0.8}, "name": "cat", "type": "model"}
    assert [x.path for x in client.versions(both)] == ["Models/pets:v0"]
    hits = [(h.path, h.name, h.field, h.value) for h in client.search("fresh")]
    assert hits == [
        ("Models/pets:v0", "cat", "tag", "fresh"),
        ("Models/cats:v0", "cat", "tag", "fresh"),
    ]
    assert client.use("Models/pets:best").metadata == {"acc": 0.9}
    assert "cat:v0" in repr(client.use("Models/cats:v0"))
    rows = client.store.query("links", order=("artifact_name", "-id"))  # a version's field
    assert [d["artifact_id"] for _, d in rows] == [a._id, a._id, b._id]
    assert rows[0][0] > rows[1][0]
    fresh_tag = parse_filter({"tag": "fresh"}, LINK_FIELDS)
    rows = client.store.query("links", fresh_tag, order=("-artifact_index", "id"))
    assert [d["artifact_id"] for _, d in rows] == [a._id, a._id]


def test_a_repeated_filter_sees_every_change_to_the_versions_it_tests(
    filled: rw.Client, log
) -> None:
    # A filter's tests on a version's fields are remembered per version until it changes.
    spec = {"type": "model", "description": {"$contains": "retrained"}}
    paths = lambda: [x.path for x in filled.versions(spec)]  # noqa: E731
    assert paths() == []
    first = filled.use("Cat Models/resnet:v0").artifact
    first.update(description="retrained on more cats")
    assert paths() == ["Cat Models/resnet:v0"]
    with pytest.raises(RuntimeError), filled.batch():
        filled.use("Cat Models/vit:v0").artifact.update(description="retrained too")
        assert paths() == ["Cat Models/vit:v0", "Cat Models/resnet:v0"]
        raise RuntimeError  # rolled back: the version's description is as it was
    assert paths() == ["Cat Models/resnet:v0"]
    filled.link(log("cat-3", description="retrained from scratch"), "Cat Models/vit")
    assert paths() == ["Cat Models/vit:v1", "Cat Models/resnet:v0"]
    first.update(description="")
    assert paths() == ["Cat Models/vit:v1"]
