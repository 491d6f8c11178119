"""Validation of the names of registries, collections, users and runs.

Names are NFC-normalised before they are checked and are returned NFC-normalised;
registry, collection and user names are unique under
:func:`~registry_widget.names.normalize_key` (case-insensitively). Each validator takes
the raw value as the caller passed it and returns the cleaned name, or raises
:class:`~registry_widget.errors.ValidationError` naming the field, the value, what is
wrong and what would be allowed. Artifact names, types, aliases, tags and descriptions
are in :mod:`registry_widget.names`.

This module is pure: no I/O, no store access.
"""

from __future__ import annotations

import re

from registry_widget.names import MAX_NAME, NAME_FORBIDDEN, check_name
from registry_widget.text import CONTROL, CONTROL_RE, TEXT_RULE

__all__ = [
    "MAX_REGISTRY_NAME",
    "validate_collection_name",
    "validate_registry_name",
    "validate_run_name",
    "validate_user_name",
]

MAX_REGISTRY_NAME = 113

# Control characters (see registry_widget.text) are refused in every name.
_REGISTRY_FORBIDDEN = re.compile(rf"[/\\#?%:{CONTROL}]")

_REGISTRY_RULE = (
    f"a registry name is 1-{MAX_REGISTRY_NAME} characters, without / \\ # ? % :, control, "
    f"{TEXT_RULE}, and does not start or end with whitespace"
)

_COLLECTION_RULE = (
    f"a collection name is 1-{MAX_NAME} characters, without / :, control, {TEXT_RULE}, "
    "and does not start or end with whitespace"
)

_USER_RULE = (
    f"a user name is 1-{MAX_NAME} characters, without / :, control, {TEXT_RULE}, "
    "and does not start or end with whitespace"
)


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
    return check_name(
        name,
        field="registry name",
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
    return check_name(
        name,
        field="collection name",
        max_len=MAX_NAME,
        forbidden=NAME_FORBIDDEN,
        rule=_COLLECTION_RULE,
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
    return check_name(
        name, field="user name", max_len=MAX_NAME, forbidden=NAME_FORBIDDEN, rule=_USER_RULE
    )


_RUN_NAME_RULE = (
    f"a run name is 1-{MAX_NAME} characters, without control or {TEXT_RULE}, and does "
    "not start or end with whitespace"
)


def validate_run_name(name: object) -> str:
    """Validate a run name and return it NFC-normalised.

    Parameters
    ----------
    name
        The raw value.

    Returns
    -------
    str
        The name, 1-128 characters, without control characters or leading/trailing
        whitespace (several runs may share a name).

    Raises
    ------
    ValidationError
        If the name breaks one of those rules.
    """
    return check_name(
        name, field="run name", max_len=MAX_NAME, forbidden=CONTROL_RE, rule=_RUN_NAME_RULE
    )
