"""The widget's request handlers, called directly over an in-memory store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import registry_widget as rw
from registry_widget.widget.app import HANDLERS
from registry_widget.widget.protocol import dispatch


@pytest.fixture
def client() -> rw.Client:
    return rw.Client(":memory:", user="ada")


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    path = tmp_path / "weights.bin"
    path.write_bytes(b"\x00" * 1000)
    return path


def call(client: Any, method: str, **params: Any) -> dict[str, Any]:
    """Send one request as the frontend does; the answer must be JSON."""
    reply = dispatch(
        HANDLERS, client, {"kind": "request", "id": "r1", "method": method, "params": params}
    )
    assert reply["id"] == "r1"
    json.dumps(reply, allow_nan=False)
    return reply


def ok(client: Any, method: str, **params: Any) -> Any:
    reply = call(client, method, **params)
    assert reply["ok"], reply
    return reply["result"]


def refused(client: Any, method: str, **params: Any) -> dict[str, Any]:
    reply = call(client, method, **params)
    assert not reply["ok"], reply
    return reply["error"]


def log(client: rw.Client, name: str, path: Path, *, type: str = "model", **kw: Any) -> Any:
    return client.log_artifact(name, type=type, files=path, **kw)


def test_registries_list_has_core_and_custom_sections(client):
    client.create_registry("Vision", description="Cameras", artifact_types=["model"])
    result = ok(client, "registries.list")
    assert [r["name"] for r in result["core"]] == ["Datasets", "Models"] or {
        r["name"] for r in result["core"]
    } == {"Models", "Datasets"}
    (vision,) = result["custom"]
    assert vision == {
        **vision,
        "name": "Vision",
        "kind": "custom",
        "description": "Cameras",
        "visibility": "organization",
        "artifact_types": ["model"],
        "collection_count": 0,
        "role": "admin",
    }


def test_restricted_registry_is_invisible_to_non_members(client):
    client.add_user("bob", role="member")
    client.create_registry("Secret", visibility="restricted")
    bob = rw.Client(client.store, user="bob")
    names = [r["name"] for r in ok(bob, "registries.list")["custom"]]
    assert names == []
    err = refused(bob, "registry.get", name="Secret")
    assert err["type"] == "NotFoundError"
    assert ok(bob, "search", text="Secret")["hits"] == []


def test_create_registry_and_refusals_in_words(client):
    created = ok(client, "registry.create", name="Team A", description="d", artifact_types=None)
    assert created == {"ok": True, "name": "Team A", "path": "Team A"}
    reg = ok(client, "registry.get", name="Team A")["registry"]
    assert reg["name"] == "Team A"
    assert reg["artifact_types"] is None
    assert client.registry("Team A").description == "d"
    err = refused(client, "registry.create", name="team a")
    assert err["type"] == "ConflictError"
    assert "team a" in err["message"].lower()
    err = refused(client, "registry.create", name="a/b")
    assert err["type"] == "ValidationError"
    assert "/" in err["message"]
    err = refused(client, "registry.create", name="X", visibility="secret")
    assert err["type"] == "ValidationError"
    assert "organization" in err["message"]


def test_viewer_cannot_create_and_nothing_changes(client):
    client.add_user("vic", role="viewer")
    vic = rw.Client(client.store, user="vic")
    before = client.revision
    err = refused(vic, "registry.create", name="Mine")
    assert err["type"] == "PermissionDeniedError"
    assert client.revision == before


def test_malformed_requests_are_refused(client):
    assert refused(client, "no.such.method")["type"] == "ValidationError"
    err = refused(client, "registry.get", name="Models", bogus=1)
    assert err["type"] == "ValidationError"
    assert "bogus" in err["message"]
    err = refused(client, "registry.get", name=3)
    assert "must be str" in err["message"]
    err = refused(client, "registry.get")
    assert "'name' is required" in err["message"]
    err = refused(client, "collection.versions", path="Models/x", limit=10**6)
    assert err["field"] == "limit"
    reply = dispatch(HANDLERS, client, {"id": "x", "method": "registries.list", "params": [1]})
    assert reply["error"]["field"] == "params"


def test_registry_page_filters_and_pages_collections(client):
    reg = client.registry("Models")
    for i in range(5):
        reg.create_collection(f"net-{i}", type="model", tags=["vision"] if i % 2 else ["nlp"])
    page = ok(client, "registry.get", name="Models", offset=0, limit=2)
    assert page["registry"]["collection_count"] == 5
    assert page["collections"]["total"] == 5
    assert len(page["collections"]["items"]) == 2
    assert {"name", "path", "type", "tags", "count", "updated_at"} <= set(
        page["collections"]["items"][0]
    )
    vision = ok(client, "registry.get", name="Models", filter="VISION")
    assert sorted(c["name"] for c in vision["collections"]["items"]) == ["net-1", "net-3"]
    by_name = ok(client, "registry.get", name="Models", filter="net-4")
    assert [c["path"] for c in by_name["collections"]["items"]] == ["Models/net-4"]


def test_create_collection(client):
    coll = ok(client, "collection.create", registry="Models", name="cat", type="model", tags=["a"])
    assert coll["path"] == "Models/cat"
    err = refused(client, "collection.create", registry="Models", name="ds", type="dataset")
    assert err["type"] == "ValidationError"
    assert "dataset" in err["message"]


def test_versions_are_paged_newest_first_with_metadata_columns(client, weights, tmp_path):
    for i in range(7):
        f = tmp_path / f"w{i}.bin"
        f.write_bytes(bytes([i]) * 10)
        art = log(client, "cat", f, metadata={"acc": 0.5 + i / 100, "cfg": {"lr": 1}, "note": "x"})
        client.link(art, "Models/cat", aliases=["production"] if i == 2 else ())
    client.registry("Models").add_protected_alias("production")
    page = ok(client, "collection.versions", path="Models/cat", offset=0, limit=3)
    assert page["total"] == 7
    assert [r["version"] for r in page["items"]] == ["v6", "v5", "v4"]
    assert page["metadata_keys"] == ["acc", "note"]  # nested "cfg" is not a column
    top = page["items"][0]
    assert top["aliases"] == [{"name": "latest", "protected": False}]
    assert top["artifact"] == "cat:v6"
    assert top["metadata"] == {"acc": 0.56, "note": "x"}
    last = ok(client, "collection.versions", path="Models/cat", offset=3, limit=3)
    assert [r["version"] for r in last["items"]] == ["v3", "v2", "v1"]
    assert last["items"][1]["aliases"] == [{"name": "production", "protected": True}]


def test_collection_header(client, weights):
    client.registry("Models").create_collection(
        "cat", type="model", description="# Cat\n<script>x</script>", tags=["vision"]
    )
    client.link(log(client, "cat", weights), "Models/cat", aliases=["staging"])
    head = ok(client, "collection.get", path="Models/cat")
    assert head["description"].startswith("# Cat")  # sanitised in the browser when rendered
    assert head["tags"] == ["vision"]
    assert head["count"] == 1
    assert {"name": "staging", "version": "v0", "protected": False} in head["aliases"]
    assert head["role"] == "admin"
    assert refused(client, "collection.get", path="Models/nope")["type"] == "NotFoundError"


def test_candidates_are_of_the_right_type_and_searched_by_name(client, weights, tmp_path):
    log(client, "ResNet-cat", weights)
    other = tmp_path / "o.bin"
    other.write_bytes(b"other")
    log(client, "resnet-dog", other)
    log(client, "imagenet", weights, type="dataset")
    found = ok(client, "artifact.candidates", type="model", query="RESNET")
    assert sorted(a["ref"] for a in found["items"]) == ["ResNet-cat:v0", "resnet-dog:v0"]
    assert found["total"] == 2
    every = ok(client, "artifact.candidates", type=None, query="")
    assert every["total"] == 3
    assert ok(client, "artifact.candidates", type="model", query="a.b")["total"] == 0
    assert ok(client, "artifact.candidates", type="model", query="(")["total"] == 0


def test_link_through_the_dialog_and_refusal_of_a_wrong_type(client, weights, tmp_path):
    log(client, "cat", weights)
    row = ok(client, "link.create", artifact="cat:v0", collection="Models/cat", aliases=["staging"])
    assert row["path"] == "Models/cat:v0"
    assert client.use("Models/cat:staging").artifact.name == "cat"
    data = tmp_path / "d.csv"
    data.write_text("a,b\n")
    log(client, "imagenet", data, type="dataset")
    before = client.revision
    err = refused(client, "link.create", artifact="imagenet:v0", collection="Models/cat")
    assert err["type"] == "ValidationError"
    assert "dataset" in err["message"]
    assert "model" in err["message"]
    assert client.revision == before
    assert client.registry("Models").collection("cat").count == 1


def test_alias_set_move_and_remove(client, weights, tmp_path):
    log(client, "cat", weights)
    client.link("cat:v0", "Models/cat")
    f = tmp_path / "w2.bin"
    f.write_bytes(b"2")
    client.link(log(client, "cat", f), "Models/cat")
    assert ok(client, "alias.set", path="Models/cat:v0", alias="production") == {"ok": True}
    row = ok(client, "version.get", path="Models/cat:v0")
    assert {"name": "production", "protected": False} in row["aliases"]
    assert ok(client, "alias.set", path="Models/cat:v1", alias="production") == {"ok": True}
    moved = ok(client, "version.get", path="Models/cat:v1")
    assert [a["name"] for a in moved["aliases"]] == ["latest", "production"] or {
        a["name"] for a in moved["aliases"]
    } == {"latest", "production"}
    assert client.use("Models/cat:production").version == "v1"
    ok(client, "alias.remove", path="Models/cat:v1", alias="production")
    assert refused(client, "version.get", path="Models/cat:production")["type"] == "NotFoundError"
    err = refused(client, "alias.set", path="Models/cat:v0", alias="v7")
    assert err["type"] == "ValidationError"
    assert "reserved" in err["message"]


def test_member_may_not_move_a_protected_alias(client, weights):
    client.add_user("mia", role="member")
    client.registry("Models").add_protected_alias("production")
    client.link(log(client, "cat", weights), "Models/cat", aliases=["production"])
    mia = rw.Client(client.store, user="mia")
    before = client.revision
    err = refused(mia, "alias.remove", path="Models/cat:v0", alias="production")
    assert err["type"] == "PermissionDeniedError"
    assert "production" in err["message"]
    assert client.revision == before


def test_version_page(client, tmp_path):
    src = tmp_path / "model"
    src.mkdir()
    for i in range(3):
        (src / f"part-{i}.bin").write_bytes(b"x" * (i + 1))
    art = client.log_artifact(
        "cat",
        type="model",
        files={f"part-{i}.bin": src / f"part-{i}.bin" for i in range(3)},
        metadata={"acc": 0.9, "long": "y" * 5000, "many": list(range(500))},
    )
    client.link(art, "Models/cat", aliases=["staging"])
    client.create_registry("Zoo")
    client.link(art, "Zoo/cats")
    page = ok(client, "version.get", path="Models/cat:staging", file_offset=1, file_limit=1)
    assert page["path"] == "Models/cat:v0"
    assert page["artifact"]["digest"] == art.digest
    assert page["artifact"]["files"] == {
        "items": [{"path": "part-1.bin", "size": 2, "digest": art.files["part-1.bin"]["digest"]}],
        "total": 3,
        "offset": 1,
        "limit": 1,
    }
    assert page["artifact"]["metadata"]["acc"] == 0.9
    assert len(page["artifact"]["metadata"]["long"]) < 2100
    assert len(page["artifact"]["metadata"]["many"]) == 200
    assert page["artifact"]["metadata_truncated"] is True
    assert sorted(link["path"] for link in page["links"]) == ["Models/cat:v0", "Zoo/cats:v0"]


def test_search_finds_names_tags_and_aliases(client, weights):
    client.registry("Models").create_collection("cat-resnet", type="model", tags=["vision"])
    client.link(log(client, "cat", weights), "Models/cat-resnet", aliases=["champion"])
    hits = ok(client, "search", text="cat")["hits"]
    assert {"kind": "collection", "path": "Models/cat-resnet"}.items() <= hits[0].items()
    assert any(h["field"] == "alias" for h in ok(client, "search", text="champ")["hits"])
    assert any(h["field"] == "tag" for h in ok(client, "search", text="visi")["hits"])
    assert ok(client, "search", text="zzz") == {"hits": [], "more": False}


@pytest.mark.parametrize(
    ("field", "value", "good"),
    [
        ("registry_name", "Vision models", True),
        ("registry_name", "a#b", False),
        ("registry_name", "x" * 114, False),
        ("collection_name", "cat:resnet", False),
        ("artifact_type", "model", True),
        ("artifact_types", "model, dataset", True),
        ("artifact_types", "model, a/b", False),
        ("aliases", "staging, prod", True),
        ("aliases", "staging, latest", False),
        ("alias", "v3", False),
        ("tags", "vision, fast net", True),
        ("tags", "bad!tag", False),
    ],
)
def test_validate_uses_the_library_rules(client, field, value, good):
    result = ok(client, "validate", field=field, value=value)
    assert result["ok"] is good
    if not good:
        assert result["message"]


def test_validate_refuses_unknown_fields(client):
    assert refused(client, "validate", field="password", value="x")["type"] == "ValidationError"
