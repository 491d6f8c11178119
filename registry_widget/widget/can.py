"""What the widget's user may do, as ``can`` flags the frontend shows controls by.

The frontend keeps no copy of a rule (role order, protected aliases): it shows a control
when its flag is true. The flags come from the same rules the domain enforces
(:mod:`registry_widget.permissions`, :func:`registry_widget.domain.linking.alias_action`), and the
kernel still refuses any request the flags would not have offered.
"""

from __future__ import annotations

from typing import TypedDict

from registry_widget.domain.client import Client
from registry_widget.domain.collection import Collection
from registry_widget.domain.link import Link
from registry_widget.domain.linking import LATEST, alias_action
from registry_widget.domain.registry import Registry
from registry_widget.permissions import Action, allows, org_allows

__all__ = [
    "ArtifactCan",
    "CollectionCan",
    "LinkCan",
    "OrgCan",
    "RegistryCan",
    "SettingsCan",
    "artifact_can",
    "collection_can",
    "link_can",
    "org_can",
    "registry_can",
    "settings_can",
]


class OrgCan(TypedDict):
    """Organisation-wide controls."""

    create_registry: bool
    manage_users: bool


class RegistryCan(TypedDict):
    """Controls on a registry page."""

    create_collection: bool
    administer: bool


class SettingsCan(TypedDict):
    """Controls on a registry's settings page.

    ``admin``: types, protected aliases and members; ``edit``: name and description;
    ``restrict``: make it visible to members only; ``delete``: delete it. A core registry's
    name, description and visibility are preconfigured, and it cannot be deleted.
    """

    admin: bool
    write: bool
    edit: bool
    restrict: bool
    delete: bool


class CollectionCan(TypedDict):
    """Controls on a collection page."""

    link: bool
    edit: bool
    set_alias: bool
    delete: bool
    download: bool


class ArtifactCan(TypedDict):
    """Controls on an artifact version."""

    edit_artifact: bool


class LinkCan(TypedDict):
    """Controls on a linked version; ``remove_alias`` lists the aliases it may remove."""

    unlink: bool
    set_alias: bool
    remove_alias: list[str]
    edit: bool
    download: bool


def org_can(org_role: str | None) -> OrgCan:
    """Organisation-wide controls: creating registries, managing users."""
    return {
        "create_registry": org_allows(org_role, "member"),
        "manage_users": org_allows(org_role, "admin"),
    }


def registry_can(reg: Registry) -> RegistryCan:
    """Controls on a registry page."""
    role = reg.role
    return {
        "create_collection": allows(role, Action.WRITE),
        "administer": allows(role, Action.ADMIN),
    }


def settings_can(reg: Registry) -> SettingsCan:
    """Controls on a registry's settings page."""
    admin = allows(reg.role, Action.ADMIN)
    custom = admin and reg.kind != "core"
    return {
        "admin": admin,
        "write": allows(reg.role, Action.WRITE),
        "edit": custom,
        "restrict": custom and reg.visibility != "restricted",
        "delete": custom,
    }


def collection_can(coll: Collection) -> CollectionCan:
    """Controls on a collection page: link, edit, set aliases, delete, download.

    Deleting a collection that holds a protected alias is for admins only.
    """
    reg = coll.registry
    role = reg.role
    return {
        "link": allows(role, Action.WRITE),
        "edit": allows(role, Action.WRITE),
        "set_alias": allows(role, Action.WRITE),
        "delete": allows(role, alias_action(reg.protected_aliases, coll.aliases)),
        "download": allows(role, Action.USE),
    }


def artifact_can(client: Client) -> ArtifactCan:
    """Controls on an artifact version: editing its description and tags."""
    me = next((u for u in client.users() if u.name == client.user), None)
    return {"edit_artifact": org_allows(None if me is None else me.role, "member")}


def link_can(link: Link, role: str | None, protected: list[str]) -> LinkCan:
    """Controls on a linked version: unlink, set an alias, which aliases it may remove.

    ``latest`` is never offered for removal: it follows the newest version by itself.
    """
    return {
        "unlink": allows(role, alias_action(protected, link.aliases)),
        "set_alias": allows(role, Action.WRITE),
        "remove_alias": [
            a for a in link.aliases if a != LATEST and allows(role, alias_action(protected, [a]))
        ],
        "edit": allows(role, Action.WRITE),
        "download": allows(role, Action.USE),
    }
