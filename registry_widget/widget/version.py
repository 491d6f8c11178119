"""Request handlers for the actions on a version's page that no other page offers.

Editing the description and tags of the artifact version behind a linked version. The
domain decides who may (organisation members); the page shows the control by the
``can.edit_artifact`` flag of ``version.get``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from registry_widget.widget.protocol import Handler, Params

__all__ = ["VERSION_HANDLERS"]

VERSION_HANDLERS: dict[str, Handler] = {}
"""Method name to handler, merged into the widget's dispatcher."""

_F = TypeVar("_F", bound=Handler)


def _handler(name: str) -> Callable[[_F], _F]:
    def register(fn: _F) -> _F:
        VERSION_HANDLERS[name] = fn
        return fn

    return register


@_handler("artifact.update")
def artifact_update(client: Any, p: Params) -> dict[str, Any]:
    """Change the description and/or replace the tags of an artifact version ("name:vM")."""
    ref = p.text("artifact")
    description = p.opt_text("description")
    tags = p.text_list("tags", optional=True)
    p.done()
    art = client.artifact(ref).update(description=description, tags=tags)
    return {"ref": f"{art.name}:{art.version}", "description": art.description, "tags": art.tags}
