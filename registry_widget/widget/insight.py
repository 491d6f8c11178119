"""Request handlers for insight: history and comparison of versions.

Anyone who may see a registry may ask these; they read the domain's history and links and
shape them for the history and compare pages. (Lineage graphs are in :mod:`.runs`.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TypedDict

from registry_widget.domain.client import Client
from registry_widget.domain.history import HistoryEntry
from registry_widget.domain.run import Run
from registry_widget.errors import ValidationError
from registry_widget.paths import parse_path
from registry_widget.widget.protocol import Params, handler
from registry_widget.widget.views import JSON, AliasView, clip, collection_at, find_link

__all__ = ["HISTORY_KINDS", "flatten_metadata"]

HISTORY_KINDS = ("registry", "collection", "link", "alias", "artifact")
"""The kinds of change the history can be filtered by (prefixes of the actions)."""

_SCOPE_KINDS = {
    "registry": ("registry", "collection", "link", "alias"),
    "collection": ("collection", "link", "alias"),
    "version": ("link", "alias", "artifact"),
}

_MAX_KEYS = 200
_MAX_VERSIONS = 500
_VALUE_CHARS = 300

_History = Callable[[str | None], list[HistoryEntry]]


class HistoryRow(TypedDict):
    """One change on the history page."""

    at: str
    user: str
    action: str
    target: str
    before: JSON
    after: JSON


class HistoryPage(TypedDict):
    """One page of a history and the kinds of change it may be filtered by."""

    items: list[HistoryRow]
    total: int
    offset: int
    limit: int
    kinds: list[str]


class CompareRun(TypedDict):
    """The run that produced a version: its id, name and config, flattened."""

    id: str
    name: str
    config: dict[str, JSON]


class CompareVersion(TypedDict):
    """One version of a collection, side by side with the others."""

    version: str
    index: int
    path: str
    aliases: list[AliasView]
    created_at: str
    metadata: dict[str, JSON]
    run: CompareRun | None


class ComparePage(TypedDict):
    """A collection's versions, oldest first, for comparing their metadata."""

    path: str
    total: int
    shown: int
    versions: list[CompareVersion]


# -- history ----------------------------------------------------------------------------------


def _scope_of(path: str) -> str:
    """Whose history a path names: a registry, a collection or a linked version."""
    parsed = parse_path(path)
    if parsed.collection is None:
        return "registry"
    return "collection" if parsed.selector is None else "version"


def _history_source(client: Client, scope: str, path: str) -> _History:
    if scope == "registry":
        reg = client.registry(path)
        return lambda action: reg.history(action=action)
    if scope == "collection":
        coll = collection_at(client, path)
        return lambda action: coll.history(action=action)
    if scope == "version":
        link = find_link(client, path)
        art = link.artifact

        def both(action: str | None) -> list[HistoryEntry]:
            # The link's own changes, and the artifact version's (logged, edited). The
            # artifact's history also lists its links everywhere, including registries the
            # user may not see, so only its "artifact.*" entries are taken from it.
            own = art.history(action="artifact") if action in (None, "artifact") else []
            entries = [*link.history(action=action), *own]
            return sorted(entries, key=lambda e: e.at, reverse=True)

        return both
    msg = f"history: unknown scope {scope!r}; allowed: registry, collection, version"
    raise ValidationError(msg, field="scope", value=scope)


def _value(value: JSON) -> JSON:
    state = {"clipped": False}
    out = clip(value, state)
    if isinstance(out, str) and len(out) > _VALUE_CHARS:
        return out[:_VALUE_CHARS] + "…"
    return out


@handler("history.get")
def history_get(client: Client, p: Params) -> HistoryPage:
    """Return one page of a registry's, collection's or version's history, newest first.

    ``kind`` keeps one kind of change (an action prefix such as ``"alias"``). Whose history it
    is follows from the path (``Reg``, ``Reg/Coll`` or ``Reg/Coll:vN``) unless ``scope`` says.
    """
    scope = p.opt_text("scope")
    path = p.text("path")
    kind = p.opt_text("kind")
    offset = p.integer("offset", 0, high=10**9)
    limit = p.integer("limit", 25, low=1, high=200)
    p.done()
    if kind is not None and kind not in HISTORY_KINDS:
        msg = f"history: unknown kind of change {kind!r}; allowed: {', '.join(HISTORY_KINDS)}"
        raise ValidationError(msg, field="kind", value=kind)
    if scope is None:
        scope = _scope_of(path)
    source = _history_source(client, scope, path)
    # The domain pages the history but does not count it: read the filtered list once.
    entries = source(kind)
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


def flatten_metadata(metadata: JSON, *, max_keys: int = _MAX_KEYS) -> dict[str, JSON]:
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
    out: dict[str, JSON] = {}

    def walk(prefix: str, value: JSON) -> None:
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


def _aliases(names: Iterable[str], protected: set[str]) -> list[AliasView]:
    return [{"name": a, "protected": a in protected} for a in names]


def _compare_run(run: Run | None) -> CompareRun | None:
    if run is None:
        return None
    return {
        "id": run.id,
        "name": run.name,
        "config": flatten_metadata(run.config),
    }


@handler("compare.get")
def compare_get(client: Client, p: Params) -> ComparePage:
    """Return a collection's versions, oldest first, with flattened metadata and aliases."""
    path = p.text("path")
    p.done()
    coll = collection_at(client, path)
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
                "run": _compare_run(link.artifact.run),
            }
            for link in reversed(links)
        ],
    }
