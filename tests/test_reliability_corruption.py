"""Damaged store files are refused with a clear error and never overwritten.

Each case damages a real store (registries, collections, links, aliases, blobs), then
opens it afresh and also uses a client that was open before the damage. Both must refuse
with :class:`rw.StoreCorruptedError` naming the damaged file, and every file in the
folder must stay byte-for-byte as it was: the evidence is kept for whoever restores it.
A damaged store never comes back as a new, empty one.
"""

from __future__ import annotations

import gc
import hashlib
import random
from collections.abc import Callable
from pathlib import Path

import pytest

import registry_widget as rw

Damage = Callable[[bytes], bytes]


def _fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _make_store(path: Path) -> rw.Client:
    client = rw.Client(path, user="ada")
    client.add_user("bob")
    reg = client.create_registry("Vision", description="models that see")
    src = path.parent / "src"
    src.mkdir()
    for i in range(6):
        f = src / f"w{i}.bin"
        f.write_bytes(f"weights {i}".encode() * 50)
        version = client.log_artifact("cat", type="model", files=f, metadata={"i": i})
        client.link(version, "Models/cats", aliases=["prod"] if i % 2 else [])
        client.link(version, "Vision/cats")
    reg.collection("cats").update(tags=["vision", "cats"])
    return client


@pytest.fixture
def store(tmp_path: Path) -> Path:
    folder = tmp_path / "store"
    path = folder / "registry.json"
    _make_store(path)
    gc.collect()  # no client holds it open any more
    return path


def _truncate(at: float) -> Damage:
    return lambda raw: raw[: int(len(raw) * at)]


DAMAGE: dict[str, Damage] = {
    "zero-length": lambda raw: b"",
    "blank": lambda raw: b" \n\t\n",
    "truncated-1-byte": lambda raw: raw[:1],
    "truncated-quarter": _truncate(0.25),
    "truncated-half": _truncate(0.5),
    "truncated-three-quarters": _truncate(0.75),
    "truncated-last-byte": lambda raw: raw[:-1],
    "truncated-last-2-bytes": lambda raw: raw[:-2],
    "trailing-junk": lambda raw: raw + b"garbage",
    "trailing-second-object": lambda raw: raw + b'\n{"meta": {}}',
    "trailing-zeros": lambda raw: raw + b"\x00" * 4096,
    "binary-junk": lambda raw: random.Random(7).randbytes(len(raw)),
    "zeros-in-the-middle": lambda raw: (
        raw[: len(raw) // 2] + b"\x00" * 512 + raw[len(raw) // 2 + 512 :]
    ),
    "not-utf8": lambda raw: raw[:100] + b"\xff\xfe\xfd" + raw[103:],
}


@pytest.mark.parametrize("damage", list(DAMAGE.values()), ids=list(DAMAGE))
def test_a_damaged_store_file_is_refused_and_left_untouched(store: Path, damage: Damage) -> None:
    folder = store.parent
    store.write_bytes(damage(store.read_bytes()))
    before = _fingerprint(folder)
    for _ in range(2):  # the first refusal did not turn it into something else
        with pytest.raises(rw.StoreCorruptedError) as refused:
            rw.Client(store, user="ada")
        assert str(store) in str(refused.value), "the error names the damaged file"
        gc.collect()
        assert _fingerprint(folder) == before
    with pytest.raises(rw.StoreCorruptedError):
        rw.Client(store, user="someone-new")  # not even as a new store's first user
    assert _fingerprint(folder) == before


@pytest.mark.parametrize(
    "damage",
    [DAMAGE["truncated-half"], DAMAGE["trailing-junk"], DAMAGE["zero-length"]],
    ids=["truncated-half", "trailing-junk", "zero-length"],
)
def test_an_open_client_refuses_to_write_over_a_damaged_file(
    tmp_path: Path, damage: Damage
) -> None:
    path = tmp_path / "store" / "registry.json"
    client = _make_store(path)
    cats = client.registry("Models").collection("cats")
    path.write_bytes(damage(path.read_bytes()))
    before = _fingerprint(path.parent)
    with pytest.raises(rw.StoreCorruptedError) as refused:
        client.create_registry("Audio")
    assert str(path) in str(refused.value)
    with pytest.raises(rw.StoreCorruptedError):
        cats.version("prod").set_alias("staging")
    with pytest.raises(rw.StoreCorruptedError):
        cats.update(description="written over the damage")
    with pytest.raises(rw.StoreCorruptedError):
        client.registries()
    assert _fingerprint(path.parent) == before


def test_undamaged_store_reopens_with_everything(store: Path) -> None:
    """The fixture's store is whole: the refusals above come from the damage alone."""
    before = _fingerprint(store.parent)
    client = rw.Client(store, user="bob")
    cats = client.registry("Models").collection("cats")
    assert [link.index for link in cats.versions()] == [5, 4, 3, 2, 1, 0]
    assert cats.aliases == {"latest": "v5", "prod": "v5"}
    vision = client.registry("Vision").collection("cats")
    assert vision.count == 6
    assert sorted(vision.tags) == ["cats", "vision"]
    assert client.artifact("cat:v3").verify().ok
    assert _fingerprint(store.parent) == before  # opening and reading writes nothing
