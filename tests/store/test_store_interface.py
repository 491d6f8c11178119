"""The store interface the domain speaks: plain rows in and out, filters, paging in the store.

Every test runs on every backend (memory, the JSON file and PostgreSQL); the file store
is also reopened where what it answers must survive a reload.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import registry_widget as rw
from registry_widget.filters import parse_filter
from registry_widget.store import STORE_FORMAT, JSONFileStore, MemoryStore, Store

PACKAGE = Path(rw.__file__).resolve().parent
FIELDS = {"name": ("name",), "tag": ("tags",), "kind": ("kind",), "n": ("n",)}


@pytest.fixture
def store(backend: str, store_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    made: Store
    if backend == "postgres":
        from registry_widget.store.postgres import PostgresStore

        cluster = request.getfixturevalue("postgres")
        made = PostgresStore(cluster.url("ada", request.getfixturevalue("pg_schema")))
    else:
        made = JSONFileStore(store_path) if backend == "json" else MemoryStore()
    with made.transaction() as txn:
        txn.insert("meta", {"format": STORE_FORMAT})
        # Its first user, the organisation admin: a server store lets only users write.
        txn.insert("users", {"name": "ada", "key": "ada", "role": "admin"})
    yield made
    made.close()


def fill(store: Store, docs: list[dict[str, Any]], table: str = "things") -> list[int]:
    with store.transaction() as txn:
        return [txn.insert(table, doc) for doc in docs]


def things(count: int = 12) -> list[dict[str, Any]]:
    return [
        {
            "name": f"Thing-{i}",
            "n": i % 5,
            "kind": "even" if i % 2 == 0 else "odd",
            "tags": ["all", f"t{i % 3}"],
        }
        for i in range(count)
    ]


def test_rows_are_ids_with_the_stored_documents(store: Store) -> None:
    docs = things(4)
    ids = fill(store, docs)
    assert store.get("things", ids[1]) == docs[1]
    assert store.get("things", 999) is None
    assert store.get_many("things", [ids[2], 999, ids[0]]) == [(ids[2], docs[2]), (ids[0], docs[0])]
    assert store.find("things", kind="odd") == [(ids[1], docs[1]), (ids[3], docs[3])]
    assert store.find_one("things", tags="t2") == (ids[2], docs[2])
    assert store.find_one("things", tags="none") is None
    assert store.count("things") == 4
    assert store.count("things", kind="even") == 2
    assert store.count("things", kind="even", tags="t0") == 1


# A server store reads documents from the server: the rows it returns are fresh values.
@pytest.mark.parametrize("backend", ["json", "memory"], indirect=True)
def test_a_working_set_returns_the_stored_document_not_a_copy(store: Store) -> None:
    (doc_id,) = fill(store, things(1))
    # The stored document itself, not a copy: reading costs no copy.
    row = store.get_many("things", [doc_id])[0]
    assert row[1] is store.get("things", doc_id)


@pytest.mark.parametrize(
    ("order", "limit", "offset"),
    [
        ((), None, 0),
        (("id",), 3, 2),
        (("-id",), 4, 0),
        (("n", "id"), 5, 1),
        (("-n", "-id"), 3, 3),
        (("-n", "id"), 4, 2),
        (("n", "-name"), None, 5),
        (("-name",), 100, 0),
        (("n",), 0, 0),
    ],
)
def test_query_sorts_and_pages_like_sorting_every_match(
    store: Store, order: tuple[str, ...], limit: int | None, offset: int
) -> None:
    ids = fill(store, things())
    tree = parse_filter({"tag": "all", "n": {"$lt": 4}}, FIELDS)
    matches = [(i, d) for i, d in zip(ids, things(), strict=True) if d["n"] < 4]
    expected = list(matches)
    for key in reversed(order):  # stable sorts, least significant key first
        field = key.removeprefix("-")
        expected.sort(
            key=lambda row, f=field: row[0] if f == "id" else row[1][f],  # type: ignore[misc]
            reverse=key.startswith("-"),
        )
    end = None if limit is None else offset + limit
    assert (
        store.query("things", tree, order=order, limit=limit, offset=offset)
        == (expected[offset:end])
    )


def test_query_where_narrows_by_indexed_fields_any_of_a_list(store: Store) -> None:
    ids = fill(store, things())
    rows = store.query("things", where={"n": [1, 3], "kind": "odd"}, order=("id",))
    assert [i for i, _ in rows] == [
        i for i, d in zip(ids, things(), strict=True) if d["n"] in (1, 3) and d["kind"] == "odd"
    ]
    # An equality of the filter and one of ``where`` on the same field must both hold.
    both = store.query("things", parse_filter({"kind": "even"}, FIELDS), where={"kind": "odd"})
    assert both == []
    assert store.query("things", where={"n": []}) == []


def test_search_matches_normalised_text_in_strings_and_lists(store: Store) -> None:
    docs = [
        {"name": "Cat-ResNet", "tags": ["Vision"], "group": 1},
        {"name": "dog", "tags": ["VISIONARY", "x"], "group": 2},
        {"name": "bird", "tags": [], "group": 1},
        {"name": "ÉCOLE", "tags": [3, None], "group": 1},
    ]
    ids = fill(store, docs)
    assert [i for i, _ in store.search("things", "vision", ("name", "tags"))] == ids[:2]
    assert [i for i, _ in store.search("things", "resnet", ("tags",))] == []
    assert [i for i, _ in store.search("things", "école", ("name",))] == [ids[3]]
    narrowed = store.search("things", "vision", ("tags",), where={"group": 2})
    assert narrowed == [(ids[1], docs[1])]
    assert len(store.search("things", "i", ("name", "tags"), limit=2)) == 2
    assert store.search("things", "i", ("name",), limit=0) == []


def history_entry(action: str, registry_id: int | None, link_id: int) -> dict[str, Any]:
    return {"action": action, "registry_id": registry_id, "link_id": link_id, "user": "ada"}


def test_history_is_newest_first_filtered_and_paged_in_the_store(store: Store) -> None:
    entries = [
        history_entry("link.create", 1, 7),
        history_entry("alias.set", 1, 7),
        history_entry("alias.remove", 2, 7),
        history_entry("aliasing", 1, 7),
        history_entry("user.add", None, 7),
        history_entry("alias.set", 1, 8),
    ]
    ids = fill(store, entries, table="history")
    newest = [ids[4], ids[3], ids[2], ids[1], ids[0]]
    assert [i for i, _ in store.history("link_id", 7)] == newest
    assert [i for i, _ in store.history("link_id", 7, limit=2, offset=1)] == newest[1:3]
    assert [i for i, _ in store.history("link_id", 7, kinds=("alias",))] == [ids[2], ids[1]]
    hidden = store.history("link_id", 7, registries={1})
    assert [i for i, _ in hidden] == [ids[4], ids[3], ids[1], ids[0]]
    paged = store.history("link_id", 7, kinds=("alias", "link"), registries={1}, offset=1)
    assert [i for i, _ in paged] == [ids[0]]


def test_referenced_digests_are_those_the_artifacts_name(store: Store) -> None:
    fill(
        store,
        [
            {"files": {"a": {"digest": "d1"}, "b": {"digest": "d2"}}, "created_by": "ada"},
            {"files": {"c": {"digest": "d2"}}, "created_by": "ada"},
            {"files": {}, "created_by": "ada"},
        ],
        table="artifacts",
    )
    assert store.referenced_digests() == {"d1", "d2"}
    assert store.referenced_digests(["d2", "d3"]) == {"d2"}


@pytest.mark.parametrize("op", ["update", "remove"])
def test_a_missing_document_is_refused_as_not_found(
    store: Store, op: str, backend: str, store_path: Path
) -> None:
    (keep,) = fill(store, [{"n": 1}])
    missing = pytest.raises(rw.NotFoundError, match="no document 99 in table 'things'")
    with missing, store.transaction() as txn:
        txn.update("things", keep, {"n": 2})
        if op == "update":
            txn.update("things", 99, {"n": 3})
        else:
            txn.remove("things", 99)
    assert store.query("things") == [(keep, {"n": 1})]
    if backend == "json":
        assert JSONFileStore(store_path).query("things") == [(keep, {"n": 1})]


def test_tinydb_is_imported_only_inside_the_store() -> None:
    importers = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name.split(".")[0] == "tinydb" for name in names):
                importers.append(path.relative_to(PACKAGE).as_posix())
    assert importers
    assert sorted({p for p in importers if not p.startswith("store/")}) == []


def test_a_reading_block_checks_freshness_once_per_thread_however_nested(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []
    real = store.refresh

    def refresh() -> None:
        checks.append(threading.current_thread().name)
        real()

    monkeypatch.setattr(store, "refresh", refresh)
    with store.reading(), store.reading():
        with store.reading():
            pass
        other = threading.Thread(target=lambda: store.reading().__enter__(), name="other")
        other.start()
        other.join()
    assert checks == ["MainThread", "other"]  # the other thread's block was its own
    with store.reading():
        pass
    assert checks == ["MainThread", "other", "MainThread"]  # a new block checks again
    with pytest.raises(KeyError), store.reading():
        raise KeyError("inside")
    with store.reading():
        pass
    assert checks.count("MainThread") == 4  # a block ended by an error ended all the same

    def failing() -> None:
        checks.append("failed")
        raise OSError("unreadable")

    monkeypatch.setattr(store, "refresh", failing)
    for _ in range(2):  # a check that failed leaves nothing marked fresh
        with pytest.raises(OSError, match="unreadable"), store.reading():
            pass
    assert checks[-2:] == ["failed", "failed"]


# -- savepoints: a block nested directly in a batch rolls back alone -------------------------


def test_a_block_that_raises_inside_a_batch_undoes_only_its_own_changes(
    store: Store, backend: str, store_path: Path
) -> None:
    (kept,) = fill(store, [{"name": "kept", "n": 1}])
    with store.transaction(batch=True) as txn:
        before = txn.insert("things", {"name": "before", "n": 2})
        with pytest.raises(RuntimeError), store.transaction() as inner:
            inner.insert("things", {"name": "dropped", "n": 3})
            inner.update("things", kept, {"n": 9})
            inner.update("things", before, {"n": 9})
            inner.remove("things", kept)
            raise RuntimeError("refused")
        # What the block read or changed is as it was, lookups through the indexes too.
        assert store.get("things", kept) == {"name": "kept", "n": 1}
        assert store.get("things", before) == {"name": "before", "n": 2}
        assert store.find("things", name="dropped") == []
        assert store.find_ids("things", n=9) == []
        assert store.count("things") == 2
        with store.transaction() as inner:  # a block that succeeds keeps its changes
            inner.update("things", kept, {"n": 5})
        after = txn.insert("things", {"name": "after", "n": 4})
    rows = [(kept, {"name": "kept", "n": 5}), (before, {"name": "before", "n": 2})]
    rows.append((after, {"name": "after", "n": 4}))
    assert store.query("things", order=("id",)) == rows
    if backend == "json":
        assert JSONFileStore(store_path).query("things", order=("id",)) == rows


def test_a_plain_nested_block_joins_without_a_savepoint(store: Store) -> None:
    # Outside a batch, what a nested block raises goes up to the call, which decides.
    with store.transaction() as txn:
        first = txn.insert("things", {"name": "first"})
        with pytest.raises(RuntimeError), store.transaction() as inner:
            inner.insert("things", {"name": "second"})
            raise RuntimeError("handled by the call")
        with store.transaction(), store.transaction() as innermost:
            innermost.update("things", first, {"n": 1})
    assert [d for _, d in store.query("things", order=("id",))] == [
        {"name": "first", "n": 1},
        {"name": "second"},
    ]


def test_savepoints_nest_with_batches_and_a_raising_batch_commits_nothing(
    store: Store, backend: str, store_path: Path
) -> None:
    with store.transaction(batch=True) as txn:
        txn.insert("things", {"name": "outer"})
        with pytest.raises(RuntimeError), store.transaction(batch=True) as inner:
            inner.insert("things", {"name": "inner batch"})
            raise RuntimeError("the inner batch")
        with store.transaction(batch=True) as inner:
            inner.insert("things", {"name": "kept"})
            with pytest.raises(RuntimeError), store.transaction() as call:
                call.insert("things", {"name": "call"})
                raise RuntimeError("one call in the inner batch")
    names = [d["name"] for _, d in store.query("things", order=("id",))]
    assert names == ["outer", "kept"]
    with pytest.raises(RuntimeError), store.transaction(batch=True) as txn:
        txn.insert("things", {"name": "doomed"})
        with pytest.raises(KeyError), store.transaction() as call:
            call.insert("things", {"name": "refused"})
            raise KeyError("refused")
        raise RuntimeError("the batch")
    assert [d["name"] for _, d in store.query("things", order=("id",))] == names
    if backend == "json":
        reopened = JSONFileStore(store_path)
        assert [d["name"] for _, d in reopened.query("things", order=("id",))] == names


def test_a_table_first_made_by_a_refused_block_in_a_batch_is_made_again(store: Store) -> None:
    with store.transaction(batch=True):
        with pytest.raises(RuntimeError), store.transaction() as call:
            call.insert("fresh", {"name": "refused"})
            raise RuntimeError("refused")
        with store.transaction() as call:
            kept = call.insert("fresh", {"name": "kept"})
    assert store.query("fresh") == [(kept, {"name": "kept"})]
