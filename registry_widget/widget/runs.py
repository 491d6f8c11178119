"""Request handlers for runs and lineage: the Runs page, a run's page, a lineage graph.

Anyone in the organisation may ask these; the domain leaves out every version the user
may not see (with its edges), so nothing hidden is ever put into an answer.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

from registry_widget.domain.artifact_version import ArtifactVersion
from registry_widget.domain.client import Client
from registry_widget.domain.lineage import Lineage, LineageNode
from registry_widget.domain.link import Link
from registry_widget.domain.run import Run
from registry_widget.errors import ValidationError
from registry_widget.widget.insight import flatten_metadata
from registry_widget.widget.protocol import Params, handler
from registry_widget.widget.reads_find import parse_query
from registry_widget.widget.views import JSON, find_link

__all__ = ["graph_of", "run_query"]

_SORTS = ("created_at", "name", "state", "created_by", "duration")
_MAX_SORTED = 10_000  # runs read to sort by a config or summary value
_MAX_STEPS = 49  # the domain follows at most 50 steps; one more is asked to see beyond
_MAX_COLUMNS = 6  # config and summary columns each: a table readable at a laptop's width
_RUN_WORDS = {"state": "state", "name": "name", "by": "created_by", "tag": "tag"}


class VersionRef(TypedDict):
    """An artifact version a run used or produced, with where to open it."""

    ref: str
    type: str
    paths: list[str]


class RunRow(TypedDict):
    """One run in the Runs table."""

    id: str
    name: str
    state: str
    created_at: str
    created_by: str
    ended_at: str | None
    duration_s: float
    tags: list[str]
    config: dict[str, JSON]
    summary: dict[str, JSON]
    inputs: int
    outputs: int


class RunsPage(TypedDict):
    """A page of runs, and the config and summary keys worth a column."""

    items: list[RunRow]
    total: int
    all: int
    offset: int
    limit: int
    config_columns: list[str]
    summary_columns: list[str]


class RunDetail(TypedDict):
    """A run's page: what it was, how it went, what it used and produced."""

    id: str
    name: str
    state: str
    error: str | None
    created_at: str
    created_by: str
    ended_at: str | None
    heartbeat_at: str
    duration_s: float
    tags: list[str]
    config: dict[str, JSON]
    summary: dict[str, JSON]
    inputs: list[VersionRef]
    outputs: list[VersionRef]


class GraphNode(TypedDict):
    """A node of the lineage graph: a version, a run or a link, and what opens it.

    ``target`` is a version's ``name:vM``, a run's id or a link's path; ``path`` is the
    linked version whose page shows it (a version: where it is linked first, None when
    linked nowhere the user may see; a run: None). ``sub`` is the line under its label
    (a version's type, a run's state, a link's aliases), ``title`` its full description,
    ``current`` whether it is the page the graph is drawn on.
    """

    key: str
    kind: str
    label: str
    depth: int
    target: str
    path: str | None
    sub: str
    title: str
    current: bool


class GraphEdge(TypedDict):
    """A directed edge of the lineage graph (``input``, ``output`` or ``link``)."""

    source: str
    target: str
    kind: str


class LineageGraph(TypedDict):
    """The lineage graph of one version, and whether more lies beyond either end."""

    root: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    upstream: int
    downstream: int
    more_upstream: bool
    more_downstream: bool


def run_query(text: str) -> dict[str, Any] | None:
    """A Runs page filter, in the grammar of the versions filter, over run fields.

    ``state:failed by:ada name:train tag:x``, ``config.lr<0.01 summary.acc>=0.9``, a bare
    ``lr<0.01`` for either config or summary, a plain word for the run's name or a tag,
    or a JSON filter as ``client.runs`` takes it.

    Raises
    ------
    ValidationError
        For JSON that is not an object, or an empty ``word:`` condition.
    """

    def field(key: str) -> dict[str, Any] | str:
        head = key.split(".", maxsplit=1)[0]
        if head in ("config", "summary") or head in _RUN_WORDS.values():
            return key
        return {"$or": [f"config.{key}", f"summary.{key}"]}

    def word(token: str) -> dict[str, Any]:
        return {"$or": [{"name": {"$regex": "(?i)" + re.escape(token)}}, {"tag": token}]}

    return parse_query(text, words=_RUN_WORDS, field=field, word=word)


def _version_ref(version: ArtifactVersion) -> VersionRef:
    return {
        "ref": version.ref,
        "type": version.type,
        "paths": [link.path for link in version.links()],
    }


def _run_row(run: Run) -> RunRow:
    return {
        "id": run.id,
        "name": run.name,
        "state": run.state,
        "created_at": run.created_at,
        "created_by": run.created_by,
        "ended_at": run.ended_at,
        "duration_s": run.duration.total_seconds(),
        "tags": run.tags,
        "config": flatten_metadata(run.config),
        "summary": flatten_metadata(dict(run.summary)),
        "inputs": len(run.inputs),
        "outputs": len(run.outputs),
    }


def _sort_value(run: Run, sort: str) -> tuple[int, Any]:
    """Where ``run`` goes when sorted by ``sort``; runs without the value go last."""
    if sort == "duration":
        return (0, run.duration.total_seconds())
    if sort in _SORTS:
        return (0, getattr(run, sort))
    part, _, key = sort.partition(".")
    values = run.config if part == "config" else dict(run.summary)
    value: Any = values
    for segment in key.split("."):
        value = value.get(segment) if isinstance(value, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return (1, 0)
    return (0, value) if isinstance(value, (int, float)) else (0, str(value))


def _columns(values: list[dict[str, JSON]], first: str | None = None) -> list[str]:
    """The keys worth a column: the most common first (the sorted key before them)."""
    seen: dict[str, int] = {}
    for flat in values:
        for key in flat:
            seen[key] = seen.get(key, 0) + 1
    keys = sorted(seen, key=lambda k: -seen[k])
    if first is not None:
        keys = [first, *(k for k in keys if k != first)]
    return keys[:_MAX_COLUMNS]


@handler("runs.list")
def runs_list(client: Client, p: Params) -> RunsPage:
    """Return a page of runs, filtered and sorted.

    ``query`` is a JSON filter (``{"config.lr": {"$lt": 0.01}}``) or words of a run's name;
    ``sort`` is ``created_at`` (default), ``name``, ``state``, ``created_by``,
    ``duration``, ``config.<key>`` or ``summary.<key>``; ``order`` is ``desc`` (default)
    or ``asc``, runs without the value last either way.
    """
    query = p.text("query", "")
    sort = p.text("sort", "created_at") or "created_at"
    descending = p.text("order", "desc")
    offset = p.integer("offset", 0, high=10**9)
    limit = p.integer("limit", 50, low=1, high=500)
    p.done()
    if descending not in ("asc", "desc"):
        msg = f"runs.list: order must be 'asc' or 'desc', not {descending!r}"
        raise ValidationError(msg, field="order", value=descending)
    if sort not in _SORTS and not re.fullmatch(r"(config|summary)\.[^.]+(\.[^.]+)*", sort):
        msg = (
            f"runs.list: cannot sort by {sort!r}; sort by {', '.join(_SORTS)}, "
            "config.<key> or summary.<key>"
        )
        raise ValidationError(msg, field="sort", value=sort)
    flt = run_query(query)
    if sort == "created_at":
        found = client.runs(flt)
        if descending == "asc":
            found.reverse()
    else:
        found = client.runs(flt, limit=_MAX_SORTED)
        present = [r for r in found if _sort_value(r, sort)[0] == 0]
        absent = [r for r in found if _sort_value(r, sort)[0] == 1]
        present.sort(key=lambda r: _sort_value(r, sort)[1], reverse=descending == "desc")
        found = [*present, *absent]
    rows = [_run_row(run) for run in found[offset : offset + limit]]
    part, _, key = sort.partition(".")
    return {
        "items": rows,
        "total": len(found),
        "all": len(found) if flt is None else len(client.runs()),
        "offset": offset,
        "limit": limit,
        "config_columns": _columns(
            [row["config"] for row in rows], key if part == "config" else None
        ),
        "summary_columns": _columns(
            [row["summary"] for row in rows], key if part == "summary" else None
        ),
    }


@handler("run.get")
def run_get(client: Client, p: Params) -> RunDetail:
    """Return a run's page: config, summary, state, who, when, how long, inputs, outputs."""
    run = client.run(p.text("id"))
    p.done()
    return {
        "id": run.id,
        "name": run.name,
        "state": run.state,
        "error": run.error,
        "created_at": run.created_at,
        "created_by": run.created_by,
        "ended_at": run.ended_at,
        "heartbeat_at": run.heartbeat_at,
        "duration_s": run.duration.total_seconds(),
        "tags": run.tags,
        "config": flatten_metadata(run.config),
        "summary": flatten_metadata(dict(run.summary)),
        "inputs": [_version_ref(v) for v in run.inputs],
        "outputs": [_version_ref(v) for v in run.outputs],
    }


def _target(node_ref: ArtifactVersion | Run | Link) -> str:
    if isinstance(node_ref, ArtifactVersion):
        return node_ref.ref
    if isinstance(node_ref, Run):
        return node_ref.id
    return node_ref.path


def _node(node: LineageNode, paths: dict[str, str], current: str | None) -> GraphNode:
    ref = node.ref
    shown: GraphNode = {
        "key": node.key,
        "kind": node.kind,
        "label": node.label,
        "depth": node.depth,
        "target": _target(ref),
        "path": paths.get(node.key),
        "sub": "",
        "title": node.label,
        "current": False,
    }
    if isinstance(ref, Run):
        state = ref.state
        shown["sub"] = state
        shown["title"] = f"run {node.label} ({state}, by {ref.created_by})"
    elif isinstance(ref, ArtifactVersion):
        where = paths.get(node.key)
        linked = f"linked as {where}" if where else "not linked into a registry you can see"
        shown["sub"] = ref.type
        shown["title"] = f"{node.label} ({ref.type}), {linked}"
        shown["current"] = node.depth == 0
    else:
        aliases = ", ".join(ref.aliases)
        shown["sub"] = aliases
        shown["title"] = ref.path + (f" ({aliases})" if aliases else "")
        shown["current"] = ref.path == current
    return shown


def graph_of(
    lineage: Lineage,
    upstream: int | None = None,
    downstream: int | None = None,
    current: str | None = None,
) -> LineageGraph:
    """The lineage graph as the widget draws it, trimmed to ``upstream``/``downstream``.

    When ``lineage`` was asked one step further each way than it is trimmed to, whether
    more lies beyond an end is known without a second query. ``current`` is the path of
    the linked version whose page shows the graph.
    """
    nodes = lineage.nodes
    up = max((-n.depth for n in nodes), default=0) if upstream is None else upstream
    down = max((n.depth for n in nodes), default=0) if downstream is None else downstream
    kept = [n for n in nodes if -up <= n.depth <= down]
    keys = {n.key for n in kept}
    edges = [e for e in lineage.edges if e.source in keys and e.target in keys]
    # A version's page is where it is linked: the first link the graph joins it to.
    paths: dict[str, str] = {}
    for n in kept:
        if isinstance(n.ref, Link):
            paths[n.key] = n.ref.path
    for e in edges:
        if e.kind == "link":
            paths.setdefault(e.source, paths[e.target])
    if current is not None:
        paths[lineage.root] = current
    return {
        "root": lineage.root,
        "nodes": [_node(n, paths, current) for n in kept],
        "edges": [{"source": e.source, "target": e.target, "kind": e.kind} for e in edges],
        "upstream": up,
        "downstream": down,
        "more_upstream": any(n.depth < -up for n in nodes),
        "more_downstream": any(n.depth > down for n in nodes),
    }


@handler("lineage.graph")
def lineage_graph(client: Client, p: Params) -> LineageGraph:
    """Return the lineage graph of a version, named by ``ref`` (``name:vM``) or ``path``.

    ``upstream`` and ``downstream`` are the steps followed each way (default 2).
    """
    ref = p.opt_text("ref")
    path = p.opt_text("path")
    upstream = p.integer("upstream", 2, high=_MAX_STEPS)
    downstream = p.integer("downstream", 2, high=_MAX_STEPS)
    p.done()
    if (ref is None) == (path is None):
        msg = "lineage.graph: give either 'ref' (name:vM) or 'path' (Registry/Collection:vN)"
        raise ValidationError(msg, field="ref", value=ref)
    link = None if path is None else find_link(client, path)
    version = client.artifact(str(ref)) if link is None else link.artifact
    # One step further each way tells whether there is more to show.
    lineage = version.lineage(upstream=upstream + 1, downstream=downstream + 1)
    return graph_of(lineage, upstream, downstream, None if link is None else link.path)
