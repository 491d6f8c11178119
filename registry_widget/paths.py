"""Parsing of registry paths and selectors, and validation of the file paths in artifacts.

``Registry[/Collection[:selector]]`` paths, ``name[:selector]`` artifact references,
version selectors (``vN``, ``latest`` or an alias) and the relative POSIX paths of the
files inside an artifact. Errors are :class:`~registry_widget.errors.ValidationError`
worded as in :mod:`registry_widget.text`; the parts of a path follow the name rules of
:mod:`registry_widget.names`.

This module is pure: no I/O, no store access.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from registry_widget.entity_names import validate_collection_name, validate_registry_name
from registry_widget.errors import ValidationError
from registry_widget.names import (
    _ALIAS_RULE,
    _RESERVED_VERSION,
    MAX_NAME,
    _selector_shape,
    validate_artifact_name,
)
from registry_widget.text import (
    CONTROL_RE,
    char,
    fail,
    refuse_surrogates,
    require_str,
    show,
)

__all__ = [
    "ParsedPath",
    "parse_artifact_ref",
    "parse_path",
    "validate_relpath",
    "validate_selector",
    "version_index",
]

MAX_RELPATH = 1024

_CANONICAL_VERSION = re.compile(r"v(?:0|[1-9][0-9]*)")
_DRIVE = re.compile(r"[A-Za-z]:")
_RELPATH_RULE = (
    f"a file path is a relative POSIX path of 1-{MAX_RELPATH} characters such as "
    "'weights/model.pt': no leading '/', no drive letter, no backslash, no empty, '.' "
    "or '..' segments, no control characters"
)


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
    text = require_str(path, "path", _PATH_RULE)
    registry, slash, rest = text.partition("/")
    if not slash and ":" in registry:
        fail("path", path, "has a selector but no collection", _PATH_RULE)
    collection: str | None = None
    selector: str | None = None
    try:
        registry = validate_registry_name(registry)
        if slash:
            collection, colon, sel = rest.rpartition(":")
            if not colon:
                collection = sel
            collection = validate_collection_name(collection)
            if colon:
                selector = validate_selector(sel)
    except ValidationError as exc:
        msg = f"path {show(path)}: {exc}"
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
    text = require_str(ref, "artifact reference", rule)
    name, colon, sel = text.partition(":")
    try:
        name = validate_artifact_name(name)
        selector = validate_selector(sel) if colon else None
    except ValidationError as exc:
        msg = f"artifact reference {show(ref)}: {exc}"
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
    text = _selector_shape(selector, "selector", _SELECTOR_RULE)
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
    text = require_str(selector, "selector", _SELECTOR_RULE)
    if not _RESERVED_VERSION.fullmatch(text):
        return None
    if len(text) > MAX_NAME:
        fail("selector", selector, f"is {len(text)} characters long", _SELECTOR_RULE)
    if not _CANONICAL_VERSION.fullmatch(text):
        canonical = "v" + (text[1:].lstrip("0") or "0")
        fail("selector", selector, f"has a leading zero; write {canonical!r}", _SELECTOR_RULE)
    return int(text[1:])


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
    text = require_str(path, field, rule)
    if not text:
        fail(field, path, "is empty", rule)
    if len(text) > MAX_RELPATH:
        fail(field, path, f"is {len(text)} characters long", rule)
    bad = CONTROL_RE.search(text)
    if bad:
        fail(field, path, f"contains {char(bad.group())} at position {bad.start()}", rule)
    refuse_surrogates(text, path, field, rule)
    if "\\" in text:
        fail(field, path, "contains a backslash (a Windows separator)", rule)
    if text.startswith("//"):
        fail(field, path, "is a UNC path", rule)
    if text.startswith("/"):
        fail(field, path, "is absolute", rule)
    if _DRIVE.match(text):
        fail(field, path, "starts with a drive letter", rule)
    for segment in text.split("/"):
        if segment in {"", ".", ".."}:
            problem = f"has a {segment!r} segment" if segment else "has an empty segment"
            fail(field, path, problem, rule)
    return text
