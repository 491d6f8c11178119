"""The JSON file store: atomic, locked, fresh across processes, and never fooled by a bad file."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tinydb import TinyDB

import registry_widget as rw
from registry_widget.domain.backend import open_store
from registry_widget.store import JSONFileStore, MemoryStore

ROOT = Path(__file__).resolve().parents[2]
MakeClient = Callable[..., rw.Client]


def run_py(code: str, **env: str) -> str:
    """Run ``code`` in a fresh Python process and return its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )
    return result.stdout


def test_store_file_is_plain_tinydb_json(store_path: Path) -> None:
    client = rw.Client(store_path, user="ada")
    client.create_registry("Plain")
    client.store.checkpoint()  # fold the journal into the snapshot
    db = TinyDB(store_path)
    names = {doc["name"] for doc in db.table("registries").all()}
    assert names == {"Models", "Datasets", "Plain"}
    db.close()


def test_commit_appends_to_the_journal_and_leaves_no_temp_files(store_path: Path) -> None:
    client = rw.Client(store_path, user="ada")
    snapshot = store_path.read_bytes()
    journal = store_path.with_name("registry.json.journal")
    size = journal.stat().st_size
    client.create_registry("One")
    assert store_path.read_bytes() == snapshot  # the snapshot is left alone
    assert journal.stat().st_size > size  # the commit is one more journal line
    assert sorted(p.name for p in store_path.parent.iterdir()) == [
        "registry.json",
        "registry.json.journal",
        "registry.json.lock",
    ]


def test_new_store_is_created_with_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "registry.json"
    rw.Client(path, user="ada")
    assert path.exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b'{"meta": {"1": {"format": "registry_widget"', "not valid JSON"),
        (b"\x00\x00\x00\x00", "not valid JSON"),
        (b"[1, 2, 3]", "not a TinyDB store"),
        (b"{}", "not a registry store"),
        (b'{"_default": {"1": {"x": 1}}}', "not a registry store"),
    ],
    ids=[
        "zero-length",
        "blank",
        "truncated",
        "zeros",
        "json-list",
        "empty-object",
        "foreign-tinydb",
    ],
)
def test_bad_store_file_is_refused_and_left_untouched(
    store_path: Path, content: bytes, words: str
) -> None:
    store_path.write_bytes(content)
    with pytest.raises(rw.StoreCorruptedError, match=words):
        rw.Client(store_path, user="ada")
    assert store_path.read_bytes() == content


def test_truncated_real_store_is_refused(store_path: Path) -> None:
    rw.Client(store_path, user="ada").create_registry("Data")
    whole = store_path.read_bytes()
    for cut in (len(whole) // 2, len(whole) - 1):
        other = store_path.with_name(f"cut{cut}.json")
        other.write_bytes(whole[:cut])
        with pytest.raises(rw.StoreCorruptedError):
            rw.Client(other, user="ada")
        assert other.read_bytes() == whole[:cut]


def test_trailing_junk_is_refused(store_path: Path) -> None:
    rw.Client(store_path, user="ada")
    content = store_path.read_bytes() + b"garbage"
    store_path.write_bytes(content)
    # a client already holding the store sees the damage at its next read
    with pytest.raises(rw.StoreCorruptedError):
        rw.Client(store_path, user="ada").registries()
    assert store_path.read_bytes() == content


def test_store_deleted_while_open_is_an_error_not_a_new_store(store_path: Path) -> None:
    client = rw.Client(store_path, user="ada")
    store_path.unlink()
    with pytest.raises(rw.StoreCorruptedError, match="deleted"):
        client.registries()
    assert not store_path.exists()


def test_clients_of_one_file_share_one_store(store_path: Path) -> None:
    a = rw.Client(store_path, user="ada")
    b = rw.Client(str(store_path), user="ada")
    assert a.store is b.store is open_store(store_path)
    assert isinstance(a.store, JSONFileStore)
    assert isinstance(rw.Client(":memory:", user="x").store, MemoryStore)


def test_a_commit_by_another_process_is_seen_at_once(store_path: Path) -> None:
    client = rw.Client(store_path, user="ada")
    models = client.registry("Models")
    assert models.collections() == []  # primes TinyDB's query cache
    before = client.revision
    run_py(
        "import registry_widget as rw, pathlib, sys\n"
        f"c = rw.Client({str(store_path)!r}, user='ada')\n"
        f"p = pathlib.Path({str(store_path.parent)!r}) / 'w.bin'; p.write_bytes(b'x')\n"
        "c.link(c.log_artifact('m', type='model', files=p), 'Models/from-child')\n"
    )
    assert client.revision != before
    assert [c.name for c in models.collections()] == ["from-child"]
    assert client.use("Models/from-child").artifact.name == "m"


def test_subscribers_hear_every_commit_in_this_process(client: rw.Client) -> None:
    heard: list[int] = []
    unsubscribe = client.subscribe(lambda: heard.append(1))
    client.create_registry("A")
    with client.batch():
        client.create_registry("B")
        client.create_registry("C")
    assert len(heard) == 2  # one per commit: the batch is one
    unsubscribe()
    client.create_registry("D")
    assert len(heard) == 2


def test_batch_is_all_or_nothing(client: rw.Client, store_path: Path, backend: str) -> None:
    before = store_path.read_bytes() if backend == "json" else None
    with pytest.raises(rw.ConflictError), client.batch():
        client.create_registry("Fine")
        client.create_registry("fine")  # duplicate name: the whole batch is refused
    assert [r.name for r in client.registries()] == ["Datasets", "Models"]
    if backend == "json":
        assert store_path.read_bytes() == before


def test_a_batch_goes_on_after_a_refused_call_and_commits_the_rest_once(
    client: rw.Client, store_path: Path, backend: str
) -> None:
    heard: list[int] = []
    client.subscribe(lambda: heard.append(1))
    journal = store_path.with_name("registry.json.journal")
    lines = journal.read_bytes().count(b"\n") if backend == "json" else 0
    with client.batch():
        client.create_registry("Fine")
        with pytest.raises(rw.ConflictError):
            client.create_registry("fine")  # refused: the batch goes on without it
        client.create_registry("Also")
    assert sorted(r.name for r in client.registries()) == ["Also", "Datasets", "Fine", "Models"]
    assert len(heard) == 1
    if backend == "json":
        assert journal.read_bytes().count(b"\n") == lines + 1  # one commit, one line


def test_batch_commits_once(client: rw.Client, log) -> None:
    with client.batch():
        for _ in range(20):
            client.link(log(), "Models/many")
    assert client.registry("Models").collection("many").count == 20


def test_ids_of_deleted_objects_are_never_reused(
    make_client: MakeClient, backend: str, store_path: Path, log: Callable[..., Any]
) -> None:
    ada = make_client("ada")
    ada.add_user("bob")
    secret = ada.create_registry("Secret", visibility="restricted", description="hush")
    version = log("cat").ref
    secret_link = ada.link(version, "Secret/cats", aliases=["prod"])
    models_link = ada.link(version, "Models/cats")
    models_link.unlink()
    secret.delete()
    ada.store.checkpoint()  # a fold keeps no document of the deleted objects
    if backend == "json":  # the next objects are made by another process
        ada = rw.Client(JSONFileStore(store_path), user="ada")
    # On a server store the login is the user: bob connects as himself.
    bob = make_client("bob") if backend == "postgres" else rw.Client(ada.store, user="bob")
    public = bob.create_registry("Public", description="open to all")
    new_link = bob.link(version, "Public/cats")
    relinked = bob.link(version, "Models/cats")
    assert public._id != secret._id
    assert new_link._id not in {secret_link._id, models_link._id}
    assert relinked._id not in {secret_link._id, models_link._id}
    # the new registry has its own history only: nothing of the deleted restricted one
    assert [e.action for e in bob.registry("Public").history()] == [
        "link.create",
        "collection.create",
        "registry.create",
    ]
    assert not any("Secret" in e.target for e in bob.registry("Public").history())
    # handles to the deleted objects refuse to read and to write, and change nothing
    for stale in (secret, secret_link, models_link):
        with pytest.raises(rw.NotFoundError):
            repr(stale._doc())
    with pytest.raises(rw.NotFoundError):
        secret.update(description="written through a stale handle")
    with pytest.raises(rw.NotFoundError):
        secret_link.set_alias("staging")
    with pytest.raises(rw.NotFoundError):
        models_link.set_alias("staging")
    assert bob.registry("Public").description == "open to all"
    assert bob.link(version, "Public/cats").aliases == ["latest"]
    assert bob.link(version, "Models/cats").aliases == ["latest"]
