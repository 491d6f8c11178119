"""Request handlers for runs and lineage: the Runs page, a run's page, a lineage graph.

Anyone in the organisation may ask these; the domain leaves out every version the user
may not see (with its edges), so nothing hidden is ever put into an answer.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

from registry_widget.domain.artifact_version import ArtifactVersion
from registry_widget.domain.client import Client
from registry_widget.domain.lineage import Lineage
from registry_widget.domain.link import Link
from registry_widget.domain.run import Run
from registry_widget.errors import ValidationError
from registry_widget.widget.insight import flatten_metadata
from registry_widget.widget.protocol import Params, handler
from registry_widget.widget.reads_find import parse_query
from registry_widget.widget.views import JSON, find_link

__all__ = ["run_query"]

_SORTS = ("created_at", "name", "state", "created_by", "duration")
_MAX_SORTED = 10_000  # runs read to sort by a config or summary value
_MAX_COLUMNS = 12


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

    ``target`` is a version's ``name:vM``, a run's id or a link's path.
    """

    key: str
    kind: str
    label: str
    depth: int
    target: str


class GraphEdge(TypedDict):
    """A directed edge of the lineage graph (``input``, ``output`` or ``link``)."""

    source: str
    target: str
    kind: str


class LineageGraph(TypedDict):
    """The lineage graph of one version."""

    root: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]


def run_query(text: str) -> dict[str, Any] | None:
    """A Runs page filter: a JSON filter as ``client.runs`` takes it, or words of a name.

    Raises
    ------
    ValidationError
        For JSON that is not an object.
    """
    text = text.strip()
    if not text:
        return None
    if text.startswith("{"):
        return parse_query(text)
    return {"name": {"$regex": "(?i)" + re.escape(text)}}


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


def _columns(values: list[dict[str, JSON]]) -> list[str]:
    """The keys worth a column: the most common first."""
    seen: dict[str, int] = {}
    for flat in values:
        for key in flat:
            seen[key] = seen.get(key, 0) + 1
    return sorted(seen, key=lambda k: -seen[k])[:_MAX_COLUMNS]


@handler("runs.list")
def runs_list(client: Client, p: Params) -> RunsPage:
    """Return a page of runs, filtered and sorted.

    ``query`` is a JSON filter (``{"config.lr": {"$lt": 0.01}}``) or words of a run's name;
    ``sort`` is ``created_at`` (default), ``name``, ``state``, ``created_by``,
    ``duration``, ``config.<key>`` or ``summary.<key>``; ``order`` is ``desc`` (default)
    or ``asc``, runs without the value last either way.
    """
    query = p.text("query", "")
    sort = p.text("sort", "created_at")
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
    return {
        "items": rows,
        "total": len(found),
        "offset": offset,
        "limit": limit,
        "config_columns": _columns([row["config"] for row in rows]),
        "summary_columns": _columns([row["summary"] for row in rows]),
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


def graph_of(lineage: Lineage) -> LineageGraph:
    """The lineage graph as the widget draws it."""
    return {
        "root": lineage.root,
        "nodes": [
            {
                "key": n.key,
                "kind": n.kind,
                "label": n.label,
                "depth": n.depth,
                "target": _target(n.ref),
            }
            for n in lineage.nodes
        ],
        "edges": [{"source": e.source, "target": e.target, "kind": e.kind} for e in lineage.edges],
    }


@handler("lineage.graph")
def lineage_graph(client: Client, p: Params) -> LineageGraph:
    """Return the lineage graph of a version, named by ``ref`` (``name:vM``) or ``path``.

    ``upstream`` and ``downstream`` are the steps followed each way (default 2).
    """
    ref = p.opt_text("ref")
    path = p.opt_text("path")
    upstream = p.integer("upstream", 2, high=50)
    downstream = p.integer("downstream", 2, high=50)
    p.done()
    if (ref is None) == (path is None):
        msg = "lineage.graph: give either 'ref' (name:vM) or 'path' (Registry/Collection:vN)"
        raise ValidationError(msg, field="ref", value=ref)
    version = client.artifact(ref) if ref is not None else find_link(client, str(path)).artifact
    return graph_of(version.lineage(upstream=upstream, downstream=downstream))
