"""Validation of artifact names, types, aliases, tags and descriptions: the text rules.

Every validator takes the raw value as the caller passed it (possibly of the wrong type)
and returns the cleaned value, or raises :class:`~registry_widget.errors.ValidationError`
whose message names the field, shows the offending value, says what is wrong and what
would be allowed. Names are NFC-normalised before they are checked and are returned
NFC-normalised. The shape every name shares (:func:`check_name`) and the
case-insensitive key under which registry, collection and user names are unique
(:func:`normalize_key`) are here too; those names themselves are checked in
:mod:`registry_widget.entity_names`, roles, visibilities and pages in
:mod:`registry_widget.choices`. The character checks every text field shares (control,
invisible and bidirectional characters, lone surrogates) and the wording of a refusal
are in :mod:`registry_widget.text`. Paths and selectors are parsed in
:mod:`registry_widget.paths`, metadata is checked in :mod:`registry_widget.metadata`.

This module is pure: no I/O, no store access.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from registry_widget.text import (
    CONTROL,
    TEXT_RULE,
    char,
    check_visible,
    fail,
    nfc_text,
    refuse_surrogates,
    require_str,
)

__all__ = [
    "MAX_NAME",
    "NAME_FORBIDDEN",
    "check_name",
    "is_reserved_alias",
    "known_artifact_type",
    "normalize_key",
    "validate_alias",
    "validate_artifact_name",
    "validate_artifact_type",
    "validate_artifact_types",
    "validate_description",
    "validate_tag",
    "validate_tags",
]

MAX_NAME = 128
MAX_DESCRIPTION = 65_536

# Control characters (see registry_widget.text) are refused in every name.
NAME_FORBIDDEN = re.compile(rf"[/:{CONTROL}]")
"""What no collection name, user name, artifact type or alias may contain."""
_ARTIFACT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_TAG = re.compile(r"[-\w]+( +[-\w]+)*")
_TYPE = re.compile(r"[-\w.]+( [-\w.]+)*")
_TYPE_CHAR = re.compile(r"[-\w. ]")
_RESERVED_VERSION = re.compile(r"v[0-9]+")

_ARTIFACT_NAME_RULE = (
    f"an artifact name is 1-{MAX_NAME} characters from A-Z a-z 0-9 _ . - (and is not '.' or '..')"
)
_TYPE_RULE = (
    f"an artifact type is 1-{MAX_NAME} characters: words of letters, digits, _ . or - "
    "separated by single spaces (e.g. 'model', 'eval-set', 'onnx.v2'), without "
    f"{TEXT_RULE}"
)
_ALIAS_RULE = (
    f"an alias is 1-{MAX_NAME} characters, without / :, control, {TEXT_RULE}, does not "
    "start or end with whitespace, and is not 'latest' or v<digits>"
)
_TAG_RULE = (
    f"a tag is at most {MAX_NAME} characters: words of letters, digits, _ or -, "
    "separated by single or multiple spaces (e.g. 'baseline', 'fine-tuned v2'), without "
    f"{TEXT_RULE}"
)


def check_name(
    value: object,
    *,
    field: str,
    max_len: int,
    forbidden: re.Pattern[str],
    rule: str,
    strip: bool = True,
) -> str:
    """Check the common shape of names: NFC, length, forbidden characters, whitespace.

    Returns the NFC-normalised text, or raises ``ValidationError`` for ``field`` with
    ``rule`` (what would be allowed) in its message.
    """
    text = nfc_text(value, field, rule)
    if not text:
        fail(field, value, "is empty", rule)
    if len(text) > max_len:
        fail(field, value, f"is {len(text)} characters long (at most {max_len})", rule)
    bad = forbidden.search(text)
    if bad:
        problem = f"contains {char(bad.group())} at position {bad.start()}"
        fail(field, value, problem, rule, "bad_character", text=text, char=bad.group())
    check_visible(text, value, field, rule)
    if strip and text.strip() != text:
        fail(field, value, "starts or ends with whitespace", rule)
    return text


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
    text = require_str(name, "name", "a name is a string")
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


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
    field = "artifact name"
    text = require_str(name, field, _ARTIFACT_NAME_RULE)
    if not text:
        fail(field, name, "is empty", _ARTIFACT_NAME_RULE)
    if len(text) > MAX_NAME:
        fail(field, name, f"is {len(text)} characters long", _ARTIFACT_NAME_RULE)
    if not _ARTIFACT_NAME.fullmatch(text):
        bad = next(ch for ch in text if not _ARTIFACT_NAME.fullmatch(ch))
        fail(field, name, f"contains {char(bad)}", _ARTIFACT_NAME_RULE)
    if text in {".", ".."}:
        fail(field, name, "is a relative directory name", _ARTIFACT_NAME_RULE)
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
    text = check_name(t, field=field, max_len=MAX_NAME, forbidden=NAME_FORBIDDEN, rule=_TYPE_RULE)
    if not _TYPE.fullmatch(text):
        bad = next((i for i, ch in enumerate(text) if not _TYPE_CHAR.fullmatch(ch)), None)
        if bad is None:
            fail(field, t, "separates words with more than one space", _TYPE_RULE)
        fail(field, t, f"contains {char(text[bad])} at position {bad}", _TYPE_RULE)
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
    return nfc_text(t, "artifact type", rule)


def _refuse_lone_str(value: object, field: str, rule: str) -> Iterable[object]:
    if isinstance(value, (str, bytes)):
        fail(field, value, f"is a single string; pass a list such as [{value!r}]", rule)
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        fail(field, value, f"is of type {type(value).__name__}, not a list", rule)
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
        fail("artifact types", types, "is empty", rule)
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
        fail("alias", alias, "is reserved: the system maintains it", _ALIAS_RULE)
    if _RESERVED_VERSION.fullmatch(text):
        fail("alias", alias, "is reserved: v<digits> names versions", _ALIAS_RULE)
    return text


def _selector_shape(value: object, field: str, rule: str) -> str:
    return check_name(value, field=field, max_len=MAX_NAME, forbidden=NAME_FORBIDDEN, rule=rule)


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
    text = nfc_text(tag, field, _TAG_RULE)
    if len(text) > MAX_NAME:
        fail(field, tag, f"is {len(text)} characters long", _TAG_RULE)
    check_visible(text, tag, field, _TAG_RULE)
    if not _TAG.fullmatch(text):
        fail(field, tag, "is not made of words separated by spaces", _TAG_RULE)
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
    value = require_str(text, field, rule)
    if len(value) > MAX_DESCRIPTION:
        fail(field, text, f"is {len(value):,} characters long", rule)
    refuse_surrogates(value, text, field, rule)
    if "\x00" in value:
        fail(field, text, f"contains NUL at position {value.index(chr(0))}", rule)
    return value
