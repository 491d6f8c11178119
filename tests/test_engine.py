"""The storage engine: journal, snapshot folding, catch-up between stores, and indexes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tinydb import TinyDB, where

import registry_widget as rw
from registry_widget.store import JSONFileStore, MemoryStore, Store
from registry_widget.store import jsonfile as jsonfile_module
from registry_widget.store.base import STORE_FORMAT


def journal_of(path: Path) -> Path:
    return path.with_name(path.name + ".journal")


def new_store(path: Path) -> JSONFileStore:
    store = JSONFileStore(path)
    with store.transaction() as txn:
        txn.insert("meta", {"format": STORE_FORMAT})
    return store


def insert(store: Store, table: str, doc: dict[str, Any]) -> int:
    with store.transaction() as txn:
        return txn.insert(table, doc)


def contents(store: Store) -> dict[str, dict[int, dict[str, Any]]]:
    return {name: dict(docs) for name, docs in store._dump().items() if docs}


def test_commits_are_replayed_from_the_journal_on_open(store_path: Path) -> None:
    store = new_store(store_path)
    ids = [insert(store, "things", {"n": n, "tags": ["a", f"t{n}"]}) for n in range(5)]
    with store.transaction() as txn:
        txn.update("things", ids[1], {"n": 10})
        txn.remove("things", ids[2])
    snapshot = store_path.read_bytes()
    reopened = JSONFileStore(store_path)
    assert contents(reopened) == contents(store)
    assert reopened.find("things", n=10)[0].doc_id == ids[1]
    assert reopened.get("things", ids[2]) is None
    assert store_path.read_bytes() == snapshot  # replaying does not write


def test_the_journal_is_folded_into_a_new_snapshot_once_it_grows(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonfile_module, "FOLD_MIN_BYTES", 2000)
    store = new_store(store_path)
    first = store_path.stat().st_ino
    for n in range(40):
        insert(store, "things", {"n": n, "text": "x" * 50})
    assert store_path.stat().st_ino != first  # a fold replaced the snapshot
    assert journal_of(store_path).stat().st_size < 2000 + 200
    db = TinyDB(store_path)  # the folded snapshot is plain TinyDB JSON
    folded = {d["n"] for d in db.table("things").all()}
    db.close()
    reopened = JSONFileStore(store_path)
    assert {d["n"] for d in reopened.table("things").all()} == set(range(40))
    assert folded <= set(range(40))
    assert sorted(p.name for p in store_path.parent.iterdir()) == [
        "registry.json",
        "registry.json.journal",
        "registry.json.lock",
    ]


def test_checkpoint_leaves_everything_in_the_store_file(store_path: Path) -> None:
    client = rw.Client(store_path, user="ada")
    client.create_registry("Folded")
    client.store.checkpoint()
    db = TinyDB(store_path)
    assert {d["name"] for d in db.table("registries").all()} == {"Models", "Datasets", "Folded"}
    assert db.table("meta").get(doc_id=1)["format"] == STORE_FORMAT  # type: ignore[index]
    db.close()


def test_a_second_store_object_catches_up_with_commits_and_folds(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = new_store(store_path)
    b = JSONFileStore(store_path)  # as another process would open it
    doc_id = insert(a, "things", {"n": 1})
    b.refresh()
    assert b.get("things", doc_id) == {"n": 1}
    revision = b.revision
    with a.transaction() as txn:
        txn.update("things", doc_id, {"n": 2})
    assert b.revision != revision
    assert b.find_one("things", n=2) is not None
    a.checkpoint()
    insert(a, "things", {"n": 3})
    b.refresh()
    assert sorted(d["n"] for d in b.table("things").all()) == [2, 3]
    insert(b, "things", {"n": 4})  # b writes after a's fold, into the new journal
    a.refresh()
    assert sorted(d["n"] for d in a.table("things").all()) == [2, 3, 4]
    assert contents(JSONFileStore(store_path)) == contents(a)


def test_a_torn_last_record_is_dropped_and_nothing_before_it_is_lost(store_path: Path) -> None:
    store = new_store(store_path)
    for n in range(3):
        insert(store, "things", {"n": n})
    journal = journal_of(store_path)
    whole = journal.read_bytes()
    insert(store, "things", {"n": 99})
    record = journal.read_bytes()[len(whole) :]
    for torn in (record[: len(record) // 2], record[:-1], b"\x00" * 40):
        journal.write_bytes(whole + torn)
        reopened = JSONFileStore(store_path)
        assert sorted(d["n"] for d in reopened.table("things").all()) == [0, 1, 2]
        assert journal.read_bytes() == whole + torn  # readers leave it alone
        insert(reopened, "things", {"n": 3})  # the next writer cuts the torn record off
        assert journal.read_bytes().startswith(whole)
        assert sorted(d["n"] for d in JSONFileStore(store_path).table("things").all()) == [
            0,
            1,
            2,
            3,
        ]
        journal.write_bytes(whole)


@pytest.mark.parametrize("damage", ["flip", "garbage"])
def test_a_damaged_record_in_the_middle_is_refused_and_left_untouched(
    store_path: Path, damage: str
) -> None:
    store = new_store(store_path)
    for n in range(4):
        insert(store, "things", {"n": n})
    journal = journal_of(store_path)
    lines = journal.read_bytes().split(b"\n")
    middle = bytearray(lines[2])
    if damage == "flip":
        middle[-3] ^= 0x01
    else:
        middle[:] = b"not a record"
    lines[2] = bytes(middle)
    damaged = b"\n".join(lines)
    journal.write_bytes(damaged)
    snapshot = store_path.read_bytes()
    with pytest.raises(rw.StoreCorruptedError, match="damaged record"):
        JSONFileStore(store_path)
    if damage == "garbage":
        with pytest.raises(rw.StoreCorruptedError):
            insert(store, "things", {"n": 5})  # a writer holding the store sees it shrink
    assert journal.read_bytes() == damaged
    assert store_path.read_bytes() == snapshot


def test_a_journal_without_its_store_file_is_refused(store_path: Path) -> None:
    new_store(store_path)
    store_path.rename(store_path.with_name("moved.json"))
    with pytest.raises(rw.StoreCorruptedError, match="journal"):
        JSONFileStore(store_path)
    assert not store_path.exists()


def test_a_stale_journal_from_an_interrupted_fold_is_ignored_then_replaced(
    store_path: Path,
) -> None:
    store = new_store(store_path)
    insert(store, "things", {"n": 1})
    journal = journal_of(store_path)
    stale = journal.read_bytes()
    store.checkpoint()  # new snapshot and new journal
    journal.write_bytes(stale)  # as if the fold died between its two renames
    reopened = JSONFileStore(store_path)
    assert [d["n"] for d in reopened.table("things").all()] == [1]
    insert(reopened, "things", {"n": 2})
    assert [d["n"] for d in JSONFileStore(store_path).table("things").all()] == [1, 2]


def test_tables_refuse_writes_that_bypass_transactions() -> None:
    store = MemoryStore()
    with pytest.raises(TypeError, match="transaction"):
        store.table("things").insert({"n": 1})


def test_rollback_restores_documents_and_indexes(store_path: Path) -> None:
    store = new_store(store_path)
    keep = insert(store, "things", {"n": 1, "tags": ["a"]})
    assert store.find_ids("things", tags="a") == [keep]
    journal = journal_of(store_path).read_bytes()
    with pytest.raises(RuntimeError), store.transaction() as txn:
        txn.insert("things", {"n": 2, "tags": ["a", "b"]})
        txn.update("things", keep, {"tags": ["c"]})
        txn.remove("things", keep)
        raise RuntimeError
    assert store.find_ids("things", tags="a") == [keep]
    assert store.find_ids("things", tags="b") == []
    assert store.find_ids("things", tags="c") == []
    assert store.get("things", keep) == {"n": 1, "tags": ["a"]}
    assert journal_of(store_path).read_bytes() == journal


# -- indexes against full scans -------------------------------------------------------------

VALUES = st.one_of(
    st.sampled_from(["a", "b", "c"]),
    st.integers(0, 3),
    st.booleans(),
    st.none(),
    st.lists(st.sampled_from(["a", "b", "c", 1]), max_size=3),
    st.fixed_dictionaries({"x": st.integers(0, 2)}),
)
DOCS = st.fixed_dictionaries({}, optional={"f": VALUES, "g": VALUES})
OPS = st.lists(
    st.tuples(st.sampled_from(["insert", "update", "remove", "fail"]), st.integers(0, 50), DOCS),
    max_size=30,
)


def scan(store: Store, field: str, value: object) -> list[int]:
    def matches(v: object) -> bool:
        if isinstance(v, list):
            return any(type(x) is type(value) and x == value for x in v)
        return type(v) is type(value) and v == value

    return sorted(d.doc_id for d in store.table("things").search(where(field).test(matches)))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS, probes=st.lists(st.tuples(st.sampled_from("fg"), VALUES), max_size=8))
def test_indexes_agree_with_full_scans_after_commits_rollbacks_and_replay(
    tmp_path_factory: pytest.TempPathFactory,
    ops: list[tuple[str, int, dict[str, Any]]],
    probes: list[tuple[str, object]],
) -> None:
    path = tmp_path_factory.mktemp("idx") / "registry.json"
    store = new_store(path)
    for field in "fg":  # indexes exist before the changes, so they are kept up to date
        store.find_ids("things", **{field: "a"})
    for op, pick, doc in ops:
        ids = sorted(store._docs("things"))
        try:
            with store.transaction() as txn:
                if op == "insert" or not ids:
                    txn.insert("things", doc)
                elif op == "update":
                    txn.update("things", ids[pick % len(ids)], doc)
                elif op == "remove":
                    txn.remove("things", ids[pick % len(ids)])
                else:
                    txn.insert("things", doc)
                    txn.update("things", ids[pick % len(ids)], {"f": "a"})
                    raise ValueError
        except ValueError:
            pass
    replayed = JSONFileStore(path)
    for s in (store, replayed):
        for field, value in [*probes, ("f", "a"), ("g", 1), ("f", True)]:
            if isinstance(value, (list, dict)):
                continue
            assert sorted(s.find_ids("things", **{field: value})) == scan(s, field, value)
    assert contents(replayed) == contents(store)


def test_filters_narrowed_by_indexes_match_plain_queries(client: rw.Client, log) -> None:
    for i in range(12):
        v = log(f"m{i % 3}", metadata={"acc": i / 12}, tags=["even" if i % 2 else "odd", "all"])
        client.link(v, f"Models/c{i % 2}", aliases=["best"] if i in (4, 5) else ())
    filters: list[dict[str, Any]] = [
        {"tag": "even"},
        {"type": "model", "tag": "odd", "metadata.acc": {"$gt": 0.3}},
        {"$and": [{"tag": "all"}, {"tag": {"$eq": "even"}}, {"name": "m1"}]},
        {"alias": "best", "$or": [{"tag": "odd"}, {"tag": "even"}]},
        {"tag": "nothing"},
        {"tag": {"$ne": "even"}},
    ]
    everything = client.versions()
    from registry_widget.filters import compile_predicate
    from registry_widget.link import LINK_FIELDS

    for spec in filters:
        predicate = compile_predicate(spec, LINK_FIELDS)
        expected = [x.path for x in everything if predicate(client.store.get("links", x._id))]  # type: ignore[arg-type]
        assert [x.path for x in client.versions(spec)] == expected
