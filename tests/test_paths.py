from __future__ import annotations

import posixpath
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry_widget.errors import ValidationError
from registry_widget.names import is_reserved_alias
from registry_widget.paths import (
    ParsedPath,
    parse_artifact_ref,
    parse_path,
    validate_relpath,
    version_index,
)

E_COMPOSED = "\u00e9"
E_DECOMPOSED = "e\u0301"


def refused(func: Any, *args: Any, **kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        func(*args, **kwargs)
    return info.value


# -- paths ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "parsed"),
    [
        ("Models", ("Models", None, None)),
        ("Models/cat-resnet", ("Models", "cat-resnet", None)),
        ("Models/cat resnet:production", ("Models", "cat resnet", "production")),
        ("Models/cat:v3", ("Models", "cat", "v3")),
        ("Models/cat:latest", ("Models", "cat", "latest")),
        ("Team Ü/Coll é:best", ("Team Ü", "Coll é", "best")),
    ],
)
def test_parse_path(path: str, parsed: tuple[str, str | None, str | None]) -> None:
    result = parse_path(path)
    assert (result.registry, result.collection, result.selector) == parsed
    assert str(result) == path


def test_parse_path_nfc() -> None:
    parsed = parse_path(f"R{E_DECOMPOSED}/C{E_DECOMPOSED}:a{E_DECOMPOSED}")
    assert parsed == ParsedPath(f"R{E_COMPOSED}", f"C{E_COMPOSED}", f"a{E_COMPOSED}")


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("", "registry name '' is empty"),
        ("/Coll", "registry name '' is empty"),
        ("Models/", "collection name '' is empty"),
        ("Models/cat:", "selector '' is empty"),
        ("Models:prod", "selector but no collection"),
        ("Models/a:b:c", "collection name 'a:b' contains ':'"),
        ("Models/a/b", "collection name 'a/b' contains '/'"),
        ("Models/a:b/c", "selector 'b/c' contains '/'"),
        ("Models/cat:v03", "leading zero; write 'v3'"),
        ("Mod#els/cat", "registry name 'Mod#els' contains '#'"),
        ("Models /cat", "whitespace"),
        ("Models/cat :x", "whitespace"),
        (5, "not a string"),
    ],
)
def test_parse_path_refused(path: object, needle: str) -> None:
    err = refused(parse_path, path)
    assert needle in str(err)
    assert err.field == "path"
    assert str(err).startswith("path ")


def test_parsed_path_needs_collection_for_selector() -> None:
    refused(ParsedPath, "Models", None, "v1")
    assert str(ParsedPath("Models")) == "Models"
    with pytest.raises(AttributeError):
        ParsedPath("Models").registry = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("ref", "parsed"),
    [
        ("cat", ("cat", None)),
        ("cat:v3", ("cat", "v3")),
        ("cat:latest", ("cat", "latest")),
        ("cat:prod", ("cat", "prod")),
    ],
)
def test_parse_artifact_ref(ref: str, parsed: tuple[str, str | None]) -> None:
    assert parse_artifact_ref(ref) == parsed


@pytest.mark.parametrize(
    ("ref", "needle"),
    [
        ("", "artifact name '' is empty"),
        (":v1", "artifact name '' is empty"),
        ("cat:", "selector '' is empty"),
        ("cat:a:b", "selector 'a:b' contains ':'"),
        ("c t:v1", "artifact name 'c t'"),
        ("cat:v01", "leading zero"),
        (None, "not a string"),
    ],
)
def test_parse_artifact_ref_refused(ref: object, needle: str) -> None:
    err = refused(parse_artifact_ref, ref)
    assert needle in str(err)
    assert err.field == "artifact reference"


@pytest.mark.parametrize(
    ("selector", "index"),
    [
        *[("v0", 0), ("v3", 3), ("v10", 10), ("v123456789", 123456789)],
        *[("latest", None), ("prod", None), ("v", None), ("v1a", None), ("V1", None)],
    ],
)
def test_version_index(selector: str, index: int | None) -> None:
    assert version_index(selector) == index


@pytest.mark.parametrize("selector", ["v00", "v01", "v007"])
def test_version_index_refuses_leading_zeros(selector: str) -> None:
    assert "leading zero" in str(refused(version_index, selector))


@given(st.text(max_size=12) | st.from_regex(r"v[0-9]{1,4}", fullmatch=True))
def test_version_index_consistent_with_reserved_aliases(selector: str) -> None:
    try:
        index = version_index(selector)
    except ValidationError:
        assert is_reserved_alias(selector)
        return
    if index is not None:
        assert is_reserved_alias(selector)
        assert f"v{index}" == selector
    elif is_reserved_alias(selector):
        assert selector == "latest"


# -- relpath --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["a", "model.pt", "weights/model.pt", "a/b/c.d", "..a", "a..", ".hidden/x", "a b/ü"]
)
def test_relpath_accepted(path: str) -> None:
    assert validate_relpath(path) == path


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("", "empty"),
        ("../x", "'..'"),
        ("a/../../x", "'..'"),
        ("a/..", "'..'"),
        ("..", "'..'"),
        ("/etc/passwd", "absolute"),
        ("/", "absolute"),
        ("C:x", "drive"),
        ("c:/x", "drive"),
        ("C:\\x", "backslash"),
        ("\\\\server\\share", "backslash"),
        ("//server/share", "UNC"),
        ("a\\b", "backslash"),
        ("a\x00b", "U+0000"),
        ("a\nb", "U+000A"),
        ("a\x7fb", "U+007F"),
        ("a//b", "empty segment"),
        ("a/", "empty segment"),
        ("./a", "'.'"),
        ("a/./b", "'.'"),
        ("x" * 1025, "1025 characters"),
    ],
)
def test_relpath_refused(path: str, reason: str) -> None:
    err = refused(validate_relpath, path)
    assert reason in str(err)
    assert err.field == "file path"


def test_relpath_length_boundary() -> None:
    assert validate_relpath("x" * 1024) == "x" * 1024
    refused(validate_relpath, 5)


@given(st.text(alphabet="ab./\\:C\x00 ", max_size=12) | st.text(max_size=12))
def test_relpath_never_escapes_its_root(path: str) -> None:
    try:
        result = validate_relpath(path)
    except ValidationError:
        return
    assert result == path
    assert not posixpath.isabs(path)
    assert posixpath.normpath(path) == path
    assert posixpath.normpath(posixpath.join("/root", path)).startswith("/root/")
    assert ".." not in path.split("/")
