"""The organisation's users: who may open the store, with which organisation role.

The first user of a new store is its admin; organisation admins add users, change
their roles and remove them (with their registry roles). A user is matched by name
the way registry names are (case-insensitively after NFC).
"""

from __future__ import annotations

from dataclasses import dataclass

from registry_widget.choices import validate_role
from registry_widget.domain.reprs import ResultList
from registry_widget.domain.session import Session, now
from registry_widget.entity_names import validate_user_name
from registry_widget.errors import ConflictError, NotFoundError
from registry_widget.names import normalize_key
from registry_widget.permissions import ORG_ROLES, member_keys
from registry_widget.store import Transaction

__all__ = ["User", "add_user", "insert_user", "list_users", "remove_user", "set_user_role"]


@dataclass(frozen=True)
class User:
    """An organisation user and their organisation role."""

    name: str
    role: str
    created_at: str


def insert_user(s: Session, txn: Transaction, name: str, role: str) -> None:
    """Insert the user ``name`` with the organisation role ``role``, and record it."""
    txn.insert(
        "users",
        {
            "name": name,
            "key": normalize_key(name),
            "role": role,
            "created_at": now(),
            "created_by": s.user,
        },
    )
    s.record(txn, "user.add", name, after={"role": role})


def list_users(s: Session) -> list[User]:
    """The organisation's users, by name."""
    s.org_role()
    rows = s.store.query("users", order=("key",))
    return ResultList(User(d["name"], d["role"], d["created_at"]) for _, d in rows)


def add_user(s: Session, name: str, role: str) -> str:
    """Add a user to the organisation (organisation admins); return their name, checked."""
    name = validate_user_name(name)
    role = validate_role(role, ORG_ROLES)
    with s.store.transaction() as txn:
        s.require_org("admin", "add users")
        found = s.user_doc(name)
        if found is not None:
            msg = f"user {found[1]['name']!r} already exists (role {found[1]['role']!r})"
            raise ConflictError(msg)
        insert_user(s, txn, name, role)
    return name


def set_user_role(s: Session, name: str, role: str) -> None:
    """Change a user's organisation role (organisation admins)."""
    role = validate_role(role, ORG_ROLES)
    with s.store.transaction() as txn:
        s.require_org("admin", "change organisation roles")
        found = s.user_doc(validate_user_name(name))
        if found is None:
            msg = f"no user {name!r}; add them with client.add_user({name!r}, {role!r})"
            raise NotFoundError(msg).with_code("no_user", user=name)
        doc_id, doc = found
        admins = s.store.count("users", role="admin")
        if doc["role"] == "admin" and role != "admin" and admins == 1:
            msg = f"{doc['name']!r} is the organisation's only admin; make another admin first"
            raise ConflictError(msg)
        if doc["role"] != role:
            txn.update("users", doc_id, {"role": role})
            s.record(
                txn,
                "user.role",
                doc["name"],
                before={"role": doc["role"]},
                after={"role": role},
            )


def remove_user(s: Session, name: str) -> None:
    """Remove a user from the organisation, with their registry roles (organisation admins).

    What they logged, linked or created stays, under their name. The organisation's only
    admin cannot be removed, and nobody removes themselves (another admin can).
    """
    name = validate_user_name(name)
    with s.store.transaction() as txn:
        s.require_org("admin", "remove users")
        found = s.user_doc(name)
        if found is None:
            msg = f"no user {name!r} in this organisation; the users are listed by client.users()"
            raise NotFoundError(msg).with_code("no_user", user=name)
        doc_id, doc = found
        me = s.user_doc()
        if me is not None and me[0] == doc_id:
            msg = f"{doc['name']!r} cannot remove themselves; another organisation admin can"
            raise ConflictError(msg)
        for reg_id, reg in s.store.query("registries"):
            members = dict(reg["members"])
            spellings = member_keys(members, doc["name"])
            if spellings:
                before = {spelling: members.pop(spelling) for spelling in spellings}
                txn.update("registries", reg_id, {"members": members})
                s.record(
                    txn,
                    "registry.member.remove",
                    reg["name"],
                    before=before,
                    registry_id=reg_id,
                )
        txn.remove("users", doc_id)
        s.record(txn, "user.remove", doc["name"], before={"role": doc["role"]})
