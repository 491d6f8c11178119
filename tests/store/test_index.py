"""The hash indexes of the working-set stores."""

from __future__ import annotations

import gc

import pytest

from registry_widget.store.index import build_indexes


def test_lookups_answer_the_ids_holding_a_value_as_they_come_and_go() -> None:
    (index,) = build_indexes(
        ["tags"], {1: {"tags": ["a", "b"]}, 2: {"tags": ["b"]}, 3: {"tags": "c"}}
    )
    assert list(index.lookup("a")) == [1]
    assert list(index.lookup("b")) == [1, 2]
    assert 3 in index.lookup("c")
    assert len(index.lookup("c")) == 1
    assert len(index.lookup("missing")) == 0
    index.add(4, {"tags": ["a"]})
    assert list(index.lookup("a")) == [1, 4]
    index.discard(1, {"tags": ["a", "b"]})
    assert list(index.lookup("a")) == [4]
    assert list(index.lookup("b")) == [2]
    index.discard(4, {"tags": ["a"]})
    assert len(index.lookup("a")) == 0
    assert sorted(index.values(), key=str) == ["b", "c"]
    index.discard(2, {"tags": ["a"]})  # not held under "a": nothing changes
    assert list(index.lookup("b")) == [2]


def test_values_are_kept_apart_by_json_type() -> None:
    (index,) = build_indexes(["v"], {1: {"v": 1}, 2: {"v": True}, 3: {"v": 1.0}, 4: {"v": None}})
    assert list(index.lookup(1)) == [1, 3]
    assert list(index.lookup(True)) == [2]
    assert list(index.lookup(None)) == [4]
    with pytest.raises(TypeError, match="index lookups take"):
        index.lookup([1])


def test_first_answers_the_first_id_lookup_would() -> None:
    docs = {1: {"v": "a"}, 2: {"v": ["b", "a"]}, 3: {"v": "c"}, 4: {"v": True}, 5: {"v": None}}
    (index,) = build_indexes(["v"], docs)
    for value in ("a", "b", "c", "missing", True, None, 1):
        assert index.first(value) == next(iter(index.lookup(value)), None)
    assert (index.first("a"), index.first("c"), index.first("missing")) == (1, 3, None)
    index.discard(1, docs[1])
    assert index.first("a") == 2
    index.discard(2, docs[2])
    assert index.first("a") is None
    with pytest.raises(TypeError, match="index lookups take"):
        index.first({"v": 1})


def test_an_index_of_values_held_once_is_nothing_the_garbage_collector_follows() -> None:
    # A full collection traverses every container it tracks; an index over ids or
    # digests of a large store must not be one, not even until a first collection has
    # untracked what it holds, or that collection walks it all.
    (index,) = build_indexes(["digest"], {i: {"digest": f"d{i}"} for i in range(1, 10_001)})
    assert not gc.is_tracked(index.buckets)
    assert tuple(index.lookup("d7")) == (7,)
    index.add(10_001, {"digest": "d7"})  # a value held twice is a bucket of its own
    assert list(index.lookup("d7")) == [7, 10_001]
    index.discard(7, {"digest": "d7"})
    assert list(index.lookup("d7")) == [10_001]
