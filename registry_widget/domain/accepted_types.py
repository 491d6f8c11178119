"""The types a registry accepts: which collections use each, and when one may be removed.

The rule lives here once: a type stops being accepted only while no collection of the
registry holds it, never a core registry's preconfigured type, and never the last type of
the list. :meth:`Registry.remove_artifact_type` raises the refusal :func:`removal_refusal`
gives; :meth:`Registry.accepted_types` reports it for each type, so that an interface can
say why a type cannot be removed before anyone tries.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry_widget.domain.session import Doc
from registry_widget.errors import ConflictError
from registry_widget.store import Store
from registry_widget.text import quoted

__all__ = ["AcceptedType", "collections_by_type", "removal_refusal"]


@dataclass(frozen=True)
class AcceptedType:
    """A type a registry accepts, the collections that hold it, and whether it may go.

    ``refusal`` is the error :meth:`Registry.remove_artifact_type` would raise for it now
    (the registry's admins aside), or None when it may be removed.
    """

    name: str
    used_by: list[str]
    fixed: bool
    refusal: ConflictError | None


def collections_by_type(
    store: Store, registry_id: int, artifact_type: str | None = None
) -> dict[str, list[str]]:
    """The names of a registry's collections by the type they hold, each list sorted.

    With ``artifact_type``, only the collections of that type are looked at.
    """
    where: dict[str, object] = {"registry_id": registry_id}
    if artifact_type is not None:
        where["type"] = artifact_type
    found: dict[str, list[str]] = {}
    for _, coll in store.find("collections", **where):
        found.setdefault(str(coll["type"]), []).append(str(coll["name"]))
    return {t: sorted(names) for t, names in found.items()}


def removal_refusal(reg: Doc, artifact_type: str, used_by: list[str]) -> ConflictError | None:
    """Why the registry ``reg`` may not stop accepting ``artifact_type`` now, or None.

    Parameters
    ----------
    reg
        The registry's document; ``artifact_type`` is one of the types it accepts.
    artifact_type
        The type to remove.
    used_by
        The names of the registry's collections that hold the type.
    """
    name, t = reg["name"], artifact_type
    if t in reg["preconfigured_types"]:
        msg = f"{t!r} is the preconfigured type of core registry {name!r} and can never be removed"
        return ConflictError(msg).with_code("type_fixed", type=t, registry=name)
    if used_by:
        which, them = ("collection", "it") if len(used_by) == 1 else ("collections", "them")
        msg = (
            f"type {t!r} is used by {which} {quoted(used_by)} of registry {name!r}; "
            f"delete {them} first"
        )
        return ConflictError(msg).with_code(
            "type_in_use", type=t, registry=name, collections=list(used_by)
        )
    if list(reg["artifact_types"] or ()) == [t]:
        msg = f"{t!r} is the only type registry {name!r} accepts; add another first"
        return ConflictError(msg).with_code("last_type", type=t, registry=name)
    return None
