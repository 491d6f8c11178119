"""Who may do what in a registry: its members and their roles, and its protected aliases.

:class:`RegistryAccess` is the part of :class:`~registry_widget.domain.registry.Registry`
that its admins use to manage access: members (each with a registry role, and the
effective role it gives with their organisation role and the registry's visibility) and
protected aliases, which only admins may set, move or remove.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry_widget.choices import validate_role
from registry_widget.domain.handle import Handle
from registry_widget.domain.linking import check_not_confusable
from registry_widget.domain.reprs import ResultList
from registry_widget.domain.retry import retried
from registry_widget.domain.session import Doc
from registry_widget.entity_names import validate_user_name
from registry_widget.errors import ConflictError, NotFoundError, ValidationError
from registry_widget.names import validate_alias
from registry_widget.permissions import (
    REGISTRY_ROLES,
    Action,
    effective_role,
    member_keys,
    member_role,
)
from registry_widget.skeleton import confusable_with
from registry_widget.text import quoted

__all__ = ["Member", "RegistryAccess"]


@dataclass(frozen=True)
class Member:
    """A user's membership of a registry: their registry role and their effective role."""

    user: str
    role: str
    effective_role: str | None


class RegistryAccess(Handle[Doc]):
    """A registry's members and protected aliases (the base of ``Registry``)."""

    # -- members -----------------------------------------------------------------------------

    def members(self) -> list[Member]:
        """Its members with their registry role and effective role, by user name."""
        reg = self._doc()
        out: list[Member] = ResultList()
        for user, role in sorted(reg["members"].items()):
            found = self._s.user_doc(user)
            org_role = found[1]["role"] if found else "viewer"
            out.append(Member(user, role, effective_role(org_role, role, reg["visibility"])))
        return out

    def add_member(self, user: str, role: str) -> None:
        """Give an organisation user a role in this registry (admins)."""
        self._set_member(user, role, adding=True)

    def set_role(self, user: str, role: str) -> None:
        """Change a member's registry role (admins)."""
        self._set_member(user, role, adding=False)

    @retried
    def _set_member(self, user: str, role: str, *, adding: bool) -> None:
        user = validate_user_name(user)
        role = validate_role(role, REGISTRY_ROLES)
        s = self._s
        with s.store.transaction() as txn:
            reg = self._doc()
            s.require(reg, Action.ADMIN, f"manage the members of registry {reg['name']!r}")
            found = s.user_doc(user)
            if found is None:
                msg = (
                    f"{user!r} is not a user of this organisation; an organisation admin adds "
                    f"them first with client.add_user({user!r})"
                )
                raise NotFoundError(msg).with_code("no_user", user=user)
            members = dict(reg["members"])
            spellings = member_keys(members, user)
            before = member_role(members, user)
            if adding and before is not None:
                msg = (
                    f"{spellings[0]!r} is already a member of {reg['name']!r} (role {before!r}); "
                    f"use registry.set_role({user!r}, {role!r})"
                )
                raise ConflictError(msg).with_code(
                    "already_member", user=spellings[0], registry=reg["name"], role=before
                )
            if not adding and before is None:
                msg = f"{user!r} is not a member of {reg['name']!r}; use registry.add_member"
                raise NotFoundError(msg).with_code("not_member", user=user, registry=reg["name"])
            # One entry per user: an existing entry keeps its spelling, a new one takes the
            # spelling the organisation knows the user by.
            stored = spellings[0] if spellings else found[1]["name"]
            if before == role and spellings == [stored]:
                return
            for spelling in spellings:
                del members[spelling]
            members[stored] = role
            # The entry first: a server store takes it only from the registry's members,
            # which an admin stepping down may no longer be after the change.
            s.record(
                txn,
                "registry.member.add" if adding else "registry.member.role",
                reg["name"],
                before=None if before is None else {stored: before},
                after={stored: role},
                registry_id=self._id,
            )
            txn.update("registries", self._id, {"members": members})

    @retried
    def remove_member(self, user: str) -> None:
        """Take a user's registry role away (admins)."""
        user = validate_user_name(user)
        s = self._s
        with s.store.transaction() as txn:
            reg = self._doc()
            s.require(reg, Action.ADMIN, f"manage the members of registry {reg['name']!r}")
            members = dict(reg["members"])
            spellings = member_keys(members, user)
            if not spellings:
                msg = f"{user!r} is not a member of {reg['name']!r}"
                raise NotFoundError(msg)
            before = {spelling: members.pop(spelling) for spelling in spellings}
            s.record(  # first, as above: an admin may remove themself
                txn,
                "registry.member.remove",
                reg["name"],
                before=before,
                registry_id=self._id,
            )
            txn.update("registries", self._id, {"members": members})

    # -- protected aliases -----------------------------------------------------------------------

    @retried
    def add_protected_alias(self, alias: str) -> None:
        """Make ``alias`` protected: only admins may then set, move or remove it."""
        alias = validate_alias(alias)
        s = self._s
        with s.store.transaction() as txn:
            reg = self._doc()
            s.require(reg, Action.ADMIN, f"protect aliases of registry {reg['name']!r}")
            if alias in reg["protected_aliases"]:
                msg = f"alias {alias!r} is already protected in {reg['name']!r}"
                raise ConflictError(msg)
            check_not_confusable(reg, alias)
            self._refuse_confusable_holders(reg, alias)
            after = [*reg["protected_aliases"], alias]
            txn.update("registries", self._id, {"protected_aliases": after})
            s.record(
                txn,
                "registry.protected_alias.add",
                reg["name"],
                before=list(reg["protected_aliases"]),
                after=after,
                registry_id=self._id,
            )

    def _refuse_confusable_holders(self, reg: Doc, alias: str) -> None:
        """Refuse to protect ``alias`` while a look-alike alias is set in the registry.

        Protecting it would leave the look-alike beside it, which the protection exists
        to prevent; the message says where it is, so that an admin can remove it first.
        """
        s = self._s
        for _, coll in s.store.find("collections", registry_id=self._id):
            for held, index in coll["aliases"].items():
                if confusable_with(held, [alias]) is not None:
                    where = f"{reg['name']}/{coll['name']}:v{index}"
                    msg = (
                        f"alias {held!r} on {where} looks like {alias!r} (same Unicode "
                        f"confusables skeleton); remove it before protecting {alias!r}"
                    )
                    raise ConflictError(msg)

    @retried
    def remove_protected_alias(self, alias: str) -> None:
        """Stop protecting ``alias`` (admins)."""
        if not isinstance(alias, str):
            msg = f"alias must be a str, not {alias!r}"
            raise ValidationError(msg, field="alias", value=alias)
        s = self._s
        with s.store.transaction() as txn:
            reg = self._doc()
            s.require(reg, Action.ADMIN, f"unprotect aliases of registry {reg['name']!r}")
            if alias not in reg["protected_aliases"]:
                msg = f"alias {alias!r} is not protected in {reg['name']!r}; " + (
                    f"protected: {quoted(reg['protected_aliases'])}"
                    if reg["protected_aliases"]
                    else "no alias is"
                )
                raise NotFoundError(msg)
            after = [a for a in reg["protected_aliases"] if a != alias]
            txn.update("registries", self._id, {"protected_aliases": after})
            s.record(
                txn,
                "registry.protected_alias.remove",
                reg["name"],
                before=list(reg["protected_aliases"]),
                after=after,
                registry_id=self._id,
            )
