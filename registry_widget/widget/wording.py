"""The widget's words for the library's common refusals, in one place.

The library's messages are written for code (``registry.set_role('bob', 'member')``,
``'/' (U+002F) at position 1``). A person in the widget reads instead what went wrong in
plain words and which control fixes it, or who can use it. A refusal the library marks with
a ``code`` (:attr:`registry_widget.errors.RegistryError.code`) is worded here from its facts;
any other refusal keeps the library's message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from registry_widget.errors import RegistryError
from registry_widget.permissions import same_user

__all__ = ["in_words"]


def _role(role: object) -> str:
    return str(role).replace("_", " ")


def _role_needed(facts: Mapping[str, object], user: str | None) -> str:
    registry, needed, role = facts["registry"], _role(facts["needed"]), facts["role"]
    me = user is not None and same_user(str(facts["user"]), user)
    who = "You" if me else str(facts["user"])
    theirs = ("you have" if me else "they have") + " no role there"
    if role is not None:
        theirs = f"{'your' if me else 'their'} role there is {_role(role)}"
    fix = "give it to you" if me else "give it to them"
    return (
        f"{who} may not {facts['what']}: that needs the {needed} role on {registry}, and "
        f"{theirs}. An admin of {registry} can {fix} in the registry's Settings, under Members."
    )


def _type_not_accepted(facts: Mapping[str, object], _user: str | None) -> str:
    registry = facts["registry"]
    accepted = facts["accepted"]
    types = ", ".join(map(str, accepted)) if isinstance(accepted, list) and accepted else ""
    accepts = f"it accepts {types}" if types else "it accepts no type yet"
    return (
        f"{registry} does not accept the type “{facts['type']}”; {accepts}. An admin of "
        f"{registry} can add the type in the registry's Settings, under Accepted types."
    )


def _bad_character(facts: Mapping[str, object], _user: str | None) -> str:
    rule = str(facts["rule"])
    return (
        f"The {facts['field']} “{facts['text']}” cannot contain “{facts['char']}”. "
        f"{rule[:1].upper()}{rule[1:]}."
    )


def _listed(names: object, most: int = 8) -> str:
    items = [f"“{n}”" for n in names] if isinstance(names, list) else []
    if len(items) > most:
        items = [*items[:most], f"and {len(items) - most} more"]
    return ", ".join(items)


def _not_found(facts: Mapping[str, object], _user: str | None) -> str:
    kind, name, within, known = facts["kind"], facts["name"], facts["within"], facts["known"]
    if kind == "registry":
        there = _listed(known)
        return f"There is no registry “{name}” you can see." + (
            f" Registries you can see: {there}." if there else ""
        )
    if kind == "collection":
        there = _listed(known)
        return f"{within} has no collection “{name}”." + (
            f" It has {there}." if there else " It has no collections yet."
        )
    newest = facts.get("newest")
    if not isinstance(newest, int) or newest < 0:
        return f"{within} has no version “{name}”: nothing is linked into it yet."
    aliases = _listed(known)
    return f"{within} has no version “{name}”. Its versions run from v0 to v{newest}" + (
        f", and its aliases are {aliases}." if aliases else "."
    )


def _no_user(facts: Mapping[str, object], _user: str | None) -> str:
    return (
        f"“{facts['user']}” is not a user of this organization. An organization admin adds "
        "users on the Organization page."
    )


def _already_member(facts: Mapping[str, object], _user: str | None) -> str:
    return (
        f"{facts['user']} is already a member of {facts['registry']} as "
        f"{_role(facts['role'])}; change their role in the Members table instead."
    )


def _not_member(facts: Mapping[str, object], _user: str | None) -> str:
    return (
        f"{facts['user']} is not a member of {facts['registry']}; add them with Add a member first."
    )


def _type_in_use(facts: Mapping[str, object], _user: str | None) -> str:
    collections = facts["collections"]
    many = isinstance(collections, list) and len(collections) > 1
    return (
        f"The collection{'s' if many else ''} {_listed(collections)} "
        f"{'use' if many else 'uses'} the type “{facts['type']}”: it can be removed once no "
        f"collection of {facts['registry']} uses it."
    )


def _type_fixed(facts: Mapping[str, object], _user: str | None) -> str:
    return (
        f"“{facts['type']}” is the preconfigured type of the core registry "
        f"{facts['registry']}; it can never be removed."
    )


def _last_type(facts: Mapping[str, object], _user: str | None) -> str:
    return (
        f"“{facts['type']}” is the only type {facts['registry']} accepts; add another type "
        "before removing it."
    )


def _wrong_collection_type(facts: Mapping[str, object], _user: str | None) -> str:
    return (
        f"{facts['collection']} holds “{facts['holds']}” versions, so a “{facts['type']}” "
        f"version cannot be linked into it; link it into a collection of “{facts['type']}” "
        "versions."
    )


def _collection_path(facts: Mapping[str, object], _user: str | None) -> str:
    return (
        f"“{facts['path']}” is not a collection: name one as Registry/Collection, such as "
        "Models/cat-resnet (it is created if missing)."
    )


_WORDS: dict[str, Callable[[Mapping[str, object], str | None], str]] = {
    "no_user": _no_user,
    "already_member": _already_member,
    "not_member": _not_member,
    "not_found": _not_found,
    "role_needed": _role_needed,
    "type_not_accepted": _type_not_accepted,
    "bad_character": _bad_character,
    "type_in_use": _type_in_use,
    "type_fixed": _type_fixed,
    "last_type": _last_type,
    "wrong_collection_type": _wrong_collection_type,
    "collection_path": _collection_path,
}


def in_words(exc: RegistryError, user: str | None = None) -> str | None:
    """Say a common refusal to the widget's user, or None when it has no words of its own.

    Parameters
    ----------
    exc
        The refusal.
    user
        The user the widget acts as: a refusal about them is said to "you".
    """
    say = _WORDS.get(exc.code) if exc.code is not None else None
    if say is None or exc.params is None:
        return None
    return say(exc.params, user)
