"""The storage engine: journal, snapshot folding, catch-up between stores, and indexes."""

from __future__ import annotations

import errno
import os
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tinydb import TinyDB

import registry_widget as rw
from registry_widget.store import JSONFileStore, MemoryStore, Store, jsonfile_follow
from registry_widget.store import jsonfile as jsonfile_module
from registry_widget.store.interface import STORE_FORMAT


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


def read_store(path: Path) -> bytes:
    """The store file and its journal, as bytes."""
    return path.read_bytes() + b"\0" + journal_of(path).read_bytes()


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
    assert reopened.find("things", n=10)[0][0] == ids[1]
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
    assert {d["n"] for _, d in reopened.query("things")} == set(range(40))
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
    assert sorted(d["n"] for _, d in b.query("things")) == [2, 3]
    insert(b, "things", {"n": 4})  # b writes after a's fold, into the new journal
    a.refresh()
    assert sorted(d["n"] for _, d in a.query("things")) == [2, 3, 4]
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
        assert sorted(d["n"] for _, d in reopened.query("things")) == [0, 1, 2]
        assert journal.read_bytes() == whole + torn  # readers leave it alone
        insert(reopened, "things", {"n": 3})  # the next writer cuts the torn record off
        assert journal.read_bytes().startswith(whole)
        assert sorted(d["n"] for _, d in JSONFileStore(store_path).query("things")) == [
            0,
            1,
            2,
            3,
        ]
        journal.write_bytes(whole)


def test_a_commit_replacing_a_torn_tail_of_its_length_is_neither_missed_nor_cut_off(
    store_path: Path,
) -> None:
    first = new_store(store_path)
    insert(first, "things", {"n": 0})
    journal = journal_of(store_path)
    whole = journal.read_bytes()
    insert(first, "things", {"n": 1})
    length = journal.stat().st_size - len(whole)  # the length of that commit's record
    # A writer died while appending a record of that length: no newline, so torn.
    journal.write_bytes(whole + b"0badc0de " + b"x" * (length - 9))
    reader = JSONFileStore(store_path)  # as another process would open it
    assert sorted(d["n"] for _, d in reader.query("things")) == [0]
    writer = JSONFileStore(store_path)
    insert(writer, "things", {"n": 1})  # cuts the torn tail off, appends as many bytes
    assert journal.stat().st_size == len(whole) + length
    reader.refresh()
    assert sorted(d["n"] for _, d in reader.query("things")) == [0, 1]
    insert(reader, "things", {"n": 2})
    assert sorted(d["n"] for _, d in JSONFileStore(store_path).query("things")) == [0, 1, 2]


def test_a_writer_that_missed_a_commit_refuses_to_cut_it_off(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = new_store(store_path)
    insert(stale, "things", {"n": 0})
    insert(JSONFileStore(store_path), "things", {"n": 1})
    before = read_store(store_path)
    # A view that, for whatever reason, did not read the other store's commit.
    monkeypatch.setattr(stale, "_refresh_locked", lambda: None)
    with pytest.raises(rw.ConcurrentChangeError, match="had not read"):
        insert(stale, "things", {"n": 2})
    assert read_store(store_path) == before
    monkeypatch.undo()
    insert(stale, "things", {"n": 2})  # reads the commit it missed first
    assert sorted(d["n"] for _, d in JSONFileStore(store_path).query("things")) == [0, 1, 2]


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
    assert [d["n"] for _, d in reopened.query("things")] == [1]
    insert(reopened, "things", {"n": 2})
    assert [d["n"] for _, d in JSONFileStore(store_path).query("things")] == [1, 2]


def test_tables_refuse_writes_that_bypass_transactions() -> None:
    store = MemoryStore()
    with pytest.raises(TypeError, match="transaction"):
        store._db.table("things").insert({"n": 1})


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

    return sorted(i for i, d in store.query("things") if field in d and matches(d[field]))


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
    from registry_widget.domain.link import LINK_FIELDS
    from registry_widget.filters import compile_predicate
    from registry_widget.store.interface import JOINS

    def as_filtered(link_id: int) -> dict[str, Any]:
        """The link with the fields it reads from its version, as filters see it."""
        link = client.store.get("links", link_id)
        assert link is not None
        join = JOINS["links"]
        art = client.store.get(join.table, link[join.key])
        assert art is not None
        return {**link, **{field: art[name] for field, name in join.fields.items()}}

    for spec in filters:
        predicate = compile_predicate(spec, LINK_FIELDS)
        expected = [x.path for x in everything if predicate(as_filtered(x._id))]  # type: ignore[arg-type]
        assert [x.path for x in client.versions(spec)] == expected


def test_a_complete_last_record_with_a_bad_checksum_is_refused_not_dropped(
    store_path: Path,
) -> None:
    store = new_store(store_path)
    for n in range(3):
        insert(store, "things", {"n": n})
    journal = journal_of(store_path)
    raw = bytearray(journal.read_bytes())
    last = raw.rstrip(b"\n").rfind(b"\n") + 1
    raw[last + 3] ^= 0x01  # a committed record changed afterwards: not a torn write
    journal.write_bytes(bytes(raw))
    with pytest.raises(rw.StoreCorruptedError, match="damaged record"):
        JSONFileStore(store_path)
    assert journal.read_bytes() == bytes(raw)


def test_a_last_record_holding_unwritten_zero_blocks_is_a_torn_commit(store_path: Path) -> None:
    store = new_store(store_path)
    for n in range(3):
        insert(store, "things", {"n": n})
    journal = journal_of(store_path)
    raw = journal.read_bytes()
    last = raw.rstrip(b"\n").rsplit(b"\n", 1)[1]
    torn = raw[: -len(last) - 1] + last[:10] + b"\x00" * (len(last) - 10) + b"\n"
    journal.write_bytes(torn)
    reopened = JSONFileStore(store_path)
    assert sorted(d["n"] for _, d in reopened.query("things")) == [0, 1]


# -- folds that fail, values that would not read back -------------------------------------------


def test_a_fold_that_fails_after_a_commit_leaves_the_commit_standing(
    store_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(jsonfile_module, "FOLD_MIN_BYTES", 0)
    monkeypatch.setattr(jsonfile_module, "FOLD_RATIO", 0.0)  # every commit folds
    store = new_store(store_path)
    real = jsonfile_module.write_snapshot

    def failing(*args: Any) -> Any:
        raise TypeError("Integer exceeds 64-bit range")  # as orjson refused big integers

    monkeypatch.setattr(jsonfile_module, "write_snapshot", failing)
    first = insert(store, "things", {"n": 1})  # returns: the commit is durable
    second = insert(store, "things", {"n": 2})  # and so does every later one
    assert "could not fold the journal" in caplog.text
    reopened = JSONFileStore(store_path)
    assert reopened.get("things", first) == {"n": 1}
    assert reopened.get("things", second) == {"n": 2}
    monkeypatch.setattr(jsonfile_module, "write_snapshot", real)
    insert(store, "things", {"n": 3})  # the fold is tried again, and now succeeds
    assert {d["n"] for d in TinyDB(store_path).table("things").all()} == {1, 2, 3}


@pytest.mark.parametrize(
    ("value", "named"),
    [
        (2**64, "beyond 64 bits"),
        (-(2**63) - 1, "beyond 64 bits"),
        (float("nan"), "not a finite number"),
        ((1, 2), "tuple"),
        ({1: "a"}, "not a string"),
    ],
    ids=["int-2**64", "int-below-int64", "nan", "tuple", "int-key"],
)
def test_a_value_that_would_not_read_back_is_refused_and_nothing_written(
    store_path: Path, value: object, named: str
) -> None:
    store = new_store(store_path)
    keep = insert(store, "things", {"n": 1})
    before = read_store(store_path)
    with pytest.raises(rw.ValidationError, match=named) as refused:
        insert(store, "things", {"n": 2, "deep": {"list": [0, value]}})
    assert "deep.list[1]" in str(refused.value)
    with pytest.raises(rw.ValidationError, match=named), store.transaction() as txn:
        txn.update("things", keep, {"v": value})
    assert read_store(store_path) == before
    assert contents(store) == {"meta": {1: {"format": STORE_FORMAT}}, "things": {keep: {"n": 1}}}
    insert(store, "things", {"n": 2**64 - 1, "m": -(2**63)})  # the 64-bit bounds are kept
    store.checkpoint()
    found = JSONFileStore(store_path).find_one("things", m=-(2**63))
    assert found is not None
    assert found[1] == {"n": 2**64 - 1, "m": -(2**63)}


# -- ids are never reused -------------------------------------------------------------------


def test_ids_are_never_reused_after_removals_folds_reopens_and_rollbacks(store_path: Path) -> None:
    store = new_store(store_path)
    ids = [insert(store, "things", {"n": n}) for n in range(3)]
    with store.transaction() as txn:
        txn.remove("things", ids[2])
    assert insert(JSONFileStore(store_path), "things", {"n": 3}) == ids[2] + 1  # journal
    store.refresh()
    with store.transaction() as txn:
        txn.remove("things", ids[2] + 1)
    store.checkpoint()  # the removed ids are in no document of the snapshot
    reopened = JSONFileStore(store_path)
    assert insert(reopened, "things", {"n": 4}) == ids[2] + 2
    with pytest.raises(RuntimeError), reopened.transaction() as txn:
        rolled_back = txn.insert("things", {"n": 5})
        raise RuntimeError
    assert insert(reopened, "things", {"n": 6}) > rolled_back  # not even a rolled-back id
    assert max(JSONFileStore(store_path)._docs("things")) < insert(store, "things", {"n": 7})


def test_a_store_written_without_id_marks_opens_and_derives_them(store_path: Path) -> None:
    store = new_store(store_path)
    ids = [insert(store, "things", {"n": n}) for n in range(4)]
    store.checkpoint()
    with store.transaction() as txn:
        txn.remove("things", ids[3])  # in the journal only
    # the snapshot as versions without marks wrote it
    raw = store_path.read_bytes()
    start = raw.index(b',"next_ids":')
    old = raw[:start] + raw[raw.index(b"}", raw.index(b"}", start) + 1) :]
    assert b"next_ids" not in old
    store_path.write_bytes(old)
    reopened = JSONFileStore(store_path)
    assert reopened.get("things", ids[2]) == {"n": 2}
    assert insert(reopened, "things", {"n": 9}) == ids[3] + 1  # the journal's insert counts


# -- damaged structure ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"token":', b'"tokens":'),
        (b'"generation":', b'"gen":'),
        (b'"next_ids":{', b'"next_ids":{"others":"many",'),
    ],
    ids=["no-token", "no-generation", "next-id-not-a-number"],
)
def test_a_snapshot_with_a_damaged_journal_table_is_refused(
    store_path: Path, old: bytes, new: bytes
) -> None:
    store = new_store(store_path)
    insert(store, "things", {"n": 1})
    store.checkpoint()
    damaged = store_path.read_bytes().replace(old, new, 1)
    store_path.write_bytes(damaged)
    with pytest.raises(rw.StoreCorruptedError) as refused:
        JSONFileStore(store_path)
    assert str(store_path) in str(refused.value)
    assert store_path.read_bytes() == damaged


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"role":', b'"rank":'),
        (b'"kind":"custom",', b""),
        (b'"members":{"ada":"admin"}', b'"members":[]'),
        (b'"next_index":0', b'"next_index":"0"'),
    ],
    ids=["user-without-role", "registry-without-kind", "members-a-list", "index-a-string"],
)
@pytest.mark.parametrize("where", ["snapshot", "journal"])
def test_documents_missing_a_field_are_refused_naming_the_file(
    store_path: Path, old: bytes, new: bytes, where: str
) -> None:
    client = rw.Client(store_path, user="ada")
    client.store.checkpoint()
    client.add_user("bob")
    client.create_registry("Vision").create_collection("cats", type="model")
    if where == "snapshot":
        client.store.checkpoint()
    damaged_file = store_path if where == "snapshot" else journal_of(store_path)
    raw = damaged_file.read_bytes()
    if where == "journal":  # damage a record, then give it back its checksum
        lines = raw.split(b"\n")
        for i, line in enumerate(lines[1:-1], 1):
            if old in line:
                payload = line[9:].replace(old, new, 1)
                lines[i] = b"%08x %s" % (zlib.crc32(payload), payload)
                break
        damaged = b"\n".join(lines)
    else:
        damaged = raw.replace(old, new, 1)
    assert damaged != raw
    damaged_file.write_bytes(damaged)
    before = read_store(store_path)
    for _ in range(2):
        with pytest.raises(rw.StoreCorruptedError) as refused:
            rw.Client(JSONFileStore(store_path), user="ada")
        assert str(damaged_file) in str(refused.value)
    assert read_store(store_path) == before


# -- readers racing folds -------------------------------------------------------------------


def test_a_reader_overtaken_by_folds_reads_again_and_never_reports_damage(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = new_store(store_path)
    insert(writer, "things", {"n": 0})
    writer._file_lock.timeout = 0  # folds only while nobody else holds the lock
    real = jsonfile_follow.read_snapshot
    folds = 0

    def read_then_fold(path: Path) -> Any:
        # another process folds right after every read of the snapshot, whenever it can
        nonlocal folds
        snap = real(path)
        try:
            with writer.transaction() as txn:
                txn.insert("things", {"n": folds + 1})
            writer.checkpoint()
            folds += 1
        except rw.StoreLockedError:
            pass
        return snap

    monkeypatch.setattr(jsonfile_follow, "read_snapshot", read_then_fold)
    reader = JSONFileStore(store_path)
    assert folds >= jsonfile_follow._RELOAD_ATTEMPTS  # every read without the lock lost
    monkeypatch.setattr(jsonfile_follow, "read_snapshot", real)
    writer.refresh()
    assert contents(reader) == contents(writer)


# -- leftovers, full disks, locks, folders --------------------------------------------------


def _temps(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.endswith(".tmp"))


def test_temporary_files_of_dead_folds_are_removed_on_open(store_path: Path) -> None:
    new_store(store_path)
    dead = [f".{store_path.name}.99999999.tmp", f".{store_path.name}.journal.99999998.tmp"]
    for name in dead:
        (store_path.parent / name).write_bytes(b"{\n half a snapshot")
    other = store_path.parent / "notes.99.tmp"  # not the store's
    other.write_text("keep")
    JSONFileStore(store_path)
    assert _temps(store_path) == ["notes.99.tmp"]


def test_a_temporary_file_is_kept_while_a_writer_holds_the_lock(store_path: Path) -> None:
    writer = new_store(store_path)
    tmp = store_path.parent / f".{store_path.name}.12345.tmp"
    with writer.transaction() as txn:  # a fold under way holds the lock while it writes
        txn.insert("things", {"n": 1})
        tmp.write_bytes(b"{\n being written")
        JSONFileStore(store_path)
        assert tmp.exists()
    JSONFileStore(store_path)  # the writer is done: its leftover is stale
    assert not tmp.exists()


def _no_space(*args: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("call", ["fdatasync", "write"])
def test_a_full_disk_while_appending_is_a_store_error_and_changes_nothing(
    store_path: Path, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    store = new_store(store_path)
    insert(store, "things", {"n": 1})
    before = read_store(store_path)
    real = getattr(os, call)

    def fail_on_journal(fd: int, *args: Any) -> Any:
        if store._fd is not None and fd == store._fd:
            _no_space()
        return real(fd, *args)

    monkeypatch.setattr(os, call, fail_on_journal)
    with pytest.raises(rw.StoreWriteError, match="No space left"):
        insert(store, "things", {"n": 2})
    assert read_store(store_path) == before
    assert [d["n"] for _, d in store.query("things")] == [1]
    monkeypatch.setattr(os, call, real)
    insert(store, "things", {"n": 3})
    assert [d["n"] for _, d in JSONFileStore(store_path).query("things")] == [1, 3]


def test_a_full_disk_while_folding_is_a_store_error_and_changes_nothing(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = new_store(store_path)
    insert(store, "things", {"n": 1})
    before = read_store(store_path)
    monkeypatch.setattr(os, "fsync", _no_space)
    with pytest.raises(rw.StoreWriteError, match="No space left"):
        store.checkpoint()
    fresh = store_path.parent / "new" / "registry.json"
    with pytest.raises(rw.StoreWriteError):
        new_store(fresh)  # a new store's first commit writes its snapshot
    monkeypatch.undo()
    assert read_store(store_path) == before
    assert not fresh.exists()
    assert _temps(store_path) == []
    assert _temps(fresh) == []


def test_a_lock_held_too_long_is_a_store_locked_error(store_path: Path) -> None:
    holder = new_store(store_path)
    waiter = JSONFileStore(store_path)
    waiter._file_lock.timeout = 0.05
    with (
        holder.transaction(),
        pytest.raises(rw.StoreLockedError, match="locked by another process"),
    ):
        insert(waiter, "things", {"n": 1})
    assert issubclass(rw.StoreLockedError, rw.RegistryError)


def test_a_folder_is_not_a_store_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for location in (".", tmp_path):
        with pytest.raises(rw.ValidationError, match="is a folder"):
            rw.Client(location, user="ada")
    assert list(tmp_path.iterdir()) == []


def _refuse_reading(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Make every open of ``path`` fail as an unreadable file does (also as root)."""
    real_open = os.open

    def guarded(file: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if os.fspath(file) == str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded)


def test_an_unreadable_store_file_is_a_storage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "registry.json"
    rw.Client(path, user="ada").create_registry("Team")
    JSONFileStore(path).checkpoint()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    _refuse_reading(monkeypatch, path)
    with pytest.raises(rw.StorageError, match=r"cannot open the store .*Permission denied"):
        JSONFileStore(path)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_store_whose_lock_cannot_be_taken_is_a_storage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "registry.json"
    store = JSONFileStore(path)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(store.lock_path))

    monkeypatch.setattr(store._file_lock, "acquire", refuse)
    with pytest.raises(rw.StorageError, match=r"cannot lock the store .*Permission denied"):
        insert(store, "things", {"n": 1})
    assert not path.exists()
