"""SPEC §4: a refused call raises the right error, names the field, and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import registry_widget as rw


@pytest.fixture
def world(store_path: Path, files) -> rw.Client:
    """A JSON store with a bit of everything, so refusals have something to spoil."""
    ada = rw.Client(store_path, user="ada")
    ada.add_user("val", "viewer")
    reg = ada.create_registry("Team", artifact_types=["model"])
    reg.add_protected_alias("production")
    v = ada.log_artifact("cat", type="model", files=files("w.bin", b"1"), metadata={"acc": 0.5})
    ada.link(v, "Team/cats", aliases=["production"])
    ada.log_artifact("data", type="dataset", files=files("d.csv", b"a,b"))
    return ada


REFUSALS: list[tuple[str, type[Exception], str, Callable[[rw.Client, Path], object]]] = [
    ("registry name with slash", rw.ValidationError, "name", lambda c, p: c.create_registry("a/b")),
    (
        "registry name too long",
        rw.ValidationError,
        "name",
        lambda c, p: c.create_registry("x" * 114),
    ),
    (
        "duplicate registry, other case",
        rw.ConflictError,
        "",
        lambda c, p: c.create_registry("team"),
    ),
    (
        "bad visibility",
        rw.ValidationError,
        "visibility",
        lambda c, p: c.create_registry("V", visibility="secret"),
    ),
    (
        "types as a str",
        rw.ValidationError,
        "artifact types",
        lambda c, p: c.create_registry("T", artifact_types="model"),
    ),
    (
        "collection name with colon",
        rw.ValidationError,
        "name",
        lambda c, p: c.registry("Team").create_collection("a:b", type="model"),
    ),
    (
        "bad tag",
        rw.ValidationError,
        "tag",
        lambda c, p: c.registry("Team").collection("cats").update(tags=["no!"]),
    ),
    (
        "reserved alias",
        rw.ValidationError,
        "alias",
        lambda c, p: c.use("Team/cats:v0").set_alias("v7"),
    ),
    (
        "alias with slash",
        rw.ValidationError,
        "alias",
        lambda c, p: c.use("Team/cats:v0").set_alias("a/b"),
    ),
    (
        "artifact name",
        rw.ValidationError,
        "name",
        lambda c, p: c.log_artifact("bad name", type="model", files=p),
    ),
    (
        "metadata NaN",
        rw.ValidationError,
        "metadata",
        lambda c, p: c.log_artifact("m", type="model", files=p, metadata={"x": float("nan")}),
    ),
    (
        "metadata not an object",
        rw.ValidationError,
        "metadata",
        lambda c, p: c.log_artifact("m", type="model", files=p, metadata=[1]),
    ),
    (
        "file path escapes",
        rw.ValidationError,
        "file path",
        lambda c, p: c.log_artifact("m", type="model", files={"../x": p}),
    ),
    (
        "missing file",
        rw.NotFoundError,
        "",
        lambda c, p: c.log_artifact("m", type="model", files=p.parent / "nope"),
    ),
    (
        "wrong type for registry",
        rw.ValidationError,
        "type",
        lambda c, p: c.link("data:v0", "Team/d"),
    ),
    (
        "type change of a name",
        rw.ValidationError,
        "type",
        lambda c, p: c.log_artifact("cat", type="dataset", files=p),
    ),
    ("unknown registry", rw.NotFoundError, "", lambda c, p: c.link("cat:v0", "Nope/x")),
    ("unknown version", rw.NotFoundError, "", lambda c, p: c.use("Team/cats:v9")),
    ("unknown filter field", rw.ValidationError, "", lambda c, p: c.versions({"colour": "red"})),
    (
        "unknown filter operator",
        rw.ValidationError,
        "",
        lambda c, p: c.versions({"name": {"$like": "x"}}),
    ),
    (
        "viewer links",
        rw.PermissionDeniedError,
        "",
        lambda c, p: rw.Client(c.store, user="val").link("cat:v0", "Team/other"),
    ),
    (
        "viewer protected alias",
        rw.PermissionDeniedError,
        "",
        lambda c, p: rw.Client(c.store, user="val").use("Team/cats:v0").remove_alias("production"),
    ),
    ("stranger", rw.PermissionDeniedError, "", lambda c, p: rw.Client(c.store, user="eve")),
    ("delete linked version", rw.ConflictError, "", lambda c, p: c.artifact("cat:v0").delete()),
    (
        "restricted to organization",
        rw.ConflictError,
        "",
        lambda c, p: (
            c.registry("Team").update(visibility="restricted"),
            c.registry("Team").update(visibility="organization"),
        ),
    ),
]


@pytest.mark.parametrize(("name", "error", "field", "call"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refused_call_changes_nothing(
    world: rw.Client,
    store_path: Path,
    store_bytes,
    files,
    name: str,
    error: type[Exception],
    field: str,
    call,
) -> None:
    src = files("new.bin", b"fresh content")
    if name == "restricted to organization":
        world.registry("Team").update(visibility="restricted")
    before = store_bytes(store_path)
    with pytest.raises(error) as err:
        call(world, src)
    assert store_bytes(store_path) == before
    if field:
        assert getattr(err.value, "field", None) == field or field in str(err.value)


NAME_CHARS = st.characters(blacklist_categories=("Cs",))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(NAME_CHARS, min_size=0, max_size=130))
def test_any_registry_name_is_accepted_or_refused_cleanly(
    world: rw.Client, store_path: Path, store_bytes, name: str
) -> None:
    before = store_bytes(store_path)
    try:
        reg = world.create_registry(name)
    except (rw.ValidationError, rw.ConflictError) as exc:
        assert store_bytes(store_path) == before
        assert "name" in str(exc)
    else:
        assert reg.name == world.registry(name).name
        reg.delete()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(alias=st.text(NAME_CHARS, min_size=0, max_size=130))
def test_any_alias_is_accepted_or_refused_cleanly(
    world: rw.Client, store_path: Path, store_bytes, alias: str
) -> None:
    link = world.use("Team/cats:v0")
    before = store_bytes(store_path)
    try:
        link.set_alias(alias)
    except (rw.ValidationError, rw.PermissionDeniedError) as exc:
        assert store_bytes(store_path) == before
        assert "alias" in str(exc)
    else:
        assert world.use(f"Team/cats:{alias}") == link
        link.remove_alias(alias)
