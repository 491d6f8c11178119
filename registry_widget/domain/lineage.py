"""The lineage graph around an artifact version: runs, versions and their links (SPEC §9).

Upstream, a version leads to the run that produced it and a run to the versions it used;
downstream, a version leads to the runs that used it and a run to the versions it
produced. Every version in the graph is joined to the links that hold it in registries
the user may see, the graph's right-hand end ("→ the registries and collections it is
linked into"). A version the user may not see is left out with its edges and is not
followed, so nothing of it shows, not even a gap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from registry_widget.domain.linking import link_path
from registry_widget.domain.reprs import ResultList
from registry_widget.domain.session import Session
from registry_widget.errors import ValidationError
from registry_widget.text import plural

if TYPE_CHECKING:
    from registry_widget.domain.artifact_version import ArtifactVersion
    from registry_widget.domain.link import Link
    from registry_widget.domain.run import Run

__all__ = ["Lineage", "LineageEdge", "LineageNode", "NodeKind", "lineage"]

NodeKind = Literal["version", "run", "link"]
EdgeKind = Literal["input", "output", "link"]
MAX_DEPTH = 50


@dataclass(frozen=True)
class LineageNode:
    """One node of a lineage graph.

    Attributes
    ----------
    key
        Unique within the graph: ``"version:12"``, ``"run:3"`` or ``"link:7"``.
    kind
        ``"version"``, ``"run"`` or ``"link"``.
    label
        What to call it: ``"cats:v2"``, ``"train-resnet"``, ``"Models/cat-resnet:v1"``.
    depth
        Steps from the graph's version: negative upstream, 0 for it, positive
        downstream; a link has the depth of the version it holds.
    ref
        The object itself: an :class:`ArtifactVersion`, a :class:`Run` or a :class:`Link`.
    """

    key: str
    kind: NodeKind
    label: str
    depth: int
    ref: ArtifactVersion | Run | Link = field(compare=False)


@dataclass(frozen=True)
class LineageEdge:
    """A directed edge, in the direction data flowed.

    ``input``: a version used by a run (version → run); ``output``: a version produced by
    a run (run → version); ``link``: a version linked into a collection (version → link).
    ``source`` and ``target`` are node keys.
    """

    source: str
    target: str
    kind: EdgeKind


@dataclass(frozen=True)
class Lineage:
    """The lineage graph of one version: its nodes and edges (see :func:`lineage`).

    ``root`` is the key of the version asked about. Nodes come in the order found
    (the root first); edges in the order followed.
    """

    root: str
    nodes: list[LineageNode]
    edges: list[LineageEdge]

    def node(self, key: str) -> LineageNode:
        """The node with this key."""
        for node in self.nodes:
            if node.key == key:
                return node
        raise KeyError(key)

    def __repr__(self) -> str:
        kinds = [n.kind for n in self.nodes]
        counts = ", ".join(
            plural(n, word)
            for n, word in (
                (kinds.count("version"), "version"),
                (kinds.count("run"), "run"),
                (kinds.count("link"), "link"),
                (len(self.edges), "edge"),
            )
        )
        return f"<Lineage of {self.node(self.root).label}: {counts}>"


def _steps(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DEPTH:
        msg = f"{name} must be a whole number of steps from 0 to {MAX_DEPTH}, not {value!r}"
        raise ValidationError(msg, field=name, value=value)
    return value


class _Builder:
    def __init__(self, s: Session) -> None:
        self.s = s
        self.nodes: dict[str, LineageNode] = {}
        self.edges: dict[tuple[str, str, str], LineageEdge] = {}

    def version(self, art_id: int, depth: int) -> str | None:
        from registry_widget.domain.artifact_version import ArtifactVersion

        key = f"version:{art_id}"
        if key not in self.nodes:
            doc = self.s.store.get("artifacts", art_id)
            if doc is None or not self.s.sees_artifact(art_id):
                return None
            label = f"{doc['name']}:v{doc['index']}"
            self.nodes[key] = LineageNode(
                key, "version", label, depth, ArtifactVersion(self.s, art_id)
            )
        return key

    def run(self, run_id: int, depth: int) -> str | None:
        from registry_widget.domain.run import Run

        key = f"run:{run_id}"
        if key not in self.nodes:
            doc = self.s.store.get("runs", run_id)
            if doc is None:
                return None
            self.nodes[key] = LineageNode(key, "run", doc["name"], depth, Run(self.s, run_id))
        return key

    def edge(self, source: str, target: str, kind: EdgeKind) -> None:
        self.edges.setdefault((source, target, kind), LineageEdge(source, target, kind))

    def walk(self, root: int, steps: int, *, up: bool) -> None:
        store = self.s.store
        frontier: list[tuple[str, int]] = [("version", root)]
        seen: set[tuple[str, int]] = set(frontier)
        sign = -1 if up else 1
        for step in range(1, steps + 1):
            ahead: list[tuple[str, int]] = []
            for kind, node_id in frontier:
                here = f"{kind}:{node_id}"
                if kind == "version":
                    # up: the runs that produced it; down: the runs that used it
                    edge_kind: EdgeKind = "output" if up else "input"
                    rows = store.find("run_edges", artifact_id=node_id, kind=edge_kind)
                    for run_id in dict.fromkeys(d["run_id"] for _, d in rows):
                        key = self.run(run_id, sign * step)
                        if key is None:
                            continue
                        if up:
                            self.edge(key, here, "output")
                        else:
                            self.edge(here, key, "input")
                        if ("run", run_id) not in seen:
                            seen.add(("run", run_id))
                            ahead.append(("run", run_id))
                else:
                    # up: the versions it used; down: the versions it produced
                    edge_kind = "input" if up else "output"
                    rows = store.find("run_edges", run_id=node_id, kind=edge_kind)
                    for art_id in dict.fromkeys(d["artifact_id"] for _, d in rows):
                        key = self.version(art_id, sign * step)
                        if key is None:
                            continue
                        if up:
                            self.edge(key, here, "input")
                        else:
                            self.edge(here, key, "output")
                        if ("version", art_id) not in seen:
                            seen.add(("version", art_id))
                            ahead.append(("version", art_id))
            frontier = ahead

    def links(self, visible: Iterable[int]) -> None:
        from registry_widget.domain.link import Link

        store = self.s.store
        regs = set(visible)
        for node in [n for n in self.nodes.values() if n.kind == "version"]:
            art_id = int(node.key.partition(":")[2])
            for link_id, link in store.find("links", artifact_id=art_id):  # in id order
                if link["registry_id"] not in regs:
                    continue
                coll = store.get("collections", link["collection_id"])
                reg = store.get("registries", link["registry_id"])
                if coll is None or reg is None:
                    continue
                key = f"link:{link_id}"
                label = link_path(reg, coll, link["index"])
                self.nodes[key] = LineageNode(key, "link", label, node.depth, Link(self.s, link_id))
                self.edge(node.key, key, "link")


def lineage(s: Session, art_id: int, upstream: int, downstream: int) -> Lineage:
    """The lineage of artifact version ``art_id`` (which the user may see).

    Parameters
    ----------
    s
        The user's session.
    art_id
        The version's id.
    upstream, downstream
        How many steps to follow each way (0 to :data:`MAX_DEPTH`).
    """
    upstream = _steps(upstream, "upstream")
    downstream = _steps(downstream, "downstream")
    b = _Builder(s)
    with s.store.reading():
        root = b.version(art_id, 0)
        assert root is not None
        b.walk(art_id, upstream, up=True)
        b.walk(art_id, downstream, up=False)
        b.links(reg_id for reg_id, _ in s.visible_registries())
    return Lineage(root, ResultList(b.nodes.values()), ResultList(b.edges.values()))
