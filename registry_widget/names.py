"""Validation of names and inputs, and parsing of registry paths.

Every validator takes the raw value as the caller passed it (possibly of the wrong type)
and returns the cleaned value, or raises :class:`~registry_widget.errors.ValidationError`
whose message names the field, shows the offending value, says what is wrong and what
would be allowed. Names are NFC-normalised before they are checked and are returned
NFC-normalised; :func:`normalize_key` gives the case-insensitive key under which
registry, collection and user names must be unique.

This module is pure: no I/O, no store access.
"""

from __future__ import annotations

import json
import math
import numbers
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from registry_widget.errors import ValidationError

__all__ = [
    "ParsedPath",
    "is_reserved_alias",
    "known_artifact_type",
    "lone_surrogate",
    "normalize_key",
    "parse_artifact_ref",
    "parse_path",
    "validate_alias",
    "validate_artifact_name",
    "validate_artifact_type",
    "validate_artifact_types",
    "validate_collection_name",
    "validate_description",
    "validate_metadata",
    "validate_page",
    "validate_registry_name",
    "validate_relpath",
    "validate_role",
    "validate_selector",
    "validate_tag",
    "validate_tags",
    "validate_user_name",
    "validate_visibility",
    "version_index",
]

MAX_REGISTRY_NAME = 113
MAX_NAME = 128
MAX_DESCRIPTION = 65_536
MAX_RELPATH = 1024
MAX_METADATA_KEYS = 100
MAX_METADATA_DEPTH = 20
MAX_METADATA_BYTES = 1024 * 1024
VISIBILITIES = ("organization", "restricted")

# Control characters: Unicode category Cc (U+0000-U+001F, U+007F-U+009F) plus the
# line and paragraph separators, which also break lines when displayed.
_CONTROL = "\x00-\x1f\x7f-\x9f\u2028\u2029"
_REGISTRY_FORBIDDEN = re.compile(rf"[/\\#?%:{_CONTROL}]")
_NAME_FORBIDDEN = re.compile(rf"[/:{_CONTROL}]")
_CONTROL_RE = re.compile(rf"[{_CONTROL}]")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
# Bidirectional controls (category Cf): they reorder what is displayed around them.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties) that are not of category Cf,
# plus U+2800 BRAILLE PATTERN BLANK: characters that draw nothing.
_INVISIBLE_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors and vowel separator
    (0x2065, 0x2065),
    (0x2800, 0x2800),  # braille pattern blank
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)
# Zero-width joiners and variation selectors have a visible job inside a word: joiners
# between two visible characters (emoji sequences, Indic and Arabic scripts), variation
# selectors right after a visible character (emoji or text presentation).
_JOINERS = frozenset("\u200c\u200d")
_SELECTORS_RANGES = ((0x180B, 0x180D), (0x180F, 0x180F), (0xFE00, 0xFE0F), (0xE0100, 0xE01EF))
_ARTIFACT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_TAG = re.compile(r"[-\w]+( +[-\w]+)*")
_TYPE = re.compile(r"[-\w.]+( [-\w.]+)*")
_TYPE_CHAR = re.compile(r"[-\w. ]")
_RESERVED_VERSION = re.compile(r"v[0-9]+")
_CANONICAL_VERSION = re.compile(r"v(?:0|[1-9][0-9]*)")
_DRIVE = re.compile(r"[A-Za-z]:")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_TEXT_RULE = "invisible or bidirectional control characters"
_REGISTRY_RULE = (
    f"a registry name is 1-{MAX_REGISTRY_NAME} characters, without / \\ # ? % :, control, "
    f"{_TEXT_RULE}, and does not start or end with whitespace"
)
_COLLECTION_RULE = (
    f"a collection name is 1-{MAX_NAME} characters, without / :, control, {_TEXT_RULE}, "
    "and does not start or end with whitespace"
)
_USER_RULE = (
    f"a user name is 1-{MAX_NAME} characters, without / :, control, {_TEXT_RULE}, "
    "and does not start or end with whitespace"
)
_ARTIFACT_NAME_RULE = (
    f"an artifact name is 1-{MAX_NAME} characters from A-Z a-z 0-9 _ . - (and is not '.' or '..')"
)
_TYPE_RULE = (
    f"an artifact type is 1-{MAX_NAME} characters: words of letters, digits, _ . or - "
    "separated by single spaces (e.g. 'model', 'eval-set', 'onnx.v2'), without "
    f"{_TEXT_RULE}"
)
_ALIAS_RULE = (
    f"an alias is 1-{MAX_NAME} characters, without / :, control, {_TEXT_RULE}, does not "
    "start or end with whitespace, and is not 'latest' or v<digits>"
)
_TAG_RULE = (
    f"a tag is at most {MAX_NAME} characters: words of letters, digits, _ or -, "
    "separated by single or multiple spaces (e.g. 'baseline', 'fine-tuned v2'), without "
    f"{_TEXT_RULE}"
)
_RELPATH_RULE = (
    f"a file path is a relative POSIX path of 1-{MAX_RELPATH} characters such as "
    "'weights/model.pt': no leading '/', no drive letter, no backslash, no empty, '.' "
    "or '..' segments, no control characters"
)


def _show(value: object) -> str:
    """Return ``repr(value)`` cut to about 60 characters for error messages."""
    try:
        text = repr(value[:80]) if isinstance(value, str) else repr(value)
    except RecursionError:
        text = f"<{type(value).__name__} nested too deeply to show>"
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(
    field: str, value: object, problem: str, rule: str, code: str | None = None, **params: object
) -> NoReturn:
    msg = f"{field} {_show(value)} {problem}; {rule}"
    error = ValidationError(msg, field=field, value=value)
    if code is not None:  # a common refusal: its facts, for an interface to word it
        error.with_code(code, field=field, rule=rule, **params)
    raise error


def _char(ch: str) -> str:
    return f"{ch!r} (U+{ord(ch):04X})"


def _require_str(value: object, field: str, rule: str) -> str:
    if not isinstance(value, str):
        _fail(field, value, f"is of type {type(value).__name__}, not a string", rule)
    return str(value)


def _check_name(
    value: object,
    *,
    field: str,
    max_len: int,
    forbidden: re.Pattern[str],
    rule: str,
    strip: bool = True,
) -> str:
    """Check the common shape of names: NFC, length, forbidden characters, whitespace."""
    text = _nfc_text(value, field, rule)
    if not text:
        _fail(field, value, "is empty", rule)
    if len(text) > max_len:
        _fail(field, value, f"is {len(text)} characters long (at most {max_len})", rule)
    bad = forbidden.search(text)
    if bad:
        problem = f"contains {_char(bad.group())} at position {bad.start()}"
        _fail(field, value, problem, rule, "bad_character", text=text, char=bad.group())
    _check_visible(text, value, field, rule)
    if strip and text.strip() != text:
        _fail(field, value, "starts or ends with whitespace", rule)
    return text


def lone_surrogate(text: str) -> int | None:
    """Return the position of the first lone surrogate in ``text``, or None.

    A lone surrogate (U+D800-U+DFFF) is not a Unicode character: UTF-8 cannot encode it,
    so no text that holds one can be stored, compared or displayed.
    """
    if text.isascii():
        return None
    bad = _SURROGATE_RE.search(text)
    return None if bad is None else bad.start()


def _nfc_text(value: object, field: str, rule: str) -> str:
    """Return ``value`` NFC-normalised, refusing a non-string and lone surrogates."""
    text = _require_str(value, field, rule)
    _refuse_surrogates(text, value, field, rule)
    return unicodedata.normalize("NFC", text)


def _refuse_surrogates(text: str, value: object, field: str, rule: str) -> None:
    at = lone_surrogate(text)
    if at is not None:
        problem = (
            f"contains the lone surrogate U+{ord(text[at]):04X} at position {at}, "
            "which is not a character (UTF-8 cannot encode it)"
        )
        _fail(field, value, problem, rule)


def _in_ranges(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code <= high for low, high in ranges)


def _is_invisible(ch: str) -> bool:
    """Tell whether ``ch`` draws nothing: a format character (Cf) or a default-ignorable."""
    return unicodedata.category(ch) == "Cf" or _in_ranges(ord(ch), _INVISIBLE_RANGES)


def _check_visible(text: str, value: object, field: str, rule: str) -> None:
    """Refuse bidirectional controls and invisible characters (SPEC §10 "Text is text").

    Zero-width (non-)joiners between two visible characters and variation selectors right
    after a visible character are kept: emoji sequences and several scripts need them.
    """
    if text.isascii():
        return
    previous = ""  # "visible", "selector", "joiner" or "" (start of the text)
    for i, ch in enumerate(text):
        if not _is_invisible(ch):
            previous = "visible"
            continue
        if previous == "visible" and _in_ranges(ord(ch), _SELECTORS_RANGES):
            previous = "selector"
            continue
        if (
            ch in _JOINERS
            and previous in {"visible", "selector"}
            and i + 1 < len(text)
            and not _is_invisible(text[i + 1])
        ):
            previous = "joiner"
            continue
        name = unicodedata.name(ch, "")
        shown = f"U+{ord(ch):04X}" + (f" {name}" if name else "")
        kind = "bidirectional control" if ch in _BIDI else "invisible character"
        _fail(field, value, f"contains the {kind} {shown} at position {i}", rule)


def normalize_key(name: str) -> str:
    """Return the uniqueness key of a registry, collection or user name.

    Names that differ only by case or by Unicode normalisation form have the same key.

    Parameters
    ----------
    name
        The name, already validated.

    Returns
    -------
    str
        The name NFC-normalised, case-folded, and NFC-normalised again (case folding can
        produce decomposed sequences).
    """
    text = _require_str(name, "name", "a name is a string")
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


def validate_registry_name(name: object) -> str:
    r"""Validate a registry name and return it NFC-normalised.

    Parameters
    ----------
    name
        The raw value.

    Returns
    -------
    str
        The name, 1-113 characters, without ``/ \ # ? % :``, control characters or
        leading/trailing whitespace.

    Raises
    ------
    ValidationError
        If the name breaks one of those rules.
    """
    return _registry_name(name, "registry name")


def _registry_name(name: object, field: str) -> str:
    return _check_name(
        name,
        field=field,
        max_len=MAX_REGISTRY_NAME,
        forbidden=_REGISTRY_FORBIDDEN,
        rule=_REGISTRY_RULE,
    )


def validate_collection_name(name: object) -> str:
    """Validate a collection name and return it NFC-normalised.

    Parameters
    ----------
    name
        The raw value.

    Returns
    -------
    str
        The name, 1-128 characters, without ``/``, ``:``, control characters or
        leading/trailing whitespace.

    Raises
    ------
    ValidationError
        If the name breaks one of those rules.
    """
    return _collection_name(name, "collection name")


def _collection_name(name: object, field: str) -> str:
    return _check_name(
        name, field=field, max_len=MAX_NAME, forbidden=_NAME_FORBIDDEN, rule=_COLLECTION_RULE
    )


def validate_user_name(name: object) -> str:
    """Validate a user name and return it NFC-normalised.

    Parameters
    ----------
    name
        The raw value.

    Returns
    -------
    str
        The name, 1-128 characters, without ``/``, ``:``, control characters or
        leading/trailing whitespace.

    Raises
    ------
    ValidationError
        If the name breaks one of those rules.
    """
    return _check_name(
        name, field="user name", max_len=MAX_NAME, forbidden=_NAME_FORBIDDEN, rule=_USER_RULE
    )


def validate_artifact_name(name: object) -> str:
    """Validate an artifact name.

    Parameters
    ----------
    name
        The raw value.

    Returns
    -------
    str
        The name: 1-128 characters from ``A-Z a-z 0-9 _ . -``, not ``.`` or ``..``.

    Raises
    ------
    ValidationError
        If the name breaks one of those rules.
    """
    return _artifact_name(name, "artifact name")


def _artifact_name(name: object, field: str) -> str:
    text = _require_str(name, field, _ARTIFACT_NAME_RULE)
    if not text:
        _fail(field, name, "is empty", _ARTIFACT_NAME_RULE)
    if len(text) > MAX_NAME:
        _fail(field, name, f"is {len(text)} characters long", _ARTIFACT_NAME_RULE)
    if not _ARTIFACT_NAME.fullmatch(text):
        bad = next(ch for ch in text if not _ARTIFACT_NAME.fullmatch(ch))
        _fail(field, name, f"contains {_char(bad)}", _ARTIFACT_NAME_RULE)
    if text in {".", ".."}:
        _fail(field, name, "is a relative directory name", _ARTIFACT_NAME_RULE)
    return text


def validate_artifact_type(t: object) -> str:
    """Validate an artifact type such as ``model`` or ``dataset``.

    Parameters
    ----------
    t
        The raw value.

    Returns
    -------
    str
        The type NFC-normalised: 1-128 characters, words of letters, digits, ``_``, ``.``
        or ``-`` separated by single spaces (so no ``/`` or ``:``), without control,
        invisible or bidirectional control characters.

    Raises
    ------
    ValidationError
        If the type breaks one of those rules.
    """
    return _artifact_type(t, "artifact type")


def _artifact_type(t: object, field: str) -> str:
    text = _check_name(t, field=field, max_len=MAX_NAME, forbidden=_NAME_FORBIDDEN, rule=_TYPE_RULE)
    if not _TYPE.fullmatch(text):
        bad = next((i for i, ch in enumerate(text) if not _TYPE_CHAR.fullmatch(ch)), None)
        if bad is None:
            _fail(field, t, "separates words with more than one space", _TYPE_RULE)
        _fail(field, t, f"contains {_char(text[bad])} at position {bad}", _TYPE_RULE)
    return text


def known_artifact_type(t: object) -> str:
    """Check a type that names one already stored, and return it NFC-normalised.

    Stores written before artifact types had their own rules may hold types that
    :func:`validate_artifact_type` now refuses; they can still be looked up and removed.

    Raises
    ------
    ValidationError
        If ``t`` is not a string or holds a lone surrogate.
    """
    rule = "an artifact type is a string naming a type"
    return _nfc_text(t, "artifact type", rule)


def _refuse_lone_str(value: object, field: str, rule: str) -> Iterable[object]:
    if isinstance(value, (str, bytes)):
        _fail(field, value, f"is a single string; pass a list such as [{value!r}]", rule)
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        _fail(field, value, f"is of type {type(value).__name__}, not a list", rule)
    return value


def validate_artifact_types(types: object) -> list[str] | None:
    """Validate the artifact types a registry accepts.

    Parameters
    ----------
    types
        ``None`` for "all types", or a non-empty iterable of types (not a lone string).

    Returns
    -------
    list[str] | None
        ``None``, or the validated types without duplicates, in their first order.

    Raises
    ------
    ValidationError
        If ``types`` is a lone string, empty, not iterable, or holds an invalid type.
    """
    if types is None:
        return None
    rule = "artifact types are None (all types) or a non-empty list of types"
    items = _refuse_lone_str(types, "artifact types", rule)
    result = _dedupe(_artifact_type(t, f"artifact types[{i}]") for i, t in enumerate(items))
    if not result:
        _fail("artifact types", types, "is empty", rule)
    return result


def _dedupe(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def is_reserved_alias(alias: str) -> bool:
    """Tell whether an alias is reserved: ``latest`` or ``v`` followed by digits.

    Parameters
    ----------
    alias
        The alias to test.

    Returns
    -------
    bool
        True for ``latest`` and every ``v<digits>`` (``v0``, ``v12``, ``v012``...).
    """
    return alias == "latest" or _RESERVED_VERSION.fullmatch(alias) is not None


def validate_alias(alias: object) -> str:
    """Validate an alias that a user may set on a linked version.

    Parameters
    ----------
    alias
        The raw value.

    Returns
    -------
    str
        The alias NFC-normalised: 1-128 characters, without ``/``, ``:``, control
        characters or leading/trailing whitespace, and not reserved.

    Raises
    ------
    ValidationError
        If the alias breaks one of those rules or is ``latest`` or ``v<digits>``.
    """
    text = _selector_shape(alias, "alias", _ALIAS_RULE)
    if text == "latest":
        _fail("alias", alias, "is reserved: the system maintains it", _ALIAS_RULE)
    if _RESERVED_VERSION.fullmatch(text):
        _fail("alias", alias, "is reserved: v<digits> names versions", _ALIAS_RULE)
    return text


def _selector_shape(value: object, field: str, rule: str) -> str:
    return _check_name(value, field=field, max_len=MAX_NAME, forbidden=_NAME_FORBIDDEN, rule=rule)


def validate_tag(tag: object) -> str:
    r"""Validate one tag.

    Parameters
    ----------
    tag
        The raw value.

    Returns
    -------
    str
        The tag NFC-normalised, matching ``^[-\w]+( +[-\w]+)*$``, at most 128 characters.

    Raises
    ------
    ValidationError
        If the tag breaks one of those rules.
    """
    return _tag(tag, "tag")


def _tag(tag: object, field: str) -> str:
    text = _nfc_text(tag, field, _TAG_RULE)
    if len(text) > MAX_NAME:
        _fail(field, tag, f"is {len(text)} characters long", _TAG_RULE)
    _check_visible(text, tag, field, _TAG_RULE)
    if not _TAG.fullmatch(text):
        _fail(field, tag, "is not made of words separated by spaces", _TAG_RULE)
    return text


def validate_tags(tags: object) -> list[str]:
    """Validate a collection of tags.

    Parameters
    ----------
    tags
        An iterable of tags (a lone string is refused).

    Returns
    -------
    list[str]
        The validated tags without duplicates, in their first order.

    Raises
    ------
    ValidationError
        If ``tags`` is a lone string, not iterable, or holds an invalid tag.
    """
    items = _refuse_lone_str(tags, "tags", "tags are a list of tags such as ['baseline']")
    return _dedupe(_tag(t, f"tags[{i}]") for i, t in enumerate(items))


def validate_description(text: object, *, field: str = "description") -> str:
    """Validate a free-text (Markdown) description.

    Parameters
    ----------
    text
        The raw value.
    field
        The name of the field, used in the error message.

    Returns
    -------
    str
        The text unchanged: at most 65,536 characters, without NUL characters or lone
        surrogates.

    Raises
    ------
    ValidationError
        If the text is not a string, too long, or contains a NUL or a lone surrogate.
    """
    rule = (
        f"a {field} is a string of at most {MAX_DESCRIPTION:,} characters without NUL or "
        "lone surrogates"
    )
    value = _require_str(text, field, rule)
    if len(value) > MAX_DESCRIPTION:
        _fail(field, text, f"is {len(value):,} characters long", rule)
    _refuse_surrogates(value, text, field, rule)
    if "\x00" in value:
        _fail(field, text, f"contains NUL at position {value.index(chr(0))}", rule)
    return value


def validate_role(role: object, allowed: Sequence[str], *, field: str = "role") -> str:
    """Validate a role against the roles allowed in its context.

    Parameters
    ----------
    role
        The raw value.
    allowed
        The accepted roles.
    field
        The name of the field, used in the error message.

    Returns
    -------
    str
        The role.

    Raises
    ------
    ValidationError
        If the role is not one of ``allowed``.
    """
    rule = "allowed: " + ", ".join(allowed)
    if not isinstance(role, str) or role not in allowed:
        _fail(field, role, "is not a known role", rule)
    return str(role)


def validate_visibility(v: object) -> str:
    """Validate a registry visibility.

    Parameters
    ----------
    v
        The raw value.

    Returns
    -------
    str
        ``"organization"`` or ``"restricted"``.

    Raises
    ------
    ValidationError
        For any other value.
    """
    if not isinstance(v, str) or v not in VISIBILITIES:
        _fail("visibility", v, "is not a visibility", "allowed: organization, restricted")
    return str(v)


def validate_page(limit: object = None, offset: object = 0) -> tuple[int | None, int]:
    """Validate the ``limit`` and ``offset`` of a listing.

    Parameters
    ----------
    limit
        ``None`` (no limit) or a non-negative int.
    offset
        ``None`` (meaning 0) or a non-negative int: how many results to skip.

    Returns
    -------
    tuple[int | None, int]
        The limit and the offset.

    Raises
    ------
    ValidationError
        If either is a bool, not an int, or negative; the message names the parameter.
    """
    checked: list[int | None] = []
    for field, value in (("limit", limit), ("offset", offset)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            _fail(field, value, "is not a non-negative int", f"a {field} is an int >= 0 or None")
        checked.append(None if value is None else int(value))
    return checked[0], checked[1] or 0


def validate_relpath(path: object) -> str:
    """Validate a file path inside an artifact.

    Parameters
    ----------
    path
        The raw value.

    Returns
    -------
    str
        The path unchanged: a canonical relative POSIX path that cannot leave its root.

    Raises
    ------
    ValidationError
        If the path is absolute, has a drive letter, a backslash, an empty, ``.`` or
        ``..`` segment, a control character, or is empty or too long.
    """
    field, rule = "file path", _RELPATH_RULE
    text = _require_str(path, field, rule)
    if not text:
        _fail(field, path, "is empty", rule)
    if len(text) > MAX_RELPATH:
        _fail(field, path, f"is {len(text)} characters long", rule)
    bad = _CONTROL_RE.search(text)
    if bad:
        _fail(field, path, f"contains {_char(bad.group())} at position {bad.start()}", rule)
    _refuse_surrogates(text, path, field, rule)
    if "\\" in text:
        _fail(field, path, "contains a backslash (a Windows separator)", rule)
    if text.startswith("//"):
        _fail(field, path, "is a UNC path", rule)
    if text.startswith("/"):
        _fail(field, path, "is absolute", rule)
    if _DRIVE.match(text):
        _fail(field, path, "starts with a drive letter", rule)
    for segment in text.split("/"):
        if segment in {"", ".", ".."}:
            problem = f"has a {segment!r} segment" if segment else "has an empty segment"
            _fail(field, path, problem, rule)
    return text


# -- metadata ---------------------------------------------------------------------------

# The integers the store writes and reads back exactly (orjson: signed and unsigned 64-bit).
MIN_METADATA_INT = -(2**63)
MAX_METADATA_INT = 2**64 - 1

_METADATA_RULE = (
    f"metadata is a JSON object with string keys, at most {MAX_METADATA_KEYS} top-level "
    f"keys, nesting depth at most {MAX_METADATA_DEPTH}, at most 1 MiB encoded, finite "
    f"numbers and integers from -2**63 to 2**64-1"
)

# A path to a value inside the metadata, built lazily: (parent, key) pairs.
_Path = tuple[Any, "str | int"] | None


def _render(path: _Path) -> str:
    parts: list[str] = []
    while path is not None:
        path, key = path
        if isinstance(key, int):
            parts.append(f"[{key}]")
        elif _IDENTIFIER.fullmatch(key):
            parts.append(f".{key}")
        else:
            parts.append(f"[{key!r}]")
    return "metadata" + "".join(reversed(parts))


def _meta_fail(path: _Path, value: object, problem: str) -> NoReturn:
    _fail(_render(path), value, problem, _METADATA_RULE)


def validate_metadata(meta: object) -> dict[str, Any]:
    """Validate artifact metadata and return a deep copy of it.

    Parameters
    ----------
    meta
        ``None`` (meaning ``{}``) or a mapping with string keys whose values are JSON
        values: None, bool, int, float, str, list, tuple (copied as a list) or mapping.

    Returns
    -------
    dict[str, Any]
        A deep copy sharing nothing with ``meta``. The top-level object is depth 1;
        each nested list or object adds one level.

    Raises
    ------
    ValidationError
        If a key is not a string, a value is not JSON, a number is NaN or infinite, or
        the object has more than 100 top-level keys, is deeper than 20 levels or is more
        than 1 MiB encoded (compact UTF-8 JSON). The message names the key path, such as
        ``metadata.scores[2]``.
    """
    if meta is None:
        return {}
    if not isinstance(meta, Mapping):
        _meta_fail(None, meta, f"is of type {type(meta).__name__}, not a JSON object")
    if len(meta) > MAX_METADATA_KEYS:
        _meta_fail(None, meta, f"has {len(meta)} top-level keys")
    root: dict[str, Any] = {}
    # Iterative walk: (source container, its copy, its path, its depth).
    stack: list[tuple[Any, Any, _Path, int]] = [(meta, root, None, 1)]
    while stack:
        source, copy, path, depth = stack.pop()
        # Strings, ints, bools and None (the common case) are copied inline.
        if isinstance(copy, dict):
            for key, value in source.items():
                if type(key) is not str:
                    key = _metadata_key(key, path)  # noqa: PLW2901
                kind = type(value)
                if (
                    kind is str
                    or kind is bool
                    or value is None
                    or (kind is int and MIN_METADATA_INT <= value <= MAX_METADATA_INT)
                ):
                    copy[key] = value
                else:
                    copy[key] = _copy_value(value, (path, key), depth, stack)
        else:
            for index, value in enumerate(source):
                kind = type(value)
                if (
                    kind is str
                    or kind is bool
                    or value is None
                    or (kind is int and MIN_METADATA_INT <= value <= MAX_METADATA_INT)
                ):
                    copy.append(value)
                else:
                    copy.append(_copy_value(value, (path, index), depth, stack))
    try:
        encoded = json.dumps(root, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        size = len(encoded.encode("utf-8"))
    except (UnicodeEncodeError, ValueError):
        _unencodable(root)
    if size > MAX_METADATA_BYTES:
        _meta_fail(None, meta, f"is {size:,} bytes encoded (at most {MAX_METADATA_BYTES:,})")
    return root


def _metadata_key(key: object, path: _Path) -> str:
    if not isinstance(key, str):
        problem = f"is of type {type(key).__name__}; keys are strings"
        _fail(_render(path) + " key", key, problem, _METADATA_RULE)
    return str(key)


def _copy_value(value: object, path: _Path, depth: int, stack: list[Any]) -> Any:
    if type(value) is float:
        if not math.isfinite(value):
            _meta_fail(path, value, "is not a finite number")
        return value
    if isinstance(value, (Mapping, list, tuple)):
        if depth + 1 > MAX_METADATA_DEPTH:
            _meta_fail(path, value, f"nests deeper than {MAX_METADATA_DEPTH} levels")
        copy: dict[str, Any] | list[Any] = {} if isinstance(value, Mapping) else []
        stack.append((value, copy, path, depth + 1))
        return copy
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return _metadata_int(int(value), path)
    if isinstance(value, float):
        return _metadata_float(float(value), path, value)
    return _number(value, path)


def _metadata_int(value: int, path: _Path) -> int:
    if not MIN_METADATA_INT <= value <= MAX_METADATA_INT:
        digits = len(str(abs(value))) if value.bit_length() < 10_000 else "many"
        shown = value if value.bit_length() <= 128 else f"<integer of {digits} digits>"
        _meta_fail(path, shown, "is an integer outside the 64-bit range")
    return value


def _metadata_float(value: float, path: _Path, original: object) -> float:
    if not math.isfinite(value):
        _meta_fail(path, original, "is not a finite number")
    return value


def _number(value: object, path: _Path) -> bool | int | float:
    """Convert a number of another library (a NumPy scalar...) to its JSON equivalent.

    Objects with a NumPy-like ``dtype`` and an empty ``shape`` give their Python value
    through ``item()``; other registered numbers (:mod:`numbers`) convert directly.
    """
    item: object = value
    if hasattr(value, "dtype") and getattr(value, "shape", None) == ():
        try:
            item = value.item()  # type: ignore[attr-defined]
        except (AttributeError, TypeError, ValueError):
            item = value
    if isinstance(item, bool):
        return bool(item)
    if isinstance(item, numbers.Integral):
        return _metadata_int(int(item), path)
    if isinstance(item, numbers.Real):
        try:
            number = float(item)
        except (TypeError, ValueError, OverflowError):
            number = math.inf
        return _metadata_float(number, path, value)
    _meta_fail(path, value, f"is of type {type(value).__name__}, not a JSON value")


def _unencodable(root: dict[str, Any]) -> NoReturn:
    """Find and report the value that json/UTF-8 could not encode."""
    stack: list[tuple[Any, _Path]] = [(root, None)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                stack.extend(((key, (path, key)), (item, (path, key))))
            continue
        if isinstance(value, list):
            stack.extend((v, (path, i)) for i, v in enumerate(value))
            continue
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            _meta_fail(path, value, "contains a lone surrogate, which UTF-8 cannot encode")
        except ValueError:
            _meta_fail(path, "<integer>", "is an integer with too many digits to encode")
    _meta_fail(None, "<object>", "cannot be encoded as JSON")  # pragma: no cover


# -- paths ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedPath:
    """A parsed ``Registry[/Collection[:selector]]`` path.

    Attributes
    ----------
    registry
        The registry name.
    collection
        The collection name, or None for a registry path.
    selector
        ``vN``, an alias or ``latest``; None when omitted (the caller defaults it).
    """

    registry: str
    collection: str | None = None
    selector: str | None = None

    def __post_init__(self) -> None:
        if self.selector is not None and self.collection is None:
            msg = f"path {self.registry!r}: a selector needs a collection"
            raise ValidationError(msg, field="path", value=self.registry)

    def __str__(self) -> str:
        text = self.registry
        if self.collection is not None:
            text += "/" + self.collection
            if self.selector is not None:
                text += ":" + self.selector
        return text


_PATH_RULE = "a path is 'Registry', 'Registry/Collection' or 'Registry/Collection:selector'"


def parse_path(path: object) -> ParsedPath:
    """Parse ``Registry``, ``Registry/Collection`` or ``Registry/Collection:selector``.

    Parameters
    ----------
    path
        The raw value. The registry ends at the first ``/``; the selector starts after
        the last ``:`` of the rest.

    Returns
    -------
    ParsedPath
        The validated, NFC-normalised parts.

    Raises
    ------
    ValidationError
        If the path is not a string or one of its parts is invalid.
    """
    text = _require_str(path, "path", _PATH_RULE)
    registry, slash, rest = text.partition("/")
    if not slash and ":" in registry:
        _fail("path", path, "has a selector but no collection", _PATH_RULE)
    collection: str | None = None
    selector: str | None = None
    try:
        registry = _registry_name(registry, "registry name")
        if slash:
            collection, colon, sel = rest.rpartition(":")
            if not colon:
                collection = sel
            collection = _collection_name(collection, "collection name")
            if colon:
                selector = _selector(sel, "selector")
    except ValidationError as exc:
        msg = f"path {_show(path)}: {exc}"
        raise ValidationError(msg, field="path", value=path) from exc
    return ParsedPath(registry, collection, selector)


def parse_artifact_ref(ref: object) -> tuple[str, str | None]:
    """Parse an artifact reference: ``name``, ``name:v3``, ``name:latest``, ``name:alias``.

    Parameters
    ----------
    ref
        The raw value.

    Returns
    -------
    tuple[str, str | None]
        The validated artifact name and the selector, or None when omitted.

    Raises
    ------
    ValidationError
        If the reference is not a string or one of its parts is invalid.
    """
    rule = "an artifact reference is 'name', 'name:vN' or 'name:alias'"
    text = _require_str(ref, "artifact reference", rule)
    name, colon, sel = text.partition(":")
    try:
        name = _artifact_name(name, "artifact name")
        selector = _selector(sel, "selector") if colon else None
    except ValidationError as exc:
        msg = f"artifact reference {_show(ref)}: {exc}"
        raise ValidationError(msg, field="artifact reference", value=ref) from exc
    return name, selector


_SELECTOR_RULE = f"a selector is vN, latest or an alias ({_ALIAS_RULE})"


def validate_selector(selector: object) -> str:
    """Validate a version selector: ``vN``, ``latest`` or an alias.

    Returns
    -------
    str
        The selector NFC-normalised.

    Raises
    ------
    ValidationError
        If it is not a string, breaks the alias shape or is ``v<digits>`` with a
        leading zero.
    """
    return _selector(selector, "selector")


def _selector(value: object, field: str) -> str:
    text = _selector_shape(value, field, _SELECTOR_RULE)
    version_index(text)  # refuses non-canonical version numbers such as v03
    return text


def version_index(selector: str) -> int | None:
    """Return the version number a selector names, or None for ``latest`` and aliases.

    Parameters
    ----------
    selector
        A selector, e.g. ``"v3"``, ``"latest"`` or ``"production"``.

    Returns
    -------
    int | None
        ``3`` for ``"v3"``; None when the selector is not of the form ``v<digits>``.

    Raises
    ------
    ValidationError
        If the selector is ``v<digits>`` with a leading zero (``v03``): such names are
        reserved, so no alias can have them, and versions are written ``v3``.
    """
    text = _require_str(selector, "selector", _SELECTOR_RULE)
    if not _RESERVED_VERSION.fullmatch(text):
        return None
    if len(text) > MAX_NAME:
        _fail("selector", selector, f"is {len(text)} characters long", _SELECTOR_RULE)
    if not _CANONICAL_VERSION.fullmatch(text):
        canonical = "v" + (text[1:].lstrip("0") or "0")
        _fail("selector", selector, f"has a leading zero; write {canonical!r}", _SELECTOR_RULE)
    return int(text[1:])
