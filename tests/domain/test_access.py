"""SPEC §10 access rules: versions inherit visibility, permission before no-op, nothing
hidden leaks, one user one name. Every test runs on both store backends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import registry_widget as rw
from registry_widget.widget.protocol import dispatch


def widget_call(client: rw.Client, method: str, **params: Any) -> dict[str, Any]:
    """One request through the widget's dispatcher, as the frontend sends it."""
    from registry_widget.widget.app import HANDLERS

    message = {"kind": "request", "id": "r1", "method": method, "params": params}
    return dispatch(HANDLERS, client, message)


@pytest.fixture
def team(make_client, client: rw.Client, files) -> dict[str, rw.Client]:
    """A restricted registry ``Team`` holding ``secret:v0``, and a client per kind of user.

    ``rv`` is a restricted viewer of Team, ``tv`` a viewer, ``tm`` a member; ``out`` is
    an organisation member outside Team.
    """
    for name in ("rv", "tv", "tm", "out"):
        client.add_user(name, "member")
    reg = client.create_registry("Team", visibility="restricted")
    reg.add_member("rv", "restricted_viewer")
    reg.add_member("tv", "viewer")
    reg.add_member("tm", "member")
    secret = client.log_artifact(
        "secret", type="model", files=files("w.bin", b"hidden"), metadata={"k": 1}, tags=["t"]
    )
    client.link(secret, "Team/models")
    return {name: make_client(name) for name in ("ada", "rv", "tv", "tm", "out")}


# -- artifact versions inherit visibility ------------------------------------------------------


def test_restricted_viewer_sees_but_cannot_download_a_version_by_its_ref(team, tmp_path) -> None:
    rv = team["rv"]
    art = rv.artifact("secret:v0")
    assert (art.metadata, art.tags) == ({"k": 1}, ["t"])
    with pytest.raises(rw.PermissionDeniedError, match="'restricted_viewer'"):
        art.download(tmp_path / "a")
    with pytest.raises(rw.PermissionDeniedError):
        art.verify()
    with pytest.raises(rw.PermissionDeniedError):
        rv.registry("Team").collection("models").version("v0").artifact.download(tmp_path / "b")
    assert not (tmp_path / "a").exists()
    assert not (tmp_path / "b").exists()
    assert team["tv"].artifact("secret:v0").download(tmp_path / "c").is_dir()


@pytest.mark.parametrize("ref", ["secret:v0", "secret", "secret:latest"])
def test_a_version_only_in_a_hidden_registry_is_answered_like_a_missing_one(team, ref) -> None:
    out = team["out"]
    with pytest.raises(rw.NotFoundError) as hidden:
        out.artifact(ref)
    with pytest.raises(rw.NotFoundError) as missing:
        out.artifact(ref.replace("secret", "nothing"))
    assert str(hidden.value) == str(missing.value).replace("nothing", "secret")
    assert out.artifacts() == []
    assert out.artifacts({"name": "secret"}) == []
    with pytest.raises(rw.NotFoundError):
        out.link(ref, "Models/stolen")


def test_a_handle_stops_reading_once_its_version_is_linked_away(team, files, tmp_path) -> None:
    ada, out = team["ada"], team["out"]
    art = ada.log_artifact("open", type="model", files=files("o.bin", b"open"))
    seen = out.artifact("open:v0")  # linked nowhere: the organisation's
    assert seen.metadata == {}
    assert seen.download(tmp_path / "o").is_dir()
    ada.link(art, "Team/models")
    for read in (lambda: seen.metadata, lambda: seen.files, lambda: seen.download(tmp_path)):
        with pytest.raises(rw.NotFoundError):
            read()
    with pytest.raises(rw.ValidationError, match="may not see"):
        out.link(seen, "Models/stolen")
    ada.link(art, "Models/open")  # now also in an organisation registry: visible again
    assert out.artifact("open:v0").metadata == {}
    assert [a.ref for a in out.artifacts()] == ["open:v0"]


def test_latest_is_the_newest_version_the_user_may_see(team, files) -> None:
    ada = team["ada"]
    ada.log_artifact("secret", type="model", files=files("w.bin", b"newer"))  # secret:v1
    ada.link("secret:v1", "Team/models")
    assert team["tm"].artifact("secret").version == "v1"
    with pytest.raises(rw.NotFoundError):
        team["out"].artifact("secret")
    ada.log_artifact("secret", type="model", files=files("w.bin", b"newest"))  # unlinked v2
    assert team["out"].artifact("secret").version == "v2"
    assert team["out"].artifact("secret:latest").version == "v2"


def test_logging_what_a_hidden_version_holds_returns_no_hidden_version(team, files) -> None:
    out = team["out"]
    art = out.log_artifact("secret", type="model", files=files("w.bin", b"hidden"))
    assert art.ref == "secret:v1"
    assert art.metadata == {}


def test_the_link_picker_offers_only_versions_the_user_may_see(team, files) -> None:
    team["ada"].log_artifact("free", type="model", files=files("f.bin", b"free"))
    for user, expected in (("out", ["free:v0"]), ("rv", ["free:v0", "secret:v0"])):
        reply = widget_call(team[user], "artifact.candidates")
        assert reply["ok"], reply
        assert sorted(i["ref"] for i in reply["result"]["items"]) == expected
        assert reply["result"]["total"] == len(expected)
        reply = widget_call(team[user], "artifact.candidates", query="secr")
        assert len(reply["result"]["items"]) == (user == "rv")


# -- editing a version needs member wherever it is linked --------------------------------------


@pytest.mark.parametrize(
    ("user", "also_in_models"),
    # Linked only into Team, the version is invisible to "out": see the tests above.
    [("rv", False), ("tv", False), ("rv", True), ("tv", True), ("out", True)],
)
def test_only_members_of_its_registries_edit_a_linked_version(team, user, also_in_models) -> None:
    ada = team["ada"]
    if also_in_models:  # every organisation member is a member of Models
        ada.link("secret:v0", "Models/shared")
    before = ada.revision
    art = team[user].artifact("secret:v0")
    link = team[user].registry("Models" if user == "out" else "Team").versions()[0]
    for edit in (art, link.artifact):
        for change in ({"description": "mine"}, {"tags": ["x"]}, {"tags": ["t"]}):
            with pytest.raises(rw.PermissionDeniedError, match=f"user '{user}' may not edit"):
                edit.update(**change)
    assert ada.revision == before
    assert ada.artifact("secret:v0").description == ""
    team["tm"].artifact("secret:v0").update(description="by a member")
    assert ada.artifact("secret:v0").description == "by a member"


def test_a_version_in_two_registries_needs_member_in_both(team, make_client) -> None:
    ada, tm = team["ada"], team["tm"]
    ada.create_registry("Other", visibility="restricted").add_member("tm", "viewer")
    ada.link("secret:v0", "Other/models")
    with pytest.raises(rw.PermissionDeniedError, match="registry 'Other'"):
        tm.artifact("secret:v0").update(description="x")
    ada.registry("Other").set_role("tm", "member")
    tm.artifact("secret:v0").update(description="x")
    assert ada.artifact("secret:v0").description == "x"
    assert len(ada.registry("Other").versions({"description": "x"})) == 1


def test_a_hidden_registry_refuses_the_edit_without_being_named(team) -> None:
    ada, out = team["ada"], team["out"]
    ada.link("secret:v0", "Models/shared")
    with pytest.raises(rw.PermissionDeniedError) as err:
        out.artifact("secret:v0").update(description="x")
    assert "Team" not in str(err.value)


def test_an_unlinked_version_is_edited_by_its_creator_only(team, files) -> None:
    tm, out, ada = team["tm"], team["out"], team["ada"]
    art = tm.log_artifact("draft", type="model", files=files("d.bin", b"draft"))
    with pytest.raises(rw.PermissionDeniedError, match="creator 'tm'"):
        out.artifact("draft:v0").update(description="not mine")
    art.update(description="mine")
    ada.artifact("draft:v0").update(tags=["checked"])  # organisation admins too
    assert (art.description, art.tags) == ("mine", ["checked"])


# -- permission before no-op ---------------------------------------------------------------------


def _no_ops(w: dict[str, rw.Client]) -> list[tuple[str, Callable[[], object]]]:
    tv = w["tv"]
    team = tv.registry("Team")
    link = team.collection("models").version("v0")
    models = tv.registry("Models")
    return [
        ("same visibility", lambda: models.update(visibility="organization")),
        ("same description", lambda: models.update(description=models.description)),
        ("same name", lambda: team.update(name="Team")),
        ("same restricted visibility", lambda: team.update(visibility="restricted")),
        ("alias already there", lambda: link.set_alias("ready")),
        ("protected alias already set", lambda: link.set_alias("gold")),
        ("protect an alias already protected", lambda: team.add_protected_alias("gold")),
        ("accept a type already accepted", lambda: models.add_artifact_type("model")),
        ("same role", lambda: team.set_role("tv", "viewer")),
        ("same collection description", lambda: team.collection("models").update(description="")),
        ("same collection tags", lambda: team.collection("models").update(tags=[])),
        ("link an already linked version", lambda: tv.link("secret:v0", "Team/models")),
        ("remove an absent alias", lambda: link.remove_alias("nothing")),
        ("same version description", lambda: link.artifact.update(description="")),
    ]


def test_a_change_that_changes_nothing_is_still_refused_without_the_right(team) -> None:
    ada = team["ada"]
    reg = ada.registry("Team")
    reg.add_protected_alias("gold")
    link = reg.collection("models").version("v0")
    link.set_alias("ready")
    link.set_alias("gold")
    before = ada.revision
    for name, act in _no_ops(team):
        with pytest.raises(rw.PermissionDeniedError, match="user 'tv' may not"):
            act()
        assert ada.revision == before, name


def test_the_widget_refuses_a_viewer_setting_the_current_visibility(team) -> None:
    reply = widget_call(team["tv"], "registry.update", name="Models", visibility="organization")
    assert not reply["ok"]
    assert reply["error"]["type"] == "PermissionDeniedError"


# -- what the user cannot see never leaks --------------------------------------------------------


@pytest.mark.parametrize("name", ["Team", "team", "TEAM"])
def test_a_clash_with_a_hidden_registry_does_not_name_it(team, name) -> None:
    out = team["out"]
    with pytest.raises(rw.ConflictError) as err:
        out.create_registry(name)
    message = str(err.value)
    assert "not available" in message
    assert "exists" not in message
    assert "'Team'" not in message or name == "Team"
    mine = out.create_registry("Mine")
    with pytest.raises(rw.ConflictError) as err:
        mine.update(name=name)
    assert str(err.value) == message
    for method, params in (
        ("registry.create", {"name": name}),
        ("registry.update", {"name": "Mine", "new_name": name}),
    ):
        reply = widget_call(out, method, **params)
        assert reply["error"]["type"] == "ConflictError"
        assert reply["error"]["message"] == message
    # A registry the user sees is named, as before.
    with pytest.raises(rw.ConflictError, match="a registry named 'Mine' already exists"):
        team["tm"].create_registry("MINE")


def test_a_delete_refusal_neither_names_nor_counts_hidden_links(team, files) -> None:
    ada, out = team["ada"], team["out"]
    both = out.log_artifact("both", type="model", files=files("b.bin", b"both"))
    only = out.log_artifact("only", type="model", files=files("o.bin", b"only"))
    ada.link(both, "Models/shared")
    ada.link(both, "Team/models")
    ada.link(only, "Models/shared")
    for art, index in ((both, 0), (only, 1)):
        with pytest.raises(rw.ConflictError) as err:
            art.delete()
        assert str(err.value) == (
            f"{art.ref} is still linked; it can be deleted once it is unlinked everywhere "
            f"(linked where you can see it: ['Models/shared:v{index}'])"
        )


# -- one user, one name ---------------------------------------------------------------------------


def test_membership_ignores_the_case_of_user_names(make_client, client: rw.Client) -> None:
    client.add_user("Bob", "viewer")
    reg = client.create_registry("Lab", visibility="restricted")
    reg.add_member("bob", "member")
    assert [m.user for m in reg.members()] == ["Bob", "ada"]
    for spelling in ("Bob", "bob", "BOB"):
        assert make_client(spelling).user == "Bob"  # one user, one name
        assert make_client(spelling).registry("Lab").role == "member"
    with pytest.raises(rw.ConflictError, match="already a member"):
        reg.add_member("BOB", "viewer")
    reg.set_role("BOB", "admin")
    assert {m.user: m.role for m in reg.members()} == {"Bob": "admin", "ada": "admin"}
    reg.remove_member("bOb")
    with pytest.raises(rw.NotFoundError):
        make_client("bob").registry("Lab")


def test_filters_on_who_created_ignore_the_case_of_user_names(
    make_client, client: rw.Client, files
) -> None:
    client.add_user("Bob", "member")
    bob = make_client("bob")
    v = bob.log_artifact("m", type="model", files=files("a.txt", b"a"))
    bob.create_registry("Lab")
    bob.link(v, "Lab/models")
    client.create_registry("Other")
    for spelling in ("Bob", "bob", "BOB"):
        assert [r.name for r in client.registries({"created_by": spelling})] == ["Lab"]
        assert [a.name for a in client.artifacts({"created_by": {"$eq": spelling}})] == ["m"]
        assert [x.path for x in client.versions({"created_by": {"$in": [spelling]}})] == [
            "Lab/models:v0"
        ]
        assert client.registry("Lab").collections({"$not": {"created_by": spelling}}) == []
        assert [
            r.name for r in client.registries({"$or": [{"created_by": {"$ne": spelling}}]})
        ] == ["Datasets", "Models", "Other"]
    # A name no user has is compared as given; a regex is left as written.
    assert client.registries({"created_by": "nobody"}) == []
    assert [r.name for r in client.registries({"created_by": {"$regex": "^B"}})] == ["Lab"]


def test_the_creator_of_a_restricted_registry_is_its_admin_in_any_case(
    make_client, client: rw.Client, files
) -> None:
    client.add_user("RADM", "member")
    make_client("RADM").create_registry("Private", visibility="restricted")
    assert make_client("radm").registry("Private").role == "admin"
    make_client("radm").create_registry("Own", visibility="restricted")  # recorded as RADM
    assert [(m.user, m.role) for m in client.registry("Own").members()] == [("RADM", "admin")]
    assert client.registry("Own").history()[0].user == "RADM"
    assert make_client("RADM").registry("Own").role == "admin"
    art = make_client("RADM").log_artifact("mine", type="model", files=files())
    make_client("radm").artifact("mine:v0").update(description="still mine")
    assert art.description == "still mine"
    make_client("Radm").artifact("mine:v0").delete()
    assert client.artifacts() == []


def test_old_stores_mixed_case_members_still_resolve(make_client, client: rw.Client) -> None:
    client.add_user("carol", "viewer")
    reg = client.create_registry("Old", visibility="restricted")
    store = client.store
    with store.transaction() as txn:  # as written when names compared exactly
        txn.update("registries", reg._id, {"members": {"ada": "admin", "CAROL": "member"}})
    carol = make_client("carol")
    assert carol.registry("Old").role == "member"
    reg.set_role("carol", "admin")
    assert {m.user: m.role for m in reg.members()} == {"CAROL": "admin", "ada": "admin"}
    settings = widget_call(client, "settings.get", name="Old")["result"]
    assert "carol" not in settings["candidates"]


# -- the widget shows a restricted viewer what SPEC §3 grants --------------------------------------


def test_widget_shows_a_restricted_viewer_a_versions_page_lineage_and_history(
    team, tmp_path: Path
) -> None:
    rv = team["rv"]
    path = "Team/models:v0"
    for method, params in (
        ("version.get", {"path": path}),
        ("lineage.graph", {"path": path}),
        ("history.get", {"scope": "version", "path": path}),
    ):
        reply = widget_call(rv, method, **params)
        assert reply["ok"], (method, reply)
    detail = widget_call(rv, "version.get", path=path)["result"]
    assert detail["artifact"]["ref"] == "secret:v0"
    assert detail["artifact"]["metadata"] == {"k": 1}
    history = widget_call(rv, "history.get", scope="version", path=path)["result"]
    assert [e["action"] for e in history["items"]] == ["link.create", "artifact.create"]
    # Looking is not using: the files stay out of reach.
    with pytest.raises(rw.PermissionDeniedError):
        rv.registry("Team").collection("models").version("v0").download(tmp_path / "x")
    with pytest.raises(rw.PermissionDeniedError):
        rv.use(path)
    assert widget_call(team["out"], "version.get", path=path)["error"]["type"] == "NotFoundError"


def test_the_widget_knows_the_user_whatever_the_spelling(make_client, client: rw.Client) -> None:
    client.add_user("Bob", "member")
    client.create_registry("Lab").add_member("Bob", "admin")
    bob = make_client("bob")
    settings = widget_call(bob, "settings.get", name="Lab")["result"]
    assert {m["user"]: m["you"] for m in settings["members"]} == {"Bob": True, "ada": False}
    assert settings["candidates"] == []
    users = widget_call(bob, "org.get")["result"]["users"]
    assert {u["name"]: u["you"] for u in users} == {"Bob": True, "ada": False}
    assert widget_call(bob, "registries.list")["result"]["org_role"] == "member"
