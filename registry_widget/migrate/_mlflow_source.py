"""Reading an MLflow model registry: models, versions, aliases, stages and files.

MLflow is imported lazily, only when a migration runs, so that it stays an optional
dependency. Everything read is copied into small plain records at once, so that the rest
of the migration does not depend on MLflow's classes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry_widget.errors import ValidationError

__all__ = [
    "MlflowSource",
    "SourceError",
    "SourceModel",
    "SourceRun",
    "SourceVersion",
    "import_mlflow",
]

_INSTALL_HINT = 'pip install "registry_widget[mlflow]"'
_PAGE_SIZE = 100


class SourceError(Exception):
    """Reading one object from MLflow failed (e.g. its files are missing)."""


@dataclass(frozen=True)
class SourceVersion:
    """One MLflow model version, as read."""

    model: str
    version: int
    run_id: str | None
    source: str
    status: str
    stage: str
    creation_timestamp: int | None
    description: str
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How the version is named in a summary: ``"cat-resnet version 2"``."""
        return f"{self.model} version {self.version}"


@dataclass(frozen=True)
class SourceRun:
    """The MLflow run that produced a model version, as read.

    ``params`` are MLflow's strings; ``metrics`` the last value logged of each metric;
    times are milliseconds since the epoch (``end_time`` None while it runs).
    """

    run_id: str
    name: str
    status: str
    user: str
    start_time: int | None
    end_time: int | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceModel:
    """One MLflow registered model with its versions in version order."""

    name: str
    description: str
    creation_timestamp: int | None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    versions: list[SourceVersion] = field(default_factory=list)


def import_mlflow() -> Any:
    """Import and return the ``mlflow`` package, or explain how to install it."""
    try:
        import mlflow  # optional dependency, imported on use
        import mlflow.artifacts
    except ImportError as exc:
        msg = (
            "migrating from MLflow needs the mlflow package, which is not installed; "
            f"install it with: {_INSTALL_HINT}"
        )
        raise ImportError(msg) from exc
    return mlflow


def _check_tracking_uri(tracking_uri: str) -> None:
    """Refuse a local SQLite URI whose database file does not exist.

    MLflow would silently create an empty database there, and the migration would then
    find nothing to import.
    """
    prefix = "sqlite:///"
    if tracking_uri.startswith(prefix):
        db = tracking_uri[len(prefix) :].split("?", 1)[0]
        if db and db != ":memory:" and not Path(db).is_file():
            msg = (
                f"tracking_uri {tracking_uri!r} names the SQLite database {db!r}, which does "
                "not exist; pass the URI of an existing MLflow database, e.g. "
                "'sqlite:///path/to/mlflow.db'"
            )
            raise ValidationError(msg, field="tracking_uri", value=tracking_uri)


def _pages(search: Callable[..., Any], **kwargs: Any) -> Iterator[Any]:
    """Every item of a paginated MLflow search."""
    token: str | None = None
    while True:
        page = search(max_results=_PAGE_SIZE, page_token=token, **kwargs)
        yield from page
        token = page.token
        if not token:
            return


@contextlib.contextmanager
def _quiet_downloads() -> Iterator[None]:
    """Hide MLflow's own per-download progress bars while the migration shows its bar."""
    name = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    before = os.environ.get(name)
    os.environ[name] = "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


class MlflowSource:
    """An MLflow tracking server or database and its model registry.

    Parameters
    ----------
    tracking_uri
        The MLflow tracking URI, e.g. ``"sqlite:///mlflow.db"``.
    registry_uri
        The MLflow registry URI; the tracking URI when None.
    """

    def __init__(self, tracking_uri: str, registry_uri: str | None = None) -> None:
        self._mlflow = import_mlflow()
        _check_tracking_uri(tracking_uri)
        if registry_uri is not None:
            _check_tracking_uri(registry_uri)
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri if registry_uri is not None else tracking_uri
        self._client = self._mlflow.MlflowClient(
            tracking_uri=self.tracking_uri, registry_uri=self.registry_uri
        )

    def models(self) -> list[SourceModel]:
        """Every registered model with its versions, oldest model first."""
        versions: dict[str, list[SourceVersion]] = {}
        for mv in _pages(self._client.search_model_versions):
            versions.setdefault(mv.name, []).append(_version(mv))
        models = [
            SourceModel(
                name=rm.name,
                description=rm.description or "",
                creation_timestamp=rm.creation_timestamp,
                tags=dict(rm.tags or {}),
                aliases={str(a): int(v) for a, v in (rm.aliases or {}).items()},
                versions=sorted(versions.get(rm.name, []), key=lambda v: v.version),
            )
            for rm in _pages(self._client.search_registered_models)
        ]
        # Oldest first: a model added later never takes a name an earlier one had.
        return sorted(models, key=lambda m: (m.creation_timestamp or 0, m.name))

    def run(self, run_id: str) -> SourceRun:
        """The run ``run_id`` with its params and final metrics.

        Raises
        ------
        SourceError
            When MLflow cannot deliver the run (deleted, or in another tracking store).
        """
        try:
            run = self._client.get_run(run_id)
        except self._mlflow.exceptions.MlflowException as exc:
            raise SourceError(_short(str(exc))) from exc
        info, data = run.info, run.data
        return SourceRun(
            run_id=str(info.run_id),
            name=str(info.run_name or info.run_id),
            status=str(info.status or ""),
            user=str(info.user_id or ""),
            start_time=info.start_time,
            end_time=info.end_time,
            params={str(k): str(v) for k, v in (data.params or {}).items()},
            metrics={str(k): float(v) for k, v in (data.metrics or {}).items()},
        )

    def download(self, version: SourceVersion, root: Path) -> dict[str, Path]:
        """Download the files of ``version`` under ``root``.

        Returns
        -------
        dict
            Relative POSIX path -> local file, for every file of the version.

        Raises
        ------
        SourceError
            When MLflow cannot deliver the files.
        """
        try:
            uri = self._client.get_model_version_download_uri(version.model, str(version.version))
            with _quiet_downloads():
                local = Path(
                    self._mlflow.artifacts.download_artifacts(
                        artifact_uri=uri,
                        dst_path=str(root),
                        tracking_uri=self.tracking_uri,
                        registry_uri=self.registry_uri,
                    )
                )
        except (self._mlflow.exceptions.MlflowException, OSError) as exc:
            raise SourceError(_short(str(exc))) from exc
        if local.is_file():
            return {local.name: local}
        return {
            path.relative_to(local).as_posix(): path
            for path in sorted(local.rglob("*"))
            if path.is_file()
        }


def _version(mv: Any) -> SourceVersion:
    return SourceVersion(
        model=mv.name,
        version=int(mv.version),
        run_id=mv.run_id or None,
        source=mv.source or "",
        status=str(mv.status or ""),
        stage=str(mv.current_stage or "None"),
        creation_timestamp=mv.creation_timestamp,
        description=mv.description or "",
        tags=dict(mv.tags or {}),
    )


def _short(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and "#####" not in line]
    return " ".join(lines)[:300] or "unknown error"
