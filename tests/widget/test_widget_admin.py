"""The widget's administration, history, comparison and lineage handlers, called directly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import registry_widget as rw
from registry_widget.store import MemoryStore
from registry_widget.widget.app import RegistryWidget
from registry_widget.widget.insight import flatten_metadata


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def ada(store: MemoryStore) -> rw.Client:
    client = rw.Client(store, user="ada")
    client.add_user("bob", role="member")
    client.add_user("carol", role="viewer")
    client.add_user("dave", role="viewer")
    return client


def as_user(store: MemoryStore, user: str) -> rw.Client:
    return rw.Client(store, user=user)


def call(client: Any, method: str, **params: Any) -> dict[str, Any]:
    """Send one request through the widget's dispatcher, as the frontend does."""
    widget = RegistryWidget(client)
    try:
        reply = widget.handle_request(
            {"kind": "request", "id": "r1", "method": method, "params": params}
        )
    finally:
        widget.close()
    json.dumps(reply, allow_nan=False)
    return reply


def ok(client: Any, method: str, **params: Any) -> Any:
    reply = call(client, method, **params)
    assert reply["ok"], reply
    return reply["result"]


def refused(client: Any, method: str, **params: Any) -> dict[str, Any]:
    reply = call(client, method, **params)
    assert not reply["ok"], reply
    return dict(reply["error"])


def snapshot(store: MemoryStore) -> str:
    """Everything the store holds, to check that a refused request changed nothing."""
    client = rw.Client(store, user="ada")
    regs = [
        (r.name, r.description, r.visibility, r.artifact_types, r.protected_aliases, r.members())
        for r in client.registries()
    ]
    return repr((regs, client.users(), client.revision))


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    path = tmp_path / "w.bin"
    path.write_bytes(b"w" * 100)
    return path


def test_settings_show_members_types_and_the_users_own_role(ada, store):
    reg = ada.create_registry("Vision", artifact_types=["model", "eval"])
    reg.create_collection("cats", type="model")
    reg.add_member("bob", "member")
    result = ok(ada, "settings.get", name="Vision")
    assert result["role"] == "admin"
    assert result["can"] == {
        "admin": True,
        "write": True,
        "edit": True,
        "restrict": True,
        "delete": True,
    }
    assert result["types"] == [
        {
            "name": "model",
            "used_by": ["cats"],
            "fixed": False,
            "why_kept": "The collection “cats” uses the type “model”: it can be removed once no "
            "collection of Vision uses it.",
        },
        {"name": "eval", "used_by": [], "fixed": False, "why_kept": None},
    ]
    assert result["members"] == [
        {"user": "ada", "role": "admin", "effective_role": "admin", "you": True},  # the creator
        {"user": "bob", "role": "member", "effective_role": "member", "you": False},
    ]
    assert result["candidates"] == ["carol", "dave"]
    carol = ok(as_user(store, "carol"), "settings.get", name="Vision")
    assert carol["role"] == "viewer"
    assert carol["can"] == {
        "admin": False,
        "write": False,
        "edit": False,
        "restrict": False,
        "delete": False,
    }
    assert carol["candidates"] == []  # only admins pick users to add


def test_settings_flags_follow_what_the_domain_allows(ada, store):
    # A core registry: its admin manages types, aliases and members, but its name,
    # description and visibility are preconfigured and it cannot be deleted.
    assert ok(ada, "settings.get", name="Models")["can"] == {
        "admin": True,
        "write": True,
        "edit": False,
        "restrict": False,
        "delete": False,
    }
    assert refused(ada, "registry.update", name="Models", visibility="restricted")["type"] == (
        "ConflictError"
    )
    assert refused(ada, "registry.delete", name="Models", confirm="Models")["type"] == (
        "ConflictError"
    )
    # A restricted registry cannot be restricted again, but is still edited and deleted.
    ada.create_registry("Secret", visibility="restricted")
    can = ok(ada, "settings.get", name="Secret")["can"]
    assert (can["edit"], can["restrict"], can["delete"]) == (True, False, True)
    # The organisation page says who may manage users.
    assert ok(ada, "org.get")["can"] == {"create_registry": True, "manage_users": True}
    assert ok(as_user(store, "bob"), "org.get")["can"] == {
        "create_registry": True,
        "manage_users": False,
    }
    assert ok(as_user(store, "carol"), "org.get")["can"]["create_registry"] is False


def test_core_registry_marks_its_fixed_type(ada):
    ok(ada, "registry.type.add", name="Models", type="onnx")
    result = ok(ada, "settings.get", name="Models")
    assert [(t["name"], t["fixed"]) for t in result["types"]] == [
        ("model", True),
        ("onnx", False),
    ]
    assert ok(ada, "registry.type.remove", name="Models", type="onnx") == {"ok": True}
    result = ok(ada, "settings.get", name="Models")
    assert [t["name"] for t in result["types"]] == ["model"]
    err = refused(ada, "registry.type.remove", name="Models", type="model")
    assert err["type"] == "ConflictError"
    assert "can never be removed" in err["message"]


def test_edit_name_description_and_restrict(ada):
    ada.create_registry("Vision")
    result = ok(
        ada, "registry.update", name="Vision", new_name="Vision team", description="Cameras"
    )
    assert result == {"ok": True, "name": "Vision team"}  # the page to stay on
    result = ok(ada, "settings.get", name="Vision team")
    assert result["registry"]["name"] == "Vision team"
    assert result["registry"]["description"] == "Cameras"
    result = ok(ada, "registry.update", name="Vision team", visibility="restricted")
    assert result == {"ok": True, "name": "Vision team"}
    assert ok(ada, "settings.get", name="Vision team")["registry"]["visibility"] == "restricted"
    err = refused(ada, "registry.update", name="Vision team", visibility="organization")
    assert err["type"] == "ConflictError"
    assert "cannot be made visible" in err["message"]
    kinds = [
        e["action"] for e in ok(ada, "history.get", scope="registry", path="Vision team")["items"]
    ]
    assert kinds[:3] == ["registry.update"] * 3


def test_core_registry_cannot_be_edited_and_says_why(ada, store):
    before = snapshot(store)
    err = refused(ada, "registry.update", name="Models", description="mine")
    assert err["type"] == "ConflictError"
    assert "core registry" in err["message"]
    assert snapshot(store) == before


def test_removing_a_used_type_names_the_collections(ada, store):
    reg = ada.create_registry("Vision", artifact_types=["model", "eval"])
    reg.create_collection("cats", type="model")
    reg.create_collection("dogs", type="model")
    before = snapshot(store)
    err = refused(ada, "registry.type.remove", name="Vision", type="model")
    assert err["type"] == "ConflictError"
    assert "“cats”, “dogs”" in err["message"]
    assert "'cats', 'dogs'" in err["detail"]
    assert snapshot(store) == before
    assert ok(ada, "registry.type.remove", name="Vision", type="eval") == {"ok": True}
    assert [t["name"] for t in ok(ada, "settings.get", name="Vision")["types"]] == ["model"]


def test_members_add_change_remove(ada):
    ada.create_registry("Vision", visibility="restricted")
    result = ok(ada, "registry.member.add", name="Vision", user="dave", role="restricted_viewer")
    assert result == {"ok": True}
    result = ok(ada, "settings.get", name="Vision")
    assert result["members"][1:] == [
        {
            "user": "dave",
            "role": "restricted_viewer",
            "effective_role": "restricted_viewer",
            "you": False,
        }
    ]
    assert ok(ada, "registry.member.role", name="Vision", user="dave", role="viewer") == {
        "ok": True
    }
    result = ok(ada, "settings.get", name="Vision")
    assert result["members"][1]["effective_role"] == "viewer"
    err = refused(ada, "registry.member.add", name="Vision", user="zed", role="viewer")
    assert err["type"] == "NotFoundError"
    assert "client.add_user('zed')" in err["detail"]  # the library's words, for code
    assert "Organization page" in err["message"]
    assert ok(ada, "registry.member.remove", name="Vision", user="dave") == {"ok": True}
    members = ok(ada, "settings.get", name="Vision")["members"]
    assert [m["user"] for m in members] == ["ada"]


def test_protected_aliases_add_and_remove(ada):
    assert ok(ada, "registry.protected.add", name="Models", alias="production") == {"ok": True}
    settings = ok(ada, "settings.get", name="Models")
    assert settings["registry"]["protected_aliases"] == ["production"]
    err = refused(ada, "registry.protected.add", name="Models", alias="latest")
    assert err["type"] == "ValidationError"
    assert ok(ada, "registry.protected.remove", name="Models", alias="production") == {"ok": True}
    result = ok(ada, "settings.get", name="Models")
    assert result["registry"]["protected_aliases"] == []


def test_delete_needs_the_typed_name(ada, store):
    ada.create_registry("Vision")
    before = snapshot(store)
    err = refused(ada, "registry.delete", name="Vision", confirm="vision")
    assert err["type"] == "ValidationError"
    assert err["field"] == "confirm"
    assert snapshot(store) == before
    assert ok(ada, "registry.delete", name="Vision", confirm="Vision") == {"ok": True}
    assert refused(ada, "settings.get", name="Vision")["type"] == "NotFoundError"
    err = refused(ada, "registry.delete", name="Models", confirm="Models")
    assert "core registry" in err["message"]


FORGED = [
    ("registry.update", {"name": "Team", "description": "x"}),
    ("registry.update", {"name": "Team", "new_name": "Renamed"}),
    ("registry.delete", {"name": "Team", "confirm": "Team"}),
    ("registry.type.add", {"name": "Team", "type": "onnx"}),
    ("registry.type.remove", {"name": "Team", "type": "eval"}),
    ("registry.member.add", {"name": "Team", "user": "dave", "role": "admin"}),
    ("registry.member.role", {"name": "Team", "user": "bob", "role": "admin"}),
    ("registry.member.remove", {"name": "Team", "user": "bob"}),
    ("registry.protected.add", {"name": "Team", "alias": "staging"}),
    ("registry.protected.remove", {"name": "Team", "alias": "production"}),
    ("org.user.add", {"name": "eve", "role": "admin"}),
    ("org.user.role", {"name": "bob", "role": "admin"}),
]


@pytest.mark.parametrize("user", ["bob", "carol", "dave"])
@pytest.mark.parametrize(
    ("method", "params"), FORGED, ids=[f"{m}-{i}" for i, (m, _) in enumerate(FORGED)]
)
def test_forged_admin_requests_are_refused_and_change_nothing(ada, store, user, method, params):
    reg = ada.create_registry("Team", visibility="restricted", artifact_types=["model", "eval"])
    reg.add_member("bob", "member")
    reg.add_member("carol", "viewer")
    reg.add_member("dave", "restricted_viewer")
    reg.add_protected_alias("production")
    before = snapshot(store)
    err = refused(as_user(store, user), method, **params)
    assert err["type"] == "PermissionDeniedError", err
    if err["code"] == "role_needed":  # said to the user, the library's message kept as detail
        assert err["message"].startswith("You may not"), err
        assert user in err["detail"]
    else:
        assert user in err["message"]
    assert snapshot(store) == before


def test_outsider_cannot_learn_a_restricted_registry_exists(ada, store):
    ada.create_registry("Secret", visibility="restricted")
    for method, params in [
        ("settings.get", {"name": "Secret"}),
        ("registry.update", {"name": "Secret", "description": "x"}),
        ("history.get", {"scope": "registry", "path": "Secret"}),
    ]:
        assert refused(as_user(store, "bob"), method, **params)["type"] == "NotFoundError"


def test_registries_list_says_who_may_create_registries(ada, store):
    assert ok(ada, "registries.list")["org_role"] == "admin"
    assert ok(as_user(store, "bob"), "registries.list")["org_role"] == "member"
    assert ok(as_user(store, "carol"), "registries.list")["org_role"] == "viewer"
    err = refused(as_user(store, "carol"), "registry.create", name="Mine")
    assert err["type"] == "PermissionDeniedError"


def test_org_page_lists_users_and_adds_one(ada, store):
    result = ok(ada, "org.get")
    assert result["role"] == "admin"
    assert [(u["name"], u["role"]) for u in result["users"]] == [
        ("ada", "admin"),
        ("bob", "member"),
        ("carol", "viewer"),
        ("dave", "viewer"),
    ]
    assert ok(ada, "org.user.add", name="eve", role="viewer") == {"ok": True}
    result = ok(ada, "org.get")
    assert ("eve", "viewer") in [(u["name"], u["role"]) for u in result["users"]]
    assert ok(ada, "org.user.role", name="eve", role="member") == {"ok": True}
    result = ok(ada, "org.get")
    assert ("eve", "member") in [(u["name"], u["role"]) for u in result["users"]]
    assert ok(as_user(store, "bob"), "org.get")["role"] == "member"
    err = refused(ada, "org.user.role", name="ada", role="member")
    assert "only admin" in err["message"]


def test_org_page_removes_a_user_but_not_yourself(ada, store):
    assert ok(ada, "org.user.remove", name="DAVE") == {"ok": True}
    assert [u["name"] for u in ok(ada, "org.get")["users"]] == ["ada", "bob", "carol"]
    assert "cannot remove themselves" in refused(ada, "org.user.remove", name="ada")["message"]
    err = refused(as_user(store, "bob"), "org.user.remove", name="carol")
    assert err["type"] == "PermissionDeniedError"


def test_history_scope_follows_from_the_path(ada, weights):
    ada.create_registry("Vision")
    ada.link(ada.log_artifact("m", type="model", files={"f.bin": weights}), "Vision/cats")
    for path, scope in [
        ("Vision", "registry"),
        ("Vision/cats", "collection"),
        ("Vision/cats:v0", "version"),
        ("Vision/cats:latest", "version"),
    ]:
        page = ok(ada, "history.get", path=path)
        assert page == ok(ada, "history.get", scope=scope, path=path), path
    err = refused(ada, "history.get", path="Vision/")
    assert (err["type"], err["field"]) == ("ValidationError", "path")


def test_history_is_paged_newest_first_and_filtered_by_kind(ada, weights):
    reg = ada.create_registry("Vision")
    for i in range(4):
        art = ada.log_artifact("m", type="model", files={f"f{i}.bin": weights}, metadata={"i": i})
        ada.link(art, "Vision/cats", aliases=[f"a{i}"])
    page = ok(ada, "history.get", scope="registry", path="Vision", limit=3)
    assert page["total"] == len(reg.history())
    assert len(page["items"]) == 3
    ats = [e["at"] for e in page["items"]]
    assert ats == sorted(ats, reverse=True)
    second = ok(ada, "history.get", scope="registry", path="Vision", limit=3, offset=3)
    assert second["offset"] == 3
    assert second["items"][0] not in page["items"]
    aliases = ok(ada, "history.get", scope="collection", path="Vision/cats", kind="alias")
    assert aliases["total"] > 0
    assert {e["action"].split(".")[0] for e in aliases["items"]} == {"alias"}
    version = ok(ada, "history.get", scope="version", path="Vision/cats:v0")
    actions = [e["action"] for e in version["items"]]
    assert "link.create" in actions
    assert "artifact.create" in actions
    assert page["kinds"] == ["registry", "collection", "link", "alias"]
    assert version["kinds"] == ["link", "alias", "artifact"]
    err = refused(ada, "history.get", scope="registry", path="Vision", kind="bogus")
    assert err["field"] == "kind"
    assert refused(ada, "history.get", scope="planet", path="x")["field"] == "scope"


def test_compare_returns_every_version_oldest_first_with_flat_metadata(ada, weights):
    ada.registry("Models").add_protected_alias("production")
    for i in range(3):
        art = ada.log_artifact(
            "m",
            type="model",
            files={f"f{i}.bin": weights},
            metadata={"accuracy": 0.8 + i / 10, "opt": {"lr": 0.1 / (i + 1), "name": "sgd"}},
        )
        ada.link(art, "Models/cats", aliases=["production"] if i == 1 else [])
    result = ok(ada, "compare.get", path="Models/cats")
    assert [v["version"] for v in result["versions"]] == ["v0", "v1", "v2"]
    v1 = result["versions"][1]
    assert v1["aliases"] == [{"name": "production", "protected": True}]
    assert v1["metadata"] == {"accuracy": pytest.approx(0.9), "opt.lr": 0.05, "opt.name": "sgd"}
    assert result["versions"][2]["aliases"] == [{"name": "latest", "protected": False}]


def test_flatten_metadata_keeps_scalars_and_bounds_size():
    flat = flatten_metadata({"a": {"b": [1, 2], "c": None}, "d": float("nan"), "e": "x" * 999})
    assert flat["a.b"] == "1, 2"
    assert flat["a.c"] is None
    assert flat["d"] is None
    assert len(flat["e"]) < 400
    assert len(flatten_metadata({str(i): i for i in range(500)}, max_keys=10)) == 10


def test_version_page_lists_every_visible_link_with_aliases(ada, store, weights):
    ada.registry("Models").add_protected_alias("production")
    art = ada.log_artifact("m", type="model", files=weights)
    ada.link(art, "Models/cats", aliases=["production"])
    ada.link(art, "Models/pets")
    secret = ada.create_registry("Secret", visibility="restricted")
    secret.add_member("bob", "viewer")
    ada.link(art, "Secret/x")
    result = ok(ada, "version.get", path="Models/cats:v0")
    assert [link["path"] for link in result["links"]] == [
        "Models/cats:v0",
        "Models/pets:v0",
        "Secret/x:v0",
    ]
    assert {"name": "production", "protected": True} in result["links"][0]["aliases"]
    ada.registry("Secret").remove_member("bob")
    bob = ok(as_user(store, "bob"), "version.get", path="Models/cats:v0")
    assert [link["path"] for link in bob["links"]] == ["Models/cats:v0", "Models/pets:v0"]
    assert "Secret" not in json.dumps(bob)  # no leak of Secret
    history = ok(as_user(store, "bob"), "history.get", scope="version", path="Models/cats:v0")
    assert "Secret" not in json.dumps(history)
    assert [e["action"] for e in history["items"]] == [
        "alias.set",
        "link.create",
        "artifact.create",
    ]


def _cats(ada: rw.Client, weights: Path) -> None:
    ada.registry("Models").add_protected_alias("production")
    for i in range(3):
        art = ada.log_artifact("m", type="model", files={f"f{i}.bin": weights})
        ada.link(art, "Models/cats", aliases=["production"] if i == 0 else [])


def test_member_edits_unlinks_and_deletes_collections(ada, store, weights):
    _cats(ada, weights)
    bob = as_user(store, "bob")
    result = ok(bob, "collection.update", path="Models/cats", description="*cats*", tags=["a"])
    assert result == {"ok": True}
    result = ok(bob, "collection.get", path="Models/cats")
    assert (result["description"], result["tags"]) == ("*cats*", ["a"])
    assert ok(bob, "link.delete", path="Models/cats:v1") == {
        "ok": True,
        "collection": "Models/cats",
    }
    assert [v.version for v in ada.registry("Models").collection("cats").versions()] == [
        "v2",
        "v0",
    ]
    err = refused(bob, "link.delete", path="Models/cats:v0")
    assert err["type"] == "PermissionDeniedError"
    assert "protected alias 'production'" in err["message"]
    err = refused(bob, "collection.delete", path="Models/cats")
    assert "protected alias 'production'" in err["message"]
    ok(bob, "collection.create", registry="Models", name="dogs", type="model")
    assert ok(bob, "collection.delete", path="Models/dogs") == {"ok": True, "registry": "Models"}
    assert [c.name for c in ada.registry("Models").collections()] == ["cats"]


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("collection.update", {"path": "Models/cats", "description": "x"}),
        ("collection.delete", {"path": "Models/cats"}),
        ("link.delete", {"path": "Models/cats:v2"}),
    ],
)
def test_viewers_cannot_edit_unlink_or_delete(ada, store, weights, method, params):
    _cats(ada, weights)
    before = snapshot(store), ada.registry("Models").collection("cats").count
    err = refused(as_user(store, "carol"), method, **params)
    assert err["type"] == "PermissionDeniedError"
    assert (snapshot(store), ada.registry("Models").collection("cats").count) == before
