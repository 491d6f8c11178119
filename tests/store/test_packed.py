"""The big tables held as the JSON text of their documents, decoded when read."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from registry_widget.errors import StoreCorruptedError, ValidationError
from registry_widget.store import JSONFileStore, MemoryStore, Store
from registry_widget.store import packed as packed_module
from registry_widget.store.interface import JOINS, STORE_FORMAT
from registry_widget.store.packed import PACKED_TABLES, PackedDocs, reader
from registry_widget.store.snapshot import read_snapshot, write_snapshot

OLD_STORE = Path(__file__).resolve().parent / "old_store"


def test_documents_are_held_as_json_text_and_read_back_equal() -> None:
    docs = PackedDocs()
    doc = {"name": "cat", "tags": ["a", "b"], "metadata": {"acc": 0.9, "n": None}, "ok": True}
    docs[7] = doc
    assert docs.held(7) == orjson.dumps(doc)
    assert docs[7] == doc
    assert docs.get(7) == doc
    assert docs.get(8) is None
    assert docs.get(8, "none") == "none"
    assert 7 in docs
    assert 8 not in docs
    assert len(docs) == 1
    assert list(docs) == [7]
    assert list(docs.items()) == [(7, doc)]
    assert list(docs.values()) == [doc]
    assert reader(docs)(7) == doc
    with pytest.raises(KeyError):
        docs[8]


def test_values_json_cannot_encode_are_held_as_the_document_itself() -> None:
    # Until the commit refuses them (the stores' tests below) and rolls the write back.
    docs = PackedDocs()
    odd: list[dict[str, Any]] = [{"big": 2**70}, {"nested": {1: "a"}}]
    for i, doc in enumerate(odd):
        docs[i] = doc
    for i, doc in enumerate(odd):
        assert docs.held(i) is doc
        assert docs[i] is doc
        assert docs.get(i) is doc


@pytest.mark.parametrize("value", [(1, 2), math.nan, 2**70, {1: "a"}], ids=repr)
@pytest.mark.parametrize("kind", ["memory", "file"])
def test_every_store_refuses_a_document_json_would_not_give_back(
    kind: str, value: object, tmp_path: Path
) -> None:
    store: Store = MemoryStore() if kind == "memory" else JSONFileStore(tmp_path / "s.json")
    with store.transaction() as txn:
        txn.insert("meta", {"format": STORE_FORMAT})
        kept = txn.insert("links", {"index": 0, "aliases": ["latest"]})
    for table in ("links", "runs"):  # a packed table and a plain one
        refused = pytest.raises(ValidationError, match=r"64 bits|finite|tuple|not a string")
        with refused, store.transaction() as txn:
            txn.insert(table, {"index": 1, "odd": value})
        with pytest.raises(ValidationError), store.transaction() as txn:
            txn.update("links", kept, {"aliases": [value]})
    assert store.get("links", kept) == {"index": 0, "aliases": ["latest"]}
    assert store.count("links") == 1
    assert store.count("runs") == 0


def test_a_document_read_again_is_the_same_until_it_is_written() -> None:
    docs = PackedDocs({1: {"n": 1}, 2: {"n": 2}})
    first = docs[1]
    assert docs[1] is first
    assert docs.get(1) is first
    assert docs.peek(1) is first
    assert docs.peek(2) is not docs.peek(2)  # read once: decoded anew, not kept
    docs[1] = {"n": 10}
    assert docs[1] == {"n": 10}
    assert first == {"n": 1}
    docs.load(1, b'{"n": 11}', {"n": 11})
    assert docs[1] == {"n": 11}


def test_documents_are_removed_by_del_and_pop() -> None:
    docs = PackedDocs({1: {"n": 1}, 2: {"n": 2}, 3: {"n": 3}})
    assert docs[1] == {"n": 1}  # read: kept decoded
    assert docs.pop(1) == {"n": 1}
    assert docs.pop(2) == {"n": 2}
    assert docs.pop(2, None) is None
    with pytest.raises(KeyError):
        docs.pop(2)
    del docs[3]
    with pytest.raises(KeyError):
        del docs[3]
    assert len(docs) == 0
    assert docs.get(1) is None


def test_the_shapes_seen_vouch_for_the_fields_of_every_document() -> None:
    docs = PackedDocs({1: {"name": "a", "n": 1}, 2: {"name": "b", "n": True}})
    assert docs.fits({"name": (str,), "n": (int,)})  # a bool is an int, as isinstance says
    assert not docs.fits({"name": (str,), "n": (str,)})
    assert not docs.fits({"missing": (str,)})
    docs[3] = {"name": 3, "n": 1}
    assert not docs.fits({"name": (str,)})
    docs[3] = {"name": "c", "n": 1}
    assert not docs.fits({"name": (str,)})  # the replaced shape is still counted: unsure
    many = PackedDocs({i: {f"f{i}": i} for i in range(300)})
    assert many.shapes is None
    assert not many.fits({})


def check_packed(store: Store) -> None:
    """Fails if a big table of ``store`` is held as dictionaries again."""
    assert {"history", "artifacts", "links"} <= PACKED_TABLES
    for table in ("history", "artifacts", "links"):
        docs = store._docs(table)  # type: ignore[attr-defined]
        assert isinstance(docs, PackedDocs), table
        assert docs, table
        assert all(type(docs.held(i)) is bytes for i in docs), table


def fill(store: Store) -> None:
    with store.transaction() as txn:
        if not store.count("meta"):
            txn.insert("meta", {"format": STORE_FORMAT})
        for i in range(3):
            art = txn.insert("artifacts", {"name": "cat", "index": i, "tags": ["a"]})
            txn.insert("links", {"artifact_id": art, "index": i, "aliases": []})
            txn.insert("history", {"action": "link.create", "link_id": i})


def test_the_big_tables_of_a_store_are_held_as_json_text(store_path: Path) -> None:
    memory = MemoryStore()
    fill(memory)
    check_packed(memory)
    store = JSONFileStore(store_path)
    fill(store)
    check_packed(store)  # as written
    store.checkpoint()
    reopened = JSONFileStore(store_path)
    check_packed(reopened)  # as read from the snapshot
    fill(store)
    reopened.refresh()
    check_packed(reopened)  # as replayed from the journal
    assert reopened.find_ids("artifacts", tags="a") == [1, 2, 3, 4, 5, 6]
    assert reopened.get("links", 4) == {"artifact_id": 4, "index": 0, "aliases": []}


def test_the_snapshot_writes_the_held_text_as_it_is_and_reads_it_back(tmp_path: Path) -> None:
    history = PackedDocs()
    history.load(1, b'{"action": "a",  "n": 1}', {"action": "a", "n": 1})
    history[2] = {"action": "b", "pair": (1, 2)}  # held as the document: written as JSON
    tables = {"meta": {1: {"format": STORE_FORMAT}}, "history": history}
    path = tmp_path / "registry.json"
    write_snapshot(path, tables, (1, "token"), {"history": 3})  # type: ignore[arg-type]
    assert b'\n"1":{"action": "a",  "n": 1},\n' in path.read_bytes()
    snap = read_snapshot(path)
    read = snap.tables["history"]
    assert isinstance(read, PackedDocs)
    assert read.held(1) == b'{"action": "a",  "n": 1}'
    assert dict(read) == {1: {"action": "a", "n": 1}, 2: {"action": "b", "pair": [1, 2]}}
    assert snap.tables["meta"] == {1: {"format": STORE_FORMAT}}


def test_a_misshapen_document_of_a_packed_table_is_refused_a_replaced_one_is_not() -> None:
    store = MemoryStore()
    with store.transaction() as txn:
        bad = txn.insert("history", {"action": 3})
        txn.insert("history", {"action": "fine"})
    with store.transaction() as txn:
        txn.update("history", bad, {"action": "mended"})
    store.expect_fields({"history": {"action": (str,)}})
    with store.transaction() as txn:
        txn.insert("history", {"action": None})
    with pytest.raises(StoreCorruptedError, match=r"document 3 of table 'history'.*'action'"):
        store.expect_fields({"history": {"action": (str, int)}})


def test_an_old_store_is_read_into_packed_links_without_the_copied_fields(tmp_path: Path) -> None:
    shutil.copytree(OLD_STORE, tmp_path / "old")
    store = JSONFileStore(tmp_path / "old" / "registry.json")
    links = store._docs("links")
    assert isinstance(links, PackedDocs)
    copied = JOINS["links"].fields
    assert links
    for i in links:
        held = links.held(i)
        assert type(held) is bytes
        assert not copied.keys() & orjson.loads(held).keys()


def test_the_usual_lookups_of_a_packed_table_share_one_decoding_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = MemoryStore()
    with store.transaction() as txn:
        for i in range(40):
            link = {"index": i // 4, "collection_id": i % 4, "artifact_id": i, "registry_id": 1}
            txn.insert("links", {**link, "aliases": []})
    decoded: list[bytes] = []
    real = packed_module._loads
    monkeypatch.setattr(packed_module, "_loads", lambda raw: decoded.append(raw) or real(raw))
    assert store.find_ids("links", index=2, collection_id=1) == [10]
    assert store.find_ids("links", artifact_id=7) == [8]
    assert store.count("links", registry_id=1) == 40
    assert len(decoded) == 40  # one pass built the four indexes, not one pass each
