"""A registry's settings page: its types and who uses them, members, the roles to give."""

from __future__ import annotations

from typing import TypedDict

from registry_widget.domain.accepted_types import AcceptedType
from registry_widget.domain.client import Client
from registry_widget.domain.registry import Registry
from registry_widget.permissions import REGISTRY_ROLES, same_user
from registry_widget.widget.can import SettingsCan, settings_can
from registry_widget.widget.views import RegistrySummary, registry_summary
from registry_widget.widget.wording import in_words

__all__ = ["RegistrySettings", "registry_settings"]


class TypeRow(TypedDict):
    """An accepted artifact type of a registry, the collections using it, and whether it may go.

    ``why_kept`` says to a person why the type cannot be removed now (a collection uses it,
    it is a core registry's preconfigured type or the last one), or is None.
    """

    name: str
    used_by: list[str]
    fixed: bool
    why_kept: str | None


class MemberRow(TypedDict):
    """A member of a registry on its settings page."""

    user: str
    role: str
    effective_role: str | None
    you: bool


class RegistrySettings(TypedDict):
    """A registry's settings page: types, members and the roles they may get."""

    registry: RegistrySummary
    user: str
    role: str
    org_role: str
    can: SettingsCan
    types: list[TypeRow] | None
    members: list[MemberRow]
    candidates: list[str]
    roles: list[str]


def _type_row(accepted: AcceptedType, user: str) -> TypeRow:
    refusal = accepted.refusal
    return {
        "name": accepted.name,
        "used_by": accepted.used_by,
        "fixed": accepted.fixed,
        "why_kept": None if refusal is None else in_words(refusal, user) or str(refusal),
    }


def registry_settings(client: Client, reg: Registry) -> RegistrySettings:
    """Describe a registry's settings page: its types (and who uses them), members, roles.

    The core registries' preconfigured types are marked ``fixed``: they can never be removed.
    Why a type cannot be removed now is the domain's refusal, said in the widget's words.
    """
    role = reg.role
    types = reg.accepted_types()
    members: list[MemberRow] = [
        {
            "user": m.user,
            "role": m.role,
            "effective_role": m.effective_role,
            "you": same_user(m.user, client.user),
        }
        for m in reg.members()
    ]
    can = settings_can(reg)
    return {
        "registry": registry_summary(reg),
        "user": client.user,
        "role": role,
        "org_role": client.org_role,
        "can": can,
        "types": None if types is None else [_type_row(t, client.user) for t in types],
        "members": members,
        "candidates": sorted(
            u.name
            for u in client.users()
            if not same_user(u.name, client.user)
            and not any(same_user(u.name, m["user"]) for m in members)
        )
        if can["admin"]
        else [],
        "roles": list(REGISTRY_ROLES),
    }
