"""Recording the MLflow run behind each imported model version as a run of the store.

A model version's source run becomes a run (params → config, final metrics → summary,
its times, state and, when an organisation admin imports, its user) with the version as
its output, through the domain's run importer, which keeps one run per MLflow run id:
importing again finds it.
"""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING, Any, Literal

from registry_widget.domain.run_records import add_edge, import_run
from registry_widget.entity_names import validate_user_name
from registry_widget.errors import ValidationError
from registry_widget.metadata import MAX_METADATA_KEYS
from registry_widget.migrate._mlflow_source import (
    MlflowSource,
    SourceError,
    SourceRun,
    SourceVersion,
)
from registry_widget.migrate.mlflow_mapping import RUN_STATES, iso_time, param_value, run_name
from registry_widget.migrate.summary import MigrationSummary, SkippedItem

if TYPE_CHECKING:
    from registry_widget import ArtifactVersion, Client

__all__ = ["RunRecorder"]


class RunRecorder:
    """Reads each MLflow run once and records it, with its outputs, in the store."""

    def __init__(self, client: Client, source: MlflowSource, summary: MigrationSummary) -> None:
        self.client = client
        self.source = source
        self.summary = summary
        self.runs: dict[str, SourceRun | None] = {}  # MLflow run id -> the run, if readable

    def source_run(self, version: SourceVersion) -> SourceRun | None:
        """The MLflow run of ``version`` (read once), or None when it has none or is gone."""
        run_id = version.run_id
        if run_id is None:
            return None
        if run_id not in self.runs:
            try:
                self.runs[run_id] = self.source.run(run_id)
            except SourceError as exc:
                self.runs[run_id] = None
                self.summary.skipped.append(
                    SkippedItem("run", f"run {run_id} of {version.label}", f"unreadable: {exc}")
                )
        return self.runs[run_id]

    def record(self, version: SourceVersion, artifact: ArtifactVersion) -> None:
        """Record the source run of ``version`` (once) with ``artifact`` as its output."""
        run = self.source_run(version)
        if run is None:
            return
        s = self.client._s
        config = self._limited(run, "params", {k: param_value(v) for k, v in run.params.items()})
        summary = self._limited(
            run, "metrics", {k: v for k, v in run.metrics.items() if math.isfinite(v)}
        )
        state: Literal["running", "finished", "failed"] = RUN_STATES.get(run.status, "running")
        # Under its MLflow user when an organisation admin imports it (who may record in
        # others' names), else under the importing user's.
        user = self.client.user
        if run.user and s.org_role() == "admin":
            with contextlib.suppress(ValidationError):
                user = validate_user_name(run.user)
        with s.store.transaction() as txn:
            run_id = import_run(
                s,
                run_name(run.name),
                origin=f"mlflow:{run.run_id}",
                config=config,
                summary=summary,
                created_at=iso_time(run.start_time or version.creation_timestamp),
                ended_at=None if run.end_time is None else iso_time(run.end_time),
                created_by=user,
                state=state,
                error=f"MLflow status {run.status}" if state == "failed" else None,
            )
            add_edge(s, txn, run_id, artifact._id, "output")

    def _limited(self, run: SourceRun, what: str, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` cut to the first keys a run holds, with a note when some are left out."""
        if len(values) <= MAX_METADATA_KEYS:
            return values
        kept = dict(sorted(values.items())[:MAX_METADATA_KEYS])
        self.summary.notes.append(
            f"run {run.run_id}: {len(values) - MAX_METADATA_KEYS} of its {len(values)} {what} "
            f"were left out (a run holds at most {MAX_METADATA_KEYS})"
        )
        return kept
