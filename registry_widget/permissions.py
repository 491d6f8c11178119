"""Roles and what they allow (SPEC §3): pure rules, no store access.

Effective role on a registry = the highest of the user's organisation role and registry
role. Organisation admins are admins everywhere; on an ``organization`` registry every
organisation user is at least a viewer; a ``restricted`` registry exists only for its
members (and organisation admins).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum

from registry_widget.errors import ConflictError, PermissionDeniedError
from registry_widget.names import normalize_key

__all__ = [
    "ORG_ROLES",
    "REGISTRY_ROLES",
    "Action",
    "allows",
    "artifact_role",
    "effective_role",
    "may_edit_artifact",
    "member_keys",
    "member_role",
    "name_unavailable",
    "org_allows",
    "require",
    "same_user",
]

ORG_ROLES = ("admin", "member", "viewer")
REGISTRY_ROLES = ("restricted_viewer", "viewer", "member", "admin")
_RANK = {role: rank for rank, role in enumerate(REGISTRY_ROLES)}


class Action(str, Enum):
    """What a user may do in a registry; the value is the minimal role that may do it."""

    SEE = "restricted_viewer"
    """See the registry, its collections, versions, metadata and history."""
    USE = "viewer"
    """Download and use files."""
    WRITE = "member"
    """Create/delete collections, link/unlink, edit descriptions and tags, set/move
    non-protected aliases."""
    ADMIN = "admin"
    """Protected aliases, accepted types, visibility, members and roles, rename, delete."""


def same_user(a: str, b: str) -> bool:
    """Whether two user names name the same user.

    User names compare like registry names (NFC, case-insensitive), in the organisation,
    membership, creators and history alike.
    """
    return a == b or normalize_key(a) == normalize_key(b)


def member_keys(members: Mapping[str, str], user: str) -> list[str]:
    """The entries of a registry's ``members`` map that belong to ``user``.

    Maps are keyed by the spelling stored when the member was added; stores written
    before names compared case-insensitively may hold several spellings of one user.
    """
    key = normalize_key(user)
    return [name for name in members if name == user or normalize_key(name) == key]


def member_role(members: Mapping[str, str], user: str) -> str | None:
    """``user``'s registry role in a ``members`` map (the highest, if spelt several ways)."""
    roles = [members[name] for name in member_keys(members, user)]
    return max(roles, key=_RANK.__getitem__) if roles else None


def effective_role(org_role: str, registry_role: str | None, visibility: str) -> str | None:
    """The user's effective role on a registry, or None when it is invisible to them."""
    if org_role == "admin":
        return "admin"
    if visibility == "restricted":
        return registry_role
    candidates = [org_role if org_role in _RANK else "viewer", "viewer"]
    if registry_role is not None:
        candidates.append(registry_role)
    return max(candidates, key=_RANK.__getitem__)


def artifact_role(registry_roles: Iterable[str | None]) -> str | None:
    """A user's role on an artifact version, from their roles on the registries it is in.

    A version inherits the visibility of the registries it is linked into: the best of
    the user's roles there (None: it is invisible to them). A version linked nowhere is
    the organisation's: every organisation user may see and download it.
    """
    roles = list(registry_roles)
    if not roles:
        return "viewer"
    visible = [role for role in roles if role is not None]
    return max(visible, key=_RANK.__getitem__) if visible else None


def may_edit_artifact(
    registry_roles: Iterable[str | None], *, creator: bool, org_role: str
) -> bool:
    """Whether a user may edit an artifact version's description and tags.

    They need ``member`` in every registry it is linked into; while it is linked nowhere,
    only its creator (or an organisation admin) may.
    """
    roles = list(registry_roles)
    if not roles:
        return creator or org_role == "admin"
    return all(allows(role, Action.WRITE) for role in roles)


def name_unavailable(name: str) -> ConflictError:
    """The refusal of a registry name that a registry the user may not see holds.

    It names neither that registry nor its existence (SPEC §10).
    """
    msg = (
        f"the registry name {name!r} is not available (registry names are unique, "
        "compared case-insensitively); choose another name"
    )
    return ConflictError(msg)


def allows(role: str | None, action: Action) -> bool:
    """Whether ``role`` may perform ``action``."""
    return role is not None and _RANK[role] >= _RANK[action.value]


def org_allows(org_role: str | None, minimal: str) -> bool:
    """Whether organisation role ``org_role`` is at least ``minimal`` (viewer < member < admin)."""
    order = ORG_ROLES[::-1]
    return org_role in order and order.index(org_role) >= order.index(minimal)


def require(role: str | None, action: Action, *, user: str, registry: str, what: str) -> None:
    """Raise :class:`PermissionDeniedError` unless ``role`` allows ``action``."""
    if allows(role, action):
        return
    msg = (
        f"user {user!r} may not {what}: that needs the {action.value!r} role on registry "
        f"{registry!r}, and their role there is {role!r}. A registry admin can change it "
        f"with registry.set_role({user!r}, {action.value!r})"
    )
    raise PermissionDeniedError(msg).with_code(
        "role_needed", user=user, registry=registry, needed=action.value, role=role, what=what
    )
