"""``client.batch()``: one durable commit, and a refused call inside it changes nothing.

A call refused inside a batch is undone alone, as it is outside one: when the block
handles the refusal and goes on, the batch commits exactly its other changes (documents,
history and blobs). A block that raises commits nothing. Every test runs on every store
backend.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import registry_widget as rw
from registry_widget.domain import artifact_log
from registry_widget.files.folder import FileBlobStore
from registry_widget.files.manifest import build_manifest
from registry_widget.store.postgres_schema import TABLES
from tests.conftest import read_blob_folder

MakeClient = Callable[..., rw.Client]
CONFUSABLE = "pr\u043eduction"  # a Cyrillic o: looks like the protected alias "production"


Seen = tuple[dict[str, list[tuple[int, dict[str, Any]]]], list[str], bytes | None]


def seen(client: rw.Client) -> Seen:
    """Every row the store answers (inside a batch: with its changes so far) and the blobs."""
    store = client.store
    rows = {table: sorted(store.query(table), key=lambda row: row[0]) for table in TABLES}
    blobs = client._s.blobs
    folder = read_blob_folder(blobs.root) if isinstance(blobs, FileBlobStore) else None
    return rows, sorted(blobs.digests()), folder


@pytest.fixture
def models(client: rw.Client, log: Callable[..., rw.ArtifactVersion]) -> rw.Link:
    """``Models/cats:v0`` (``production``, protected), and bob, a member."""
    client.add_user("bob")
    client.registry("Models").add_protected_alias("production")
    return client.link(log("cat"), "Models/cats", aliases=["production"])


def refused_in_batch(
    client: rw.Client,
    again: Callable[[], rw.Client],
    before: Callable[[], object],
    refused: Callable[[], object],
    after: Callable[[], object],
    error: type[Exception],
) -> pytest.ExceptionInfo[Exception]:
    """Run ``before``, the ``refused`` call (caught) and ``after`` in one batch.

    The refused call must leave what the store answers as it was, and the batch must
    commit exactly what the store answered at its end (seen by a client opened anew).
    """
    with client.batch():
        before()
        held = seen(client)
        with pytest.raises(error) as refusal:
            refused()
        assert seen(client) == held
        after()
        inside = seen(client)
    assert seen(again()) == inside
    return refusal


@pytest.mark.parametrize("collection", ["new", "existing"])
def test_a_link_refused_for_its_alias_inside_a_batch_leaves_no_collection_or_link(
    client: rw.Client,
    make_client: MakeClient,
    models: rw.Link,
    log: Callable[..., rw.ArtifactVersion],
    collection: str,
) -> None:
    version = log("cat")
    # Before refusing the look-alike, the call makes the collection (or the link, moving
    # latest) and sets "staging".
    path = "Models/cat" if collection == "new" else "Models/cats"
    refusal = refused_in_batch(
        client,
        lambda: make_client("ada"),
        lambda: client.link(log("dog"), "Models/dogs"),
        lambda: client.link(version, path, aliases=["staging", CONFUSABLE]),
        lambda: client.create_registry("Other"),
        rw.ValidationError,
    )
    assert "looks like the protected alias" in str(refusal.value)
    models_reg = client.registry("Models")
    assert [c.name for c in models_reg.collections()] == ["cats", "dogs"]
    cats = models_reg.collection("cats")
    assert [v.version for v in cats.versions()] == ["v0"]
    assert cats.aliases == {"latest": "v0", "production": "v0"}
    assert "Other" in [r.name for r in client.registries()]
    # The next link takes the number the refused one would have had.
    assert client.link(version, "Models/cats").version == "v1"


def test_a_permission_refused_after_the_call_wrote_inside_a_batch_leaves_nothing(
    make_client: MakeClient, models: rw.Link, files: Callable[..., Path]
) -> None:
    bob = make_client("bob")  # a member: setting a protected alias needs an admin
    version = bob.log_artifact("bobcat", type="model", files=files("b.bin", b"bob's"))
    refusal = refused_in_batch(
        bob,
        lambda: make_client("bob"),
        lambda: bob.link(version, "Models/bobcats"),
        lambda: bob.link(version, "Models/guarded", aliases=["production"]),
        lambda: bob.registry("Models").collection("bobcats").update(tags=["kept"]),
        rw.PermissionDeniedError,
    )
    assert "protected alias 'production'" in str(refusal.value)
    assert [c.name for c in bob.registry("Models").collections()] == ["bobcats", "cats"]
    assert bob.registry("Models").collection("bobcats").tags == ["kept"]


@pytest.mark.parametrize("who", ["ada", "bob"])
def test_a_refused_set_alias_inside_a_batch_changes_nothing(
    client: rw.Client,
    make_client: MakeClient,
    models: rw.Link,
    log: Callable[..., rw.ArtifactVersion],
    who: str,
) -> None:
    user = client if who == "ada" else make_client("bob")
    link = user.link(log("cat"), "Models/cats")
    # ada: a look-alike of the protected alias; bob: the protected alias itself.
    alias, error = (CONFUSABLE, rw.ValidationError) if who == "ada" else ("production", None)
    refused_in_batch(
        user,
        lambda: make_client(who),
        lambda: link.set_alias("staging"),
        lambda: link.set_alias(alias),
        lambda: user.use("Models/cats:v0").set_alias("stable"),
        error or rw.PermissionDeniedError,
    )
    aliases = user.registry("Models").collection("cats").aliases
    assert aliases == {"latest": "v1", "production": "v0", "staging": "v1", "stable": "v0"}


def test_a_log_refused_for_its_type_inside_a_batch_changes_nothing(
    client: rw.Client,
    make_client: MakeClient,
    models: rw.Link,
    files: Callable[..., Path],
    log: Callable[..., rw.ArtifactVersion],
) -> None:
    refused_in_batch(
        client,
        lambda: make_client("ada"),
        lambda: client.link(log("cat"), "Models/cats", aliases=["staging"]),
        lambda: client.log_artifact("cat", type="dataset", files=files("d.csv", b"new bytes")),
        lambda: log("dog"),
        rw.ValidationError,
    )
    assert sorted(a.ref for a in client.artifacts()) == ["cat:v0", "cat:v1", "dog:v0"]


def test_a_log_refused_for_an_unreadable_file_inside_a_batch_keeps_no_blob(
    client: rw.Client,
    make_client: MakeClient,
    models: rw.Link,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    log: Callable[..., rw.ArtifactVersion],
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"a is read first")  # a small blob, packed
    (folder / "big.bin").write_bytes(bytes(range(256)) * 400)  # a blob of its own
    secret = folder / "z.txt"
    secret.write_bytes(b"z is unreadable")
    real_open = os.open

    def guarded_open(path: object, *args: Any, **kwargs: Any) -> int:
        if Path(str(path)) == secret:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", guarded_open)
    refused_in_batch(
        client,
        lambda: make_client("ada"),
        lambda: log("dog"),
        lambda: client.log_artifact("cat", type="model", files=folder),
        lambda: log("cat"),
        rw.StorageError,
    )
    assert sorted(a.ref for a in client.artifacts()) == ["cat:v0", "cat:v1", "dog:v0"]


def test_a_log_refused_after_its_version_was_numbered_inside_a_batch_leaves_nothing(
    client: rw.Client,
    make_client: MakeClient,
    models: rw.Link,
    files: Callable[..., Path],
    log: Callable[..., rw.ArtifactVersion],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = files("w.bin", b"the bytes hashed")

    def collected_and_changed(sources: Any, blobs: Any, **kwargs: Any) -> Any:
        # Garbage collection takes the new blob, and the file changes, before the version
        # is recorded: the call numbers the version, then cannot store the blob again.
        manifest = build_manifest(sources, blobs, **kwargs)
        for entry in manifest.values():
            blobs.remove(entry["digest"])
        source.write_bytes(b"other bytes now")
        return manifest

    def refused() -> None:
        with monkeypatch.context() as patched:
            patched.setattr(artifact_log, "build_manifest", collected_and_changed)
            client.log_artifact("cat", type="model", files=source)

    refused_in_batch(
        client,
        lambda: make_client("ada"),
        lambda: log("dog"),
        refused,
        lambda: log("cat"),
        rw.ConflictError,
    )
    assert sorted(a.ref for a in client.artifacts()) == ["cat:v0", "cat:v1", "dog:v0"]


def test_a_batch_that_raises_after_a_handled_refusal_commits_nothing(
    client: rw.Client,
    make_client: MakeClient,
    models: rw.Link,
    log: Callable[..., rw.ArtifactVersion],
) -> None:
    rows, digests, _ = seen(client)
    with pytest.raises(RuntimeError, match="the block fails"), client.batch():
        client.link(log("dog"), "Models/dogs", aliases=["staging"])
        with pytest.raises(rw.ValidationError):
            client.link(log("cow"), "Models/cows", aliases=[CONFUSABLE])
        client.create_registry("Other")
        raise RuntimeError("the block fails")
    again = make_client("ada")
    rows_now, digests_now, _ = seen(again)
    assert rows_now == rows
    assert [r.name for r in again.registries()] == ["Datasets", "Models"]
    # The blobs the batch stored are referred to by nothing: garbage to collect.
    assert set(digests) < set(digests_now)
    again.collect_garbage(min_age=0)
    assert sorted(again._s.blobs.digests()) == digests
    assert again.artifact("cat:v0").verify()
