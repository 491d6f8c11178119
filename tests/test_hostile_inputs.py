"""Hostile text and numbers at every public call that takes them (SPEC §4, §10).

Each case feeds one input class — lone surrogates, bidirectional controls, invisible-only
text, a look-alike of a protected alias, integers beyond 64 bits, over-long names, bad
limits, deeply nested filters — to one public call on a JSON file store, and checks the
refusal: the exception class, a message naming the field, and the store (JSON file,
journal and blob folder) byte-for-byte unchanged. The cases are parametrised, so pytest's
count of this module is the number of hostile inputs tried and refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import registry_widget as rw
from registry_widget.widget.app import RegistryWidget

SURROGATE = "a\ud800b"
BIDI = "ab\u202ecd"
INVISIBLE = ["\u200b", "\u3164", "\ufeff", "\u115f\u1160", "\u2060\u200d"]
LOOK_ALIKE = "pr\u043eduction"  # Cyrillic о: looks like the protected "production"
BAD_TEXT = [
    ("surrogate", SURROGATE),
    ("bidi", BIDI),
    *((f"invisible-{i}", text) for i, text in enumerate(INVISIBLE)),
]
TOO_LONG = "x" * 129


@dataclass
class World:
    """A JSON store with a bit of everything, and handles on its parts."""

    client: rw.Client
    path: Path
    source: Path

    @property
    def reg(self) -> rw.Registry:
        return self.client.registry("Team")

    @property
    def coll(self) -> rw.Collection:
        return self.reg.collection("cats")

    @property
    def link(self) -> rw.Link:
        return self.client.use("Team/cats:v0")

    def log(self, name: str = "fresh", **kwargs: Any) -> rw.ArtifactVersion:
        kwargs.setdefault("type", "model")
        kwargs.setdefault("files", self.source)
        return self.client.log_artifact(name, **kwargs)


@pytest.fixture
def world(store_path: Path, files: Callable[..., Path]) -> World:
    ada = rw.Client(store_path, user="ada")
    ada.add_user("bob", "member")
    ada.create_registry("Open")  # accepts every type
    reg = ada.create_registry("Team", artifact_types=["model"])
    reg.add_protected_alias("production")
    v = ada.log_artifact("cat", type="model", files=files("w.bin", b"1"), metadata={"acc": 0.5})
    ada.link(v, "Team/cats", aliases=["production"])
    ada.link(v, "Team/dogs", aliases=["st\u0430ging"])  # Cyrillic а, not protected
    return World(ada, store_path, files("new.bin", b"fresh content"))


@pytest.fixture
def store_state(store_bytes: Callable[[Path], bytes]) -> Callable[[Path], bytes]:
    """The store's bytes: JSON file and journal (the suite's helper), and the blob folder."""

    def read(path: Path) -> bytes:
        blobs = path.with_name(path.stem + ".blobs")
        tree = sorted(
            (p.relative_to(blobs).as_posix(), p.read_bytes().hex())
            for p in (blobs.rglob("*") if blobs.exists() else [])
            if p.is_file()
        )
        return store_bytes(path) + b"\0" + json.dumps(tree).encode()

    return read


def widget_call(client: rw.Client, method: str, **params: Any) -> None:
    """Send one request as the frontend does; raise the error it answers with."""
    widget = RegistryWidget(client)
    try:
        reply = widget.handle_request(
            {"kind": "request", "id": "r1", "method": method, "params": params}
        )
    finally:
        widget.close()
    if not reply["ok"]:
        error = reply["error"]
        assert error["type"] != "InternalError", error
        raise getattr(rw, error["type"])(error["message"])


Call = Callable[[World, str], object]
Case = tuple[str, Call, type[Exception], str]


def text_calls() -> list[tuple[str, Call, str]]:
    """Every public call that takes a name, alias, tag or user name: (id, call, field)."""
    return [
        ("Client-user", lambda w, v: rw.Client(w.path, user=v), "user name"),
        ("add_user", lambda w, v: w.client.add_user(v), "user name"),
        ("set_user_role", lambda w, v: w.client.set_user_role(v, "viewer"), "user name"),
        ("create_registry", lambda w, v: w.client.create_registry(v), "registry name"),
        (
            "create_registry-types",
            lambda w, v: w.client.create_registry("New", artifact_types=["model", v]),
            "artifact types[1]",
        ),
        ("registry", lambda w, v: w.client.registry(v), "registry name"),
        ("registry.update-name", lambda w, v: w.reg.update(name=v), "registry name"),
        ("add_artifact_type", lambda w, v: w.reg.add_artifact_type(v), "artifact type"),
        (
            "create_collection",
            lambda w, v: w.reg.create_collection(v, type="model"),
            "collection name",
        ),
        (
            "create_collection-type",
            lambda w, v: w.client.registry("Open").create_collection("new", type=v),
            "artifact type",
        ),
        (
            "create_collection-tags",
            lambda w, v: w.reg.create_collection("new", type="model", tags=["ok", v]),
            "tags[1]",
        ),
        ("collection", lambda w, v: w.reg.collection(v), "collection name"),
        ("collection.update-tags", lambda w, v: w.coll.update(tags=[v]), "tags[0]"),
        ("collection.version", lambda w, v: w.coll.version(v), "selector"),
        ("log_artifact-name", lambda w, v: w.log(v), "artifact name"),
        ("log_artifact-type", lambda w, v: w.log(type=v), "artifact type"),
        ("log_artifact-tags", lambda w, v: w.log(tags=[v]), "tags[0]"),
        (
            "version.update-tags",
            lambda w, v: w.client.artifact("cat:v0").update(tags=[v]),
            "tags[0]",
        ),
        ("link-path", lambda w, v: w.client.link("cat:v0", f"Team/{v}"), "collection name"),
        (
            "link-aliases",
            lambda w, v: w.client.link("cat:v0", "Team/birds", aliases=["ok", v]),
            "alias",
        ),
        ("set_alias", lambda w, v: w.link.set_alias(v), "alias"),
        ("add_member", lambda w, v: w.reg.add_member(v, "member"), "user name"),
        ("set_role", lambda w, v: w.reg.set_role(v, "viewer"), "user name"),
        ("remove_member", lambda w, v: w.reg.remove_member(v), "user name"),
        ("add_protected_alias", lambda w, v: w.reg.add_protected_alias(v), "alias"),
        ("artifact", lambda w, v: w.client.artifact(f"cat:{v}"), "artifact reference"),
        ("use", lambda w, v: w.client.use(f"Team/cats:{v}"), "path"),
        ("use-registry", lambda w, v: w.client.use(f"{v}/cats"), "path"),
    ]


def prose_calls() -> list[tuple[str, Call, str]]:
    """Calls that take free text, where only lone surrogates are refused."""
    return [
        (
            "create_registry-description",
            lambda w, v: w.client.create_registry("New", description=v),
            "description",
        ),
        ("registry.update-description", lambda w, v: w.reg.update(description=v), "description"),
        (
            "create_collection-description",
            lambda w, v: w.reg.create_collection("new", type="model", description=v),
            "description",
        ),
        ("collection.update-description", lambda w, v: w.coll.update(description=v), "description"),
        ("log_artifact-description", lambda w, v: w.log(description=v), "description"),
        (
            "version.update-description",
            lambda w, v: w.client.artifact("cat:v0").update(description=v),
            "description",
        ),
        ("log_artifact-metadata-key", lambda w, v: w.log(metadata={v: 1}), "metadata"),
        ("log_artifact-metadata-value", lambda w, v: w.log(metadata={"k": [v]}), "metadata.k[0]"),
        ("log_artifact-files-key", lambda w, v: w.log(files={v: w.source}), "file path"),
        ("search", lambda w, v: w.client.search(v), "text"),
        ("versions-filter", lambda w, v: w.client.versions({"alias": v}), "filter"),
        ("registries-filter", lambda w, v: w.client.registries({"name": v}), "filter"),
        ("artifacts-filter", lambda w, v: w.client.artifacts({"tag": {"$in": [v]}}), "filter"),
        ("collections-filter", lambda w, v: w.reg.collections({"name": {"$regex": v}}), "filter"),
        ("registry.versions-filter", lambda w, v: w.reg.versions({"tag": v}), "filter"),
        ("collection.versions-filter", lambda w, v: w.coll.versions({"metadata.k": v}), "filter"),
        ("widget-search", lambda w, v: widget_call(w.client, "search", text=v), "text"),
        (
            "widget-registry.update",
            lambda w, v: widget_call(w.client, "registry.update", name="Team", description=v),
            "description",
        ),
    ]


def widget_text_calls() -> list[tuple[str, Call, str]]:
    """The widget's requests that carry names: answered with the domain's refusal."""
    return [
        (
            "widget-registry.create",
            lambda w, v: widget_call(w.client, "registry.create", name=v),
            "registry name",
        ),
        (
            "widget-type.add",
            lambda w, v: widget_call(w.client, "registry.type.add", name="Team", type=v),
            "artifact type",
        ),
        (
            "widget-protected.add",
            lambda w, v: widget_call(w.client, "registry.protected.add", name="Team", alias=v),
            "alias",
        ),
        (
            "widget-org.user.add",
            lambda w, v: widget_call(w.client, "org.user.add", name=v),
            "user name",
        ),
        (
            "widget-alias.set",
            lambda w, v: widget_call(w.client, "alias.set", path="Team/cats:v0", alias=v),
            "alias",
        ),
    ]


def deep_filter(depth: int = 5_000) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": "cat"}
    for _ in range(depth):
        spec = {"$not": spec}
    return spec


def other_cases() -> list[Case]:
    """Look-alike aliases, metadata numbers, long names, limits and nested filters."""
    v, c, p = rw.ValidationError, rw.ConflictError, rw.PermissionDeniedError
    cases: list[Case] = [
        ("lookalike-set_alias", lambda w, _: w.link.set_alias(LOOK_ALIKE), v, "alias"),
        (
            "lookalike-set_alias-member",
            lambda w, _: rw.Client(w.path, user="bob").use("Team/cats:v0").set_alias(LOOK_ALIKE),
            v,
            "alias",
        ),
        (
            "lookalike-link-new-collection",
            lambda w, _: w.client.link("cat:v0", "Team/birds", aliases=[LOOK_ALIKE]),
            v,
            "alias",
        ),
        (
            "lookalike-add_protected_alias",
            lambda w, _: w.reg.add_protected_alias("pr\u03bfduction"),  # Greek ο
            v,
            "alias",
        ),
        (
            "lookalike-held-then-protected",
            lambda w, _: w.reg.add_protected_alias("staging"),
            c,
            "st\u0430ging",
        ),
        (
            "widget-lookalike-alias.set",
            lambda w, _: widget_call(w.client, "alias.set", path="Team/cats:v0", alias=LOOK_ALIKE),
            v,
            "alias",
        ),
        ("metadata-2**64", lambda w, _: w.log(metadata={"n": 2**64}), v, "metadata.n"),
        (
            "metadata--2**63-1",
            lambda w, _: w.log(metadata={"a": {"b": [0, -(2**63) - 1]}}),
            v,
            "metadata.a.b[1]",
        ),
        ("metadata-10**5000", lambda w, _: w.log(metadata={"n": 10**5000}), v, "metadata.n"),
        (
            "metadata-numpy-nan",
            lambda w, _: w.log(metadata={"x": _np().float32("nan")}),
            v,
            "metadata.x",
        ),
        (
            "metadata-numpy-inf",
            lambda w, _: w.log(metadata={"x": _np().float16("inf")}),
            v,
            "metadata.x",
        ),
        ("long-registry", lambda w, _: w.client.create_registry("x" * 114), v, "registry name"),
        (
            "long-collection",
            lambda w, _: w.reg.create_collection(TOO_LONG, type="model"),
            v,
            "collection name",
        ),
        ("long-type", lambda w, _: w.log(type=TOO_LONG), v, "artifact type"),
        ("long-alias", lambda w, _: w.link.set_alias(TOO_LONG), v, "alias"),
        ("long-tag", lambda w, _: w.log(tags=[TOO_LONG]), v, "tags[0]"),
        ("long-user", lambda w, _: w.client.add_user(TOO_LONG), v, "user name"),
        ("long-artifact-name", lambda w, _: w.log(TOO_LONG), v, "artifact name"),
        ("type-Bad Type!", lambda w, _: w.log(type="Bad Type!"), v, "artifact type"),
        ("type-slash", lambda w, _: w.reg.add_artifact_type("a/b"), v, "artifact type"),
        (
            "widget-type-Bad Type!",
            lambda w, _: widget_call(w.client, "registry.type.add", name="Team", type="Bad Type!"),
            v,
            "artifact type",
        ),
        ("deep-filter-versions", lambda w, _: w.client.versions(deep_filter()), v, "filter"),
        ("deep-filter-registries", lambda w, _: w.client.registries(deep_filter()), v, "filter"),
        ("deep-filter-artifacts", lambda w, _: w.client.artifacts(deep_filter()), v, "filter"),
        ("deep-filter-collection", lambda w, _: w.coll.versions(deep_filter()), v, "filter"),
        (
            "deep-filter-and",
            lambda w, _: w.client.versions(_nest_and(5_000)),
            v,
            "filter",
        ),
        ("search-limit-str", lambda w, _: w.client.search("a", limit="x"), v, "limit"),  # type: ignore[arg-type]
        ("search-limit-negative", lambda w, _: w.client.search("a", limit=-1), v, "limit"),
        ("artifacts-limit-negative", lambda w, _: w.client.artifacts(limit=-1), v, "limit"),
        ("artifacts-limit-bool", lambda w, _: w.client.artifacts(limit=True), v, "limit"),
        ("artifacts-offset-negative", lambda w, _: w.client.artifacts(offset=-1), v, "offset"),
        ("artifacts-offset-float", lambda w, _: w.client.artifacts(offset=1.0), v, "offset"),  # type: ignore[arg-type]
        ("collection.versions-limit", lambda w, _: w.coll.versions(limit="2"), v, "limit"),  # type: ignore[arg-type]
        ("collection.versions-offset", lambda w, _: w.coll.versions(offset=-3), v, "offset"),
        ("registry.history-limit", lambda w, _: w.reg.history(limit=-1), v, "limit"),
        ("collection.history-offset", lambda w, _: w.coll.history(offset=True), v, "offset"),
        ("link.history-limit", lambda w, _: w.link.history(limit=2.5), v, "limit"),  # type: ignore[arg-type]
        (
            "version.history-offset",
            lambda w, _: w.client.artifact("cat:v0").history(offset="1"),  # type: ignore[arg-type]
            v,
            "offset",
        ),
        (
            "viewer-lookalike",
            lambda w, _: _viewer(w).use("Team/cats:v0").set_alias(LOOK_ALIKE),
            p,
            "",
        ),
    ]
    return cases


def _np() -> Any:
    import numpy

    return numpy


def _nest_and(depth: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": "cat"}
    for _ in range(depth):
        spec = {"$and": [spec]}
    return spec


def _viewer(w: World) -> rw.Client:
    return rw.Client(w.path, user="val")


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for call_id, call, field in [*text_calls(), *widget_text_calls()]:
        for value_id, value in BAD_TEXT:
            cases.append((f"{call_id}-{value_id}", _bind(call, value), rw.ValidationError, field))
    for call_id, call, field in prose_calls():
        cases.append((f"{call_id}-surrogate", _bind(call, SURROGATE), rw.ValidationError, field))
    cases.extend(other_cases())
    return cases


def _bind(call: Call, value: str) -> Call:
    return lambda w, _: call(w, value)


CASES = all_cases()


@pytest.mark.parametrize(("name", "call", "error", "field"), CASES, ids=[c[0] for c in CASES])
def test_hostile_input_is_refused_and_changes_nothing(
    world: World,
    store_state: Callable[[Path], bytes],
    name: str,
    call: Call,
    error: type[Exception],
    field: str,
) -> None:
    if name == "viewer-lookalike":
        world.client.add_user("val", "viewer")
    before = store_state(world.path)
    with pytest.raises(error) as err:
        call(world, "")
    assert store_state(world.path) == before
    message = str(err.value)
    message.encode("utf-8")  # the message is text too
    assert field in message
    if isinstance(err.value, rw.ValidationError) and not name.startswith("widget-"):
        assert err.value.field
        assert err.value.field in message


def test_hostile_case_count() -> None:
    # Every input class meets every text call; the count is what this module tries.
    text = len(text_calls()) + len(widget_text_calls())
    assert len(CASES) == text * len(BAD_TEXT) + len(prose_calls()) + len(other_cases())


# -- what is accepted ------------------------------------------------------------------------


def test_numpy_scalars_are_stored_as_json_numbers(
    make_client: Callable[..., rw.Client], files
) -> None:
    np = pytest.importorskip("numpy")
    client = make_client()
    meta = {
        "epochs": np.int64(12),
        "acc": np.float32(0.75),
        "best": np.bool_(True),
        "loss": np.float64(0.125),
        "seed": np.uint64(2**64 - 1),
        "curve": [np.float32(0.5), np.int16(3)],
    }
    v = client.log_artifact("np", type="model", files=files("w.bin", b"np"), metadata=meta)
    expected = {
        "epochs": 12,
        "acc": 0.75,
        "best": True,
        "loss": 0.125,
        "seed": 2**64 - 1,
        "curve": [0.5, 3],
    }
    again = client.artifact("np:v0").metadata
    assert v.metadata == again == expected
    assert type(again["best"]) is bool
    assert type(again["epochs"]) is int
    found = client.artifacts({"metadata.epochs": {"$gte": 12}, "metadata.best": True})
    assert [a.name for a in found] == ["np"]


def test_64_bit_boundaries_are_stored_exactly(make_client: Callable[..., rw.Client], files) -> None:
    client = make_client()
    meta = {"low": -(2**63), "high": 2**64 - 1}
    client.log_artifact("big", type="model", files=files("w.bin", b"big"), metadata=meta)
    assert make_client().artifact("big:v0").metadata == meta


def test_joiners_inside_names_are_accepted(make_client: Callable[..., rw.Client]) -> None:
    client = make_client()
    name = "team \U0001f469\u200d\U0001f4bb"
    assert client.create_registry(name).name == name
    assert client.registry(name).name == name


def test_protected_alias_itself_can_still_be_set(
    make_client: Callable[..., rw.Client], files
) -> None:
    client = make_client()
    reg = client.create_registry("Team")
    reg.add_protected_alias("production")
    v = client.log_artifact("cat", type="model", files=files())
    link = client.link(v, "Team/cats", aliases=["production", "prod"])
    assert set(link.aliases) == {"latest", "production", "prod"}


def test_old_types_stay_readable_and_removable(store_path: Path, files) -> None:
    client = rw.Client(store_path, user="ada")
    reg = client.create_registry("Team", artifact_types=["model", "legacy"])
    v = client.log_artifact("old", type="legacy", files=files())
    # A store written before types had rules of their own: rename the type in its file.
    client.store.close() if hasattr(client.store, "close") else None
    del client, reg, v
    _rewrite_type(store_path, "legacy", "Legacy Type!")
    client = rw.Client(store_path, user="ada")
    assert client.artifact("old:v0").type == "Legacy Type!"
    assert [a.name for a in client.artifacts({"type": "Legacy Type!"})] == ["old"]
    reg = client.registry("Team")
    assert "Legacy Type!" in (reg.artifact_types or [])
    reg.remove_artifact_type("Legacy Type!")
    assert reg.artifact_types == ["model"]


def _rewrite_type(path: Path, old: str, new: str) -> None:
    from registry_widget.domain.backend import open_store

    store = open_store(path)
    with store.transaction() as txn:
        for table in ("artifacts", "artifact_names"):
            for doc_id in store.find_ids(table, type=old):
                txn.update(table, doc_id, {"type": new})
        for reg_id, reg in store.query("registries"):
            types = reg["artifact_types"]
            if types and old in types:
                txn.update(
                    "registries",
                    reg_id,
                    {"artifact_types": [new if t == old else t for t in types]},
                )
