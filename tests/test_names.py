from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from registry_widget.choices import validate_page, validate_role, validate_visibility
from registry_widget.entity_names import (
    validate_collection_name,
    validate_registry_name,
    validate_user_name,
)
from registry_widget.errors import ValidationError
from registry_widget.metadata import validate_metadata
from registry_widget.names import (
    is_reserved_alias,
    known_artifact_type,
    normalize_key,
    validate_alias,
    validate_artifact_name,
    validate_artifact_type,
    validate_artifact_types,
    validate_description,
    validate_tag,
    validate_tags,
)
from registry_widget.paths import (
    ParsedPath,
    parse_artifact_ref,
    parse_path,
    validate_relpath,
    version_index,
)
from registry_widget.text import lone_surrogate

CONTROL = [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]] + ["\u2028", "\u2029"]
E_COMPOSED = "\u00e9"
E_DECOMPOSED = "e\u0301"

# (validator, max length, forbidden characters besides control characters)
NAME_VALIDATORS = [
    (validate_registry_name, 113, "/\\#?%:"),
    (validate_collection_name, 128, "/:"),
    (validate_user_name, 128, "/:"),
    (validate_artifact_type, 128, "/:"),
    (validate_alias, 128, "/:"),
]
NAME_IDS = ["registry", "collection", "user", "type", "alias"]


def refused(func: Any, *args: Any, **kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        func(*args, **kwargs)
    return info.value


# -- common name rules ------------------------------------------------------------------


@pytest.mark.parametrize(("validate", "max_len", "forbidden"), NAME_VALIDATORS, ids=NAME_IDS)
class TestNameRules:
    def test_length_bounds(self, validate: Any, max_len: int, forbidden: str) -> None:
        assert validate("a") == "a"
        assert validate("a" * max_len) == "a" * max_len
        err = refused(validate, "a" * (max_len + 1))
        assert f"{max_len + 1} characters" in str(err)
        assert "empty" in str(refused(validate, ""))

    @pytest.mark.parametrize("ch", list("/:") + CONTROL)
    def test_common_forbidden_characters(
        self, validate: Any, max_len: int, forbidden: str, ch: str
    ) -> None:
        err = refused(validate, f"ab{ch}cd")
        assert f"U+{ord(ch):04X}" in str(err)
        assert "position 2" in str(err)

    def test_own_forbidden_characters(self, validate: Any, max_len: int, forbidden: str) -> None:
        for ch in forbidden:
            refused(validate, f"x{ch}y")

    @pytest.mark.parametrize("value", [" a", "a ", "\u3000a", "a\u00a0"])
    def test_leading_or_trailing_whitespace(
        self, validate: Any, max_len: int, forbidden: str, value: str
    ) -> None:
        assert "whitespace" in str(refused(validate, value))

    def test_inner_space_and_unicode_allowed(
        self, validate: Any, max_len: int, forbidden: str
    ) -> None:
        assert validate("my name ü 模型") == "my name ü 模型"

    @pytest.mark.parametrize("value", [None, 3, b"abc", ["a"], 1.5])
    def test_non_string_is_validation_error(
        self, validate: Any, max_len: int, forbidden: str, value: object
    ) -> None:
        err = refused(validate, value)
        assert "not a string" in str(err)
        assert err.value is value

    def test_nfc_normalised(self, validate: Any, max_len: int, forbidden: str) -> None:
        assert validate(f"caf{E_DECOMPOSED}") == f"caf{E_COMPOSED}"
        # Length is counted after normalisation.
        assert validate(E_DECOMPOSED * max_len) == E_COMPOSED * max_len


def test_registry_name_message_names_field_value_and_rule() -> None:
    err = refused(validate_registry_name, "team#1")
    message = str(err)
    assert message.startswith("registry name 'team#1' contains '#'")
    assert "1-113 characters" in message
    assert err.field == "registry name"
    assert err.value == "team#1"


def test_long_values_are_truncated_in_messages() -> None:
    err = refused(validate_registry_name, "x" * 10_000)
    assert len(str(err)) < 400
    assert "..." in str(err)


def test_format_characters_are_allowed() -> None:
    # Zero-width joiners (category Cf) occur in emoji and several scripts.
    assert validate_collection_name("a\u200db") == "a\u200db"


# -- text is text (SPEC §10) ---------------------------------------------------------------

TEXT_VALIDATORS = [
    (validate_registry_name, "registry name"),
    (validate_collection_name, "collection name"),
    (validate_user_name, "user name"),
    (validate_artifact_type, "artifact type"),
    (validate_alias, "alias"),
    (validate_tag, "tag"),
]
TEXT_IDS = ["registry", "collection", "user", "type", "alias", "tag"]

BIDI_CONTROLS = [
    "\u061c",
    "\u200e",
    "\u200f",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
]
INVISIBLE_ONLY = [
    "\u200b",  # zero width space
    "\u200c",  # zero width non-joiner
    "\u200d",  # zero width joiner
    "\u2060",  # word joiner
    "\ufeff",  # byte order mark
    "\u00ad",  # soft hyphen
    "\u115f",  # Hangul choseong filler
    "\u1160",  # Hangul jungseong filler
    "\u3164",  # Hangul filler
    "\uffa0",  # halfwidth Hangul filler
    "\ufe0f",  # variation selector alone
    "\U000e0100",  # variation selector supplement alone
    "\u034f",  # combining grapheme joiner
    "\u2800",  # braille pattern blank
    "\U000e0041",  # tag letter A
    "\u200b\u200b\u200b",
    "\u3164\u3164",
]


@pytest.mark.parametrize(("validate", "field"), TEXT_VALIDATORS, ids=TEXT_IDS)
@pytest.mark.parametrize("ch", [chr(0xD800), chr(0xDFFF), chr(0xDC80)])
def test_lone_surrogates_are_refused(validate: Any, field: str, ch: str) -> None:
    err = refused(validate, f"ab{ch}cd")
    assert err.field == field
    assert f"lone surrogate U+{ord(ch):04X} at position 2" in str(err)
    str(err).encode("utf-8")  # the message itself is text


@pytest.mark.parametrize(("validate", "field"), TEXT_VALIDATORS, ids=TEXT_IDS)
@pytest.mark.parametrize("ch", BIDI_CONTROLS)
def test_bidirectional_controls_are_refused(validate: Any, field: str, ch: str) -> None:
    err = refused(validate, f"ab{ch}cd")
    assert err.field == field
    assert f"bidirectional control U+{ord(ch):04X}" in str(err)
    assert "position 2" in str(err)


@pytest.mark.parametrize(("validate", "field"), TEXT_VALIDATORS, ids=TEXT_IDS)
@pytest.mark.parametrize("text", INVISIBLE_ONLY)
def test_invisible_names_are_refused(validate: Any, field: str, text: str) -> None:
    # A variation selector right after a visible character is allowed (emoji presentation).
    after_visible = [] if text in {"\ufe0f", "\U000e0100"} else [f"a{text}", f"ab{text}"]
    for value in [text, f"{text}a", *after_visible]:
        err = refused(validate, value)
        assert err.field == field
        assert "invisible character" in str(err) or "not made of words" in str(err)


@pytest.mark.parametrize(
    "value",
    [
        "\U0001f469\u200d\U0001f4bb",  # woman technologist: a joiner between two emoji
        "\u2764\ufe0f",  # red heart, emoji presentation
        "\U0001f468\u200d\u2764\ufe0f\u200d\U0001f468",  # joiner after a selector
        "\u0915\u094d\u200d\u0937",  # Devanagari half form
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian non-joiner
    ],
)
def test_joiners_and_selectors_inside_words_are_allowed(value: str) -> None:
    for validate in (validate_registry_name, validate_collection_name, validate_alias):
        assert validate(f"team {value}") == unicodedata.normalize("NFC", f"team {value}")


@pytest.mark.parametrize("value", ["a\u200d", "a\u200d\u200db", "a\u200d\ufe0fb", "\ufe0fa"])
def test_joiners_and_selectors_out_of_place_are_refused(value: str) -> None:
    assert "invisible character" in str(refused(validate_collection_name, value))


def test_lone_surrogate_position() -> None:
    assert lone_surrogate("abc") is None
    assert lone_surrogate("é\U0001f600") is None
    assert lone_surrogate("é\udc00") == 1


def test_description_refuses_lone_surrogates() -> None:
    err = refused(validate_description, "fine text\ud83d")
    assert err.field == "description"
    assert "lone surrogate U+D83D at position 9" in str(err)
    # Bidirectional and invisible characters are part of prose: descriptions keep them.
    assert validate_description("a \u202eb\u200b") == "a \u202eb\u200b"


# -- artifact types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["model", "dataset", "eval-set", "onnx.v2", "fine_tuned", "big model", "modèle", "模型"],
)
def test_artifact_type_accepted(value: str) -> None:
    assert validate_artifact_type(value) == value


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("Bad Type!", "contains '!' (U+0021) at position 8"),
        ("a/b", "contains '/'"),
        ("a:b", "contains ':'"),
        ("two  spaces", "more than one space"),
        ("a\tb", "U+0009"),
        ("model@2", "contains '@'"),
        ("<script>", "contains '<'"),
        ("x" * 129, "129 characters"),
        ("", "empty"),
        (" model", "whitespace"),
        ("mod\u202eel", "bidirectional control"),
        ("\u3164", "invisible character"),
    ],
)
def test_artifact_type_refused(value: str, problem: str) -> None:
    err = refused(validate_artifact_type, value)
    assert err.field == "artifact type"
    assert problem in str(err)
    assert "an artifact type is 1-128 characters" in str(err)


@given(st.text(alphabet=st.sampled_from("ab_.-é模 "), min_size=1, max_size=128))
def test_artifact_type_words(value: str) -> None:
    words = value.split(" ")
    if all(words):
        assert validate_artifact_type(value) == value
    else:
        refused(validate_artifact_type, value)


def test_known_artifact_type_looks_up_old_types() -> None:
    assert known_artifact_type("Bad Type!") == "Bad Type!"
    assert known_artifact_type(f"caf{E_DECOMPOSED}") == f"caf{E_COMPOSED}"
    assert refused(known_artifact_type, 3).field == "artifact type"
    assert "lone surrogate" in str(refused(known_artifact_type, "a\ud800"))


# -- limit and offset ---------------------------------------------------------------------


def test_validate_page() -> None:
    assert validate_page() == (None, 0)
    assert validate_page(None, None) == (None, 0)
    assert validate_page(0, 0) == (0, 0)
    assert validate_page(10, 5) == (10, 5)


@pytest.mark.parametrize(
    ("limit", "offset", "field"),
    [
        (-1, 0, "limit"),
        ("x", 0, "limit"),
        (True, 0, "limit"),
        (1.0, 0, "limit"),
        (None, -1, "offset"),
        (None, "2", "offset"),
        (None, False, "offset"),
        (5, 2.5, "offset"),
    ],
)
def test_validate_page_refusals(limit: object, offset: object, field: str) -> None:
    err = refused(validate_page, limit, offset)
    assert err.field == field
    assert str(err).startswith(field)


# -- normalize_key ------------------------------------------------------------------------


def test_normalize_key_case_and_nfc() -> None:
    assert normalize_key("Models") == normalize_key("MODELS") == normalize_key("models")
    assert normalize_key(f"Caf{E_DECOMPOSED}") == normalize_key(f"CAF{E_COMPOSED.upper()}")
    assert normalize_key("Straße") == normalize_key("STRASSE")
    assert normalize_key("a") != normalize_key("b")


@given(st.text())
def test_normalize_key_is_idempotent_and_nfc(text: str) -> None:
    key = normalize_key(text)
    assert normalize_key(key) == key
    assert unicodedata.is_normalized("NFC", key)
    assert normalize_key(text.upper()) == normalize_key(text.lower()) or text.upper() != text


# -- artifact names -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "A" * 128, "cat-resnet_50.v2", "0", "..."])
def test_artifact_name_accepted(name: str) -> None:
    assert validate_artifact_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "A" * 129, "a b", "a/b", "a:b", "é", "a\n", "ab\n", ".", "..", "a+b", "a\x00"]
)
def test_artifact_name_refused(name: str) -> None:
    assert "artifact name" in str(refused(validate_artifact_name, name))


def test_artifact_name_non_str() -> None:
    refused(validate_artifact_name, 12)


# -- artifact types -------------------------------------------------------------------


def test_artifact_types() -> None:
    assert validate_artifact_types(None) is None
    assert validate_artifact_types(["model", "dataset", "model"]) == ["model", "dataset"]
    assert validate_artifact_types(("b", "a")) == ["b", "a"]
    assert validate_artifact_types(t for t in ["x"]) == ["x"]
    assert validate_artifact_types([E_DECOMPOSED, E_COMPOSED]) == [E_COMPOSED]


def test_artifact_types_refusals() -> None:
    assert "list such as ['model']" in str(refused(validate_artifact_types, "model"))
    assert "empty" in str(refused(validate_artifact_types, []))
    refused(validate_artifact_types, 3)
    refused(validate_artifact_types, {"model": 1})
    err = refused(validate_artifact_types, ["model", "a/b"])
    assert err.field == "artifact types[1]"
    refused(validate_artifact_types, ["ok", 5])


# -- aliases --------------------------------------------------------------------------


@pytest.mark.parametrize("alias", ["latest", "v0", "v1", "v42", "v007"])
def test_reserved_aliases(alias: str) -> None:
    assert is_reserved_alias(alias)
    err = refused(validate_alias, alias)
    assert "reserved" in str(err)


def test_reserved_alias_messages() -> None:
    assert "maintains" in str(refused(validate_alias, "latest"))
    assert "names versions" in str(refused(validate_alias, "v3"))


@pytest.mark.parametrize(
    "alias", ["production", "Latest", "v", "v1a", "vv1", "V1", "v\u0661", "best v2"]
)
def test_non_reserved_aliases(alias: str) -> None:
    assert not is_reserved_alias(alias)
    assert validate_alias(alias) == alias


# -- tags -----------------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["a", "fine-tuned", "a b", "a  b", "x_1", "日本語", "-", "t" * 128])
def test_tag_accepted(tag: str) -> None:
    assert validate_tag(tag) == tag


@pytest.mark.parametrize(
    "tag", ["", " a", "a ", "a\tb", "a.b", "a/b", "a,b", "t" * 129, "a\n", "a\x00"]
)
def test_tag_refused(tag: str) -> None:
    assert "tag" in str(refused(validate_tag, tag))


def test_tag_nfc() -> None:
    # A decomposed accent is not a word character until it is composed.
    assert validate_tag(f"caf{E_DECOMPOSED}") == f"caf{E_COMPOSED}"


def test_tags() -> None:
    assert validate_tags([]) == []
    assert validate_tags(()) == []
    assert validate_tags(["b", "a", "b"]) == ["b", "a"]
    assert validate_tags(["x", "y"]) == ["x", "y"]
    assert "pass a list" in str(refused(validate_tags, "baseline"))
    refused(validate_tags, b"baseline")
    refused(validate_tags, None)
    err = refused(validate_tags, ["ok", "not ok!"])
    assert err.field == "tags[1]"
    assert "tags[1]" in str(err)


# -- description, role, visibility ------------------------------------------------------


def test_description() -> None:
    assert validate_description("") == ""
    assert validate_description("# Title\n\n*text*") == "# Title\n\n*text*"
    assert validate_description("x" * 65_536) == "x" * 65_536
    assert "65,537" in str(refused(validate_description, "x" * 65_537))
    assert "NUL" in str(refused(validate_description, "a\x00b"))
    err = refused(validate_description, 5, field="notes")
    assert err.field == "notes"
    assert str(err).startswith("notes 5")


def test_role() -> None:
    roles = ("admin", "member", "viewer")
    assert validate_role("member", roles) == "member"
    err = refused(validate_role, "owner", roles)
    assert "admin, member, viewer" in str(err)
    assert refused(validate_role, None, roles, field="org role").field == "org role"
    refused(validate_role, "Admin", roles)


def test_visibility() -> None:
    assert validate_visibility("organization") == "organization"
    assert validate_visibility("restricted") == "restricted"
    for bad in ("public", "Restricted", None, 1):
        assert "organization, restricted" in str(refused(validate_visibility, bad))


# -- properties -----------------------------------------------------------------------

# Surrogates, control and format characters, and the other characters that draw nothing
# (default-ignorable code points, Hangul fillers, the blank braille pattern).
SURROGATE_AND_CONTROL = ["Cs", "Cc", "Cf"]
INVISIBLE = "".join(
    chr(c)
    for low, high in [
        (0x034F, 0x034F),
        (0x115F, 0x1160),
        (0x17B4, 0x17B5),
        (0x180B, 0x180F),
        (0x2065, 0x2065),
        (0x2800, 0x2800),
        (0x3164, 0x3164),
        (0xFE00, 0xFE0F),
        (0xFFA0, 0xFFA0),
        (0xFFF0, 0xFFF8),
        (0xE0000, 0xE0FFF),
    ]
    for c in range(low, high + 1)
)


def allowed_text(forbidden: str, max_len: int) -> st.SearchStrategy[str]:
    chars = st.characters(
        exclude_categories=SURROGATE_AND_CONTROL,
        exclude_characters=forbidden + "\u2028\u2029" + INVISIBLE,
    )
    return st.text(chars, min_size=1, max_size=max_len)


# Artifact types have a narrower alphabet of their own (see test_artifact_type_*).
FREE_NAME_VALIDATORS = [v for v in NAME_VALIDATORS if v[0] is not validate_artifact_type]
FREE_NAME_IDS = [i for i in NAME_IDS if i != "type"]


@pytest.mark.parametrize(
    ("validate", "max_len", "forbidden"), FREE_NAME_VALIDATORS, ids=FREE_NAME_IDS
)
@given(data=st.data())
def test_allowed_names_are_accepted_nfc(
    validate: Any, max_len: int, forbidden: str, data: st.DataObject
) -> None:
    text = data.draw(allowed_text(forbidden, max_len))
    normal = unicodedata.normalize("NFC", text)
    assume(normal.strip() == normal and 1 <= len(normal) <= max_len)
    assume(not is_reserved_alias(normal))
    assert validate(text) == normal


@pytest.mark.parametrize(("validate", "max_len", "forbidden"), NAME_VALIDATORS, ids=NAME_IDS)
@given(data=st.data())
def test_names_with_a_forbidden_char_are_refused(
    validate: Any, max_len: int, forbidden: str, data: st.DataObject
) -> None:
    bad = data.draw(st.sampled_from(forbidden + "".join(CONTROL)))
    before, after = data.draw(st.text(max_size=20)), data.draw(st.text(max_size=20))
    with pytest.raises(ValidationError):
        validate(before + bad + after)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


registry_names = allowed_text("/\\#?%:", 20).map(nfc).filter(lambda s: s and s.strip() == s)
collection_names = allowed_text("/:", 20).map(nfc).filter(lambda s: s and s.strip() == s)
selectors = (
    st.just("latest")
    | st.integers(0, 10**6).map(lambda i: f"v{i}")
    | collection_names.filter(lambda s: not is_reserved_alias(s))
)


@given(registry_names, collection_names, selectors, st.integers(0, 2))
def test_parse_path_round_trips(registry: str, collection: str, selector: str, parts: int) -> None:
    path = ParsedPath(
        registry, collection if parts >= 1 else None, selector if parts == 2 else None
    )
    parsed = parse_path(str(path))
    assert parsed == path
    assert str(parsed) == str(path)


ALL_VALIDATORS = [
    validate_registry_name,
    validate_collection_name,
    validate_user_name,
    validate_artifact_name,
    validate_artifact_type,
    validate_artifact_types,
    validate_alias,
    validate_tag,
    validate_tags,
    validate_description,
    validate_metadata,
    validate_relpath,
    validate_visibility,
    parse_path,
    parse_artifact_ref,
    version_index,
    lambda v: validate_role(v, ["admin", "member"]),
]

anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=3) | st.integers(), children, max_size=3)
    ),
    max_leaves=8,
)


@pytest.mark.parametrize("validate", ALL_VALIDATORS)
@given(value=anything)
def test_refusals_are_validation_errors_naming_the_field(validate: Any, value: object) -> None:
    error: ValidationError | None = None
    try:
        validate(value)
    except ValidationError as exc:
        error = exc
    if error is not None:
        assert error.field
        assert error.field in str(error)
