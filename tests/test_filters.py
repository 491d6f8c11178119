from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tinydb import TinyDB
from tinydb.queries import QueryInstance
from tinydb.storages import MemoryStorage

from registry_widget.errors import ValidationError
from registry_widget.filter_tree import MATCH_ALL, Condition, Not
from registry_widget.filters import FIELD_OPERATORS, compile_predicate, parse_filter
from registry_widget.store import MemoryStore
from registry_widget.store.query import compile_filter, compile_query

FIELDS = {
    "name": ("artifact_name",),
    "tag": ("tags",),
    "alias": ("aliases",),
    "type": ("type",),
    "description": ("description",),
    "created_at": ("created_at",),
    "created_by": ("created_by",),
    "metadata": ("metadata",),
}

DOCS: list[dict[str, Any]] = [
    {
        "artifact_name": "cat-resnet",
        "tags": ["baseline", "vision"],
        "aliases": ["latest", "production"],
        "type": "model",
        "description": "A ResNet for cats",
        "created_at": "2026-01-10T08:00:00.000000Z",
        "created_by": "ada",
        "metadata": {"acc": 0.91, "epochs": 10, "cfg": {"lr": 0.01, "opt": "adam"}},
    },
    {
        "artifact_name": "cat-vit",
        "tags": ["vision"],
        "aliases": [],
        "type": "model",
        "description": "",
        "created_at": "2026-02-01T12:30:00.000000Z",
        "created_by": "bob",
        "metadata": {"acc": 0.95, "epochs": "ten", "cfg": {"lr": 0.001}, "flag": True},
    },
    {
        "artifact_name": "imagenet",
        "tags": [],
        "aliases": ["v-old"],
        "type": "dataset",
        "description": "ImageNet subset",
        "created_at": "2025-12-24T00:00:00.000000Z",
        "created_by": "ada",
        "metadata": {"rows": 1000, "flag": 1, "scores": [1, 2, 3]},
    },
    {"artifact_name": "bare", "type": "other", "created_at": "2026-03-01T00:00:00.000000Z"},
]


def names(spec: Any) -> list[str]:
    query = compile_filter(spec, FIELDS)
    return [doc["artifact_name"] for doc in DOCS if query(doc)]


# -- basics ---------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [None, {}])
def test_empty_filter_matches_everything(spec: Any) -> None:
    query = compile_filter(spec, FIELDS)
    assert isinstance(query, QueryInstance)
    assert names(spec) == ["cat-resnet", "cat-vit", "imagenet", "bare"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        # $eq and bare values, on scalars and lists
        ({"name": "cat-vit"}, ["cat-vit"]),
        ({"name": {"$eq": "cat-vit"}}, ["cat-vit"]),
        ({"tag": "vision"}, ["cat-resnet", "cat-vit"]),
        ({"tag": ["vision"]}, ["cat-vit"]),
        ({"tag": []}, ["imagenet"]),
        ({"alias": "production"}, ["cat-resnet"]),
        ({"description": ""}, ["cat-vit"]),
        # $ne: no element matches; missing fields match
        ({"name": {"$ne": "cat-vit"}}, ["cat-resnet", "imagenet", "bare"]),
        ({"tag": {"$ne": "vision"}}, ["imagenet", "bare"]),
        ({"metadata.acc": {"$ne": 0.91}}, ["cat-vit", "imagenet", "bare"]),
        # $in / $nin
        ({"type": {"$in": ["dataset", "other"]}}, ["imagenet", "bare"]),
        ({"tag": {"$in": ["baseline", "nope"]}}, ["cat-resnet"]),
        ({"tag": {"$in": []}}, []),
        ({"tag": {"$nin": ["baseline"]}}, ["cat-vit", "imagenet", "bare"]),
        ({"type": {"$nin": []}}, ["cat-resnet", "cat-vit", "imagenet", "bare"]),
        # comparisons
        ({"metadata.acc": {"$gt": 0.91}}, ["cat-vit"]),
        ({"metadata.acc": {"$gte": 0.91}}, ["cat-resnet", "cat-vit"]),
        ({"metadata.acc": {"$lt": 0.95}}, ["cat-resnet"]),
        ({"metadata.acc": {"$lte": 1}}, ["cat-resnet", "cat-vit"]),
        ({"metadata.epochs": {"$gte": 5}}, ["cat-resnet"]),
        ({"metadata.epochs": {"$gte": "a"}}, ["cat-vit"]),
        ({"metadata.scores": {"$gt": 2}}, ["imagenet"]),
        ({"metadata.scores": {"$gt": 3}}, []),
        ({"name": {"$lt": "cat-vit"}}, ["cat-resnet", "bare"]),
        ({"metadata.acc": {"$gt": 0.9, "$lt": 0.92}}, ["cat-resnet"]),
        # $exists
        ({"tag": {"$exists": True}}, ["cat-resnet", "cat-vit", "imagenet"]),
        ({"tag": {"$exists": False}}, ["bare"]),
        ({"metadata.cfg.opt": {"$exists": True}}, ["cat-resnet"]),
        ({"metadata.cfg.opt": {"$exists": False}}, ["cat-vit", "imagenet", "bare"]),
        # $regex (re.search, case-sensitive)
        ({"name": {"$regex": "^cat-"}}, ["cat-resnet", "cat-vit"]),
        ({"name": {"$regex": "net"}}, ["cat-resnet", "imagenet"]),
        ({"description": {"$regex": "(?i)resnet"}}, ["cat-resnet"]),
        ({"tag": {"$regex": "^vis"}}, ["cat-resnet", "cat-vit"]),
        ({"metadata.acc": {"$regex": "9"}}, []),
        # $contains: substring of a string, membership of a list
        ({"description": {"$contains": "Net"}}, ["cat-resnet", "imagenet"]),
        ({"description": {"$contains": "net"}}, []),
        ({"tag": {"$contains": "vision"}}, ["cat-resnet", "cat-vit"]),
        ({"tag": {"$contains": "vis"}}, []),
        ({"metadata.scores": {"$contains": 2}}, ["imagenet"]),
        ({"metadata.rows": {"$contains": 1}}, []),
    ],
)
def test_operators(spec: dict[str, Any], expected: list[str]) -> None:
    assert names(spec) == expected


def test_metadata_paths_and_whole_objects() -> None:
    assert names({"metadata.cfg.lr": 0.01}) == ["cat-resnet"]
    assert names({"metadata.cfg": {"opt": "adam", "lr": 0.01}}) == ["cat-resnet"]
    assert names({"metadata.cfg": {"lr": 0.01}}) == []
    assert names({"metadata.cfg": {}}) == []
    assert names({"metadata": {}}) == []
    assert names({"metadata.acc.deeper": {"$exists": True}}) == []
    assert names({"metadata.scores": [1, 2, 3]}) == ["imagenet"]
    assert names({"metadata.scores": [1, 2]}) == []
    assert names({"metadata.scores": {"$in": [[1, 2, 3]]}}) == ["imagenet"]


def test_json_equality_distinguishes_bool_from_numbers() -> None:
    assert names({"metadata.flag": True}) == ["cat-vit"]
    assert names({"metadata.flag": 1}) == ["imagenet"]
    assert names({"metadata.flag": 1.0}) == ["imagenet"]
    assert names({"metadata.flag": {"$in": [True]}}) == ["cat-vit"]
    assert names({"metadata.flag": {"$gt": 0.5}}) == ["imagenet"]
    assert names({"metadata.epochs": 10.0}) == ["cat-resnet"]


def test_incomparable_types_are_false_not_errors() -> None:
    assert names({"metadata.epochs": {"$gt": 0}}) == ["cat-resnet"]
    assert names({"metadata.epochs": {"$lt": "zzz"}}) == ["cat-vit"]
    assert names({"metadata.cfg": {"$gt": 0}}) == []
    predicate = compile_predicate({"x": {"$gt": 1}}, {"x": ("x",)})
    for value in [None, True, "2", [None, "3"], {"a": 2}, float("nan")]:
        assert predicate({"x": value}) is False
    assert predicate({"x": [None, "3", 2]}) is True
    assert predicate({"x": 1e300}) is True
    assert predicate({"x": 10**400}) is True


def test_missing_fields() -> None:
    predicate = compile_predicate
    doc: dict[str, Any] = {"metadata": {"a": None}}
    assert predicate({"metadata.a": None}, FIELDS)(doc)
    assert not predicate({"metadata.b": None}, FIELDS)(doc)
    assert predicate({"metadata.b": {"$ne": None}}, FIELDS)(doc)
    assert not predicate({"metadata.a": {"$ne": None}}, FIELDS)(doc)
    assert predicate({"metadata.b": {"$nin": [1]}}, FIELDS)(doc)
    assert predicate({"metadata.b": {"$not": {"$gt": 1}}}, FIELDS)(doc)
    for op, operand in [("$in", [None]), ("$regex", "."), ("$contains", ""), ("$lte", 9)]:
        assert not predicate({"metadata.b": {op: operand}}, FIELDS)(doc)
    # Paths through non-objects are missing.
    assert predicate({"metadata.a.b": {"$exists": False}}, FIELDS)(doc)
    assert predicate({"metadata.x.y": {"$exists": False}}, FIELDS)({"metadata": {"x": [1]}})
    assert predicate({"metadata.x.y": {"$exists": False}}, FIELDS)({"metadata": {"x": "s"}})


def test_logical_operators() -> None:
    assert names({"$and": [{"type": "model"}, {"tag": "baseline"}]}) == ["cat-resnet"]
    assert names({"$or": [{"type": "dataset"}, {"tag": "baseline"}]}) == [
        "cat-resnet",
        "imagenet",
    ]
    assert names({"$not": {"type": "model"}}) == ["imagenet", "bare"]
    assert names({"type": "model", "created_by": "bob"}) == ["cat-vit"]
    assert names({"$not": {}}) == []
    nested = {
        "$or": [
            {"$and": [{"type": "model"}, {"$not": {"alias": "production"}}]},
            {"metadata.rows": {"$gte": 1000}},
        ],
        "created_by": {"$in": ["ada", "bob"]},
    }
    assert names(nested) == ["cat-vit", "imagenet"]
    assert names({"name": {"$not": {"$regex": "^cat", "$ne": "bare"}}}) == [
        "imagenet",
        "bare",
    ]
    assert names({"$and": ({"type": "model"},)}) == ["cat-resnet", "cat-vit"]


def test_datetime_operands() -> None:
    utc = timezone.utc
    assert names({"created_at": {"$gte": datetime(2026, 1, 1, tzinfo=utc)}}) == [
        "cat-resnet",
        "cat-vit",
        "bare",
    ]
    # Naive datetimes are UTC; aware ones are converted to UTC.
    assert names({"created_at": {"$lt": datetime(2026, 1, 1)}}) == ["imagenet"]
    plus_two = timezone(timedelta(hours=2))
    exact = datetime(2026, 1, 10, 10, 0, tzinfo=plus_two)
    assert names({"created_at": exact}) == ["cat-resnet"]
    assert names({"created_at": {"$in": [exact]}}) == ["cat-resnet"]
    assert compile_filter({"created_at": exact}, FIELDS) == compile_filter(
        {"created_at": "2026-01-10T08:00:00.000000Z"}, FIELDS
    )


def test_compiled_regex_operand() -> None:
    assert names({"name": {"$regex": re.compile("vit$")}}) == ["cat-vit"]


# -- invalid filters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "needles"),
    [
        ({"nme": "x"}, ["'nme'", "name", "created_at", "metadata.<dotted.path>"]),
        ({"meta.x": 1}, ["'meta.x'"]),
        ({"metadata.": 1}, ["empty segment"]),
        ({"metadata..a": 1}, ["empty segment"]),
        ({"name": {"$foo": 1}}, ["'$foo'", *FIELD_OPERATORS]),
        ({"name": {"$regex": "x", "plain": 1}}, ["mixes"]),
        ({"$foo": []}, ["'$foo'", "$and, $or, $not"]),
        ({"$gt": 3}, ["needs a field"]),
        ({"$and": []}, ["$and", "non-empty list"]),
        ({"$or": {"name": "x"}}, ["$or", "non-empty list"]),
        ({"$and": [3]}, ["must be a dict"]),
        ({"$not": [{"name": "x"}]}, ["must be a dict"]),
        ({"name": {"$in": "abc"}}, ["$in", "'abc'", "list"]),
        ({"name": {"$nin": 3}}, ["$nin", "list"]),
        ({"name": {"$regex": 3}}, ["$regex", "regular expression"]),
        ({"name": {"$regex": "(unclosed"}}, ["$regex", "invalid regular expression"]),
        ({"name": {"$exists": "yes"}}, ["$exists", "True or False"]),
        ({"name": {"$exists": 1}}, ["$exists"]),
        ({"name": {"$gt": None}}, ["$gt", "number, a string or a datetime"]),
        ({"name": {"$lt": True}}, ["$lt"]),
        ({"name": {"$gte": [1]}}, ["$gte"]),
        ({"name": {"$gt": float("nan")}}, ["$gt", "NaN"]),
        ({"name": {"$eq": float("nan")}}, ["$eq", "finite"]),
        ({"name": {"$eq": {1: 2}}}, ["non-string key"]),
        ({"name": {"$eq": object()}}, ["JSON value"]),
        ({"name": {"$in": [{1, 2}]}}, ["JSON value"]),
        ({"name": {"$not": "x"}}, ["$not", "operator object"]),
        ({"name": {"$not": {}}}, ["$not", "operator object"]),
        ({3: "x"}, ["field names"]),
        ("name", ["must be a dict"]),
        ([{"name": "x"}], ["must be a dict"]),
    ],
)
def test_invalid_filters(spec: Any, needles: list[str]) -> None:
    with pytest.raises(ValidationError) as info:
        compile_filter(spec, FIELDS)
    assert info.value.field == "filter"
    message = str(info.value)
    assert message.startswith("filter ")
    for needle in needles:
        assert needle in message


def test_metadata_paths_need_a_metadata_field() -> None:
    with pytest.raises(ValidationError, match="allowed fields: name"):
        compile_filter({"metadata.x": 1}, {"name": ("name",)})


def test_deeply_nested_operand_is_refused() -> None:
    operand: list[Any] = []
    operand.append(operand)
    with pytest.raises(ValidationError, match="nested too deeply"):
        compile_filter({"name": operand}, FIELDS)


# -- normalised fields ------------------------------------------------------------------


def _spelt(spec: Any) -> list[str]:
    """Names matched with created_by operands spelt through a case-folding normaliser."""
    seen: list[str] = []

    def spell(text: str) -> str:
        seen.append(text)
        return "ada" if text.casefold() == "ada" else text

    pred = parse_filter(spec, FIELDS, normalize={"created_by": spell}).matches
    return [d["artifact_name"] for d in DOCS if pred(d)] + [f"seen:{t}" for t in seen]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"created_by": "ADA"}, ["cat-resnet", "imagenet", "seen:ADA"]),
        ({"created_by": {"$eq": "Ada"}}, ["cat-resnet", "imagenet", "seen:Ada"]),
        ({"created_by": {"$ne": "ADA"}}, ["cat-vit", "bare", "seen:ADA"]),
        ({"created_by": {"$in": ["ADA", 3]}}, ["cat-resnet", "imagenet", "seen:ADA"]),
        ({"created_by": {"$nin": ["aDa"]}}, ["cat-vit", "bare", "seen:aDa"]),
        ({"created_by": {"$not": {"$eq": "ADA"}}}, ["cat-vit", "bare", "seen:ADA"]),
        ({"$or": [{"$not": {"created_by": "ADA"}}]}, ["cat-vit", "bare", "seen:ADA"]),
        # Only equalities are spelt: patterns, orderings and other fields are left as given.
        ({"created_by": {"$regex": "^A"}}, []),
        ({"created_by": {"$gt": "ADA"}}, ["cat-resnet", "cat-vit", "imagenet"]),
        ({"description": "ADA"}, []),
    ],
)
def test_a_field_normaliser_spells_the_operands_of_equalities(
    spec: dict[str, Any], expected: list[str]
) -> None:
    assert _spelt(spec) == expected


def test_a_field_normaliser_sees_only_validated_text() -> None:
    with pytest.raises(ValidationError, match="lone surrogate"):
        _spelt({"created_by": "\ud800"})


# -- hashing and TinyDB -----------------------------------------------------------------

SPECS: list[Any] = [
    None,
    {},
    {"name": "x"},
    {"tag": {"$in": ["a", "b"]}, "metadata.cfg": {"lr": 0.1, "nested": [1, {"k": None}]}},
    {"$or": [{"name": {"$regex": "^a"}}, {"$not": {"type": {"$exists": True}}}]},
    {"created_at": {"$gte": datetime(2026, 1, 1)}, "metadata.x": {"$not": {"$lt": 3}}},
    {"description": {"$contains": "x"}, "alias": {"$nin": ["a"]}, "name": {"$ne": "b"}},
]


@pytest.mark.parametrize("spec", SPECS)
def test_compiled_queries_are_equal_and_hashable(spec: Any) -> None:
    first, second = compile_filter(spec, FIELDS), compile_filter(spec, FIELDS)
    assert first.is_cacheable()
    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1


def test_different_filters_give_different_queries() -> None:
    queries = [compile_filter(spec, FIELDS) for spec in SPECS[1:]]
    different = [
        {"metadata.x": True},
        {"metadata.x": 1},
        {"metadata.x": [1]},
        {"metadata.x": {"$gt": 1}},
        {"metadata.x": {"$gte": 1}},
        {"metadata.x": {"$ne": 1}},
        {"metadata.y": 1},
        {"metadata.x": {"a": 1}},
        {"metadata.x": {"a": True}},
    ]
    queries += [compile_filter(spec, FIELDS) for spec in different]
    assert len(set(queries)) == len(queries)


def test_object_operands_ignore_key_order() -> None:
    one = compile_filter({"metadata.cfg": {"a": 1, "b": 2}}, FIELDS)
    two = compile_filter({"metadata.cfg": {"b": 2, "a": 1}}, FIELDS)
    assert one == two


def test_tinydb_search_and_cache() -> None:
    table = TinyDB(storage=MemoryStorage).table("t")
    table.insert_multiple(DOCS)
    spec = {"tag": "vision", "metadata.acc": {"$gte": 0.93}}
    found = table.search(compile_filter(spec, FIELDS))
    assert [doc["artifact_name"] for doc in found] == ["cat-vit"]
    # A second compilation hits the same cache entry; writes invalidate it.
    assert table.search(compile_filter(spec, FIELDS)) == found
    table.insert({"artifact_name": "new", "tags": ["vision"], "metadata": {"acc": 0.99}})
    found = table.search(compile_filter(spec, FIELDS))
    assert [doc["artifact_name"] for doc in found] == ["cat-vit", "new"]
    # True and 1 must not share a cache entry.
    assert len(table.search(compile_filter({"metadata.flag": True}, FIELDS))) == 1
    one = table.search(compile_filter({"metadata.flag": 1}, FIELDS))
    assert [doc["artifact_name"] for doc in one] == ["imagenet"]
    assert len(table.search(compile_filter(None, FIELDS))) == 5


def test_compile_predicate_returns_bools() -> None:
    predicate = compile_predicate({"tag": {"$regex": "^base"}}, FIELDS)
    assert [predicate(doc) for doc in DOCS] == [True, False, False, False]
    with pytest.raises(ValidationError):
        compile_predicate({"bogus": 1}, FIELDS)


# -- property: agreement with a straightforward reference evaluator ----------------------

MISSING = object()
REF_FIELDS = {
    "name": ("name",),
    "tag": ("tags",),
    "size": ("size",),
    "metadata": ("metadata",),
}


def ref_get(doc: Any, field: str) -> Any:
    head, _, rest = field.partition(".")
    path = [*REF_FIELDS[head], *(rest.split(".") if rest else [])]
    value = doc
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return value


def json_eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_eq(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_eq(a[k], b[k]) for k in a)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return a is None and b is None


def ref_less(a: Any, b: Any) -> bool | None:
    """Return a < b for comparable values, None when they do not compare."""
    numbers = (int, float)
    if isinstance(a, str) and isinstance(b, str):
        return a < b
    if (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return a < b
    return None


def ref_compare(value: Any, op: str, operand: Any) -> bool:
    less, greater = ref_less(value, operand), ref_less(operand, value)
    if less is None or greater is None:
        return False
    equal = not less and not greater
    return {"$lt": less, "$gt": greater, "$lte": less or equal, "$gte": greater or equal}[op]


def ref_op(value: Any, op: str, operand: Any) -> bool:
    if op == "$exists":
        return (value is not MISSING) == operand
    if op == "$ne":
        return not ref_op(value, "$eq", operand)
    if op == "$nin":
        return not ref_op(value, "$in", operand)
    if op == "$not":
        return not ref_condition(value, operand)
    if value is MISSING:
        return False
    elements = value if isinstance(value, list) else [value]
    if op == "$eq":
        return json_eq(value, operand) or any(json_eq(e, operand) for e in elements)
    if op == "$in":
        return any(ref_op(value, "$eq", item) for item in operand)
    if op in {"$gt", "$gte", "$lt", "$lte"}:
        return any(ref_compare(e, op, operand) for e in elements)
    if op == "$regex":
        return any(isinstance(e, str) and re.search(operand, e) is not None for e in elements)
    if op == "$contains":
        if isinstance(value, str):
            return isinstance(operand, str) and operand in value
        return isinstance(value, list) and any(json_eq(e, operand) for e in value)
    raise AssertionError(op)


def ref_condition(value: Any, condition: Any) -> bool:
    if isinstance(condition, dict) and condition and all(k.startswith("$") for k in condition):
        return all(ref_op(value, op, operand) for op, operand in condition.items())
    return ref_op(value, "$eq", condition)


def ref_filter(doc: Any, spec: dict[str, Any]) -> bool:
    for key, condition in spec.items():
        if key == "$and":
            ok = all(ref_filter(doc, sub) for sub in condition)
        elif key == "$or":
            ok = any(ref_filter(doc, sub) for sub in condition)
        elif key == "$not":
            ok = not ref_filter(doc, condition)
        else:
            ok = ref_condition(ref_get(doc, key), condition)
        if not ok:
            return False
    return True


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1, 2),
    st.sampled_from([0.5, 1.0]),
    st.sampled_from(["", "a", "b", "ab", "ba", "B"]),
)
small_lists = st.lists(scalars, max_size=3)
values = st.one_of(
    scalars,
    scalars,
    small_lists,
    st.dictionaries(st.sampled_from(["a", "b"]), scalars | small_lists, max_size=2),
)
field_names = st.sampled_from(["name", "tag", "size", "metadata", "metadata.a", "metadata.b.c"])
orderable = st.integers(-1, 2) | st.sampled_from([0.5, "a", "b", "ab"])
operator_pairs = st.one_of(
    st.tuples(st.sampled_from(["$eq", "$ne", "$contains"]), values),
    st.tuples(st.sampled_from(["$in", "$nin"]), st.lists(values, max_size=3)),
    st.tuples(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), orderable),
    st.tuples(st.just("$exists"), st.booleans()),
    st.tuples(st.just("$regex"), st.sampled_from(["^a", "b$", "a|B", "^$", "."])),
)
operator_dicts = st.lists(operator_pairs, min_size=1, max_size=2).map(dict)
single_conditions = st.tuples(field_names, operator_pairs).map(lambda p: {p[0]: dict([p[1]])})
conditions = st.one_of(
    values,
    operator_dicts,
    operator_dicts,
    operator_dicts.map(lambda ops: {"$not": ops}),
    st.tuples(operator_dicts, operator_dicts).map(lambda p: {**p[0], "$not": p[1]}),
)
field_filters = st.dictionaries(field_names, conditions, min_size=1, max_size=2)
filters = st.recursive(
    single_conditions | field_filters,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda subs: {"$and": subs}),
        st.lists(children, min_size=1, max_size=3).map(lambda subs: {"$or": subs}),
        children.map(lambda sub: {"$not": sub}),
        st.tuples(children, field_filters).map(lambda p: {**p[1], "$and": [p[0]]}),
    ),
    max_leaves=4,
)
metadata_objects = st.fixed_dictionaries(
    {"a": values}, optional={"b": values | st.fixed_dictionaries({"c": values})}
)
documents = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "ab", "b", "ba", ""]), "metadata": metadata_objects},
    optional={
        "tags": st.lists(st.sampled_from(["a", "b", "ab", "B"]), max_size=3),
        "size": values,
    },
)


# Every generated filter also runs over a corpus where each field takes each kind of value.
POOL: list[Any] = [
    MISSING,
    None,
    True,
    False,
    0,
    1,
    1.0,
    0.5,
    2,
    "",
    "a",
    "ab",
    "ba",
    "B",
    [],
    ["a"],
    ["ab", "b"],
    [1, True],
    [0.5, "a", None],
    {},
    {"a": 1},
    {"a": [1, True], "b": "a"},
]


def corpus_document(value: Any, other: Any) -> dict[str, Any]:
    fields = {"name": value, "tags": value, "size": other}
    meta = {"a": value, "b": {"c": other}} if isinstance(other, str) else {"a": other, "b": value}
    doc = {key: item for key, item in fields.items() if item is not MISSING}
    doc["metadata"] = {key: item for key, item in meta.items() if item is not MISSING}
    return doc


CORPUS = [corpus_document(value, other) for value in POOL for other in (value, "a", 1, MISSING)]


@settings(max_examples=300)
@given(filters, st.lists(documents, max_size=5))
def test_agrees_with_reference_evaluator(spec: dict[str, Any], docs: list[Any]) -> None:
    query = compile_filter(spec, REF_FIELDS)
    docs = [*docs, *CORPUS]
    expected = [ref_filter(doc, spec) for doc in docs]
    assert [query(doc) for doc in docs] == expected
    table = TinyDB(storage=MemoryStorage).table("t")
    ids = table.insert_multiple(docs)
    found = {doc.doc_id for doc in table.search(query)}
    assert found == {doc_id for doc_id, ok in zip(ids, expected, strict=True) if ok}
    assert compile_filter(spec, REF_FIELDS) == query


LEAF_OPERANDS: list[tuple[str, Any]] = [
    *[(op, value) for op in ("$eq", "$ne", "$contains") for value in POOL[1:]],
    *[(op, [value, "a"]) for op in ("$in", "$nin") for value in POOL[1:]],
    *[(op, value) for op in ("$gt", "$gte", "$lt", "$lte") for value in (0, 0.5, 1, 2, "a", "b")],
    *[("$exists", flag) for flag in (True, False)],
    *[("$regex", pattern) for pattern in ("^a", "b$", "a|B", "^$")],
]


@pytest.mark.parametrize("field", ["name", "tag", "size", "metadata", "metadata.a", "metadata.b.c"])
def test_every_leaf_condition_agrees_with_reference(field: str) -> None:
    for op, operand in LEAF_OPERANDS:
        for condition in ({op: operand}, {"$not": {op: operand}}):
            spec = {field: condition}
            predicate = compile_predicate(spec, REF_FIELDS)
            for doc in CORPUS:
                assert predicate(doc) == ref_filter(doc, spec), (spec, doc)
    for value in POOL[1:]:
        predicate = compile_predicate({field: value}, REF_FIELDS)
        for doc in CORPUS:
            assert predicate(doc) == ref_filter(doc, {field: value}), (value, doc)


# -- hostile filters -------------------------------------------------------------------


def nested(depth: int, key: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": "a"}
    for _ in range(depth):
        spec = {key: [spec]} if key != "$not" else {key: spec}
    return spec


@pytest.mark.parametrize("key", ["$and", "$or", "$not"])
def test_nesting_is_bounded(key: str) -> None:
    compile_filter(nested(30, key), FIELDS)
    for depth in (40, 10_000):
        with pytest.raises(ValidationError) as err:
            compile_filter(nested(depth, key), FIELDS)
        assert err.value.field == "filter"
        assert "deeper than 32 levels" in str(err.value)


def test_nested_field_not_is_bounded() -> None:
    condition: dict[str, Any] = {"$eq": "a"}
    for _ in range(10_000):
        condition = {"$not": condition}
    with pytest.raises(ValidationError, match="deeper than 32 levels"):
        compile_filter({"name": condition}, FIELDS)


def test_deeply_nested_operand_is_refused_without_recursion_error() -> None:
    operand: list[Any] = []
    for _ in range(10_000):
        operand = [operand]
    with pytest.raises(ValidationError, match="nested too deeply"):
        compile_filter({"name": operand}, FIELDS)
    with pytest.raises(ValidationError, match="must be a dict"):
        compile_filter({"$and": [operand]}, FIELDS)


@pytest.mark.parametrize(
    "spec",
    [
        {"name": "a\ud800"},
        {"name": {"$ne": "\udfff"}},
        {"name": {"$in": ["ok", "x\udc00"]}},
        {"name": {"$gt": "\ud800"}},
        {"name": {"$regex": "\ud800"}},
        {"name": {"$contains": "\ud800"}},
        {"metadata.a\ud800": 1},
        {"metadata": {"k\ud800": 1}},
        {"$or": [{"name": "a"}, {"tag": ["\ud800"]}]},
    ],
)
def test_lone_surrogates_are_refused(spec: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as err:
        compile_filter(spec, FIELDS)
    assert err.value.field == "filter"
    assert "lone surrogate" in str(err.value)


# -- property: every compiled form agrees with the filter's own predicate -----------------


@settings(max_examples=300)
@given(filters, st.lists(documents, max_size=5))
def test_the_tinydb_form_and_the_store_agree_with_the_predicate(
    spec: dict[str, Any], docs: list[Any]
) -> None:
    tree = parse_filter(spec, REF_FIELDS)
    docs = [*docs, *CORPUS]
    expected = [tree.matches(doc) for doc in docs]
    assert expected == [ref_filter(doc, spec) for doc in docs]
    query = compile_query(tree)
    assert [bool(query(doc)) for doc in docs] == expected
    # The store answers through its hash indexes where it can, then the compiled rest.
    store = MemoryStore()
    with store.transaction() as txn:
        ids = [txn.insert("t", doc) for doc in docs]
    assert [i for i, _ in store.query("t", tree, order=("id",))] == [
        i for i, ok in zip(ids, expected, strict=True) if ok
    ]


def test_parsed_filters_are_equal_and_hashable_trees() -> None:
    for spec in SPECS:
        first, second = parse_filter(spec, FIELDS), parse_filter(spec, FIELDS)
        assert first == second
        assert hash(first) == hash(second)
    assert parse_filter(None, FIELDS) == parse_filter({}, FIELDS) == MATCH_ALL
    assert parse_filter({"name": {"$ne": "x"}}, FIELDS) == Not(
        Condition(("artifact_name",), "$eq", "x")
    )
