"""Runs: what an experiment used and what it produced (SPEC §9).

A run is a document in the ``runs`` table; what it used and produced are documents in
the ``run_edges`` table, ``{"run_id", "artifact_id", "kind": "input" | "output"}``, and
an artifact version it logged first also holds its ``run_id`` (its producing run). A
run records a heartbeat with every write through it and reads as ``crashed`` once a
``running`` run's heartbeat is old (see :mod:`~registry_widget.domain.run_query`):
nothing runs in the background.

Every organisation user sees every run; what a run used or produced is shown only where
the user may see that version (the one rule of
:meth:`~registry_widget.domain.session.Session.sees_artifact`), with no hint of the rest.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any

from registry_widget.choices import validate_page
from registry_widget.domain.artifact_log import log_artifact
from registry_widget.domain.artifact_version import (
    ArtifactVersion,
    artifact_id,
    find_artifact,
)
from registry_widget.domain.handle import Handle
from registry_widget.domain.history import HistoryEntry
from registry_widget.domain.reprs import ResultList, metadata_text, short
from registry_widget.domain.run_query import (
    RunState,
    run_state,
)
from registry_widget.domain.run_records import MAX_ERROR, EdgeKind, add_edge, run_label
from registry_widget.domain.session import Doc, Session, copy_json, now
from registry_widget.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from registry_widget.metadata import validate_metadata
from registry_widget.permissions import Action
from registry_widget.store import Transaction

if TYPE_CHECKING:
    from registry_widget.domain.link import Link

__all__ = ["Run", "RunSummary", "producing_run", "run_edge_ids"]


def run_edge_ids(
    s: Session, *, kind: EdgeKind, run_id: int | None = None, art_id: int | None = None
) -> list[int]:
    """The other ends of the edges of a run (versions) or of a version (runs), in order.

    Versions the user may not see, or that were deleted, are left out.
    """
    if run_id is not None:
        rows = s.store.find("run_edges", run_id=run_id, kind=kind)
        ids = list(dict.fromkeys(d["artifact_id"] for _, d in rows))
        return [i for i in ids if s.store.get("artifacts", i) is not None and s.sees_artifact(i)]
    assert art_id is not None
    rows = s.store.find("run_edges", artifact_id=art_id, kind=kind)
    return list(dict.fromkeys(d["run_id"] for _, d in rows))


def producing_run(s: Session, art_id: int) -> int | None:
    """The id of the run that produced artifact version ``art_id`` first, if any."""
    doc = s.store.get("artifacts", art_id)
    if doc is None:
        return None
    run_id = doc.get("run_id")
    return None if run_id is None else int(run_id)


def _timestamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


class RunSummary(MutableMapping[str, Any]):
    """A run's final values (``run.summary["acc"] = 0.94``), stored as they are set.

    Values follow the rules of metadata (JSON, at most 100 keys, finite numbers…): a
    value that breaks them is refused with a :class:`~registry_widget.ValidationError`
    and nothing is stored. Reading gives copies; each change is one durable write.
    """

    def __init__(self, run: Run) -> None:
        self._run = run

    def _values(self) -> dict[str, Any]:
        values: dict[str, Any] = self._run._doc()["summary"]
        return values

    def __getitem__(self, key: str) -> Any:
        return copy_json(self._values()[key])

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._values()))

    def __len__(self) -> int:
        return len(self._values())

    def __setitem__(self, key: str, value: Any) -> None:
        self._run._change_summary({key: value}, ())

    def __delitem__(self, key: str) -> None:
        if key not in self._values():
            raise KeyError(key)
        self._run._change_summary({}, (key,))

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Set several values in one write."""
        self._run._change_summary(dict(*args, **kwargs), ())

    def __repr__(self) -> str:
        return f"RunSummary({self._values()!r})"


class Run(Handle[Doc]):
    """One experiment: its config, what it used, what it produced, and how it ended.

    Created by :meth:`Client.start_run`; use it as a context manager so that it ends
    ``finished``, or ``failed`` with the exception's text::

        with client.start_run("train", config={"lr": 1e-3}) as run:
            ds = run.use("Datasets/cats:production")
            v = run.log_artifact("cat-resnet", type="model", files="weights/")
            run.summary["acc"] = 0.94
            run.link(v, "Models/cat-resnet", aliases=["staging"])

    Only its creator writes through it, and only while it is ``running`` (or reads as
    ``crashed``: a write renews the heartbeat).
    """

    def _load(self) -> Doc:
        s = self._s
        s._org_role()
        doc = s.store.get("runs", self._id)
        if doc is None:
            msg = f"there is no run {self._id}"
            raise NotFoundError(msg)
        return doc

    def _doc(self) -> Doc:
        return self._docs()

    def __repr__(self) -> str:
        try:
            doc = self._doc()
        except NotFoundError:
            return "<Run (deleted)>"
        return f"<Run {doc['name']} (id {self._id}, {run_state(doc)}, by {doc['created_by']})>"

    def _repr_fields_(self) -> dict[str, str]:
        doc = self._doc()
        return {
            "run": f"{doc['name']} (id {self._id})",
            "state": run_state(doc),
            "started": f"{doc['created_at'][:16].replace('T', ' ')} by {doc['created_by']}",
            "config": metadata_text(doc["config"]),
            "summary": metadata_text(doc["summary"]),
            "tags": short(doc["tags"]),
        }

    # -- reading ------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The run's id, for :meth:`Client.run`; never given to another run."""
        return str(self._id)

    @property
    def name(self) -> str:
        """The name it was started with (several runs may share one)."""
        return str(self._doc()["name"])

    @property
    def state(self) -> RunState:
        """``running``, ``finished``, ``failed``, or ``crashed`` (running, heartbeat old)."""
        return run_state(self._doc())

    @property
    def error(self) -> str | None:
        """The text of the exception a ``failed`` run ended with, else None."""
        error = self._doc()["error"]
        return None if error is None else str(error)

    @property
    def config(self) -> dict[str, Any]:
        """The settings it was started with (a copy; fixed at start)."""
        return copy_json(self._doc()["config"])  # type: ignore[no-any-return]

    @property
    def summary(self) -> RunSummary:
        """Its final values, a dict-like that stores what is set in it."""
        return RunSummary(self)

    @property
    def tags(self) -> list[str]:
        """Its tags."""
        return list(self._doc()["tags"])

    @property
    def ended_at(self) -> str | None:
        """When it finished or failed (ISO-8601, UTC); None while running or crashed."""
        ended = self._doc()["ended_at"]
        return None if ended is None else str(ended)

    @property
    def heartbeat_at(self) -> str:
        """Its last sign of life: the last write through it (ISO-8601, UTC)."""
        return str(self._doc()["heartbeat_at"])

    @property
    def duration(self) -> timedelta:
        """How long it ran: to its end, to its last heartbeat if crashed, else until now."""
        doc = self._doc()
        start = _timestamp(doc["created_at"])
        state = run_state(doc)
        if doc["ended_at"] is not None:
            return _timestamp(doc["ended_at"]) - start
        if state == "crashed":
            return _timestamp(doc["heartbeat_at"]) - start
        return datetime.now(timezone.utc) - start

    @property
    def inputs(self) -> list[ArtifactVersion]:
        """The versions it used that the user may see, in the order first used."""
        self._doc()
        ids = run_edge_ids(self._s, kind="input", run_id=self._id)
        return ResultList(ArtifactVersion(self._s, i) for i in ids)

    @property
    def outputs(self) -> list[ArtifactVersion]:
        """The versions it logged that the user may see, in the order logged."""
        self._doc()
        ids = run_edge_ids(self._s, kind="output", run_id=self._id)
        return ResultList(ArtifactVersion(self._s, i) for i in ids)

    def history(self, *, limit: int | None = None, offset: int = 0) -> list[HistoryEntry]:
        """Its start, edges and end, newest first (edges to hidden versions left out)."""
        limit, offset = validate_page(limit, offset)
        self._doc()
        s = self._s
        rows = s.store.history("run_id", self._id)
        shown = [
            d
            for _, d in rows
            if d["artifact_id"] is None
            or (
                s.store.get("artifacts", d["artifact_id"]) is not None
                and s.sees_artifact(d["artifact_id"])
            )
        ]
        end = None if limit is None else offset + limit
        return ResultList(
            HistoryEntry(d["at"], d["user"], d["action"], d["target"], d["before"], d["after"])
            for d in shown[offset:end]
        )

    # -- writing ------------------------------------------------------------------------

    def _writable(self, txn: Transaction) -> Doc:
        """The run's document, after refusing a write by another user or after its end.

        Renews the heartbeat in ``txn``.
        """
        doc = self._load()
        self._check_writable(doc)
        txn.update("runs", self._id, {"heartbeat_at": now()})
        return doc

    def _check_writable(self, doc: Doc) -> None:
        s = self._s
        label = run_label(doc, self._id)
        if not s.is_user(doc["created_by"]):
            msg = (
                f"user {s.user!r} may not write to run {label}: only its creator "
                f"{doc['created_by']!r} may"
            )
            raise PermissionDeniedError(msg)
        if doc["state"] != "running":
            msg = (
                f"run {label} has ended ({doc['state']}); start a new run with "
                "client.start_run() to record more"
            )
            raise ConflictError(msg)

    def heartbeat(self) -> None:
        """Record that the run is alive (call it during long steps without other writes)."""
        with self._s.store.transaction() as txn:
            self._writable(txn)

    def use(self, ref: str | ArtifactVersion | Link) -> Link | ArtifactVersion:
        """Use a version as an input: ``"Registry/Collection:alias"`` or ``"name:vM"``.

        Returns what :meth:`Client.use` (a :class:`Link`, for a registry path) or
        :meth:`Client.artifact` (an :class:`ArtifactVersion`) returns; a ``Link`` or an
        ``ArtifactVersion`` is taken as it is. Using the same version twice records one
        input.
        """
        from registry_widget.domain.link import Link
        from registry_widget.domain.using import use_path

        s = self._s
        with s.store.transaction() as txn:
            self._writable(txn)
            if isinstance(ref, Link):
                if ref._s.store is not s.store:
                    msg = "that linked version belongs to another store"
                    raise ValidationError(msg, field="ref", value=ref)
                link_doc, _, reg = ref._docs()
                resolved: Link | ArtifactVersion = ref
                art_id = int(link_doc["artifact_id"])
                s.require(reg, Action.USE, f"use versions from registry {reg['name']!r}")
            elif isinstance(ref, ArtifactVersion):
                art_id = artifact_id(s, ref)
                s.artifact(art_id)
                resolved = ArtifactVersion(s, art_id)
            elif isinstance(ref, str) and "/" in ref:
                resolved = use_path(s, ref)
                art_id = int(resolved._doc()["artifact_id"])
            else:
                art_id = find_artifact(s, ref)
                resolved = ArtifactVersion(s, art_id)
            add_edge(s, txn, self._id, art_id, "input")
        return resolved

    def log_artifact(
        self,
        name: str,
        *,
        type: str,
        files: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | Mapping[str, Any],
        metadata: Mapping[str, Any] | None = None,
        description: str = "",
        tags: Iterable[str] = (),
    ) -> ArtifactVersion:
        """Log a version as :meth:`Client.log_artifact` does, as an output of this run.

        The version and the edge are recorded together, or neither is. A version logged
        first by this run names it as its producing run (``version.run``).
        """
        s = self._s
        s.store.refresh()
        self._check_writable(self._load())  # refuse before any file is read

        def record(txn: Transaction, art_id: int) -> None:
            self._writable(txn)
            add_edge(s, txn, self._id, art_id, "output")

        art_id = log_artifact(
            s,
            name,
            artifact_type=type,
            files=files,
            metadata=metadata,
            description=description,
            tags=tags,
            on_version=record,
        )
        return ArtifactVersion(s, art_id)

    def link(self, version: ArtifactVersion | str, path: str, aliases: Iterable[str] = ()) -> Link:
        """Link a version into ``Registry/Collection`` as :meth:`Client.link` does."""
        from registry_widget.domain.link import Link
        from registry_widget.domain.linking import link_version

        s = self._s
        with s.store.transaction() as txn:
            self._writable(txn)
            link_id = link_version(s, artifact_id(s, version), path, aliases)
        return Link(s, link_id)

    def _change_summary(self, values: Mapping[str, Any], removed: Iterable[str]) -> None:
        s = self._s
        with s.store.transaction() as txn:
            doc = self._writable(txn)
            summary = {k: v for k, v in doc["summary"].items() if k not in set(removed)}
            for key in values:
                if not isinstance(key, str):
                    msg = f"summary keys are str, not {key!r}"
                    raise ValidationError(msg, field="summary", value=key)
            summary.update(values)
            checked = validate_metadata(summary)
            txn.update("runs", self._id, {"summary": checked})

    def finish(self, *, error: str | None = None) -> Run:
        """End the run: ``finished``, or ``failed`` with ``error`` (the failure's text)."""
        if error is not None and not isinstance(error, str):
            msg = f"error must be a str (the failure's text) or None, not {error!r}"
            raise ValidationError(msg, field="error", value=error)
        s = self._s
        with s.store.transaction() as txn:
            doc = self._writable(txn)
            at = now()
            state = "finished" if error is None else "failed"
            text = None if error is None else error[:MAX_ERROR]
            txn.update(
                "runs",
                self._id,
                {"state": state, "error": text, "ended_at": at, "heartbeat_at": at},
            )
            s.record(
                txn,
                "run.end",
                run_label(doc, self._id),
                before={"state": "running"},
                after={"state": state, "error": text},
                run_id=self._id,
            )
        return self

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        _exc_type: type[BaseException] | None,
        exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        try:
            doc = self._doc()
        except NotFoundError:
            return
        if doc["state"] != "running":
            return  # ended inside the block
        if exc is None:
            self.finish()
        else:
            text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.finish(error=text or type(exc).__name__)
