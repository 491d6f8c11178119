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

from collections.abc import Callable
from typing import Literal, TypedDict

from registry_widget.domain.client import Client
from registry_widget.domain.registry import Registry
from registry_widget.errors import ValidationError
from registry_widget.widget.protocol import Params, handler
from registry_widget.widget.views import Done

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
            f"registry.delete: type the registry's name {reg.name!r} exactly to confirm; "
            f"got {confirm!r}"
        )
        raise ValidationError(msg, field="confirm", value=confirm)
    reg.delete()
    return {"ok": True}


def _registry_change(name: str, param: str, call: Callable[[Registry, str], None]) -> None:
    """Register the handler of a request that changes one setting of a registry."""

    def handle(client: Client, p: Params) -> Done:
        registry = p.text("name")
        value = p.text(param)
        p.done()
        call(client.registry(registry), value)
        return {"ok": True}

    handle.__doc__ = f"{name}: change one setting of a registry."
    handle.__qualname__ = f"handle[{name}]"
    handler(name)(handle)


_registry_change("registry.type.add", "type", Registry.add_artifact_type)
_registry_change("registry.type.remove", "type", Registry.remove_artifact_type)
_registry_change("registry.protected.add", "alias", Registry.add_protected_alias)
_registry_change("registry.protected.remove", "alias", Registry.remove_protected_alias)
_registry_change("registry.member.remove", "user", Registry.remove_member)


@handler("registry.member.add")
def member_add(client: Client, p: Params) -> Done:
    """Give an organisation user a role in a registry."""
    name = p.text("name")
    user = p.text("user")
    role = p.text("role")
    p.done()
    client.registry(name).add_member(user, role)
    return {"ok": True}


@handler("registry.member.role")
def member_role(client: Client, p: Params) -> Done:
    """Change a member's registry role."""
    name = p.text("name")
    user = p.text("user")
    role = p.text("role")
    p.done()
    client.registry(name).set_role(user, role)
    return {"ok": True}


@handler("org.user.add")
def org_user_add(client: Client, p: Params) -> Done:
    """Add a user to the organisation (organisation admins)."""
    name = p.text("name")
    role = p.text("role", "member")
    p.done()
    client.add_user(name, role=role)
    return {"ok": True}


@handler("org.user.role")
def org_user_role(client: Client, p: Params) -> Done:
    """Change a user's organisation role (organisation admins)."""
    name = p.text("name")
    role = p.text("role")
    p.done()
    client.set_user_role(name, role)
    return {"ok": True}


@handler("org.user.remove")
def org_user_remove(client: Client, p: Params) -> Done:
    """Remove a user from the organisation, with their registry roles (organisation admins)."""
    name = p.text("name")
    p.done()
    client.remove_user(name)
    return {"ok": True}
