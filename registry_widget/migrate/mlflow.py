"""Import an MLflow model registry into a registry_widget store.

Each registered model becomes a collection of type ``model`` in one custom, restricted
registry; each model version becomes an artifact version with the version's files, linked
in version order; MLflow aliases and legacy stages become aliases. Only the public
registry_widget API is used, so every rule of the store applies to the import.

Each model version's source run becomes a run of the store (params → config, final
metrics → summary, its times, state and user) with the version as its output, so the
imported registry has lineage from the start. Runs are recorded through the domain's run
importer, which keeps one run per MLflow run id.

Running the import again adds only what is new: a model version is recognised by the
``mlflow.model_name`` and ``mlflow.version`` metadata of the versions already linked, a
run by its MLflow run id.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry_widget.errors import NotFoundError, RegistryError, ValidationError
from registry_widget.migrate._mlflow_source import (
    MlflowSource,
    SourceError,
    SourceModel,
    SourceVersion,
)
from registry_widget.migrate.mlflow_mapping import (
    ARTIFACT_TYPE,
    RESERVED_ALIAS,
    artifact_name,
    collection_key,
    collection_name,
    files_manifest,
    mlflow_origin,
    plain_tags,
    stored_manifest,
    suffixed,
    version_metadata,
    wanted_aliases,
)
from registry_widget.migrate.mlflow_runs import RunRecorder
from registry_widget.migrate.summary import (
    ImportedAlias,
    ImportedVersion,
    MigrationSummary,
    SkippedItem,
)

if TYPE_CHECKING:
    from registry_widget import Client, Collection, Link, Registry

__all__ = ["from_mlflow"]


def from_mlflow(
    client: Client,
    tracking_uri: str,
    *,
    registry_uri: str | None = None,
    registry: str = "mlflow-migrated",
    progress: bool | None = None,
) -> MigrationSummary:
    """Import the MLflow model registry at ``tracking_uri`` into ``client``'s store.

    Parameters
    ----------
    client
        The registry_widget client to import with; its user creates (and administers)
        the target registry.
    tracking_uri
        The MLflow tracking URI, e.g. ``"sqlite:///mlflow.db"``. Model files are
        downloaded from the artifact store the MLflow registry points to.
    registry_uri
        The MLflow model registry URI, when it differs from ``tracking_uri``.
    registry
        The target registry. It is created as a restricted custom registry accepting
        ``model`` when missing; an existing one must be a custom registry that accepts
        ``model``.
    progress
        Show a progress bar over the model versions: True always, False never, None
        (default) in notebooks and terminals but not in logs.

    Returns
    -------
    MigrationSummary
        What was imported, what was skipped and why.

    Raises
    ------
    ImportError
        When MLflow is not installed (``pip install "registry_widget[mlflow]"``).
    ValidationError
        When ``registry`` names a registry that cannot hold MLflow models, or
        ``tracking_uri`` names a SQLite database that does not exist.

    Notes
    -----
    - Collection: named after the model (made valid when it is not: the summary says
      so), with the model's description, and its tags that are plain words (an MLflow
      tag with an empty value). Other model tags are kept in each version's metadata
      under ``mlflow.registered_model_tags``.
    - Artifact version: named after the model (reduced to ``[A-Za-z0-9_.-]``), type
      ``model``, the version's files, description and plain-word tags, and metadata
      ``{"mlflow": {"model_name", "version", "run_id", "source", "status", "stage",
      "creation_timestamp", "tags", "description"}}``.
    - Aliases: MLflow aliases keep their names; stages Production, Staging and Archived
      become ``production``, ``staging`` and ``archived``, held by the newest version in
      that stage; an MLflow alias of the same name wins over a stage.
    - A version that cannot be imported (missing files, a refused name…) is skipped
      with its reason; the others are imported. A version whose files are identical to
      a version already linked maps to that link.
    """
    source = MlflowSource(tracking_uri, registry_uri)
    models = source.models()
    summary = MigrationSummary(source=tracking_uri, registry=registry)
    target = _target_registry(client, registry, summary)
    migration = _Migration(client, target, source, summary)
    bar = _progress_bar(sum(len(m.versions) for m in models), progress)
    try:
        for model in models:
            migration.migrate(model, bar)
    finally:
        bar.close()
    return summary


def _target_registry(client: Client, name: str, summary: MigrationSummary) -> Registry:
    """Find (and check) or create, restricted, the registry to import into."""
    try:
        target = client.registry(name)
    except NotFoundError:
        summary.created_registry = True
        return client.create_registry(
            name,
            description="Models imported from MLflow.",
            visibility="restricted",
            artifact_types=[ARTIFACT_TYPE],
        )
    if target.kind != "custom":
        msg = (
            f"registry {name!r} is a {target.kind} registry; MLflow models are imported "
            "into a custom registry: pass registry= the name of a new or custom registry"
        )
        raise ValidationError(msg, field="registry", value=name)
    accepted = target.artifact_types
    if accepted is not None and ARTIFACT_TYPE not in accepted:
        msg = (
            f"registry {name!r} accepts artifact types {accepted}, not {ARTIFACT_TYPE!r}; "
            f"add it with registry.add_artifact_type({ARTIFACT_TYPE!r}) or pass another "
            "registry="
        )
        raise ValidationError(msg, field="registry", value=name)
    return target


def _progress_bar(total: int, progress: bool | None) -> Any:
    from tqdm.auto import tqdm  # picks the notebook flavour in Jupyter

    disable = None if progress is None else not progress
    return tqdm(total=total, desc="MLflow model versions", unit="version", disable=disable)


class _Migration:
    """The state of one migration run: what the target holds, and what was decided."""

    def __init__(
        self, client: Client, target: Registry, source: MlflowSource, summary: MigrationSummary
    ) -> None:
        self.client = client
        self.target = target
        self.source = source
        self.summary = summary
        self.collection_of: dict[str, Collection] = {}  # model -> collection
        self.artifact_of: dict[str, str] = {}  # model -> artifact name
        self.links: dict[tuple[str, int], Link] = {}  # (model, version) -> link
        self.claimed: dict[str, str] = {}  # collection key -> model that holds it
        self.used_artifacts: set[str] = set()  # artifact names (casefolded) in use
        self.manifests: dict[str, dict[str, str]] = {}  # link path -> its files' digests
        self.runs = RunRecorder(client, source, summary)
        for collection in target.collections():
            for link in collection.versions():
                origin = mlflow_origin(link.metadata)
                if origin is None:
                    continue
                model, version = origin
                self.links[(model, version)] = link
                self.claimed.setdefault(collection_key(collection.name), model)
                self.collection_of.setdefault(model, collection)
                self.artifact_of.setdefault(model, link.artifact.name)
                self.used_artifacts.add(link.artifact.name.casefold())

    # -- one model ---------------------------------------------------------------------

    def migrate(self, model: SourceModel, bar: Any) -> None:
        """Import ``model``: its collection, its new versions, then its aliases."""
        bar.set_postfix_str(model.name[:40], refresh=False)
        collection = self._collection(model)
        if collection is None:
            bar.update(len(model.versions))
            return
        _, pairs = plain_tags(model.tags)
        artifact = self._artifact_name(model)
        links: dict[int, Link] = {}
        imported = 0
        for version in model.versions:
            link, new = self._version(collection, artifact, model, version, pairs)
            if link is not None:
                links[version.version] = link
            imported += new
            bar.update(1)
        if pairs and imported:
            shown = ", ".join(f"{k}={v}" for k, v in pairs.items())
            self.summary.notes.append(
                f"{model.name}: model tags that are not plain words are kept in the metadata "
                f"of each version under mlflow.registered_model_tags ({shown})"
            )
        self._aliases(collection, model, links)

    def _collection(self, model: SourceModel) -> Collection | None:
        """Find the collection of ``model``: the one holding its versions, or a new one."""
        known = self.collection_of.get(model.name)
        if known is not None:
            return known
        wanted = collection_name(model.name)
        for n in range(1, 1000):
            name = suffixed(wanted, n)
            holder = self.claimed.get(collection_key(name))
            if holder is not None and holder != model.name:
                continue
            try:
                collection = self.target.collection(name)
            except NotFoundError:
                return self._create_collection(model, name)
            if collection.type == ARTIFACT_TYPE:
                self.claimed[collection_key(name)] = model.name
                self.collection_of[model.name] = collection
                return collection
        self._skip_model(model, f"no free collection name like {wanted!r}")
        return None

    def _create_collection(self, model: SourceModel, name: str) -> Collection | None:
        words, _ = plain_tags(model.tags)
        try:
            collection = self.target.create_collection(
                name, type=ARTIFACT_TYPE, description=model.description, tags=words
            )
        except RegistryError as exc:
            self._skip_model(model, f"collection {name!r} was refused: {exc}")
            return None
        self.summary.collections.append(collection.path)
        if name != model.name:
            self.summary.notes.append(
                f"model {model.name!r} is the collection {collection.path!r}: collection "
                "names have no '/', ':' or control characters, at most 128 characters, "
                "and are unique in a registry"
            )
        self.claimed[collection_key(name)] = model.name
        self.collection_of[model.name] = collection
        return collection

    def _skip_model(self, model: SourceModel, reason: str) -> None:
        self.summary.skipped.append(SkippedItem("model", f"model {model.name!r}", reason))
        for version in model.versions:
            self.summary.skipped.append(
                SkippedItem("version", version.label, f"its model was skipped: {reason}")
            )

    def _artifact_name(self, model: SourceModel) -> str:
        """Choose the artifact name of ``model``'s versions, stable from run to run."""
        known = self.artifact_of.get(model.name)
        if known is not None:
            return known
        base = artifact_name(model.name)
        name = base
        for n in range(1, 1000):
            name = suffixed(base, n)
            if name.casefold() not in self.used_artifacts and self._free_artifact(name, model):
                break
        self.used_artifacts.add(name.casefold())
        self.artifact_of[model.name] = name
        if name != model.name:
            self.summary.notes.append(
                f"model {model.name!r} has the artifact name {name!r}: artifact names are "
                "1-128 characters from A-Z a-z 0-9 _ . - and not used by other artifacts"
            )
        return name

    def _free_artifact(self, name: str, model: SourceModel) -> bool:
        """Whether ``name`` has no versions, or only versions of ``model``."""
        for version in self.client.artifacts({"name": name}):
            origin = mlflow_origin(version.metadata)
            if origin is None or origin[0] != model.name:
                return False
        return True

    # -- one version -------------------------------------------------------------------

    def _version(
        self,
        collection: Collection,
        artifact: str,
        model: SourceModel,
        version: SourceVersion,
        model_tags: dict[str, str],
    ) -> tuple[Link | None, bool]:
        """Import ``version``; returns its link (if any) and whether it is new."""
        done = self.links.get((model.name, version.version))
        if done is not None:
            self._skip(version, f"already imported as {done.path}")
            self.runs.record(version, done.artifact)  # nothing to do unless it is new
            return done, False
        if version.status != "READY":
            self._skip(version, f"its MLflow status is {version.status}, not READY")
            return None, False
        with tempfile.TemporaryDirectory(prefix="registry-widget-mlflow-") as tmp:
            try:
                files = self.source.download(version, Path(tmp))
            except SourceError as exc:
                self._skip(version, f"its files could not be downloaded: {exc}")
                return None, False
            if not files:
                self._skip(version, f"it has no files at {version.source}")
                return None, False
            twin = self._twin(model, files_manifest(files))
            if twin is not None:
                self._skip(version, f"its files are those of {twin.path}, which stands for it")
                self.runs.record(version, twin.artifact)
                return twin, False
            self.runs.source_run(version)  # read from MLflow before the store is locked
            step = "logging it"
            try:
                # One commit for both: a version is imported whole or not at all.
                with self.client.batch():
                    logged = self.client.log_artifact(
                        artifact,
                        type=ARTIFACT_TYPE,
                        files=files,
                        metadata=version_metadata(version, model_tags),
                        description=version.description,
                        tags=plain_tags(version.tags)[0],
                    )
                    step = f"linking {logged.name}:{logged.version} into {collection.path}"
                    link = self.client.link(logged, collection.path)
                    step = f"recording the MLflow run of {logged.name}:{logged.version}"
                    self.runs.record(version, logged)
            except RegistryError as exc:
                self._skip(version, f"{step} was refused, so nothing was imported: {exc}")
                return None, False
        origin = mlflow_origin(link.metadata)
        if origin != (model.name, version.version):
            # The store returned an earlier artifact version with the same files.
            self._skip(version, f"its files are those of {link.path}, which stands for it")
            return link, False
        self.links[(model.name, version.version)] = link
        self.summary.versions.append(
            ImportedVersion(
                model.name, version.version, link.path, f"{logged.name}:{logged.version}"
            )
        )
        return link, True

    def _twin(self, model: SourceModel, manifest: dict[str, str]) -> Link | None:
        """Find a linked version of ``model`` whose files are exactly ``manifest``."""
        for (name, _), link in self.links.items():
            if name != model.name:
                continue
            if link.path not in self.manifests:
                self.manifests[link.path] = stored_manifest(link.artifact)
            if self.manifests[link.path] == manifest:
                return link
        return None

    def _skip(self, version: SourceVersion, reason: str) -> None:
        self.summary.skipped.append(SkippedItem("version", version.label, reason))

    # -- aliases -----------------------------------------------------------------------

    def _aliases(self, collection: Collection, model: SourceModel, links: dict[int, Link]) -> None:
        """Set the aliases and stage aliases of ``model`` where MLflow has them."""
        for alias, (number, origin) in wanted_aliases(model, self.summary.skipped).items():
            item = f"alias {alias!r} of {model.name} ({origin})"
            if RESERVED_ALIAS.match(alias):
                reason = "'latest' and 'v<digits>' are reserved aliases here"
                self.summary.skipped.append(SkippedItem("alias", item, reason))
                continue
            link = links.get(number)
            if link is None:
                reason = f"version {number} was not imported"
                self.summary.skipped.append(SkippedItem("alias", item, reason))
                continue
            if collection.aliases.get(alias) == link.version:
                continue
            try:
                link.set_alias(alias)
            except RegistryError as exc:
                self.summary.skipped.append(SkippedItem("alias", item, str(exc)))
                continue
            self.summary.aliases.append(ImportedAlias(link.path, alias, origin))
