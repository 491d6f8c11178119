"""Request handlers for the everyday changes members make to a collection.

Editing a collection's description and tags, deleting a collection and unlinking a
version. As everywhere in the widget, the domain decides who may: a viewer's request is
refused with ``PermissionDeniedError``, and a member may not unlink a version or delete a
collection that holds a protected alias.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from registry_widget.widget.protocol import Handler, Params
from registry_widget.widget.views import collection_detail, find_link

__all__ = ["MEMBER_HANDLERS"]

MEMBER_HANDLERS: dict[str, Handler] = {}
"""Method name to handler, merged into the widget's dispatcher."""

_F = TypeVar("_F", bound=Handler)


def _handler(name: str) -> Callable[[_F], _F]:
    def register(fn: _F) -> _F:
        MEMBER_HANDLERS[name] = fn
        return fn

    return register


def _collection(client: Any, path: str) -> Any:
    registry, _, name = path.partition("/")
    return client.registry(registry).collection(name)


@_handler("collection.update")
def collection_update(client: Any, p: Params) -> dict[str, Any]:
    """Change a collection's description and/or replace its tags."""
    path = p.text("path")
    description = p.opt_text("description")
    tags = p.text_list("tags", optional=True)
    p.done()
    coll = _collection(client, path)
    coll.update(description=description, tags=tags)
    return collection_detail(coll)


@_handler("collection.delete")
def collection_delete(client: Any, p: Params) -> dict[str, Any]:
    """Delete a collection and its links; the artifact versions stay."""
    path = p.text("path")
    p.done()
    coll = _collection(client, path)
    registry = coll.registry.name
    coll.delete()
    return {"deleted": path, "registry": registry}


@_handler("link.delete")
def link_delete(client: Any, p: Params) -> dict[str, Any]:
    """Unlink a version ("Registry/Collection:vN") from its collection."""
    path = p.text("path")
    p.done()
    link = find_link(client, path)
    collection = link.collection.path
    link.unlink()
    return {"unlinked": path, "collection": collection}
