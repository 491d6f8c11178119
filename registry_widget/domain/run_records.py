"""The documents of runs and of what they used and produced: recording and listing them.

A run starts (or is imported, once per origin) as a document in the ``runs`` table;
each version it used or produced is a ``run_edges`` document, and an output also names
its run as the version's producing run. Listing runs goes through the run filter of
:mod:`~registry_widget.domain.run_query`, which reads ``crashed`` from the heartbeat.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from registry_widget.choices import validate_page
from registry_widget.domain.run_query import RUN_FIELDS, resolve_run_state, stale_before
from registry_widget.domain.session import Doc, Session, now
from registry_widget.entity_names import validate_run_name
from registry_widget.errors import ValidationError
from registry_widget.metadata import validate_metadata
from registry_widget.names import validate_tags
from registry_widget.store import Transaction

__all__ = [
    "MAX_ERROR",
    "EdgeKind",
    "add_edge",
    "import_run",
    "list_runs",
    "run_label",
    "start_run",
]

EdgeKind = Literal["input", "output"]
MAX_ERROR = 4000
"""Characters of an exception's text kept on a failed run."""


def run_label(doc: Doc, run_id: int) -> str:
    """How history names a run: ``train-resnet (run 7)``."""
    return f"{doc['name']} (run {run_id})"


def _run_doc(
    name: str,
    config: dict[str, Any],
    tags: list[str],
    user: str,
    at: str,
) -> Doc:
    return {
        "name": name,
        "state": "running",
        "error": None,
        "config": config,
        "summary": {},
        "tags": tags,
        "created_at": at,
        "created_by": user,
        "ended_at": None,
        "heartbeat_at": at,
        "origin": None,
    }


def start_run(s: Session, name: str, config: Mapping[str, Any] | None, tags: Iterable[str]) -> int:
    """Record a new ``running`` run; return its id (organisation members and admins)."""
    name = validate_run_name(name)
    conf = validate_metadata(config)
    tag_list = validate_tags(tags)
    with s.store.transaction() as txn:
        s.require_org("member", "start runs")
        doc = _run_doc(name, conf, tag_list, s.user, now())
        run_id = txn.insert("runs", doc)
        s.record(txn, "run.start", run_label(doc, run_id), after={"config": conf}, run_id=run_id)
    return run_id


def import_run(
    s: Session,
    name: str,
    *,
    origin: str,
    config: Mapping[str, Any] | None,
    summary: Mapping[str, Any] | None,
    created_at: str,
    ended_at: str | None,
    created_by: str,
    state: Literal["running", "finished", "failed"],
    error: str | None = None,
) -> int:
    """Record a run that happened elsewhere (an importer's), once per ``origin``.

    ``origin`` (e.g. ``"mlflow:<run id>"``) identifies the run at its source: importing
    it again returns the run recorded the first time. The run is recorded as it was,
    with its own times and user (``created_by`` need not be a user of this store); the
    history names who imported it. A ``running`` run's heartbeat is its last known time,
    so it reads as ``crashed`` once that is old.
    """
    name = validate_run_name(name)
    conf = validate_metadata(config)
    summ = validate_metadata(summary)
    if not isinstance(origin, str) or not origin:
        msg = f"origin must be a non-empty str such as 'mlflow:<run id>', not {origin!r}"
        raise ValidationError(msg, field="origin", value=origin)
    with s.store.transaction() as txn:
        s.require_org("member", "import runs")
        found = s.store.find_one("runs", origin=origin)
        if found is not None:
            return found[0]
        doc = _run_doc(name, conf, [], created_by, created_at)
        doc.update(
            state=state,
            error=None if error is None else error[:MAX_ERROR],
            summary=summ,
            ended_at=ended_at,
            heartbeat_at=ended_at or created_at,
        )
        doc["origin"] = origin
        run_id = txn.insert("runs", doc)
        s.record(
            txn,
            "run.import",
            run_label(doc, run_id),
            after={"origin": origin, "state": state},
            run_id=run_id,
        )
    return run_id


def add_edge(s: Session, txn: Transaction, run_id: int, art_id: int, kind: EdgeKind) -> None:
    """Record that run ``run_id`` used (``input``) or produced (``output``) ``art_id``, once.

    An output also becomes the version's producing run, unless it has one already.
    """
    if s.store.find_ids("run_edges", run_id=run_id, artifact_id=art_id, kind=kind):
        return
    run = s.store.get("runs", run_id)
    art = s.store.get("artifacts", art_id)
    assert run is not None
    assert art is not None
    txn.insert(
        "run_edges",
        {
            "run_id": run_id,
            "artifact_id": art_id,
            "kind": kind,
            "created_at": now(),
            "created_by": s.user,
        },
    )
    if kind == "output" and art.get("run_id") is None:
        txn.update("artifacts", art_id, {"run_id": run_id})
    s.record(
        txn,
        f"run.{kind}",
        run_label(run, run_id),
        after=f"{art['name']}:v{art['index']}",
        run_id=run_id,
        artifact_id=art_id,
    )


def list_runs(
    s: Session,
    filter: Mapping[str, Any] | None,
    limit: int | None,
    offset: int,
) -> list[int]:
    """The ids of the runs matching ``filter``, newest first, paged."""
    limit, offset = validate_page(limit, offset)
    tree = resolve_run_state(s.parse_filter(filter, RUN_FIELDS), stale_before())
    s.org_role()
    rows = s.store.query("runs", tree, order=("-created_at", "-id"), limit=limit, offset=offset)
    return [run_id for run_id, _ in rows]
