"""Request handlers for running a registry: settings, members, history, comparison, lineage.

Like :mod:`registry_widget.widget.api`, these handlers only translate between JSON and the
domain API. Whether the user may change a setting is decided by the domain, so a request
forged in the browser is refused with the same ``PermissionDeniedError`` as the same call
from a notebook cell. The ``can`` flags sent with the settings only decide which controls
the page shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from registry_widget.errors import ValidationError
from registry_widget.permissions import ORG_ROLES, REGISTRY_ROLES, same_user
from registry_widget.widget.protocol import Handler, Params
from registry_widget.widget.views import clip, find_link, registry_summary

__all__ = ["ADMIN_HANDLERS", "HISTORY_KINDS", "flatten_metadata"]

ADMIN_HANDLERS: dict[str, Handler] = {}
"""Method name to handler, merged into the widget's dispatcher."""

_F = TypeVar("_F", bound=Handler)

CORE_TYPES = {"Models": "model", "Datasets": "dataset"}
"""The preconfigured type of each core registry (SPEC §3), which can never be removed."""

HISTORY_KINDS = ("registry", "collection", "link", "alias", "artifact")
"""The kinds of change the history can be filtered by (prefixes of the actions)."""

_SCOPE_KINDS = {
    "registry": ("registry", "collection", "link", "alias"),
    "collection": ("collection", "link", "alias"),
    "version": ("link", "alias", "artifact"),
}

_RANK = {role: rank for rank, role in enumerate(REGISTRY_ROLES)}
_MAX_KEYS = 200
_MAX_VERSIONS = 500
_VALUE_CHARS = 300


def _handler(name: str) -> Callable[[_F], _F]:
    def register(fn: _F) -> _F:
        ADMIN_HANDLERS[name] = fn
        return fn

    return register


def _at_least(role: str, minimal: str) -> bool:
    return _RANK[role] >= _RANK[minimal]


# -- settings ---------------------------------------------------------------------------------


def _settings(client: Any, reg: Any) -> dict[str, Any]:
    role = reg.role
    used: dict[str, list[str]] = {}
    for coll in reg.collections():
        used.setdefault(coll.type, []).append(coll.name)
    types = reg.artifact_types
    fixed = CORE_TYPES.get(reg.name) if reg.kind == "core" else None
    members = [
        {
            "user": m.user,
            "role": m.role,
            "effective_role": m.effective_role,
            "you": same_user(m.user, client.user),
        }
        for m in reg.members()
    ]
    is_admin = _at_least(role, "admin")
    return {
        "registry": registry_summary(reg),
        "user": client.user,
        "role": role,
        "org_role": client.org_role,
        "can": {"admin": is_admin, "write": _at_least(role, "member")},
        "types": None
        if types is None
        else [{"name": t, "used_by": sorted(used.get(t, [])), "fixed": t == fixed} for t in types],
        "members": members,
        "candidates": sorted(
            u.name
            for u in client.users()
            if not same_user(u.name, client.user)
            and not any(same_user(u.name, m["user"]) for m in members)
        )
        if is_admin
        else [],
        "roles": list(REGISTRY_ROLES),
    }


@_handler("settings.get")
def settings_get(client: Any, p: Params) -> dict[str, Any]:
    """Return a registry's settings: types (with the collections using them), members, roles."""
    name = p.text("name")
    p.done()
    return _settings(client, client.registry(name))


@_handler("registry.update")
def registry_update(client: Any, p: Params) -> dict[str, Any]:
    """Rename, describe or restrict a registry; returns its settings under the new name."""
    name = p.text("name")
    new_name = p.opt_text("new_name")
    description = p.opt_text("description")
    visibility = p.opt_text("visibility")
    p.done()
    reg = client.registry(name)
    reg.update(name=new_name, description=description, visibility=visibility)
    return _settings(client, reg)


@_handler("registry.delete")
def registry_delete(client: Any, p: Params) -> dict[str, Any]:
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
    return {"deleted": name}


def _registry_change(name: str, call: Callable[[Any, str], None], param: str) -> Handler:
    def handle(client: Any, p: Params) -> dict[str, Any]:
        registry = p.text("name")
        value = p.text(param)
        p.done()
        reg = client.registry(registry)
        call(reg, value)
        return _settings(client, reg)

    handle.__doc__ = f"{name}: change one setting of a registry and return its settings."
    return handle


ADMIN_HANDLERS.update(
    {
        "registry.type.add": _registry_change(
            "registry.type.add", lambda r, v: r.add_artifact_type(v), "type"
        ),
        "registry.type.remove": _registry_change(
            "registry.type.remove", lambda r, v: r.remove_artifact_type(v), "type"
        ),
        "registry.protected.add": _registry_change(
            "registry.protected.add", lambda r, v: r.add_protected_alias(v), "alias"
        ),
        "registry.protected.remove": _registry_change(
            "registry.protected.remove", lambda r, v: r.remove_protected_alias(v), "alias"
        ),
        "registry.member.remove": _registry_change(
            "registry.member.remove", lambda r, v: r.remove_member(v), "user"
        ),
    }
)


@_handler("registry.member.add")
def member_add(client: Any, p: Params) -> dict[str, Any]:
    """Give an organisation user a role in a registry."""
    name = p.text("name")
    user = p.text("user")
    role = p.text("role")
    p.done()
    reg = client.registry(name)
    reg.add_member(user, role)
    return _settings(client, reg)


@_handler("registry.member.role")
def member_role(client: Any, p: Params) -> dict[str, Any]:
    """Change a member's registry role."""
    name = p.text("name")
    user = p.text("user")
    role = p.text("role")
    p.done()
    reg = client.registry(name)
    reg.set_role(user, role)
    return _settings(client, reg)


# -- organisation -----------------------------------------------------------------------------


@_handler("org.get")
def org_get(client: Any, p: Params) -> dict[str, Any]:
    """Return the organisation's users and the current user's organisation role."""
    p.done()
    users = client.users()
    return {
        "user": client.user,
        "role": client.org_role,
        "users": [
            {
                "name": u.name,
                "role": u.role,
                "created_at": u.created_at,
                "you": same_user(u.name, client.user),
            }
            for u in users
        ],
        "roles": list(ORG_ROLES),
    }


@_handler("org.user.add")
def org_user_add(client: Any, p: Params) -> dict[str, Any]:
    """Add a user to the organisation (organisation admins)."""
    name = p.text("name")
    role = p.text("role", "member")
    p.done()
    client.add_user(name, role=role)
    return org_get(client, Params("org.get", {}))


@_handler("org.user.role")
def org_user_role(client: Any, p: Params) -> dict[str, Any]:
    """Change a user's organisation role (organisation admins)."""
    name = p.text("name")
    role = p.text("role")
    p.done()
    client.set_user_role(name, role)
    return org_get(client, Params("org.get", {}))


@_handler("org.user.remove")
def org_user_remove(client: Any, p: Params) -> dict[str, Any]:
    """Remove a user from the organisation, with their registry roles (organisation admins)."""
    name = p.text("name")
    p.done()
    client.remove_user(name)
    return org_get(client, Params("org.get", {}))


# -- history ----------------------------------------------------------------------------------


def _history_source(client: Any, scope: str, path: str) -> Callable[..., list[Any]]:
    if scope == "registry":
        return client.registry(path).history  # type: ignore[no-any-return]
    if scope == "collection":
        registry, _, name = path.partition("/")
        return client.registry(registry).collection(name).history  # type: ignore[no-any-return]
    if scope == "version":
        link = find_link(client, path)
        art = link.artifact

        def both(*, action: str | None = None) -> list[Any]:
            # The link's own changes, and the artifact version's (logged, edited). The
            # artifact's history also lists its links everywhere, including registries the
            # user may not see, so only its "artifact.*" entries are taken from it.
            own = art.history(action="artifact") if action in (None, "artifact") else []
            entries = [*link.history(action=action), *own]
            return sorted(entries, key=lambda e: e.at, reverse=True)

        return both
    msg = f"history: unknown scope {scope!r}; allowed: registry, collection, version"
    raise ValidationError(msg, field="scope", value=scope)


def _value(value: Any) -> Any:
    state = {"clipped": False}
    out = clip(value, state)
    if isinstance(out, str) and len(out) > _VALUE_CHARS:
        return out[:_VALUE_CHARS] + "…"
    return out


@_handler("history.get")
def history_get(client: Any, p: Params) -> dict[str, Any]:
    """Return one page of a registry's, collection's or version's history, newest first.

    ``kind`` keeps one kind of change (an action prefix such as ``"alias"``).
    """
    scope = p.text("scope")
    path = p.text("path")
    kind = p.opt_text("kind")
    offset = p.integer("offset", 0, high=10**9)
    limit = p.integer("limit", 25, low=1, high=200)
    p.done()
    if kind is not None and kind not in HISTORY_KINDS:
        msg = f"history: unknown kind of change {kind!r}; allowed: {', '.join(HISTORY_KINDS)}"
        raise ValidationError(msg, field="kind", value=kind)
    source = _history_source(client, scope, path)
    # The domain pages the history but does not count it: read the filtered list once.
    entries = source(action=kind)
    page = entries[offset : offset + limit]
    return {
        "items": [
            {
                "at": e.at,
                "user": e.user,
                "action": e.action,
                "target": e.target,
                "before": _value(e.before),
                "after": _value(e.after),
            }
            for e in page
        ],
        "total": len(entries),
        "offset": offset,
        "limit": limit,
        "kinds": list(_SCOPE_KINDS[scope]),
    }


# -- comparison -------------------------------------------------------------------------------


def flatten_metadata(metadata: Any, *, max_keys: int = _MAX_KEYS) -> dict[str, Any]:
    """Flatten nested metadata into ``{"dotted.path": scalar}`` for side-by-side display.

    Lists of scalars become one text value; non-finite numbers become None; at most
    ``max_keys`` keys are kept (in the metadata's order).

    Parameters
    ----------
    metadata
        A JSON object.
    max_keys
        The most keys to return.
    """
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if len(out) >= max_keys:
            return
        if isinstance(value, dict):
            for key, child in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), child)
        elif isinstance(value, list):
            out[prefix] = _value(", ".join(map(str, value)))
        elif isinstance(value, float) and not math.isfinite(value):
            out[prefix] = None
        elif isinstance(value, str):
            out[prefix] = _value(value)
        else:
            out[prefix] = value

    walk("", metadata if isinstance(metadata, dict) else {})
    return out


def _aliases(names: Iterable[str], protected: set[str]) -> list[dict[str, Any]]:
    return [{"name": a, "protected": a in protected} for a in names]


@_handler("compare.get")
def compare_get(client: Any, p: Params) -> dict[str, Any]:
    """Return a collection's versions, oldest first, with flattened metadata and aliases."""
    path = p.text("path")
    p.done()
    registry, _, name = path.partition("/")
    coll = client.registry(registry).collection(name)
    protected = set(coll.registry.protected_aliases)
    links = coll.versions(limit=_MAX_VERSIONS)
    return {
        "path": coll.path,
        "total": coll.count,
        "shown": len(links),
        "versions": [
            {
                "version": link.version,
                "index": link.index,
                "path": link.path,
                "aliases": _aliases(link.aliases, protected),
                "created_at": link.created_at,
                "metadata": flatten_metadata(link.metadata),
            }
            for link in reversed(links)
        ],
    }


# -- lineage ----------------------------------------------------------------------------------


@_handler("lineage.get")
def lineage_get(client: Any, p: Params) -> dict[str, Any]:
    """Return where a linked version's artifact is linked: registries, collections, aliases."""
    path = p.text("path")
    p.done()
    link = find_link(client, path)
    art = link.artifact
    registries: dict[str, dict[str, Any]] = {}
    for other in art.links():
        coll = other.collection
        reg = coll.registry
        entry = registries.setdefault(
            reg.name,
            {
                "name": reg.name,
                "kind": reg.kind,
                "visibility": reg.visibility,
                "protected": set(reg.protected_aliases),
                "collections": {},
            },
        )
        entry["collections"].setdefault(coll.name, []).append(
            {
                "version": other.version,
                "path": other.path,
                "aliases": _aliases(other.aliases, entry["protected"]),
                "current": other.path == link.path,
            }
        )
    return {
        "artifact": {"ref": f"{art.name}:{art.version}", "type": art.type},
        "registries": [
            {
                "name": r["name"],
                "kind": r["kind"],
                "visibility": r["visibility"],
                "collections": [
                    {"name": c, "path": f"{r['name']}/{c}", "links": links}
                    for c, links in sorted(r["collections"].items())
                ],
            }
            for r in sorted(registries.values(), key=lambda r: r["name"])
        ],
    }
