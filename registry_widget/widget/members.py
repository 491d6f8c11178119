"""Request handlers for the changes members make: registries, collections, links, aliases.

Creating a registry (organisation members), creating, editing and deleting collections,
linking and unlinking versions, setting and removing aliases, and editing an artifact
version's description and tags. As everywhere in the widget, the domain decides who may: a
viewer's request is refused with ``PermissionDeniedError``, and a member may not move or
remove a protected alias, nor unlink a version or delete a collection that holds one.

A change answers ``ok`` and only what the page needs to say so or to go where the change
leads (the new path); the page shows the change by refetching when the store's revision
moves, so nothing is built twice.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from registry_widget.domain.client import Client
from registry_widget.widget.protocol import Done, Params, change_handler, handler
from registry_widget.widget.views import collection_at, find_link

__all__ = ["Created", "Linked"]


class Created(TypedDict):
    """A registry or collection was created: its name and the path to open."""

    ok: Literal[True]
    name: str
    path: str


class Linked(TypedDict):
    """A version was linked: its path and version, for the message and the page to open."""

    ok: Literal[True]
    path: str
    version: str


class CollectionDeleted(TypedDict):
    """A collection was deleted: the registry to go back to."""

    ok: Literal[True]
    registry: str


class Unlinked(TypedDict):
    """A version was unlinked: the collection to go back to."""

    ok: Literal[True]
    collection: str


@handler("registry.create")
def registry_create(client: Client, p: Params) -> Created:
    """Create a registry from the form's fields."""
    name = p.text("name")
    description = p.text("description", "")
    visibility = p.text("visibility", "organization")
    types = p.text_list("artifact_types", optional=True)
    p.done()
    reg = client.create_registry(
        name, description=description, visibility=visibility, artifact_types=types
    )
    return {"ok": True, "name": reg.name, "path": reg.name}


@handler("collection.create")
def collection_create(client: Client, p: Params) -> Created:
    """Create a collection in a registry."""
    registry = p.text("registry")
    name = p.text("name")
    type_ = p.text("type")
    description = p.text("description", "")
    tags = p.text_list("tags") or []
    p.done()
    reg = client.registry(registry)
    coll = reg.create_collection(name, type=type_, description=description, tags=tags)
    return {"ok": True, "name": coll.name, "path": coll.path}


@handler("collection.update")
def collection_update(client: Client, p: Params) -> Done:
    """Change a collection's description and/or replace its tags."""
    path = p.text("path")
    description = p.opt_text("description")
    tags = p.text_list("tags", optional=True)
    p.done()
    collection_at(client, path).update(description=description, tags=tags)
    return {"ok": True}


@handler("collection.delete")
def collection_delete(client: Client, p: Params) -> CollectionDeleted:
    """Delete a collection and its links; the artifact versions stay."""
    path = p.text("path")
    p.done()
    coll = collection_at(client, path)
    registry = coll.registry.name
    coll.delete()
    return {"ok": True, "registry": registry}


@handler("link.create")
def link_create(client: Client, p: Params) -> Linked:
    """Link an artifact version ("name:vM") into a collection, with optional aliases."""
    ref = p.text("artifact")
    target = p.text("collection")
    aliases = p.text_list("aliases") or []
    p.done()
    link = client.link(ref, target, aliases=aliases)
    return {"ok": True, "path": link.path, "version": link.version}


@handler("link.delete")
def link_delete(client: Client, p: Params) -> Unlinked:
    """Unlink a version ("Registry/Collection:vN") from its collection."""
    path = p.text("path")
    p.done()
    link = find_link(client, path)
    collection = link.collection.path
    link.unlink()
    return {"ok": True, "collection": collection}


@change_handler("alias.set", "path", "alias")
def alias_set(client: Client, path: str, alias: str) -> None:
    """Set an alias on a linked version, moving it if another version holds it."""
    find_link(client, path).set_alias(alias)


@change_handler("alias.remove", "path", "alias")
def alias_remove(client: Client, path: str, alias: str) -> None:
    """Remove an alias from a linked version."""
    find_link(client, path).remove_alias(alias)


@handler("artifact.update")
def artifact_update(client: Client, p: Params) -> Done:
    """Change the description and/or replace the tags of an artifact version ("name:vM").

    The domain decides who may (organisation members); the version page shows the control
    by the ``can.edit_artifact`` flag of ``version.get``.
    """
    ref = p.text("artifact")
    description = p.opt_text("description")
    tags = p.text_list("tags", optional=True)
    p.done()
    client.artifact(ref).update(description=description, tags=tags)
    return {"ok": True}
