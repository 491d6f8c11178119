"""Request handlers for finding the right version: reads, for anyone who may see.

Filter and sort a collection's versions, pick an artifact version to link, open a path
typed into search, search artifact versions.

A filter typed in the widget is the API's own filter language: either a JSON filter as
``collection.versions(filter=...)`` takes it, or a short form that becomes one —
``tag:resnet alias:production by:ada acc>0.9 epochs<=20 resnet`` (a plain word matches the
artifact's name, a tag or an alias). The short form is read here, in Python, and a
malformed one is refused with a message for the field it was typed in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypedDict

from registry_widget.domain.artifact_version import ArtifactVersion
from registry_widget.domain.client import Client
from registry_widget.domain.link import Link
from registry_widget.errors import NotFoundError, RegistryError, ValidationError
from registry_widget.paths import parse_path
from registry_widget.permissions import Action, allows
from registry_widget.widget.can import link_can
from registry_widget.widget.protocol import Params, handler
from registry_widget.widget.reads import Check, LinkRowCan
from registry_widget.widget.views import (
    JSON,
    MAX_COLUMNS,
    ArtifactSummary,
    artifact_summary,
    collection_at,
    link_row,
    metadata_columns,
)

__all__ = ["parse_query"]


class FoundPage(TypedDict):
    """A page of a collection's versions found by a filter, and how many it has in all."""

    items: list[LinkRowCan]
    metadata_keys: list[str]
    total: int
    all: int
    offset: int
    limit: int


class Candidates(TypedDict):
    """Artifact versions to link, and how many matched."""

    items: list[ArtifactSummary]
    total: int


class Pick(ArtifactSummary):
    """An artifact version to link, with its first metrics and where it is already linked."""

    metrics: dict[str, JSON]
    linked: list[str]


class Picks(TypedDict):
    """Artifact versions to link into a collection; ``any``: whether anything is logged."""

    items: list[Pick]
    total: int
    any: bool


class Route(TypedDict):
    """The page a search text names, or None."""

    route: str | None


class Found(ArtifactSummary):
    """An artifact version found, with where it is linked."""

    links: list[str]


class FoundArtifacts(TypedDict):
    """Artifact versions found by name, and whether there are more."""

    items: list[Found]
    more: bool


class ArtifactRow(Found):
    """A row of the artifacts page."""

    metrics: dict[str, JSON]


class ArtifactsCan(TypedDict):
    """Controls of the artifacts page."""

    link: bool


class ArtifactsPage(TypedDict):
    """A page of logged artifact versions, the types to filter by, and the controls."""

    items: list[ArtifactRow]
    total: int
    offset: int
    limit: int
    types: list[str]
    can: ArtifactsCan


_WORDS = {"tag": "tag", "alias": "alias", "type": "type", "by": "created_by", "name": "name"}
_OPS = {">=": "$gte", "<=": "$lte", "!=": "$ne", ">": "$gt", "<": "$lt", "=": "$eq"}
_CONDITION = re.compile(r"^([A-Za-z_][\w.\-]*)(>=|<=|!=|>|<|=)(.+)$")


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _version_field(key: str) -> str:
    return key if key.split(".", maxsplit=1)[0] in _WORDS.values() else f"metadata.{key}"


def _version_word(token: str) -> dict[str, Any]:
    needle = {"$regex": "(?i)" + re.escape(token)}
    return {"$or": [{"name": needle}, {"tag": token}, {"alias": token}]}


def parse_query(
    text: str,
    *,
    words: dict[str, str] = _WORDS,
    field: Callable[[str], str | dict[str, Any]] = _version_field,
    word: Callable[[str], dict[str, Any]] = _version_word,
) -> dict[str, Any] | None:
    """Turn what was typed in a versions filter into an API filter (None: everything).

    Other pages read the same grammar over their own fields: ``words`` maps a ``word:``
    to its field, ``field`` names the field of ``key>value`` (or ``{"$or": [fields]}``
    for any of several), ``word`` makes the condition of a plain word.

    Raises
    ------
    ValidationError
        For JSON that is not an object, or an empty ``word:`` condition.
    """
    text = text.strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as exc:
            msg = f"filter {text!r} is not valid JSON ({exc.msg} at column {exc.colno})"
            raise ValidationError(msg, field="query", value=text) from exc
        if not isinstance(spec, dict):
            msg = f"a JSON filter must be an object like {{'tag': 'x'}}, not {text!r}"
            raise ValidationError(msg, field="query", value=text)
        return spec
    clauses: list[dict[str, Any]] = []
    for token in text.split():
        head, colon, rest = token.partition(":")
        if colon and head in words:
            if not rest:
                msg = f"{head}: needs a value, e.g. {head}:production"
                raise ValidationError(msg, field="query", value=text)
            clauses.append({words[head]: rest})
            continue
        condition = _CONDITION.match(token)
        if condition:
            key, op, raw = condition.groups()
            where = field(key)
            test = {_OPS[op]: _value(raw)}
            if isinstance(where, str):
                clauses.append({where: test})
            else:
                clauses.append({"$or": [{f: test} for f in where["$or"]]})
            continue
        clauses.append(word(token))
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _sort_key(key: str) -> Callable[[Link], tuple[int, Any]]:
    def get(link: Link) -> tuple[int, Any]:
        value = link.metadata.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return (1, 0)  # absent or not comparable: after every value
        return (0, value) if isinstance(value, (int, float)) else (0, str(value))

    return get


@handler("collection.find")
def collection_find(client: Client, p: Params) -> FoundPage:
    """A page of a collection's versions, filtered (API filter or short form) and sorted.

    ``sort`` is ``""`` (newest first) or a metadata key; ``order`` is ``"desc"`` or ``"asc"``.
    """
    path = p.text("path")
    query = p.text("query", "")
    sort = p.text("sort", "")
    order = p.text("order", "desc")
    offset = p.integer("offset", 0, high=10**9)
    limit = p.integer("limit", 25, low=1, high=100)
    p.done()
    if order not in ("asc", "desc"):
        msg = f"order must be 'asc' or 'desc', not {order!r}"
        raise ValidationError(msg, field="order", value=order)
    coll = collection_at(client, path)
    reg = coll.registry
    protected = list(reg.protected_aliases)
    role = reg.role
    flt = parse_query(query)
    if flt is None and not sort:
        links = coll.versions(limit=limit, offset=offset)
        total = coll.count
    else:
        found = coll.versions(filter=flt)
        if sort:
            present = [x for x in found if _sort_key(sort)(x)[0] == 0]
            absent = [x for x in found if _sort_key(sort)(x)[0] == 1]
            present.sort(key=_sort_key(sort), reverse=order == "desc")
            found = present + absent
        elif order == "asc":
            found = found[::-1]
        total = len(found)
        links = found[offset : offset + limit]
    keys = metadata_columns(links)
    if sort:  # the sorted key is always a column, the first
        keys = [sort, *(k for k in keys if k != sort)][:MAX_COLUMNS]
    return {
        "items": [
            {**link_row(link, set(protected), keys), "can": link_can(link, role, protected)}
            for link in links
        ],
        "metadata_keys": keys,
        "total": total,
        "all": coll.count,
        "offset": offset,
        "limit": limit,
    }


_REF = re.compile(r"^(?:(?P<name>.+):)?v(?P<index>\d+)$")


def _metrics(metadata: dict[str, Any], n: int = 3) -> dict[str, JSON]:
    plain = {
        k: v
        for k, v in metadata.items()
        if isinstance(v, (int, float, str)) and not isinstance(v, bool)
    }
    return dict(list(plain.items())[:n])


@handler("artifact.candidates")
def artifact_candidates(client: Client, p: Params) -> Candidates:
    """Return logged artifact versions to link, of one type or all, searched by name."""
    type_ = p.opt_text("type")
    query = p.text("query", "").strip()
    limit = p.integer("limit", 20, low=1, high=100)
    p.done()
    clauses: list[dict[str, Any]] = []
    if type_ is not None:
        clauses.append({"type": type_})
    if query:
        clauses.append({"name": {"$regex": "(?i)" + re.escape(query)}})
    flt = {"$and": clauses} if clauses else None
    found = client.artifacts(flt)
    return {"items": [artifact_summary(a) for a in found[:limit]], "total": len(found)}


@handler("artifact.pick")
def artifact_pick(client: Client, p: Params) -> Picks:
    """Artifact versions to link into a collection, found by name, ``vN`` or ``name:vN``.

    Each comes with its first metrics and the versions of this collection it is already
    linked as.
    """
    collection = p.text("collection")
    type_ = p.opt_text("type")
    query = p.text("query", "").strip()
    limit = p.integer("limit", 20, low=1, high=100)
    p.done()
    clauses: list[dict[str, Any]] = [] if type_ is None else [{"type": type_}]
    ref = _REF.match(query)
    index = None
    if ref:
        index = int(ref.group("index"))
        if ref.group("name"):
            clauses.append({"name": ref.group("name")})
    elif query:
        clauses.append({"name": {"$regex": "(?i)" + re.escape(query)}})
    flt = {"$and": clauses} if clauses else None
    found = [a for a in client.artifacts(flt) if index is None or a.index == index]
    items: list[Pick] = []
    for art in found[:limit]:
        linked = [link.version for link in art.links() if link.collection.path == collection]
        items.append({**artifact_summary(art), "metrics": _metrics(art.metadata), "linked": linked})
    return {"items": items, "total": len(found), "any": bool(client.artifacts(limit=1))}


@handler("search.open")
def search_open(client: Client, p: Params) -> Route:
    """The page a search text names, when it is a path the user may open, else ``None``.

    ``Vision/cat-classifier`` opens the collection, ``Vision/cat-classifier:v3`` (or an alias)
    the version, ``Vision`` the registry.
    """
    text = p.text("text").strip()
    p.done()
    try:
        parsed = parse_path(text)
        if parsed.collection is None:
            return {"route": client.registry(parsed.registry).name}
        coll = client.registry(parsed.registry).collection(parsed.collection)
        if parsed.selector is None:
            return {"route": coll.path}
        return {"route": coll.version(parsed.selector).path}
    except (RegistryError, ValueError):
        return {"route": None}


@handler("artifact.search")
def artifact_search(client: Client, p: Params) -> FoundArtifacts:
    """Artifact versions whose name contains the text (or the one ``name:vN`` names).

    Each comes with where it is linked, in the registries the user may see.
    """
    text = p.text("text").strip()
    limit = p.integer("limit", 50, low=1, high=200)
    p.done()
    ref = _REF.match(text)
    found: list[ArtifactVersion]
    if ref and ref.group("name"):
        try:
            found = [client.artifact(text)]
        except NotFoundError:
            found = []
    elif text:
        found = client.artifacts({"name": {"$regex": "(?i)" + re.escape(text)}})
    else:
        found = []
    return {
        "items": [
            {
                **artifact_summary(art),
                "links": [link.path for link in art.links()],
            }
            for art in found[:limit]
        ],
        "more": len(found) > limit,
    }


@handler("artifacts.list")
def artifacts_list(client: Client, p: Params) -> ArtifactsPage:
    """A page of logged artifact versions, newest first, by name text and type.

    Each comes with its first metrics and where it is linked (in the registries the user
    may see): an artifact version linked nowhere is found here too. ``can.link`` says
    whether the user may link into at least one registry.
    """
    query = p.text("query", "").strip()
    type_ = p.opt_text("type")
    offset = p.integer("offset", 0, high=10**9)
    limit = p.integer("limit", 25, low=1, high=100)
    p.done()
    clauses: list[dict[str, Any]] = [] if type_ is None else [{"type": type_}]
    if query:
        clauses.append({"name": {"$regex": "(?i)" + re.escape(query)}})
    found = client.artifacts({"$and": clauses} if clauses else None)
    types = sorted({a.type for a in client.artifacts()})
    return {
        "items": [
            {
                **artifact_summary(art),
                "metrics": _metrics(art.metadata),
                "links": [link.path for link in art.links()],
            }
            for art in found[offset : offset + limit]
        ],
        "total": len(found),
        "offset": offset,
        "limit": limit,
        "types": types,
        "can": {"link": any(allows(r.role, Action.WRITE) for r in client.registries())},
    }


@handler("name.free")
def name_free(client: Client, p: Params) -> Check:
    """Whether a new registry (or a new collection of ``registry``) may take ``name``.

    Checked as the user types, so a duplicate is shown at the field before submitting;
    names are compared as the library compares them (case and spacing aside).
    """
    name = p.text("name").strip()
    registry = p.opt_text("registry")
    p.done()
    try:
        if registry is None:
            taken = client.registry(name).name
            return {"ok": False, "message": f"a registry named {taken!r} already exists"}
        coll = client.registry(registry).collection(name)
        return {"ok": False, "message": f"{registry!r} already has a collection {coll.name!r}"}
    except RegistryError:
        return {"ok": True}
