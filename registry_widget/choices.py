"""Validation of the choices a call makes: a role, a registry's visibility, a page.

Each validator takes the raw value as the caller passed it and returns it checked, or
raises :class:`~registry_widget.errors.ValidationError` naming the field, the value and
what is allowed. Which roles there are, and what they allow, is in
:mod:`registry_widget.permissions`.

This module is pure: no I/O, no store access.
"""

from __future__ import annotations

from collections.abc import Sequence

from registry_widget.text import fail

__all__ = ["VISIBILITIES", "validate_page", "validate_role", "validate_visibility"]

VISIBILITIES = ("organization", "restricted")


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
        fail(field, role, "is not a known role", rule)
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
        fail("visibility", v, "is not a visibility", "allowed: organization, restricted")
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
            fail(field, value, "is not a non-negative int", f"a {field} is an int >= 0 or None")
        checked.append(None if value is None else int(value))
    return checked[0], checked[1] or 0
