"""SPEC §2–§3: every rule of the object model and the registries, one test each."""

from __future__ import annotations

import pytest

import registry_widget as rw

# -- core registries -----------------------------------------------------------------------


def test_core_registries_exist_in_every_new_store(client: rw.Client) -> None:
    regs = {r.name: r for r in client.registries()}
    assert set(regs) == {"Models", "Datasets"}
    assert regs["Models"].kind == regs["Datasets"].kind == "core"
    assert regs["Models"].artifact_types == regs["Models"].preconfigured_types == ["model"]
    assert regs["Datasets"].artifact_types == ["dataset"]


def test_core_registries_cannot_be_deleted_or_renamed(client: rw.Client) -> None:
    models = client.registry("Models")
    with pytest.raises(rw.ConflictError, match="core registry"):
        models.delete()
    with pytest.raises(rw.ConflictError, match="core registry"):
        models.update(name="Weights")
    assert client.registry("Models").name == "Models"


def test_core_visibility_never_changes(client: rw.Client) -> None:
    with pytest.raises(rw.ConflictError, match="visibility"):
        client.registry("Datasets").update(visibility="restricted")
    assert client.registry("Datasets").visibility == "organization"


def test_core_description_is_not_editable(client: rw.Client) -> None:
    before = client.registry("Models").description
    with pytest.raises(rw.ConflictError, match="description"):
        client.registry("Models").update(description="mine now")
    assert client.registry("Models").description == before


def test_core_preconfigured_type_not_removable_but_types_can_be_added(
    client: rw.Client, log
) -> None:
    models = client.registry("Models")
    with pytest.raises(rw.ConflictError, match="preconfigured"):
        models.remove_artifact_type("model")
    models.add_artifact_type("onnx")
    assert models.artifact_types == ["model", "onnx"]
    client.link(log("exported", type="onnx"), "Models/exported")
    # an added type may be removed again, but only while no collection uses it
    with pytest.raises(rw.ConflictError, match="exported"):
        models.remove_artifact_type("onnx")
    models.collection("exported").delete()
    models.remove_artifact_type("onnx")
    assert models.artifact_types == ["model"]


# -- custom registries -----------------------------------------------------------------------


def test_custom_registry_is_editable(client: rw.Client) -> None:
    reg = client.create_registry("Cat Models", description="cats")
    reg.update(name="Feline Models", description="all the cats")
    assert (reg.name, reg.description) == ("Feline Models", "all the cats")
    assert client.registry("feline models") == reg  # names compare case-insensitively


def test_custom_registry_accepts_all_types_without_a_list(client: rw.Client, log) -> None:
    reg = client.create_registry("Anything")
    assert reg.artifact_types is None
    client.link(log("a", type="model"), "Anything/m")
    client.link(log("b", type="dataset"), "Anything/d")
    client.link(log("c", type="eval-set"), "Anything/e")
    assert {c.type for c in reg.collections()} == {"model", "dataset", "eval-set"}


def test_custom_types_are_added_and_removed_while_unused(client: rw.Client, log) -> None:
    reg = client.create_registry("Evals", artifact_types=["eval-set"])
    reg.add_artifact_type("report")
    client.link(log("r", type="report"), "Evals/reports")
    with pytest.raises(rw.ConflictError, match="reports"):
        reg.remove_artifact_type("report")
    reg.collection("reports").delete()
    reg.remove_artifact_type("report")
    assert reg.artifact_types == ["eval-set"]


def test_accepted_types_say_which_collections_use_each_and_why_one_stays(
    client: rw.Client, log
) -> None:
    reg = client.create_registry("Evals", artifact_types=["eval-set", "report"])
    client.link(log("r", type="report"), "Evals/reports")
    client.link(log("s", type="report"), "Evals/more-reports")
    types = {t.name: t for t in reg.accepted_types() or []}
    assert list(types) == ["eval-set", "report"]
    assert types["report"].used_by == ["more-reports", "reports"]
    assert (types["eval-set"].used_by, types["eval-set"].refusal) == ([], None)
    # The refusal reported is the one the removal raises: the names quoted, never a list.
    said = (
        "type 'report' is used by collections 'more-reports', 'reports' of registry 'Evals'; "
        "delete them first"
    )
    assert str(types["report"].refusal) == said
    with pytest.raises(rw.ConflictError) as caught:
        reg.remove_artifact_type("report")
    assert str(caught.value) == said
    reg.collection("more-reports").delete()
    with pytest.raises(rw.ConflictError, match="used by collection 'reports' of registry"):
        reg.remove_artifact_type("report")
    reg.remove_artifact_type("eval-set")
    reg.collection("reports").delete()
    (only,) = reg.accepted_types() or []
    assert (
        str(only.refusal) == "'report' is the only type registry 'Evals' accepts; add another first"
    )
    (model,) = client.registry("Models").accepted_types() or []
    assert model.fixed
    assert "can never be removed" in str(model.refusal)
    assert client.create_registry("Anything").accepted_types() is None


def test_visibility_organization_to_restricted_allowed(client: rw.Client) -> None:
    reg = client.create_registry("Team")
    reg.update(visibility="restricted")
    assert reg.visibility == "restricted"


def test_visibility_restricted_to_organization_refused(client: rw.Client) -> None:
    reg = client.create_registry("Secret", visibility="restricted")
    with pytest.raises(rw.ConflictError, match="restricted"):
        reg.update(visibility="organization")
    assert reg.visibility == "restricted"


def test_type_not_accepted_is_refused_naming_type_and_accepted_list(client: rw.Client, log) -> None:
    data = log("imagenet", type="dataset")
    with pytest.raises(rw.ValidationError) as err:
        client.link(data, "Models/imagenet")
    assert "'dataset'" in str(err.value)
    assert "it accepts 'model'." in str(err.value)
    assert client.registry("Models").collections() == []


def test_linking_into_a_collection_of_another_type_is_refused(client: rw.Client, log) -> None:
    reg = client.create_registry("Mixed")
    reg.create_collection("weights", type="model")
    with pytest.raises(rw.ValidationError, match="'dataset'"):
        client.link(log("d", type="dataset"), "Mixed/weights")
    assert reg.collection("weights").count == 0


# -- visibility -------------------------------------------------------------------------------


def test_restricted_registry_invisible_to_non_members(make_client, client: rw.Client, log) -> None:
    client.add_user("bob", "member")
    reg = client.create_registry("Secret Models", visibility="restricted")
    client.link(log("s"), "Secret Models/project-x", aliases=["candidate"])
    bob = make_client("bob")
    assert "Secret Models" not in [r.name for r in bob.registries()]
    assert bob.search("secret") == []
    assert bob.search("project-x") == []
    assert bob.search("candidate") == []
    assert bob.versions() == []
    with pytest.raises(rw.NotFoundError) as err:
        bob.registry("Secret Models")
    with pytest.raises(rw.NotFoundError) as missing:
        bob.registry("No Such Registry")
    # the refusal is the same as for a registry that does not exist
    assert str(err.value).replace("Secret Models", "X") == str(missing.value).replace(
        "No Such Registry", "X"
    )
    with pytest.raises(rw.NotFoundError):
        bob.use("Secret Models/project-x:candidate")
    reg.add_member("bob", "viewer")
    assert "Secret Models" in [r.name for r in bob.registries()]


def test_creator_of_restricted_registry_becomes_its_admin(make_client, client: rw.Client) -> None:
    client.add_user("carol", "member")
    carol = make_client("carol")
    reg = carol.create_registry("Carol's", visibility="restricted")
    assert reg.role == "admin"
    assert [(m.user, m.role) for m in reg.members()] == [("carol", "admin")]


def test_org_admins_are_admins_everywhere(make_client, client: rw.Client) -> None:
    client.add_user("carol", "member")
    make_client("carol").create_registry("Hidden", visibility="restricted")
    assert client.registry("Hidden").role == "admin"


def test_every_org_user_is_at_least_viewer_on_organization_registries(
    make_client, client: rw.Client
) -> None:
    client.add_user("val", "viewer")
    client.create_registry("Open")
    assert make_client("val").registry("Open").role == "viewer"


# -- protected aliases -----------------------------------------------------------------------


def test_protected_aliases_only_admins_set_move_remove(make_client, client: rw.Client, log) -> None:
    client.add_user("mia", "member")
    reg = client.create_registry("Team", visibility="restricted")
    reg.add_member("mia", "member")
    reg.add_protected_alias("production")
    v0 = client.link(log(), "Team/c")
    v1 = client.link(log(), "Team/c")
    mia = make_client("mia")
    with pytest.raises(rw.PermissionDeniedError, match="protected alias 'production'"):
        mia.use("Team/c:v0").set_alias("production")
    v0.set_alias("production")
    with pytest.raises(rw.PermissionDeniedError):
        mia.use("Team/c:v1").set_alias("production")  # a move
    with pytest.raises(rw.PermissionDeniedError):
        mia.use("Team/c:v0").remove_alias("production")
    mia.use("Team/c:v1").set_alias("staging")  # unprotected aliases are fine
    v1.set_alias("production")
    assert reg.collection("c").aliases == {"latest": "v1", "production": "v1", "staging": "v1"}


def test_member_may_not_unlink_or_delete_what_holds_a_protected_alias(
    make_client, client: rw.Client, log
) -> None:
    client.add_user("mia", "member")
    reg = client.create_registry("Team", visibility="restricted")
    reg.add_member("mia", "member")
    reg.add_protected_alias("production")
    client.link(log(), "Team/c", aliases=["production"])
    client.link(log(), "Team/c")
    mia = make_client("mia")
    with pytest.raises(rw.PermissionDeniedError, match="protected alias"):
        mia.use("Team/c:production").unlink()
    with pytest.raises(rw.PermissionDeniedError, match="protected alias"):
        mia.registry("Team").collection("c").delete()
    mia.use("Team/c:v1").unlink()  # no protected alias there
    assert reg.collection("c").count == 1


# -- deleting ---------------------------------------------------------------------------------


def test_deleting_a_registry_keeps_artifact_versions(client: rw.Client, log) -> None:
    reg = client.create_registry("Scratch")
    v = log("keep-me")
    client.link(v, "Scratch/c", aliases=["best"])
    reg.delete()
    assert "Scratch" not in [r.name for r in client.registries()]
    assert client.artifact("keep-me:v0") == v
    assert v.links() == []
    with pytest.raises(rw.NotFoundError):
        client.registry("Scratch")


def test_deleting_a_still_linked_version_is_refused(client: rw.Client, log) -> None:
    v = log("linked")
    link = client.link(v, "Models/c")
    with pytest.raises(rw.ConflictError, match="Models/c:v0"):
        v.delete()
    link.unlink()
    v.delete()
    with pytest.raises(rw.NotFoundError):
        client.artifact("linked:v0")


# -- links, numbering and aliases ---------------------------------------------------------------


def test_collection_numbering_is_never_reused(client: rw.Client, log) -> None:
    links = [client.link(log(), "Models/c") for _ in range(3)]
    assert [x.version for x in links] == ["v0", "v1", "v2"]
    links[2].unlink()
    links[1].unlink()
    assert client.link(log(), "Models/c").version == "v3"


def test_relinking_the_same_version_is_idempotent(client: rw.Client, log) -> None:
    v = log()
    first = client.link(v, "Models/c")
    again = client.link(v, "Models/c")
    assert again == first
    assert client.registry("Models").collection("c").count == 1


def test_one_artifact_version_links_into_many_collections(client: rw.Client, log) -> None:
    v = log()
    client.create_registry("Other")
    a = client.link(v, "Models/c")
    b = client.link(v, "Other/d")
    assert a.artifact == b.artifact == v
    assert sorted(x.path for x in v.links()) == ["Models/c:v0", "Other/d:v0"]


def test_linking_into_a_missing_collection_creates_it_with_the_version_type(
    client: rw.Client, log
) -> None:
    client.link(log(type="model"), "Models/new-one")
    assert client.registry("Models").collection("new-one").type == "model"


def test_latest_is_maintained(client: rw.Client, log) -> None:
    v0 = client.link(log(), "Models/c")
    assert v0.aliases == ["latest"]
    v1 = client.link(log(), "Models/c")
    assert (v0.aliases, v1.aliases) == ([], ["latest"])
    v1.unlink()
    assert v0.aliases == ["latest"]
    assert client.use("Models/c").version == "v0"
    with pytest.raises(rw.ValidationError, match="reserved"):
        v0.set_alias("latest")


def test_aliases_are_unique_per_collection_and_move_on_set(client: rw.Client, log) -> None:
    v0 = client.link(log(), "Models/c", aliases=["best"])
    v1 = client.link(log(), "Models/c")
    v1.set_alias("best")
    assert "best" not in v0.aliases
    assert "best" in v1.aliases
    assert client.use("Models/c:best") == v1
    # the same alias in another collection is another alias
    other = client.link(log(), "Models/d", aliases=["best"])
    assert client.use("Models/c:best") == v1
    assert client.use("Models/d:best") == other


def test_identical_content_returns_the_existing_version(client: rw.Client, files) -> None:
    path = files("w.bin", b"same bytes")
    a = client.log_artifact("m", type="model", files=path)
    b = client.log_artifact("m", type="model", files=files("w.bin", b"same bytes"))
    assert a == b
    assert a.version == "v0"
    c = client.log_artifact("m", type="model", files=files("w.bin", b"new bytes"))
    assert c.version == "v1"


def test_every_change_is_in_the_history(client: rw.Client, log) -> None:
    reg = client.create_registry("Hist")
    link = client.link(log(), "Hist/c", aliases=["best"])
    link.remove_alias("best")
    reg.collection("c").update(description="new")
    actions = [h.action for h in reg.history()]
    assert actions == [
        "collection.update",
        "alias.remove",
        "alias.set",
        "link.create",
        "collection.create",
        "registry.create",
    ]
    entry = reg.history(action="collection.update")[0]
    assert (entry.user, entry.before, entry.after) == (
        "ada",
        {"description": ""},
        {"description": "new"},
    )
    assert [h.action for h in link.history()] == ["alias.remove", "alias.set", "link.create"]
    assert [h.action for h in reg.collection("c").history(limit=2)] == [
        "collection.update",
        "alias.remove",
    ]


def test_an_artifact_history_hides_links_in_registries_the_user_may_not_see(
    make_client, client: rw.Client, log
) -> None:
    client.add_user("bob")
    v = log("shared")
    client.create_registry("Secret", visibility="restricted")
    client.link(v, "Secret/x")
    client.link(v, "Models/open")
    bob_view = make_client("bob").artifact("shared:v0")
    assert [h.target for h in bob_view.history()] == ["Models/open:v0", "shared:v0"]
    assert [h.target for h in v.history()] == ["Models/open:v0", "Secret/x:v0", "shared:v0"]
