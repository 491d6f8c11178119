"""Links and aliases: the rules that several objects share (SPEC §2, §3).

Aliases live on link documents (``aliases``: a list) and, for fast resolution, in their
collection's ``aliases`` map (alias → link index). Both are changed together, inside the
caller's transaction. ``latest`` is kept on the highest-numbered link by the system.
"""

from __future__ import annotations

from collections.abc import Iterable

from registry_widget.domain.retry import retried
from registry_widget.domain.session import Doc, Session, now
from registry_widget.errors import (
    ConcurrentChangeError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from registry_widget.names import normalize_key, validate_alias
from registry_widget.paths import parse_path
from registry_widget.permissions import Action
from registry_widget.skeleton import confusable_with
from registry_widget.store import Transaction
from registry_widget.text import quoted

__all__ = [
    "alias_action",
    "check_accepts",
    "check_collection_type",
    "check_not_confusable",
    "insert_link",
    "link_path",
    "move_latest",
    "place_alias",
    "remove_alias",
    "set_alias",
    "unlink",
]

LATEST = "latest"


def link_path(reg: Doc, coll: Doc, index: int) -> str:
    """``Registry/Collection:vN``."""
    return f"{reg['name']}/{coll['name']}:v{index}"


def check_accepts(reg: Doc, artifact_type: str) -> None:
    """Refuse an artifact type that registry ``reg`` does not accept."""
    accepted = reg["artifact_types"]
    if accepted is not None and artifact_type not in accepted:
        msg = (
            f"registry {reg['name']!r} does not accept artifact type {artifact_type!r}; "
            f"it accepts {quoted(accepted) or 'no type yet'}. A registry admin can add the "
            "type with "
            f"registry.add_artifact_type({artifact_type!r})"
        )
        raise ValidationError(msg, field="type", value=artifact_type).with_code(
            "type_not_accepted", registry=reg["name"], type=artifact_type, accepted=list(accepted)
        )


def check_not_confusable(reg: Doc, alias: str) -> None:
    """Refuse an alias that looks like, but is not, a protected alias of registry ``reg``.

    Looking alike means having the same Unicode TR39 skeleton, as ``prоduction`` (with a
    Cyrillic ``о``) and ``production`` do.
    """
    protected = confusable_with(alias, reg["protected_aliases"])
    if protected is not None:
        msg = (
            f"alias {alias!r} looks like the protected alias {protected!r} of registry "
            f"{reg['name']!r} (same Unicode confusables skeleton) but is another string; "
            f"an alias must not be confusable with a protected alias: use {protected!r} "
            "itself or a distinct name"
        )
        raise ValidationError(msg, field="alias", value=alias)


def _release(
    s: Session, txn: Transaction, coll_id: int, coll: Doc, alias: str
) -> tuple[dict[str, int], int | None]:
    """Take ``alias`` off the link of collection ``coll_id`` (document ``coll``) holding it.

    Returns the collection's aliases without it (for the caller to write) and the number
    of the link that held it, if any.
    """
    aliases = dict(coll["aliases"])
    previous: int | None = aliases.pop(alias, None)
    if previous is not None:
        found = s.link_at(coll_id, previous)
        if found is not None:
            old_id, old = found
            txn.update("links", old_id, {"aliases": [a for a in old["aliases"] if a != alias]})
    return aliases, previous


def _put_alias(
    s: Session, txn: Transaction, coll_id: int, alias: str, link_id: int | None, index: int | None
) -> int | None:
    """Point ``alias`` of collection ``coll_id`` at link ``link_id`` (None: remove it).

    Returns the index of the link that held it before, if any.
    """
    coll = s.store.get("collections", coll_id)
    assert coll is not None
    aliases, previous = _release(s, txn, coll_id, coll, alias)
    if link_id is not None:
        assert index is not None
        doc = s.store.get("links", link_id)
        assert doc is not None
        txn.update("links", link_id, {"aliases": [*doc["aliases"], alias]})
        aliases[alias] = index
    txn.update("collections", coll_id, {"aliases": aliases})
    return previous


def place_alias(s: Session, txn: Transaction, link_id: int, alias: str) -> None:
    """Put ``alias`` on link ``link_id`` as it stands, with no checks and no history.

    For copying a store, whose aliases were checked where they were set and whose
    history is copied with them.
    """
    link = s.store.get("links", link_id)
    assert link is not None
    _put_alias(s, txn, link["collection_id"], alias, link_id, link["index"])


def alias_action(protected: Iterable[str], aliases: Iterable[str]) -> Action:
    """The action that changing ``aliases`` needs: admin when one of them is protected.

    Setting, moving or removing an alias, and dropping aliases by unlinking their version
    or deleting their collection, all follow this rule.
    """
    guarded = set(protected)
    return Action.ADMIN if any(a in guarded for a in aliases) else Action.WRITE


def set_alias(s: Session, txn: Transaction, link_id: int, alias: str) -> None:
    """Set ``alias`` on link ``link_id``, moving it from the version that holds it."""
    link, coll, reg = s.link(link_id)
    action = alias_action(reg["protected_aliases"], [alias])
    what = f"set the {'protected ' if action is Action.ADMIN else ''}alias {alias!r}"
    s.require(reg, action, what)
    check_not_confusable(reg, alias)
    holder = coll["aliases"].get(alias)
    if holder == link["index"]:
        return
    before = None if holder is None else link_path(reg, coll, holder)
    _put_alias(s, txn, link["collection_id"], alias, link_id, link["index"])
    txn.update("collections", link["collection_id"], {"updated_at": now()})
    path = link_path(reg, coll, link["index"])
    s.record(
        txn,
        "alias.set",
        path,
        before=before,
        after=f"{alias} → {path}",
        registry_id=link["registry_id"],
        collection_id=link["collection_id"],
        link_id=link_id,
    )


def remove_alias(s: Session, txn: Transaction, link_id: int, alias: str) -> None:
    """Remove ``alias`` from link ``link_id``."""
    link, coll, reg = s.link(link_id)
    path = link_path(reg, coll, link["index"])
    action = alias_action(reg["protected_aliases"], [alias])
    what = f"remove the {'protected ' if action is Action.ADMIN else ''}alias {alias!r}"
    s.require(reg, action, what)
    if alias not in link["aliases"]:
        held = quoted(link["aliases"])
        msg = f"{path} has no alias {alias!r}; " + (
            f"its aliases are {held}" if held else "it has no aliases"
        )
        raise NotFoundError(msg)
    _put_alias(s, txn, link["collection_id"], alias, None, None)
    txn.update("collections", link["collection_id"], {"updated_at": now()})
    s.record(
        txn,
        "alias.remove",
        path,
        before=f"{alias} → {path}",
        after=None,
        registry_id=link["registry_id"],
        collection_id=link["collection_id"],
        link_id=link_id,
    )


def move_latest(s: Session, txn: Transaction, coll_id: int) -> None:
    """Put ``latest`` on the highest-numbered link of collection ``coll_id``."""
    coll = s.store.get("collections", coll_id)
    assert coll is not None
    newest_id = next(s.link_ids_newest_first(coll_id, coll), None)
    current = coll["aliases"].get(LATEST)
    if newest_id is None:
        if current is not None:
            _put_alias(s, txn, coll_id, LATEST, None, None)
        return
    newest = s.store.get("links", newest_id)
    assert newest is not None
    if current != newest["index"]:
        _put_alias(s, txn, coll_id, LATEST, newest_id, newest["index"])


def unlink(s: Session, txn: Transaction, link_id: int) -> None:
    """Remove link ``link_id`` from its collection; the artifact version stays."""
    link, coll, reg = s.link(link_id)
    path = link_path(reg, coll, link["index"])
    s.require(reg, Action.WRITE, f"unlink {path}")
    if alias_action(reg["protected_aliases"], link["aliases"]) is Action.ADMIN:
        held = [a for a in link["aliases"] if a in reg["protected_aliases"]]
        s.require(reg, Action.ADMIN, f"unlink {path}, which holds the protected alias {held[0]!r}")
    coll_id = link["collection_id"]
    for alias in link["aliases"]:
        _put_alias(s, txn, coll_id, alias, None, None)
    txn.remove("links", link_id)
    txn.update("collections", coll_id, {"updated_at": now()})
    move_latest(s, txn, coll_id)
    s.record(
        txn,
        "link.delete",
        path,
        before=path,
        after=None,
        registry_id=link["registry_id"],
        collection_id=coll_id,
        link_id=link_id,
        artifact_id=link["artifact_id"],
    )


def check_collection_type(reg: Doc, coll: Doc, artifact_type: str) -> None:
    """Refuse linking an artifact of another type than the collection's."""
    if coll["type"] != artifact_type:
        path = f"{reg['name']}/{coll['name']}"
        msg = (
            f"collection {path} holds artifacts of type {coll['type']!r} and does not accept "
            f"type {artifact_type!r}; link it into a collection of type {artifact_type!r}"
        )
        raise ValidationError(msg, field="type", value=artifact_type).with_code(
            "wrong_collection_type", collection=path, holds=coll["type"], type=artifact_type
        )


def create_collection_doc(
    s: Session,
    txn: Transaction,
    reg_id: int,
    reg: Doc,
    name: str,
    artifact_type: str,
    description: str,
    tags: list[str],
    *,
    looked: bool = False,
) -> int:
    """Insert a new collection into registry ``reg_id``, checking role, type and name.

    ``looked``: the caller found no such collection in this call. Finding one now means
    another writer created it meanwhile (a server store reads each statement's committed
    state), so the call is to run again, not to be refused.
    """
    s.require(reg, Action.WRITE, f"create collections in registry {reg['name']!r}")
    check_accepts(reg, artifact_type)
    existing = s.find_collection(reg_id, name)
    if existing is not None and looked:
        msg = f"the collection {existing[1]['name']!r} was created meanwhile"
        raise ConcurrentChangeError(msg)
    if existing is not None:
        msg = (
            f"registry {reg['name']!r} already has a collection named {existing[1]['name']!r}; "
            "collection names are unique in their registry"
        )
        raise ConflictError(msg)
    at = now()
    coll_id = txn.insert(
        "collections",
        {
            "registry_id": reg_id,
            "name": name,
            "key": normalize_key(name),
            "type": artifact_type,
            "description": description,
            "tags": tags,
            "aliases": {},
            "next_index": 0,
            "created_at": at,
            "created_by": s.user,
            "updated_at": at,
        },
    )
    path = f"{reg['name']}/{name}"
    s.record(
        txn,
        "collection.create",
        path,
        after={"type": artifact_type},
        registry_id=reg_id,
        collection_id=coll_id,
    )
    return coll_id


@retried
def link_version(s: Session, art_id: int, path: str, aliases: Iterable[str]) -> int:
    """Link artifact version ``art_id`` into the collection at ``path`` (created if missing).

    Returns the link's id: the existing one when the version is already in the collection.
    """
    p = parse_path(path)
    if p.collection is None or p.selector is not None:
        msg = f"link() takes a collection path 'Registry/Collection', not {path!r}"
        raise ValidationError(msg, field="path", value=path).with_code("collection_path", path=path)
    if isinstance(aliases, str):
        msg = f"aliases must be a list of aliases, not the str {aliases!r}; use [{aliases!r}]"
        raise ValidationError(msg, field="aliases", value=aliases)
    alias_list = list(dict.fromkeys(validate_alias(a) for a in aliases))
    with s.store.transaction() as txn:
        art = s.store.get("artifacts", art_id)
        if art is None or not s.sees_artifact(art_id):
            msg = "the artifact version no longer exists, or you may not see it"
            raise ValidationError(msg, field="version", value=art_id)
        reg_id, reg = s.find_registry(p.registry)
        s.require(reg, Action.WRITE, f"link versions into registry {reg['name']!r}")
        check_accepts(reg, art["type"])
        found = s.find_collection(reg_id, p.collection)
        if found is None:
            coll_id = create_collection_doc(
                s, txn, reg_id, reg, p.collection, art["type"], "", [], looked=True
            )
        else:
            coll_id = found[0]
            check_collection_type(reg, found[1], art["type"])
        existing = s.store.find_ids("links", artifact_id=art_id, collection_id=coll_id)
        if existing:
            link_id = existing[0]
        else:
            link_id = insert_link(s, txn, reg_id, reg, coll_id, art_id, art)
        for alias in alias_list:
            set_alias(s, txn, link_id, alias)
    return link_id


def insert_link(
    s: Session,
    txn: Transaction,
    reg_id: int,
    reg: Doc,
    coll_id: int,
    art_id: int,
    art: Doc,
    *,
    index: int | None = None,
    created: tuple[str, str] | None = None,
) -> int:
    """Insert a link to artifact version ``art_id`` into collection ``coll_id``; return its id.

    The one place links are numbered. A new link takes its collection's next number;
    copying a store passes the ``index`` the link had there (numbers kept exactly, gaps
    included) and its ``(created_at, created_by)``, and records no history of its own
    (the copied history says who linked it and when). The collection's next number stays
    above every number handed out, so none is ever reused.

    Raises
    ------
    ConflictError
        If another link of the collection already has number ``index``.
    """
    coll = s.store.get("collections", coll_id)
    assert coll is not None
    next_index = int(coll["next_index"])
    if index is None:
        index = next_index
    elif s.link_at(coll_id, index) is not None:
        msg = f"{link_path(reg, coll, index)} already exists; a link number is never reused"
        raise ConflictError(msg)
    at, by = created if created is not None else (now(), s.user)
    # A number at or above the collection's next one is above every link's: the new link
    # is the highest-numbered and takes ``latest`` as it is inserted (what move_latest
    # would do after, in two more writes). A copied link numbered lower asks move_latest.
    newest = index >= next_index
    changes: Doc = {"next_index": max(next_index, index + 1), "updated_at": at}
    if newest:
        aliases, _ = _release(s, txn, coll_id, coll, LATEST)
        aliases[LATEST] = index
        changes["aliases"] = aliases
    link_id = txn.insert(
        "links",
        {
            "registry_id": reg_id,
            "collection_id": coll_id,
            "index": index,
            "artifact_id": art_id,
            "aliases": [LATEST] if newest else [],
            "created_at": at,
            "created_by": by,
        },
    )
    txn.update("collections", coll_id, changes)
    if not newest:
        move_latest(s, txn, coll_id)
    if created is None:
        path = link_path(reg, coll, index)
        s.record(
            txn,
            "link.create",
            path,
            after=f"{art['name']}:v{art['index']}",
            registry_id=reg_id,
            collection_id=coll_id,
            link_id=link_id,
            artifact_id=art_id,
        )
    return link_id
