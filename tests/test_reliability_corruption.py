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
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from reliability_support import observe

import registry_widget as rw
from registry_widget.store import JSONFileStore

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
        if i == 3:
            _checkpoint(client)  # the snapshot holds half, a journal (if any) the rest
        f = src / f"w{i}.bin"
        f.write_bytes(f"weights {i}".encode() * 50)
        version = client.log_artifact("cat", type="model", files=f, metadata={"token": f"cat-{i}"})
        client.link(version, "Models/cats", aliases=["prod"] if i % 2 else [])
        client.link(version, "Vision/cats")
    reg.collection("cats").update(tags=["vision", "cats"])
    return client


def _checkpoint(client: rw.Client) -> None:
    checkpoint = getattr(client.store, "checkpoint", None)
    if checkpoint is not None:
        checkpoint()


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


# -- the journal -------------------------------------------------------------------------------


def _journal(path: Path) -> Path:
    journal = path.with_name(path.name + ".journal")
    assert journal.exists(), "the store keeps no journal beside its file"
    return journal


def _fresh(path: Path, user: str = "ada") -> rw.Client:
    """A client on a store object of its own, as a new process would open it."""
    return rw.Client(JSONFileStore(path), user=user)


def _lines(raw: bytes) -> list[bytes]:
    return raw.splitlines(keepends=True)


def test_a_torn_last_journal_record_is_dropped_whatever_byte_it_stops_at(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store" / "registry.json"
    client = _make_store(path)
    journal = _journal(path)
    committed = observe(client)
    whole = journal.read_bytes()
    client.registry("Models").collection("cats").update(tags=["torn"], description="x" * 50)
    record = journal.read_bytes()[len(whole) :]
    assert _lines(record) == [record], "the last commit is one journal record"
    client.store.close()
    del client
    gc.collect()
    for cut in range(len(record)):
        journal.write_bytes(whole + record[:cut])
        before = _fingerprint(path.parent)
        reopened = _fresh(path)
        cats = reopened.registry("Models").collection("cats")
        assert cats.tags == [], f"torn at byte {cut} of {len(record)}"
        if cut % 50 == 0 or cut == len(record) - 1:
            assert observe(reopened) == committed, f"torn at byte {cut} of {len(record)}"
        reopened.store.close()
        assert _fingerprint(path.parent) == before, "opening rewrote the torn journal"

    # the next writer appends after the last whole record, never after the torn one
    journal.write_bytes(whole + record[: len(record) // 2])
    writer = _fresh(path)
    writer.registry("Models").collection("cats").update(tags=["after"])
    writer.store.close()
    reopened = _fresh(path)
    assert reopened.registry("Models").collection("cats").tags == ["after"]
    expected = {**committed, "colls": dict(committed["colls"])}
    expected["colls"]["cats"] = {**committed["colls"]["cats"], "tags": ["after"]}
    assert observe(reopened) == expected


def test_trailing_junk_after_the_journal_is_a_torn_record_and_loses_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store" / "registry.json"
    committed = observe(_make_store(path))
    gc.collect()
    journal = _journal(path)
    # no final newline, or blocks a crash left unwritten: a commit that never completed
    for junk in (b"garbage", b"\x00" * 4096, b"0badc0de {\x00\x00\x00\n"):
        whole = journal.read_bytes()
        journal.write_bytes(whole + junk)
        reopened = _fresh(path)
        assert observe(reopened) == committed
        reopened.store.close()
        journal.write_bytes(whole)


def _damage_record(number: int, how: Callable[[bytes], bytes]) -> Damage:
    """Damage journal line ``number`` (0 is the header) with ``how``."""

    def damage(raw: bytes) -> bytes:
        lines = _lines(raw)
        assert len(lines) > number + 3, "the damage must be followed by more records"
        lines[number] = how(lines[number])
        return b"".join(lines)

    return damage


def _flip(offset: int) -> Callable[[bytes], bytes]:
    def flip(line: bytes) -> bytes:
        out = bytearray(line)
        out[offset] ^= 0x01
        return bytes(out)

    return flip


JOURNAL_DAMAGE: dict[str, Damage] = {
    "flipped-payload-byte": _damage_record(2, _flip(-10)),
    "flipped-checksum-digit": _damage_record(2, _flip(3)),
    "garbage-line-inserted": _damage_record(2, lambda line: b"garbage\n" + line),
    "newline-removed": _damage_record(2, lambda line: line[:-1]),
    "record-zeroed": _damage_record(2, lambda line: b"\x00" * len(line)),
    "record-cut-short": _damage_record(2, lambda line: line[: len(line) // 2] + b"\n"),
    "header-damaged": _damage_record(0, _flip(20)),
    "header-removed": _damage_record(0, lambda line: b""),
    "zero-length": lambda raw: b"",
    "blank": lambda raw: b"\n",
}


@pytest.mark.parametrize("damage", list(JOURNAL_DAMAGE.values()), ids=list(JOURNAL_DAMAGE))
def test_a_damaged_journal_is_refused_and_left_untouched(store: Path, damage: Damage) -> None:
    journal = _journal(store)
    journal.write_bytes(damage(journal.read_bytes()))
    before = _fingerprint(store.parent)
    for _ in range(2):
        with pytest.raises(rw.StoreCorruptedError) as refused:
            _fresh(store)
        assert str(journal) in str(refused.value), "the error names the damaged journal"
        gc.collect()
        assert _fingerprint(store.parent) == before
    with pytest.raises(rw.StoreCorruptedError):
        rw.Client(store, user="ada")
    assert _fingerprint(store.parent) == before


def test_a_journal_without_its_store_file_is_refused_not_a_new_store(store: Path) -> None:
    journal = _journal(store)
    store.rename(store.with_name("elsewhere.json"))
    before = _fingerprint(store.parent)
    for user in ("ada", "someone-new"):
        with pytest.raises(rw.StoreCorruptedError) as refused:
            _fresh(store, user)
        assert str(store) in str(refused.value)
        assert str(journal) in str(refused.value)
        gc.collect()
    assert not store.exists()
    assert _fingerprint(store.parent) == before


def test_the_journal_of_another_store_is_refused(tmp_path: Path) -> None:
    one, other = tmp_path / "one" / "registry.json", tmp_path / "other" / "registry.json"
    _make_store(one)
    _make_store(other)
    gc.collect()
    _journal(one).write_bytes(_journal(other).read_bytes())
    before = _fingerprint(one.parent)
    with pytest.raises(rw.StoreCorruptedError) as refused:
        _fresh(one)
    assert str(_journal(one)) in str(refused.value)
    assert _fingerprint(one.parent) == before


@pytest.mark.parametrize("cut", ["last-record", "half"])
def test_an_open_client_refuses_a_journal_that_lost_committed_records(
    tmp_path: Path, cut: str
) -> None:
    path = tmp_path / "store" / "registry.json"
    client = _make_store(path)
    journal = _journal(path)
    raw = journal.read_bytes()
    lines = _lines(raw)
    kept = lines[:-1] if cut == "last-record" else lines[: len(lines) // 2]
    journal.write_bytes(b"".join(kept))
    before = _fingerprint(path.parent)
    with pytest.raises(rw.StoreCorruptedError) as refused:
        client.create_registry("Audio")
    assert str(journal) in str(refused.value)
    with pytest.raises(rw.StoreCorruptedError):
        client.registries()
    assert _fingerprint(path.parent) == before


def _frame(payload: bytes) -> bytes:
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def _last_record(how: Callable[[bytes], bytes]) -> Damage:
    """Damage the last (complete, newline-terminated) journal record with ``how``."""

    def damage(raw: bytes) -> bytes:
        lines = _lines(raw)
        assert len(lines) > 2
        assert lines[-1].endswith(b"\n")
        lines[-1] = how(lines[-1])
        return b"".join(lines)

    return damage


def _broken_quote(line: bytes) -> bytes:
    at = line.index(b'"', 10)
    return line[:at] + b"'" + line[at + 1 :]


LAST_RECORD_DAMAGE: dict[str, Damage] = {
    "flipped-payload-bit": _last_record(_flip(-10)),
    "flipped-checksum-bit": _last_record(_flip(3)),
    "broken-quote": _last_record(_broken_quote),
    "garbage-line": _last_record(lambda line: b"garbage\n"),
    "wrong-checksum-empty-record": _last_record(lambda line: b"0badc0de {}\n"),
    # a valid checksum over a payload of the wrong structure
    "no-change-list": _last_record(lambda line: _frame(b'{"x":[]}')),
    "change-without-document": _last_record(lambda line: _frame(b'{"c":[["i","links",9]]}')),
    "change-of-unknown-kind": _last_record(lambda line: _frame(b'{"c":[["z","links",9,{}]]}')),
    "id-not-a-number": _last_record(lambda line: _frame(b'{"c":[["r","links","9"]]}')),
    "change-not-a-list": _last_record(lambda line: _frame(b'{"c":[7]}')),
}


@pytest.mark.parametrize("damage", list(LAST_RECORD_DAMAGE.values()), ids=list(LAST_RECORD_DAMAGE))
def test_a_damaged_last_journal_record_is_refused_not_dropped(
    tmp_path: Path, damage: Damage
) -> None:
    """A complete last record was committed: damage to it is not a torn write."""
    path = tmp_path / "store" / "registry.json"
    client = _make_store(path)
    other = _fresh(path)  # another process commits the last record, then it is damaged
    other.registry("Models").collection("cats").update(tags=["last"])
    other.store.close()
    journal = _journal(path)
    journal.write_bytes(damage(journal.read_bytes()))
    before = _fingerprint(path.parent)
    for _ in range(2):
        with pytest.raises(rw.StoreCorruptedError) as refused:
            _fresh(path)
        assert str(journal) in str(refused.value), "the error names the damaged journal"
        gc.collect()
        assert _fingerprint(path.parent) == before
    with pytest.raises(rw.StoreCorruptedError):
        client.create_registry("Audio")  # the next writer does not cut it off
    with pytest.raises(rw.StoreCorruptedError):
        client.registries()
    assert _fingerprint(path.parent) == before
