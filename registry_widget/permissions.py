"""Roles and what they allow (SPEC §3): pure rules, no store access.

Effective role on a registry = the highest of the user's organisation role and registry
role. Organisation admins are admins everywhere; on an ``organization`` registry every
organisation user is at least a viewer; a ``restricted`` registry exists only for its
members (and organisation admins).
"""

from __future__ import annotations

from enum import Enum

from registry_widget.errors import PermissionDeniedError

__all__ = [
    "ORG_ROLES",
    "REGISTRY_ROLES",
    "Action",
    "allows",
    "effective_role",
    "org_allows",
    "require",
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

    @property
    def label(self) -> str:
        """Words for messages."""
        return {
            "restricted_viewer": "see",
            "viewer": "download or use files from",
            "member": "change collections, links, tags or aliases in",
            "admin": "administer",
        }[self.value]


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
    raise PermissionDeniedError(msg)
