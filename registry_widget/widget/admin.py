"""Request handlers for administration: a registry's settings and the organisation's users.

Like every handler, these only translate between JSON and the domain API. Whether the user
may change a setting is decided by the domain, so a request forged in the browser is
refused with the same ``PermissionDeniedError`` as the same call from a notebook cell. The
``can`` flags of ``settings.get`` and ``org.get`` (in :mod:`.reads`) only decide which
controls the pages show.

A change answers ``ok`` (and a renamed registry's new name, the page to go to); the settings
page refetches what it shows when the store's revision moves.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from registry_widget.domain.client import Client
from registry_widget.errors import ValidationError
from registry_widget.widget.protocol import Done, Params, change_handler, handler

__all__ = ["Renamed"]


class Renamed(TypedDict):
    """A registry's settings were changed: its name now (the page to stay on)."""

    ok: Literal[True]
    name: str


@handler("registry.update")
def registry_update(client: Client, p: Params) -> Renamed:
    """Rename, describe or restrict a registry; answers its name after the change."""
    name = p.text("name")
    new_name = p.opt_text("new_name")
    description = p.opt_text("description")
    visibility = p.opt_text("visibility")
    p.done()
    reg = client.registry(name)
    reg.update(name=new_name, description=description, visibility=visibility)
    return {"ok": True, "name": reg.name}


@handler("registry.delete")
def registry_delete(client: Client, p: Params) -> Done:
    """Delete a registry; ``confirm`` must repeat its name exactly."""
    name = p.text("name")
    confirm = p.text("confirm", "")
    p.done()
    reg = client.registry(name)
    if confirm != reg.name:
        msg = (
            f"To delete the registry, type its name “{reg.name}” exactly to confirm; "
            f"“{confirm}” does not match it."
        )
        raise ValidationError(msg, field="confirm", value=confirm)
    reg.delete()
    return {"ok": True}


@change_handler("registry.type.add", "name", "type")
def type_add(client: Client, name: str, type_: str) -> None:
    """Let a registry accept one more artifact type."""
    client.registry(name).add_artifact_type(type_)


@change_handler("registry.type.remove", "name", "type")
def type_remove(client: Client, name: str, type_: str) -> None:
    """Stop a registry accepting an artifact type, while no collection uses it."""
    client.registry(name).remove_artifact_type(type_)


@change_handler("registry.protected.add", "name", "alias")
def protected_add(client: Client, name: str, alias: str) -> None:
    """Protect an alias in a registry: only its admins may then set, move or remove it."""
    client.registry(name).add_protected_alias(alias)


@change_handler("registry.protected.remove", "name", "alias")
def protected_remove(client: Client, name: str, alias: str) -> None:
    """Stop protecting an alias in a registry."""
    client.registry(name).remove_protected_alias(alias)


@change_handler("registry.member.add", "name", "user", "role")
def member_add(client: Client, name: str, user: str, role: str) -> None:
    """Give an organisation user a role in a registry."""
    client.registry(name).add_member(user, role)


@change_handler("registry.member.role", "name", "user", "role")
def member_role(client: Client, name: str, user: str, role: str) -> None:
    """Change a member's registry role."""
    client.registry(name).set_role(user, role)


@change_handler("registry.member.remove", "name", "user")
def member_remove(client: Client, name: str, user: str) -> None:
    """Take a member's registry role away."""
    client.registry(name).remove_member(user)


@handler("org.user.add")
def org_user_add(client: Client, p: Params) -> Done:
    """Add a user to the organisation (organisation admins)."""
    name = p.text("name")
    role = p.text("role", "member")
    p.done()
    client.add_user(name, role=role)
    return {"ok": True}


@change_handler("org.user.role", "name", "role")
def org_user_role(client: Client, name: str, role: str) -> None:
    """Change a user's organisation role (organisation admins)."""
    client.set_user_role(name, role)


@change_handler("org.user.remove", "name")
def org_user_remove(client: Client, name: str) -> None:
    """Remove a user from the organisation, with their registry roles (organisation admins)."""
    client.remove_user(name)
