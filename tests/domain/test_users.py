"""Organisation users: the first is admin, others are added, strangers are told how to join."""

from __future__ import annotations

import getpass

import pytest

import registry_widget as rw


def test_first_user_becomes_org_admin(client: rw.Client) -> None:
    assert [(u.name, u.role) for u in client.users()] == [("ada", "admin")]


def test_admin_adds_users_who_can_then_open_the_store(make_client, client: rw.Client) -> None:
    user = client.add_user("bob")
    assert (user.name, user.role) == ("bob", "member")
    bob = make_client("bob")
    assert bob.user == "bob"
    assert [u.name for u in bob.users()] == ["ada", "bob"]


def test_unknown_user_is_refused_with_how_to_be_added(make_client, client: rw.Client) -> None:
    with pytest.raises(rw.PermissionDeniedError) as err:
        make_client("mallory")
    message = str(err.value)
    assert "'mallory'" in message
    assert "client.add_user('mallory')" in message
    assert "'ada'" in message  # who can add them


def test_only_org_admins_add_users(make_client, client: rw.Client) -> None:
    client.add_user("bob")
    with pytest.raises(rw.PermissionDeniedError, match="organisation role 'admin'"):
        make_client("bob").add_user("eve")


def test_duplicate_user_is_a_conflict(client: rw.Client) -> None:
    client.add_user("bob")
    with pytest.raises(rw.ConflictError, match="already exists"):
        client.add_user("bob", "viewer")


def test_bad_role_names_the_allowed_roles(client: rw.Client) -> None:
    with pytest.raises(rw.ValidationError, match="admin") as err:
        client.add_user("bob", "owner")
    assert err.value.field == "role"


def test_the_only_admin_cannot_be_demoted(client: rw.Client) -> None:
    with pytest.raises(rw.ConflictError, match="only admin"):
        client.set_user_role("ada", "member")
    client.add_user("bob", "admin")
    client.set_user_role("ada", "member")
    assert {u.name: u.role for u in client.users()} == {"ada": "member", "bob": "admin"}


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.set_user_role("nobody", "viewer"),
        lambda c: c.registry("Lab").add_member("nobody", "viewer"),
    ],
    ids=["set_user_role", "add_member"],
)
def test_an_unknown_user_is_not_found_everywhere(client: rw.Client, store_state, call) -> None:
    client.create_registry("Lab")
    before = store_state(client)
    with pytest.raises(rw.NotFoundError, match="'nobody'") as err:
        call(client)
    assert "client.add_user('nobody'" in str(err.value)
    assert not isinstance(err.value, rw.ValidationError)
    assert store_state(client) == before


def test_default_user_is_the_login_name(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("REGISTRY_WIDGET_USER", raising=False)
    assert rw.Client(tmp_path / "a.json").user == getpass.getuser()


def test_environment_variable_overrides_the_login_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("REGISTRY_WIDGET_USER", "grace")
    client = rw.Client(tmp_path / "a.json")
    assert client.user == "grace"
    assert client.users()[0].name == "grace"
    assert rw.Client(tmp_path / "a.json", user="grace").user == "grace"  # explicit wins too


def test_an_admin_removes_a_user_and_their_registry_roles(make_client, client: rw.Client) -> None:
    client.add_user("Bob", "member")
    lab = client.create_registry("Lab", visibility="restricted")
    lab.add_member("bob", "member")
    make_client("bob").create_registry("Bobs")  # what they created stays, under their name
    client.remove_user("BOB")
    assert [u.name for u in client.users()] == ["ada"]
    assert [m.user for m in client.registry("Lab").members()] == ["ada"]
    assert [m.user for m in client.registry("Bobs").members()] == []
    assert client.registry("Bobs").created_by == "Bob"
    with pytest.raises(rw.PermissionDeniedError, match="not a user"):
        make_client("bob")
    kinds = [e.action for e in client.registry("Lab").history()]
    assert kinds[0] == "registry.member.remove"
    # Added again, they start with no registry role.
    client.add_user("bob", "viewer")
    with pytest.raises(rw.NotFoundError):
        make_client("bob").registry("Lab")


def test_removing_users_is_refused_as_it_should_be(
    make_client, client: rw.Client, store_state
) -> None:
    client.add_user("bob", "member")
    client.add_user("eve", "admin")
    before = store_state(client)
    with pytest.raises(rw.PermissionDeniedError, match="remove users"):
        make_client("bob").remove_user("eve")
    with pytest.raises(rw.NotFoundError, match="no user 'nobody'"):
        client.remove_user("nobody")
    with pytest.raises(rw.ConflictError, match="cannot remove themselves"):
        client.remove_user("ADA")
    with pytest.raises(rw.ValidationError):
        client.remove_user("")
    assert store_state(client) == before
    make_client("eve").remove_user("ada")  # another admin can
    assert [u.name for u in make_client("eve").users()] == ["bob", "eve"]
