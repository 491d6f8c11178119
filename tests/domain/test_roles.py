"""SPEC §3 role table: every role × every action, allowed or refused as the table says."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import registry_widget as rw
from registry_widget.permissions import Action, allows, effective_role

ROLES = ["restricted_viewer", "viewer", "member", "admin"]
MIN_RANK = {"see": 0, "use": 1, "write": 2, "admin": 3}


@dataclass
class World:
    admin: rw.Client
    user: rw.Client
    tmp: Path


def _world(make_client, tmp_path: Path, role: str) -> World:
    admin = make_client("ada")
    admin.add_user("u", "viewer")  # the org role does not count on a restricted registry
    reg = admin.create_registry(
        "Team", visibility="restricted", artifact_types=["model", "dataset", "extra"]
    )
    reg.add_member("u", role)
    reg.add_protected_alias("production")
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)

    def log(i: int) -> rw.ArtifactVersion:
        (src / f"f{i}").write_text(f"content {i}")
        return admin.log_artifact(f"art{i}", type="model", files=src / f"f{i}")

    admin.link(log(0), "Team/c", aliases=["production"])
    admin.link(log(1), "Team/c", aliases=["staging"])
    admin.link(log(2), "Team/plain")
    admin.link(log(3), "Team/guarded", aliases=["production"])
    log(4)
    admin.add_user("newbie", "member")
    # Visibility only goes organization → restricted, so that action needs an
    # organization registry, where the user's effective role is max(viewer, role).
    admin.create_registry("Open").add_member("u", role)
    return World(admin, make_client("u"), tmp_path)


def _team(w: World) -> rw.Registry:
    return w.user.registry("Team")


def _listed(w: World, ref: str) -> None:
    """Seeing a version means finding it in the listing too (not only by its ref)."""
    assert ref in [a.ref for a in w.user.artifacts()]


# Each action: (what the table calls it, minimal role, the call as the user).
ACTIONS: list[tuple[str, str, Callable[[World], object]]] = [
    ("see registry", "see", lambda w: _team(w).description),
    ("list collections", "see", lambda w: _team(w).collections()),
    ("list versions", "see", lambda w: _team(w).collection("c").versions()),
    ("read metadata", "see", lambda w: _team(w).collection("c").version("v0").metadata),
    ("read history", "see", lambda w: _team(w).history()),
    ("read a version by its ref", "see", lambda w: w.user.artifact("art0:v0").metadata),
    ("list versions by ref", "see", lambda w: _listed(w, "art0:v0")),
    ("use a version", "use", lambda w: w.user.use("Team/c:production")),
    (
        "download a version by its ref",
        "use",
        lambda w: w.user.artifact("art0:v0").download(w.tmp / "dl-ref"),
    ),
    (
        "download files",
        "use",
        lambda w: _team(w).collection("c").version("v0").download(w.tmp / "dl"),
    ),
    ("create collection", "write", lambda w: _team(w).create_collection("new", type="model")),
    ("delete collection", "write", lambda w: _team(w).collection("plain").delete()),
    ("link", "write", lambda w: w.user.link("art4:v0", "Team/c")),
    ("unlink", "write", lambda w: _team(w).collection("plain").version("v0").unlink()),
    ("edit description", "write", lambda w: _team(w).collection("c").update(description="x")),
    ("edit tags", "write", lambda w: _team(w).collection("c").update(tags=["t"])),
    (
        "edit a version's description",
        "write",
        lambda w: _team(w).collection("c").version("v0").artifact.update(description="x"),
    ),
    (
        "edit a version's tags",
        "write",
        lambda w: w.user.artifact("art1:v0").update(tags=["t"]),
    ),
    (
        "set a version's description to its value",
        "write",
        lambda w: w.user.artifact("art2:v0").update(description=""),
    ),
    (
        "set collection tags to their value",
        "write",
        lambda w: _team(w).collection("c").update(tags=[]),
    ),
    (
        "set the alias a version holds",
        "write",
        lambda w: _team(w).collection("c").version("v1").set_alias("staging"),
    ),
    ("link a version already linked", "write", lambda w: w.user.link("art0:v0", "Team/c")),
    ("set alias", "write", lambda w: _team(w).collection("c").version("v0").set_alias("new")),
    ("move alias", "write", lambda w: _team(w).collection("c").version("v0").set_alias("staging")),
    (
        "remove alias",
        "write",
        lambda w: _team(w).collection("c").version("v1").remove_alias("staging"),
    ),
    (
        "set protected alias",
        "admin",
        lambda w: _team(w).collection("plain").version("v0").set_alias("production"),
    ),
    (
        "move protected alias",
        "admin",
        lambda w: _team(w).collection("c").version("v1").set_alias("production"),
    ),
    (
        "remove protected alias",
        "admin",
        lambda w: _team(w).collection("c").version("v0").remove_alias("production"),
    ),
    ("unlink protected", "admin", lambda w: _team(w).collection("c").version("v0").unlink()),
    (
        "delete collection with protected",
        "admin",
        lambda w: _team(w).collection("guarded").delete(),
    ),
    ("protect an alias", "admin", lambda w: _team(w).add_protected_alias("gold")),
    ("unprotect an alias", "admin", lambda w: _team(w).remove_protected_alias("production")),
    ("add accepted type", "admin", lambda w: _team(w).add_artifact_type("report")),
    ("remove accepted type", "admin", lambda w: _team(w).remove_artifact_type("extra")),
    (
        "change visibility",
        "admin",
        lambda w: w.user.registry("Open").update(visibility="restricted"),
    ),
    ("add member", "admin", lambda w: _team(w).add_member("newbie", "viewer")),
    ("set role", "admin", lambda w: _team(w).set_role("u", "viewer")),
    ("remove member", "admin", lambda w: _team(w).remove_member("ada")),
    ("rename", "admin", lambda w: _team(w).update(name="Team 2")),
    ("edit registry description", "admin", lambda w: _team(w).update(description="new words")),
    ("rename to the same name", "admin", lambda w: _team(w).update(name="Team")),
    (
        "set the current visibility",
        "admin",
        lambda w: w.user.registry("Open").update(visibility="organization"),
    ),
    ("set the same role", "admin", lambda w: _team(w).set_role("ada", "admin")),
    ("delete registry", "admin", lambda w: _team(w).delete()),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "needs", "act"), ACTIONS, ids=[a[0] for a in ACTIONS])
def test_role_action_matrix(
    make_client, tmp_path: Path, role: str, name: str, needs: str, act
) -> None:
    w = _world(make_client, tmp_path, role)
    expected = ROLES.index(role) >= MIN_RANK[needs]
    if expected:
        act(w)
    else:
        with pytest.raises(rw.PermissionDeniedError) as err:
            act(w)
        message = str(err.value)
        assert "user 'u' may not" in message
        assert (
            f"their role there is {w.user.registry('Team' if 'Open' not in message else 'Open').role!r}"
            in message
        )


def test_matrix_covers_every_row_of_the_table() -> None:
    assert {needs for _, needs, _ in ACTIONS} == set(MIN_RANK)
    for role in ROLES:
        for action, needs in (
            (Action.SEE, "see"),
            (Action.USE, "use"),
            (Action.WRITE, "write"),
            (Action.ADMIN, "admin"),
        ):
            assert allows(role, action) == (ROLES.index(role) >= MIN_RANK[needs])


@pytest.mark.parametrize(
    ("org_role", "registry_role", "visibility", "expected"),
    [
        ("admin", None, "restricted", "admin"),
        ("admin", "viewer", "organization", "admin"),
        ("member", None, "organization", "member"),
        ("viewer", None, "organization", "viewer"),
        ("viewer", "admin", "organization", "admin"),
        ("member", "restricted_viewer", "organization", "member"),
        ("member", None, "restricted", None),
        ("member", "restricted_viewer", "restricted", "restricted_viewer"),
        ("viewer", "member", "restricted", "member"),
    ],
)
def test_effective_role_is_the_highest_of_org_and_registry_role(
    org_role: str, registry_role: str | None, visibility: str, expected: str | None
) -> None:
    assert effective_role(org_role, registry_role, visibility) == expected


def test_org_viewer_cannot_log_or_create(make_client, client: rw.Client, files) -> None:
    client.add_user("val", "viewer")
    val = make_client("val")
    with pytest.raises(rw.PermissionDeniedError, match="organisation role"):
        val.log_artifact("x", type="model", files=files())
    with pytest.raises(rw.PermissionDeniedError, match="organisation role"):
        val.create_registry("Mine")
    with pytest.raises(rw.PermissionDeniedError):
        val.add_user("eve")
