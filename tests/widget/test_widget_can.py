"""The widget's `can` flags: the kernel tells the page which controls to show.

The page keeps no rule of its own (role order, protected aliases); it shows a control when
the kernel's flag allows it, and the flag agrees with what the domain then does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

import registry_widget as rw
from registry_widget.widget.app import HANDLERS
from registry_widget.widget.protocol import dispatch


def ok(client: rw.Client, method: str, **params: Any) -> Any:
    reply = dispatch(
        HANDLERS, client, {"kind": "request", "id": "r", "method": method, "params": params}
    )
    json.dumps(reply, allow_nan=False)
    assert reply["ok"], reply
    return reply["result"]


@pytest.fixture
def team(
    make_client: Callable[[str], rw.Client], log: Callable[..., rw.ArtifactVersion]
) -> dict[str, rw.Client]:
    ada = make_client("ada")
    ada.add_user("bob", "member")
    ada.add_user("carol", "viewer")
    reg = ada.create_registry("Vision", visibility="restricted")
    reg.add_member("bob", "member")
    reg.add_member("carol", "viewer")
    reg.add_protected_alias("production")
    for i in range(2):
        art = log("cat")
        ada.link(art, "Vision/cats", aliases=["production"] if i == 0 else ["staging"])
    return {"ada": ada, "bob": make_client("bob"), "carol": make_client("carol")}


def _rows(client: rw.Client) -> dict[str, dict[str, Any]]:
    items = ok(client, "collection.versions", path="Vision/cats")["items"]
    return {row["version"]: row["can"] for row in items}


def test_flags_follow_role_and_protected_aliases(team: dict[str, rw.Client]) -> None:
    ada, bob, carol = team["ada"], team["bob"], team["carol"]
    assert ok(ada, "collection.get", path="Vision/cats")["can"]["delete"] is True
    # A member may not delete a collection holding a protected alias, nor unlink its holder.
    bob_coll = ok(bob, "collection.get", path="Vision/cats")["can"]
    assert (bob_coll["link"], bob_coll["edit"], bob_coll["delete"]) == (True, True, False)
    rows = _rows(bob)
    assert rows["v0"]["unlink"] is False
    assert rows["v1"]["unlink"] is True
    assert rows["v0"]["remove_alias"] == []
    assert rows["v1"]["remove_alias"] == ["staging"]  # `latest` is never offered
    # A viewer gets no control at all.
    viewer = _rows(carol)
    assert not any(viewer["v1"][k] for k in ("unlink", "set_alias", "remove_alias", "edit"))
    assert ok(carol, "collection.get", path="Vision/cats")["can"]["link"] is False
    # The flags agree with the domain: what is not offered is refused, what is offered works.
    with pytest.raises(rw.PermissionDeniedError):
        bob.use("Vision/cats:v0").unlink()
    bob.use("Vision/cats:v1").unlink()


def test_page_flags_for_registries_registry_and_version(team: dict[str, rw.Client]) -> None:
    ada, bob, carol = team["ada"], team["bob"], team["carol"]
    assert ok(ada, "registries.list")["can"] == {"create_registry": True, "manage_users": True}
    assert ok(bob, "registries.list")["can"] == {"create_registry": True, "manage_users": False}
    assert ok(carol, "registries.list")["can"]["create_registry"] is False
    assert ok(bob, "registry.get", name="Vision")["registry"]["can"] == {
        "create_collection": True,
        "administer": False,
    }
    version = ok(bob, "version.get", path="Vision/cats:v0")["can"]
    assert (version["unlink"], version["set_alias"], version["edit_artifact"]) == (
        False,
        True,
        True,
    )
    assert ok(carol, "version.get", path="Vision/cats:v0")["can"]["edit_artifact"] is False


def test_artifact_update_from_the_version_page(team: dict[str, rw.Client]) -> None:
    bob, carol = team["bob"], team["carol"]
    result = ok(bob, "artifact.update", artifact="cat:v1", description="best", tags=["a", "b"])
    assert result == {"ok": True}
    assert bob.artifact("cat:v1").description == "best"
    assert bob.artifact("cat:v1").tags == ["a", "b"]
    reply = dispatch(
        HANDLERS,
        carol,
        {
            "kind": "request",
            "id": "r",
            "method": "artifact.update",
            "params": {"artifact": "cat:v1", "description": "mine"},
        },
    )
    assert reply["ok"] is False
    assert reply["error"]["type"] == "PermissionDeniedError"
    assert bob.artifact("cat:v1").description == "best"


def test_user_names_are_checked_as_typed(client: rw.Client) -> None:
    assert ok(client, "validate", field="user_name", value="grace") == {"ok": True}
    refusal = ok(client, "validate", field="user_name", value="a b/c")
    assert refusal["ok"] is False
    assert "user" in refusal["message"]
