"""Request handlers for runs and lineage: the runs page, a run's page, the lineage graph.

Every organisation user sees every run; what a run used or produced is shown only where
the user may see that version. The domain leaves hidden versions out of every answer
(:mod:`registry_widget.domain.lineage`, ``run.inputs``, ``run.outputs``), so these
handlers only shape its answers: a node the user may not see is simply absent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypedDict

from registry_widget.domain.artifact_version import ArtifactVersion
from registry_widget.domain.client import Client
from registry_widget.domain.lineage import Lineage, LineageNode
from registry_widget.domain.run import Run
from registry_widget.errors import ValidationError
from registry_widget.widget.insight import flatten_metadata
from registry_widget.widget.protocol import Params, handler
from registry_widget.widget.reads_find import parse_query
from registry_widget.widget.views import JSON, MAX_COLUMNS, find_link, run_route

__all__ = ["graph_view", "parse_run_query", "run_view"]

_MAX_STEPS = 10
_MAX_FLAT = 100  # flattened config/summary keys sent per run
_RUN_WORDS = {"state": "state", "name": "name", "by": "created_by", "tag": "tag"}
_SORTS = ("created_at", "name", "state", "created_by", "duration")


class VersionRef(TypedDict):
    """A version a run used or produced: its name, type and the page that shows it."""

    ref: str
    type: str
    route: str | None
    links: list[str]


class RunRow(TypedDict):
    """A run as a row of the runs page."""

    id: str
    name: str
    route: str
    state: str
    created_at: str
    created_by: str
    ended_at: str | None
    duration: float
    config: dict[str, JSON]
    summary: dict[str, JSON]


class RunPage(RunRow):
    """A run for its page: also its error text, tags, inputs and outputs."""

    error: str | None
    heartbeat_at: str
    tags: list[str]
    inputs: list[VersionRef]
    outputs: list[VersionRef]


class RunsPage(TypedDict):
    """A page of runs, the config and summary keys shown as columns, and how many matched."""

    items: list[RunRow]
    config_keys: list[str]
    summary_keys: list[str]
    total: int
    all: int
    offset: int
    limit: int
    sorts: list[str]


class GraphNode(TypedDict):
    """A node of the lineage graph, ready to draw: ``route`` is its page (None: none)."""

    key: str
    kind: str
    label: str
    sub: str
    title: str
    depth: int
    route: str | None
    current: bool


class GraphEdge(TypedDict):
    """An edge of the lineage graph, in the direction data flowed."""

    source: str
    target: str
    kind: str


class LineageGraph(TypedDict):
    """The lineage of a linked version, and whether more lies beyond either end."""

    root: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    upstream: int
    downstream: int
    more_upstream: bool
    more_downstream: bool


# -- runs ---------------------------------------------------------------------------------


def parse_run_query(text: str) -> dict[str, Any] | None:
    """Turn what was typed in the runs filter into a run filter (None: every run).

    The grammar of the versions filter: ``state:failed by:ada name:train tag:x``,
    ``config.lr<0.01 summary.acc>=0.9``, a bare ``lr<0.01`` for either config or summary,
    a plain word for the run's name or a tag, or a JSON filter as ``client.runs`` takes it.
    """

    def field(key: str) -> dict[str, Any] | str:
        head = key.split(".", maxsplit=1)[0]
        if head in ("config", "summary") or head in _RUN_WORDS.values():
            return key
        return {"$or": [f"config.{key}", f"summary.{key}"]}

    def word(token: str) -> dict[str, Any]:
        needle = {"$regex": "(?i)" + re.escape(token)}
        return {"$or": [{"name": needle}, {"tag": token}]}

    return parse_query(text, words=_RUN_WORDS, field=field, word=word)


def _version_ref(art: ArtifactVersion) -> VersionRef:
    links = [link.path for link in art.links()]
    return {
        "ref": f"{art.name}:{art.version}",
        "type": art.type,
        "route": links[0] if links else None,
        "links": links,
    }


def _row(run: Run) -> RunRow:
    return {
        "id": run.id,
        "name": run.name,
        "route": run_route(run.id),
        "state": run.state,
        "created_at": run.created_at,
        "created_by": run.created_by,
        "ended_at": run.ended_at,
        "duration": run.duration.total_seconds(),
        "config": flatten_metadata(run.config, max_keys=_MAX_FLAT),
        "summary": flatten_metadata(dict(run.summary), max_keys=_MAX_FLAT),
    }


def run_view(run: Run) -> RunPage:
    """Describe a run for its page: state, config, summary, inputs and outputs."""
    return {
        **_row(run),
        "error": run.error,
        "heartbeat_at": run.heartbeat_at,
        "tags": run.tags,
        "inputs": [_version_ref(a) for a in run.inputs],
        "outputs": [_version_ref(a) for a in run.outputs],
    }


@handler("run.get")
def run_get(client: Client, p: Params) -> RunPage:
    """Return one run for its page (``id`` as in ``run.id``)."""
    run_id = p.text("id")
    p.done()
    return run_view(client.run(run_id))


def _columns(rows: Iterable[dict[str, JSON]], first: str | None) -> list[str]:
    """The keys shown as columns: the most common scalar ones, the sorted key first."""
    counts: dict[str, int] = {}
    for values in rows:
        for key, value in values.items():
            if value is not None:
                counts[key] = counts.get(key, 0) + 1
    keys = sorted(counts, key=lambda k: -counts[k])
    if first is not None:
        keys = [first, *(k for k in keys if k != first)]
    return keys[:MAX_COLUMNS]


def _sort_value(sort: str) -> Callable[[RunRow], tuple[int, Any]]:
    part, _, key = sort.partition(".")

    def get(row: RunRow) -> tuple[int, Any]:
        if part in ("config", "summary") and key:
            value: Any = row["config" if part == "config" else "summary"].get(key)
        else:
            value = row.get(sort)
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return (1, 0)  # absent or not comparable: after every value
        return (0, value) if isinstance(value, (int, float)) else (0, str(value))

    return get


def _check_sort(sort: str) -> None:
    part, dot, key = sort.partition(".")
    if sort in _SORTS or (dot and key and part in ("config", "summary")):
        return
    msg = f"runs can be sorted by {', '.join(_SORTS)}, config.<key> or summary.<key>, not {sort!r}"
    raise ValidationError(msg, field="sort", value=sort)


@handler("runs.list")
def runs_list(client: Client, p: Params) -> RunsPage:
    """A page of runs, filtered (run filter or its short form) and sorted, newest first.

    ``sort`` is ``""`` (newest first), a run field, ``config.<key>`` or ``summary.<key>``;
    ``order`` is ``"desc"`` or ``"asc"``. Runs without the sorted value come last.
    """
    query = p.text("query", "")
    sort = p.text("sort", "")
    order = p.text("order", "desc")
    offset = p.integer("offset", 0, high=10**9)
    limit = p.integer("limit", 25, low=1, high=100)
    p.done()
    if order not in ("asc", "desc"):
        msg = f"order must be 'asc' or 'desc', not {order!r}"
        raise ValidationError(msg, field="order", value=order)
    if sort:
        _check_sort(sort)
    flt = parse_run_query(query)
    everything = len(client.runs()) if flt is not None else None
    if flt is None and not sort:
        runs: Sequence[Run] = client.runs(limit=limit, offset=offset)
        total = len(client.runs())
        rows = [_row(r) for r in runs]
    else:
        found = [_row(r) for r in client.runs(filter=flt)]
        if sort:
            get = _sort_value(sort)
            present = [r for r in found if get(r)[0] == 0]
            absent = [r for r in found if get(r)[0] == 1]
            present.sort(key=get, reverse=order == "desc")
            found = present + absent
        elif order == "asc":
            found = found[::-1]
        total = len(found)
        rows = found[offset : offset + limit]
    part, _, key = sort.partition(".")
    return {
        "items": rows,
        "config_keys": _columns((r["config"] for r in rows), key if part == "config" else None),
        "summary_keys": _columns((r["summary"] for r in rows), key if part == "summary" else None),
        "total": total,
        "all": total if everything is None else everything,
        "offset": offset,
        "limit": limit,
        "sorts": list(_SORTS),
    }


# -- lineage graph ------------------------------------------------------------------------


def _node(node: LineageNode, routes: dict[str, str], current_path: str) -> GraphNode:
    ref = node.ref
    if isinstance(ref, Run):
        state = ref.state
        return {
            "key": node.key,
            "kind": "run",
            "label": node.label,
            "sub": state,
            "title": f"run {node.label} ({state}, by {ref.created_by})",
            "depth": node.depth,
            "route": run_route(ref.id),
            "current": False,
        }
    if isinstance(ref, ArtifactVersion):
        route = routes.get(node.key)
        where = f"linked as {route}" if route else "not linked into any registry you can see"
        return {
            "key": node.key,
            "kind": "version",
            "label": node.label,
            "sub": ref.type,
            "title": f"{node.label} ({ref.type}), {where}",
            "depth": node.depth,
            "route": route,
            "current": node.depth == 0,
        }
    path = ref.path
    aliases = list(ref.aliases)
    return {
        "key": node.key,
        "kind": "link",
        "label": node.label,
        "sub": ", ".join(aliases),
        "title": path + (f" ({', '.join(aliases)})" if aliases else ""),
        "depth": node.depth,
        "route": path,
        "current": path == current_path,
    }


def graph_view(graph: Lineage, upstream: int, downstream: int, current_path: str) -> LineageGraph:
    """Shape a lineage graph for drawing, trimmed to ``upstream``/``downstream`` steps.

    ``graph`` was asked one step further each way, so whether more lies beyond an end is
    known without a second query.
    """
    kept = [n for n in graph.nodes if -upstream <= n.depth <= downstream]
    keys = {n.key for n in kept}
    edges = [e for e in graph.edges if e.source in keys and e.target in keys]
    # A version's page is where it is linked: the first link the graph joins it to.
    routes: dict[str, str] = {}
    for edge in edges:
        if edge.kind == "link":
            routes.setdefault(edge.source, graph.node(edge.target).ref.path)  # type: ignore[union-attr]
    routes[graph.root] = current_path
    return {
        "root": graph.root,
        "nodes": [_node(n, routes, current_path) for n in kept],
        "edges": [{"source": e.source, "target": e.target, "kind": e.kind} for e in edges],
        "upstream": upstream,
        "downstream": downstream,
        "more_upstream": any(n.depth < -upstream for n in graph.nodes),
        "more_downstream": any(n.depth > downstream for n in graph.nodes),
    }


@handler("lineage.graph")
def lineage_graph(client: Client, p: Params) -> LineageGraph:
    """The lineage graph of a linked version: runs and versions up and downstream.

    Upstream: the run that produced it and what that run used; downstream: the runs that
    used it and what they produced; every version joined to where it is linked.
    """
    path = p.text("path")
    upstream = p.integer("upstream", 2, high=_MAX_STEPS)
    downstream = p.integer("downstream", 2, high=_MAX_STEPS)
    p.done()
    link = find_link(client, path)
    graph = link.artifact.lineage(upstream=upstream + 1, downstream=downstream + 1)
    return graph_view(graph, upstream, downstream, link.path)
