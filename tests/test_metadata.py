from __future__ import annotations

import json
import math
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry_widget.errors import ValidationError
from registry_widget.metadata import MAX_METADATA_INT, MIN_METADATA_INT, validate_metadata


def refused(func: Any, *args: Any, **kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        func(*args, **kwargs)
    return info.value


# -- metadata -------------------------------------------------------------------------


def nested(depth: int, container: str = "dict") -> dict[str, Any]:
    """Return an object whose depth (top-level object = 1) is ``depth``."""
    value: Any = 1
    for _ in range(depth - 1):
        value = {"k": value} if container == "dict" else [value]
    return {"k": value}


def test_metadata_basics() -> None:
    assert validate_metadata(None) == {}
    assert validate_metadata({}) == {}
    meta = {"lr": 0.1, "epochs": 3, "ok": True, "none": None, "name": "x", "l": [1, "a"]}
    assert validate_metadata(meta) == meta
    assert validate_metadata({"t": (1, (2, 3))}) == {"t": [1, [2, 3]]}
    assert validate_metadata(OrderedDict(a=1)) == {"a": 1}
    assert type(validate_metadata(OrderedDict(a=1))) is dict


def test_metadata_keeps_key_order() -> None:
    keys = [f"k{i}" for i in (5, 1, 9, 3)]
    assert list(validate_metadata(dict.fromkeys(keys, 0))) == keys
    assert list(validate_metadata({"o": dict.fromkeys(keys, 0)})["o"]) == keys


def test_metadata_copy_shares_nothing() -> None:
    inner = {"x": [1, 2]}
    meta: dict[str, Any] = {"a": inner, "b": [inner]}
    result = validate_metadata(meta)
    assert result == meta
    assert result is not meta
    assert result["a"] is not inner
    assert result["a"]["x"] is not inner["x"]
    assert result["b"][0] is not inner
    inner["x"].append(3)
    assert result["a"]["x"] == [1, 2]


def test_metadata_converts_subclasses() -> None:
    class S(str):
        pass

    class F(float):
        pass

    result = validate_metadata({S("k"): [S("v"), F(1.5)]})
    assert type(next(iter(result))) is str
    assert [type(v) for v in result["k"]] == [str, float]


def test_metadata_top_level_keys() -> None:
    assert len(validate_metadata({f"k{i}": i for i in range(100)})) == 100
    err = refused(validate_metadata, {f"k{i}": i for i in range(101)})
    assert "101 top-level keys" in str(err)
    # The limit is on top-level keys only.
    assert len(validate_metadata({"n": {f"k{i}": i for i in range(500)}})["n"]) == 500


@pytest.mark.parametrize("container", ["dict", "list"])
def test_metadata_depth(container: str) -> None:
    assert validate_metadata(nested(20, container)) == nested(20, container)
    err = refused(validate_metadata, nested(21, container))
    assert "deeper than 20" in str(err)


def test_metadata_depth_definition() -> None:
    assert validate_metadata(nested(2)) == {"k": {"k": 1}}
    assert validate_metadata(nested(2, "list")) == {"k": [1]}


def test_metadata_cycle_is_refused_not_looping() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    assert "deeper" in str(refused(validate_metadata, {"c": cyclic}))


def test_metadata_size_boundary() -> None:
    limit = 1024 * 1024
    overhead = len('{"k":""}')
    assert validate_metadata({"k": "x" * (limit - overhead)})
    assert "1,048,577 bytes" in str(refused(validate_metadata, {"k": "x" * (limit - overhead + 1)}))
    # The size is counted in UTF-8 bytes, with non-ASCII characters unescaped.
    half = (limit - overhead) // 2
    assert validate_metadata({"k": "é" * half})
    refused(validate_metadata, {"k": "é" * (half + 1)})


@pytest.mark.parametrize("value", [MIN_METADATA_INT, MAX_METADATA_INT, 2**63, 0, -1])
def test_metadata_integers_in_the_64_bit_range(value: int) -> None:
    assert validate_metadata({"n": value, "l": [value]}) == {"n": value, "l": [value]}


def test_metadata_integer_range_round_trips_in_the_store_encoder() -> None:
    import orjson

    for value in (MIN_METADATA_INT, MAX_METADATA_INT):
        assert orjson.loads(orjson.dumps(value)) == value
    for value in (MIN_METADATA_INT - 1, MAX_METADATA_INT + 1):
        with pytest.raises(TypeError):
            orjson.dumps(value)


class BigInt(int):
    pass


@pytest.mark.parametrize(
    ("meta", "field"),
    [
        ({"n": 2**64}, "metadata.n"),
        ({"n": -(2**63) - 1}, "metadata.n"),
        ({"a": [1, 2**100]}, "metadata.a[1]"),
        ({"a": {"b": -(10**30)}}, "metadata.a.b"),
        ({"n": BigInt(2**64)}, "metadata.n"),
        ({"huge": 10**5000}, "metadata.huge"),
    ],
)
def test_metadata_integers_beyond_64_bits_are_refused(meta: dict[str, Any], field: str) -> None:
    err = refused(validate_metadata, meta)
    assert err.field == field
    assert "outside the 64-bit range" in str(err)
    assert len(str(err)) < 500


def test_metadata_numpy_scalars_become_json_values() -> None:
    np = pytest.importorskip("numpy")
    meta = {
        "i64": np.int64(-3),
        "i8": np.int8(7),
        "u64": np.uint64(2**64 - 1),
        "f32": np.float32(1.5),
        "f16": np.float16(0.25),
        "f64": np.float64(2.5),
        "flag": np.bool_(True),
        "no": np.bool_(False),
        "zero_d": np.array(4),
        "list": [np.int32(1), np.float32(0.5), np.bool_(False)],
    }
    result = validate_metadata(meta)
    assert result == {
        "i64": -3,
        "i8": 7,
        "u64": 2**64 - 1,
        "f32": 1.5,
        "f16": 0.25,
        "f64": 2.5,
        "flag": True,
        "no": False,
        "zero_d": 4,
        "list": [1, 0.5, False],
    }
    kinds = {k: type(v) for k, v in result.items() if k != "list"}
    assert kinds == {
        "i64": int,
        "i8": int,
        "u64": int,
        "f32": float,
        "f16": float,
        "f64": float,
        "flag": bool,
        "no": bool,
        "zero_d": int,
    }
    assert [type(v) for v in result["list"]] == [int, float, bool]
    assert json.loads(json.dumps(result)) == result


def test_metadata_other_numbers() -> None:
    from fractions import Fraction

    assert validate_metadata({"f": Fraction(1, 4)}) == {"f": 0.25}
    refused(validate_metadata, {"d": complex(1, 2)})


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_metadata_numpy_non_finite_refused(bad: str) -> None:
    np = pytest.importorskip("numpy")
    for value in (np.float32(bad), np.float16(bad), np.array(float(bad))):
        err = refused(validate_metadata, {"x": value})
        assert err.field == "metadata.x"
        assert "finite" in str(err)


def test_metadata_numpy_non_scalars_refused() -> None:
    np = pytest.importorskip("numpy")
    for value in (np.array([1, 2]), np.complex64(1), np.datetime64("2026-01-01"), np.void(b"x")):
        err = refused(validate_metadata, {"x": value})
        assert err.field == "metadata.x"
        assert "not a JSON value" in str(err)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_metadata_non_finite(bad: float) -> None:
    assert str(refused(validate_metadata, {"x": bad})).startswith("metadata.x ")
    err = refused(validate_metadata, {"scores": [0.1, 0.2, bad]})
    assert err.field == "metadata.scores[2]"
    err = refused(validate_metadata, {"a b": {"c": [[1, bad]]}})
    assert err.field == "metadata['a b'].c[0][1]"


@pytest.mark.parametrize(
    ("meta", "field"),
    [
        ({1: "x"}, "metadata key"),
        ({"a": {None: 1}}, "metadata.a key"),
        ({"a": {1, 2}}, "metadata.a"),
        ({"a": b"x"}, "metadata.a"),
        ({"a": [object()]}, "metadata.a[0]"),
        ({"a": "\ud800"}, "metadata.a"),
        ({"\udc00": 1}, "metadata['\\udc00']"),
        ({"n": 10**5000}, "metadata.n"),
    ],
)
def test_metadata_refusals(meta: dict[Any, Any], field: str) -> None:
    err = refused(validate_metadata, meta)
    assert err.field == field
    assert str(err).startswith(field)


@pytest.mark.parametrize("meta", ["{}", [("a", 1)], 3, json])
def test_metadata_must_be_an_object(meta: object) -> None:
    assert "not a JSON object" in str(refused(validate_metadata, meta))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(exclude_categories=["Cs"])),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_metadata_round_trips_json(meta: dict[str, Any]) -> None:
    result = validate_metadata(meta)
    assert result == meta
    assert json.loads(json.dumps(result)) == result
