"""What a run's state is when read, and filters that reach runs (SPEC §9).

A run's document stores ``running``, ``finished`` or ``failed``. A ``running`` run whose
heartbeat is older than :data:`HEARTBEAT_TIMEOUT` reads as ``crashed``: its process was
killed, or stopped without ending it. The state is computed when read, so filters on
``state`` are rewritten here into conditions on the stored state and the heartbeat,
which every store can answer. Filters on versions reach their producing run through
``run.<field>`` (``{"run.config.lr": {"$lt": 0.01}}``): the run part is answered by a
query of the ``runs`` table first, and becomes a condition on the versions' own fields.
Everything goes through the store interface, so every backend answers the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from registry_widget.filter_tree import MATCH_ALL, And, Condition, Filter, Not, Or
from registry_widget.store import Store

__all__ = [
    "HEARTBEAT_TIMEOUT",
    "RUN_FIELDS",
    "RUN_STATES",
    "RunState",
    "resolve_run_state",
    "resolve_version_runs",
    "run_state",
    "stale_before",
    "version_run_fields",
]

RunState = Literal["running", "finished", "failed", "crashed"]
RUN_STATES: tuple[RunState, ...] = ("running", "finished", "failed", "crashed")
"""Every state a run reads as; ``crashed`` is never stored, it is read from the heartbeat."""

HEARTBEAT_TIMEOUT = timedelta(minutes=10)
"""How old a running run's last heartbeat may be before the run reads as ``crashed``.

Every write through a run (``use``, ``log_artifact``, ``link``, a summary change,
``heartbeat()``) renews it; a long step without writes should call ``run.heartbeat()``.
"""

RUN_FIELDS = {
    "name": ("name",),
    "state": ("state",),
    "tag": ("tags",),
    "created_at": ("created_at",),
    "created_by": ("created_by",),
    "ended_at": ("ended_at",),
    "config": ("config",),
    "summary": ("summary",),
}
"""Filter fields of runs and where they live in a run document (``config.lr`` reaches in)."""

_RUN_REF = "\x00run"  # the head of a filter path that names a version's producing run
_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"


def version_run_fields(key: Literal["run_id", "artifact_id"]) -> dict[str, tuple[str, ...]]:
    """The ``run.<field>`` filter fields of versions whose documents reach them by ``key``.

    ``"run_id"``: artifact version documents, which hold their producing run's id;
    ``"artifact_id"``: link documents, which hold the version's id.
    """
    return {f"run.{name}": (_RUN_REF, key, *path) for name, path in RUN_FIELDS.items()}


def stale_before() -> str:
    """The timestamp before which a running run's heartbeat means it crashed."""
    return (datetime.now(timezone.utc) - HEARTBEAT_TIMEOUT).strftime(_TIMESTAMP)


def run_state(doc: dict[str, Any], cutoff: str | None = None) -> RunState:
    """The state run document ``doc`` reads as (``cutoff``: :func:`stale_before`)."""
    state: RunState = doc["state"]
    if state == "running" and doc["heartbeat_at"] < (cutoff or stale_before()):
        return "crashed"
    return state


def resolve_run_state(tree: Filter, cutoff: str) -> Filter:
    """``tree`` over runs with each condition on ``state`` rewritten onto stored fields.

    A condition is tried on every state a run reads as; the states it accepts become
    equalities on the stored state, ``running`` and ``crashed`` told apart by comparing
    the heartbeat with ``cutoff``.
    """
    if isinstance(tree, Condition):
        if tree.path != ("state",):
            return tree
        accepted = [s for s in RUN_STATES if tree.matches({"state": s})]
        parts: list[Filter] = [
            Condition(("state",), "$eq", s) for s in accepted if s in ("finished", "failed")
        ]
        running = Condition(("state",), "$eq", "running")
        fresh = Condition(("heartbeat_at",), "$gte", cutoff)
        if "running" in accepted and "crashed" in accepted:
            parts.append(running)
        elif "running" in accepted:
            parts.append(And((running, fresh)))
        elif "crashed" in accepted:
            parts.append(And((running, Not(fresh))))
        if not parts:
            return Not(MATCH_ALL)
        return parts[0] if len(parts) == 1 else Or(tuple(parts))
    if isinstance(tree, Not):
        return Not(resolve_run_state(tree.part, cutoff))
    if isinstance(tree, And):
        return And(tuple(resolve_run_state(p, cutoff) for p in tree.parts))
    return Or(tuple(resolve_run_state(p, cutoff) for p in tree.parts))


def _has_run_ref(tree: Filter) -> bool:
    if isinstance(tree, Condition):
        return tree.path[:1] == (_RUN_REF,)
    if isinstance(tree, Not):
        return _has_run_ref(tree.part)
    return any(_has_run_ref(p) for p in tree.parts)


def resolve_version_runs(store: Store, tree: Filter) -> Filter:
    """``tree`` over versions with each ``run.<field>`` condition answered by the store.

    The condition is asked of the ``runs`` table; the matching runs become a ``$in``
    condition on the versions' ``run_id`` (artifact versions) or, through the versions
    those runs produced, on ``artifact_id`` (links). A tree without such conditions is
    returned as it is.
    """
    if not _has_run_ref(tree):
        return tree
    return _rewrite(store, tree, stale_before())


def _rewrite(store: Store, tree: Filter, cutoff: str) -> Filter:
    if isinstance(tree, Condition):
        if tree.path[:1] != (_RUN_REF,):
            return tree
        key = tree.path[1]
        run_cond = resolve_run_state(Condition(tree.path[2:], tree.op, tree.operand), cutoff)
        run_ids = [run_id for run_id, _ in store.query("runs", run_cond)]
        if key == "run_id":
            return Condition(("run_id",), "$in", frozenset(run_ids))
        art_ids = [art_id for art_id, _ in store.query("artifacts", where={"run_id": run_ids})]
        return Condition((key,), "$in", frozenset(art_ids))
    if isinstance(tree, Not):
        return Not(_rewrite(store, tree.part, cutoff))
    if isinstance(tree, And):
        return And(tuple(_rewrite(store, p, cutoff) for p in tree.parts))
    return Or(tuple(_rewrite(store, p, cutoff) for p in tree.parts))
