"""The widget says the library's common refusals in words for people, in one place.

The library's messages stay written for code (``registry.set_role(...)``); the widget's
error envelope carries the refusal's ``code``, a message for the person at the widget that
points to the control that fixes it (or who can use it), and the library's message as
``detail``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

import registry_widget as rw
from registry_widget.widget.app import HANDLERS
from registry_widget.widget.protocol import dispatch

PYTHON_SPEAK = ("registry.", "client.", "U+", "['", '["', "()", "=", "position")


def reply(client: rw.Client, method: str, **params: Any) -> dict[str, Any]:
    answer = dispatch(
        HANDLERS, client, {"kind": "request", "id": "r", "method": method, "params": params}
    )
    json.dumps(answer, allow_nan=False)
    return answer


def refused(client: rw.Client, method: str, **params: Any) -> dict[str, Any]:
    answer = reply(client, method, **params)
    assert answer["ok"] is False, answer
    return dict(answer["error"])


def assert_plain(message: str) -> None:
    for python in PYTHON_SPEAK:
        assert python not in message, (python, message)


@pytest.fixture
def team(make_client: Callable[[str], rw.Client]) -> dict[str, rw.Client]:
    ada = make_client("ada")
    ada.add_user("bob", "member")
    reg = ada.create_registry("Vision", artifact_types=["model", "eval"])
    reg.add_member("bob", "member")
    return {"ada": ada, "bob": make_client("bob")}


def test_a_missing_role_is_said_to_the_user_with_who_can_change_it(
    team: dict[str, rw.Client], store_state: Callable[[rw.Client], object]
) -> None:
    bob = team["bob"]
    before = store_state(bob)
    err = refused(bob, "registry.member.role", name="Vision", user="bob", role="admin")
    assert (err["type"], err["code"]) == ("PermissionDeniedError", "role_needed")
    assert err["message"] == (
        "You may not manage the members of registry 'Vision': that needs the admin role on "
        "Vision, and your role there is member. An admin of Vision can give it to you in the "
        "registry's Settings, under Members."
    )
    assert_plain(err["message"])
    # The library's message, for code, is unchanged and travels along.
    with pytest.raises(rw.PermissionDeniedError) as caught:
        bob.registry("Vision").set_role("bob", "admin")
    assert err["detail"] == str(caught.value)
    assert "registry.set_role('bob', 'admin')" in err["detail"]
    assert store_state(bob) == before


def test_a_type_the_registry_does_not_accept_points_to_its_settings(
    team: dict[str, rw.Client],
) -> None:
    err = refused(team["bob"], "collection.create", registry="Vision", name="d", type="dataset")
    assert (err["type"], err["code"], err["field"]) == (
        "ValidationError",
        "type_not_accepted",
        "type",
    )
    assert err["message"] == (
        "Vision does not accept the type “dataset”; it accepts model, eval. An admin of Vision "
        "can add the type in the registry's Settings, under Accepted types."
    )
    assert_plain(err["message"])
    assert "registry.add_artifact_type('dataset')" in err["detail"]


def test_a_forbidden_character_is_named_as_typed(team: dict[str, rw.Client]) -> None:
    ada = team["ada"]
    err = refused(ada, "registry.create", name="a/b")
    assert err["code"] == "bad_character"
    assert err["message"].startswith("The registry name “a/b” cannot contain “/”. A registry name")
    assert_plain(err["message"])
    assert "'/' (U+002F) at position 1" in err["detail"]
    # The same words as the field is typed.
    check = reply(ada, "validate", field="registry_name", value="a/b")["result"]
    assert check == {"ok": False, "message": err["message"]}
    check = reply(ada, "validate", field="collection_name", value="x:y")["result"]
    assert check["message"].startswith("The collection name “x:y” cannot contain “:”.")


def test_a_refusal_without_words_of_its_own_keeps_the_librarys_message(
    team: dict[str, rw.Client],
) -> None:
    err = refused(team["ada"], "registry.create", name="Vision")
    assert err["type"] == "ConflictError"
    assert (err["code"], err["detail"]) == (None, None)
    with pytest.raises(rw.ConflictError) as caught:
        team["ada"].create_registry("Vision")
    assert err["message"] == str(caught.value)


def test_what_is_not_there_is_said_with_what_is(team: dict[str, rw.Client], files) -> None:
    ada = team["ada"]
    for i in range(3):
        v = ada.log_artifact("m", type="model", files=files("w.bin", b"%d" % i))
        ada.link(v, "Vision/cats", aliases=["production"] if i == 1 else [])
    err = refused(ada, "registry.get", name="Nowhere")
    assert (err["type"], err["code"]) == ("NotFoundError", "not_found")
    assert err["message"] == (
        "There is no registry “Nowhere” you can see. Registries you can see: “Datasets”, “Models”, “Vision”."
    )
    assert "see: 'Datasets', 'Models', 'Vision'" in err["detail"]
    err = refused(ada, "collection.get", path="Vision/dogs")
    assert err["message"] == "Vision has no collection “dogs”. It has “cats”."
    err = refused(ada, "version.get", path="Vision/cats:v7")
    assert err["message"] == (
        "Vision/cats has no version “v7”. Its versions run from v0 to v2, and its aliases "
        "are “latest”, “production”."
    )
    ada.registry("Vision").create_collection("empty", type="model")
    err = refused(ada, "version.get", path="Vision/empty:latest")
    assert err["message"] == "Vision/empty has no version “latest”: nothing is linked into it yet."
    for message in (err["message"],):
        assert_plain(message)


def test_membership_refusals_point_to_the_control_that_fixes_them(
    team: dict[str, rw.Client],
) -> None:
    ada = team["ada"]
    err = refused(ada, "registry.member.add", name="Vision", user="BOB", role="viewer")
    assert (err["type"], err["code"]) == ("ConflictError", "already_member")
    assert err["message"] == (
        "bob is already a member of Vision as member; change their role in the Members "
        "table instead."
    )
    assert "registry.set_role" in err["detail"]
    err = refused(ada, "registry.member.add", name="Vision", user="zoe", role="viewer")
    assert err["message"] == (
        "“zoe” is not a user of this organization. An organization admin adds users on the "
        "Organization page."
    )
    err = refused(ada, "registry.member.role", name="Vision", user="ada2", role="viewer")
    assert err["code"] == "no_user"
    ada.add_user("carol", "viewer")
    err = refused(ada, "registry.member.role", name="Vision", user="carol", role="viewer")
    assert err["message"] == "carol is not a member of Vision; add them with Add a member first."
    err = refused(ada, "org.user.role", name="zoe", role="member")
    assert err["code"] == "no_user"
    for message in (err["message"],):
        assert_plain(message)


def test_a_type_in_use_says_which_collections_keep_it_before_any_click(
    team: dict[str, rw.Client], store_state: Callable[[rw.Client], object]
) -> None:
    ada = team["ada"]
    vision = ada.registry("Vision")
    vision.create_collection("cats", type="model")
    vision.create_collection("dogs", type="model")
    vision.add_artifact_type("report")
    types = {t["name"]: t for t in reply(ada, "settings.get", name="Vision")["result"]["types"]}
    # The domain says why a type stays; the page shows it by the Remove it disables.
    said = (
        "The collections “cats”, “dogs” use the type “model”: it can be removed once no "
        "collection of Vision uses it."
    )
    assert types["model"] == {
        "name": "model",
        "used_by": ["cats", "dogs"],
        "fixed": False,
        "why_kept": said,
    }
    assert types["eval"]["why_kept"] is None
    assert types["report"]["why_kept"] is None
    # A click that gets through all the same (a page from before) is refused in the same words.
    before = store_state(ada)
    err = refused(ada, "registry.type.remove", name="Vision", type="model")
    assert (err["type"], err["code"], err["message"]) == ("ConflictError", "type_in_use", said)
    assert_plain(err["message"])
    assert store_state(ada) == before
    # The library's own message quotes the names as it quotes one, never as a list.
    with pytest.raises(rw.ConflictError) as caught:
        vision.remove_artifact_type("model")
    assert err["detail"] == str(caught.value)
    assert "used by collections 'cats', 'dogs' of registry 'Vision'" in err["detail"]
    assert "[" not in err["detail"]
    # The last type and a core registry's own type say why too.
    vision.remove_artifact_type("report")
    vision.remove_artifact_type("eval")
    vision.collection("cats").delete()
    vision.collection("dogs").delete()
    last = reply(ada, "settings.get", name="Vision")["result"]["types"]
    assert last[0]["why_kept"] == (
        "“model” is the only type Vision accepts; add another type before removing it."
    )
    core = reply(ada, "settings.get", name="Models")["result"]["types"]
    assert core[0]["why_kept"] == (
        "“model” is the preconfigured type of the core registry Models; it can never be removed."
    )
    # Whoever looks at the page reads the same reason; only admins get the button.
    bob = reply(team["bob"], "settings.get", name="Vision")["result"]
    assert bob["types"][0]["why_kept"] == last[0]["why_kept"]
    assert bob["can"]["admin"] is False


def test_refusals_met_in_the_widget_read_as_words_for_a_person(
    team: dict[str, rw.Client], files: Callable[..., Any]
) -> None:
    ada = team["ada"]
    ada.create_registry("Anything")
    ada.registry("Anything").create_collection("models", type="model")
    data = ada.log_artifact("table", type="dataset", files=files("t.csv", b"a\n1\n"))
    ada.link(data, "Datasets/tables")
    said: dict[str, str] = {}
    for what, method, params in [
        # "other types too" in the link dialog: a collection holds one type.
        ("wrong type", "link.create", {"artifact": "table:v0", "collection": "Anything/models"}),
        # The artifacts page's Link, with a registry where a collection is needed.
        ("not a collection", "link.create", {"artifact": "table:v0", "collection": "Datasets"}),
        # A page from before: the alias, the protection or the user went meanwhile.
        ("no alias", "alias.remove", {"path": "Datasets/tables:v0", "alias": "gone"}),
        ("not protected", "registry.protected.remove", {"name": "Vision", "alias": "gone"}),
        ("no user", "org.user.remove", {"name": "zoe"}),
        ("not accepted", "registry.type.remove", {"name": "Vision", "type": "onnx"}),
        ("not confirmed", "registry.delete", {"name": "Vision", "confirm": "vision"}),
    ]:
        said[what] = refused(ada, method, **params)["message"]
        assert_plain(said[what])
    assert said["wrong type"] == (
        "Anything/models holds “model” versions, so a “dataset” version cannot be linked into "
        "it; link it into a collection of “dataset” versions."
    )
    assert said["not a collection"] == (
        "“Datasets” is not a collection: name one as Registry/Collection, such as "
        "Models/cat-resnet (it is created if missing)."
    )
    assert said["no alias"] == "Datasets/tables:v0 has no alias 'gone'; its aliases are 'latest'"
    assert said["not protected"] == "alias 'gone' is not protected in 'Vision'; no alias is"
    assert said["no user"].startswith("“zoe” is not a user of this organization.")
    assert said["not accepted"] == (
        "registry 'Vision' does not accept type 'onnx'; it accepts 'model', 'eval'"
    )
    assert said["not confirmed"] == (
        "To delete the registry, type its name “Vision” exactly to confirm; “vision” does not "
        "match it."
    )
