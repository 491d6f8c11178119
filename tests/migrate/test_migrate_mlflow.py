"""Migration of a real MLflow model registry (SQLite + local artifact store)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import registry_widget as rw
from registry_widget.migrate import MigrationSummary, from_mlflow

if os.environ.get("CI", "").lower() == "true":
    import mlflow  # CI installs the mlflow extra: a missing MLflow is a failure there
else:
    mlflow = pytest.importorskip("mlflow")

# MLflow's SQLite store uses SQLAlchemy APIs that SQLAlchemy 2.1 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:mlflow")

REGISTRY = "mlflow-migrated"
_clients: dict[str, Any] = {}
LONG_NAME = "forecast-" + "x" * 140  # valid in MLflow, too long for a collection


@dataclass
class MlflowRegistry:
    """A real MLflow registry on disk and the files of each model version."""

    root: Path
    uri: str
    experiment_id: str
    files: dict[tuple[str, int], dict[str, bytes]] = field(default_factory=dict)

    def client(self) -> Any:
        if self.uri not in _clients:  # opening a SQLite store costs a schema check
            _clients[self.uri] = mlflow.MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        return _clients[self.uri]

    def copy(self, dest: Path) -> MlflowRegistry:
        """The same registry in a new database (the artifact store is shared)."""
        shutil.copy(self.root / "mlflow.db", dest / "mlflow.db")
        return MlflowRegistry(
            dest, f"sqlite:///{dest / 'mlflow.db'}", self.experiment_id, dict(self.files)
        )

    def add_version(
        self,
        model: str,
        files: dict[str, bytes] | None,
        *,
        source: str | None = None,
        tags: dict[str, str] | None = None,
        description: str = "",
        params: dict[str, str] | None = None,
        metrics: dict[str, list[float]] | None = None,
    ) -> int:
        """Log a run with ``files`` and register it as a new version of ``model``.

        ``params`` and ``metrics`` (each metric's values in the order logged) go to the run.
        """
        client = self.client()
        if files is not None:
            run = client.create_run(self.experiment_id, run_name=f"train-{model}")
            for key, value in (params or {}).items():
                client.log_param(run.info.run_id, key, value)
            for key, values in (metrics or {}).items():
                for step, value in enumerate(values):
                    client.log_metric(run.info.run_id, key, value, step=step)
            local = self.root / "staging" / run.info.run_id
            for rel, content in files.items():
                (local / rel).parent.mkdir(parents=True, exist_ok=True)
                (local / rel).write_bytes(content)
            client.log_artifacts(run.info.run_id, str(local), artifact_path="model")
            client.set_terminated(run.info.run_id)
            source = f"{run.info.artifact_uri}/model"
            run_id: str | None = run.info.run_id
        else:
            run_id = None
        assert source is not None
        mv = client.create_model_version(
            model, source=source, run_id=run_id, tags=tags, description=description
        )
        if files is not None:
            self.files[(model, int(mv.version))] = dict(files)
        return int(mv.version)

    def source_of(self, model: str, version: int) -> str:
        return str(self.client().get_model_version(model, str(version)).source)

    def stage(self, model: str, version: int, stage: str) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # stages are deprecated in MLflow 3, still present
            self.client().transition_model_version_stage(model, str(version), stage)


def build_registry(root: Path) -> MlflowRegistry:
    """Several models with descriptions, tags, aliases, stages and awkward names."""
    reg = MlflowRegistry(root, f"sqlite:///{root / 'mlflow.db'}", "")
    client = reg.client()
    reg.experiment_id = client.create_experiment(
        "training", artifact_location=(root / "mlartifacts").as_uri()
    )

    client.create_registered_model(
        "cat-resnet",
        tags={"vision": "", "owner": "ada"},
        description="Tells <b>cats</b> from dogs & foxes.",
    )
    for n in range(1, 5):
        reg.add_version(
            "cat-resnet",
            {"weights.bin": bytes([n]) * 64, "config/params.json": f'{{"n": {n}}}'.encode()},
            tags={"candidate": "", "accuracy": f"0.9{n}"} if n == 4 else None,
            description=f"epoch {n * 10}",
            params={"lr": f"1e-{n}", "arch": "resnet50", "epochs": str(n * 10)},
            metrics={"acc": [0.5, 0.9 + n / 100], "val/loss": [1.0, 0.1 * n]},
        )
    reg.stage("cat-resnet", 1, "Archived")
    reg.stage("cat-resnet", 2, "Archived")
    reg.stage("cat-resnet", 3, "Production")
    reg.stage("cat-resnet", 4, "Staging")
    client.set_registered_model_alias("cat-resnet", "champion", "3")
    client.set_registered_model_alias("cat-resnet", "challenger", "4")

    client.create_registered_model("Churn Model (GBM)", description="Gradient boosting.")
    reg.add_version("Churn Model (GBM)", {"model.pkl": b"\x80\x04churn"})
    # Version 2 registers the same run again: same files as version 1.
    reg.add_version("Churn Model (GBM)", None, source=reg.source_of("Churn Model (GBM)", 1))
    reg.files[("Churn Model (GBM)", 2)] = reg.files[("Churn Model (GBM)", 1)]
    # Version 3 points at files that are gone.
    reg.add_version("Churn Model (GBM)", None, source=(root / "gone" / "model").as_uri())
    reg.stage("Churn Model (GBM)", 3, "Production")
    client.set_registered_model_alias("Churn Model (GBM)", "prod", "2")

    # Same artifact name as the model above once reduced ("churn-model-gbm").
    client.create_registered_model("churn model gbm")
    reg.add_version("churn model gbm", {"model.txt": b"another churn model"})

    # Collection names compare case-insensitively: "Fraud" and "fraud" need two names.
    for name in ("Fraud", "fraud"):
        client.create_registered_model(name)
        reg.add_version(name, {"rules.yaml": f"name: {name}\n".encode()})

    client.create_registered_model(LONG_NAME)
    reg.add_version(LONG_NAME, {"series.csv": b"t,y\n0,1\n"})

    # MLflow 3 style: the version's source is a logged model, not a run's folder.
    files = {"MLmodel": b"flavors: {}\n", "data/model.bin": b"\x00bert"}
    logged = client.create_logged_model(experiment_id=reg.experiment_id, name="bert")
    local = root / "staging" / logged.model_id
    for rel, content in files.items():
        (local / rel).parent.mkdir(parents=True, exist_ok=True)
        (local / rel).write_bytes(content)
    client.log_model_artifacts(logged.model_id, str(local))
    client.finalize_logged_model(logged.model_id, "READY")
    client.create_registered_model("sentiment-bert")
    with pytest.MonkeyPatch.context() as mp:
        # MLflow resolves a models:/ source through the global tracking URI.
        mp.setenv("MLFLOW_TRACKING_URI", reg.uri)
        client.create_model_version("sentiment-bert", source=f"models:/{logged.model_id}")
    reg.files[("sentiment-bert", 1)] = files
    return reg


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> MlflowRegistry:
    return build_registry(tmp_path_factory.mktemp("mlflow"))


def _store(tmp_path: Path) -> tuple[rw.Client, Path]:
    """A store whose admin ``ada`` added ``mia`` (who migrates) and ``bob`` as members."""
    path = tmp_path / "registry.json"
    admin = rw.Client(path, user="ada")
    admin.add_user("mia", role="member")
    admin.add_user("bob", role="member")
    return rw.Client(path, user="mia"), path


def _store_bytes(path: Path) -> tuple[bytes, list[str]]:
    blobs = path.with_name(path.stem + ".blobs")
    listing = sorted(str(p.relative_to(blobs)) for p in blobs.rglob("*")) if blobs.exists() else []
    return path.read_bytes(), listing


def _by_mlflow_version(collection: Any) -> dict[int, Any]:
    return {link.metadata["mlflow"]["version"]: link for link in collection.versions()}


@pytest.fixture
def migrated(source: MlflowRegistry, tmp_path: Path) -> tuple[rw.Client, Path, MigrationSummary]:
    client, path = _store(tmp_path)
    summary = from_mlflow(client, source.uri, progress=False)
    return client, path, summary


def test_every_model_becomes_a_collection(migrated: Any) -> None:
    client, _, summary = migrated
    registry = client.registry(REGISTRY)
    assert registry.kind == "custom"
    assert registry.visibility == "restricted"
    assert registry.artifact_types == ["model"]
    assert {m.user: m.role for m in registry.members()}.get("mia") == "admin"
    names = sorted(c.name for c in registry.collections())
    assert names == sorted(
        [
            "cat-resnet",
            "Churn Model (GBM)",
            "churn model gbm",
            "Fraud",
            "fraud-2",
            LONG_NAME[:128],
            "sentiment-bert",
        ]
    )
    assert all(c.type == "model" for c in registry.collections())
    assert summary.created_registry
    assert sorted(summary.collections) == sorted(f"{REGISTRY}/{n}" for n in names)

    cats = registry.collection("cat-resnet")
    assert cats.description == "Tells <b>cats</b> from dogs & foxes."
    assert cats.tags == ["vision"]  # "owner: ada" is a key/value pair, kept as metadata
    assert any("mlflow.registered_model_tags" in note for note in summary.notes)
    assert any(LONG_NAME in note and "collection" in note for note in summary.notes)
    assert any("'fraud'" in note and "fraud-2" in note for note in summary.notes)


def test_versions_are_linked_in_order_with_files_and_metadata(
    migrated: Any, source: MlflowRegistry, tmp_path: Path
) -> None:
    client, _, _ = migrated
    cats = client.registry(REGISTRY).collection("cat-resnet")
    links = list(reversed(cats.versions()))  # versions() is newest first
    assert [link.metadata["mlflow"]["version"] for link in links] == [1, 2, 3, 4]
    assert [link.version for link in links] == ["v0", "v1", "v2", "v3"]
    for number, link in enumerate(links, start=1):
        artifact = link.artifact
        assert artifact.name == "cat-resnet"
        assert artifact.type == "model"
        assert artifact.description == f"epoch {number * 10}"
        assert artifact.verify()
        info = link.metadata["mlflow"]
        expected = source.client().get_model_version("cat-resnet", str(number))
        assert info["model_name"] == "cat-resnet"
        assert info["run_id"] == expected.run_id
        assert info["source"] == expected.source
        assert info["status"] == "READY"
        assert info["creation_timestamp"] == expected.creation_timestamp
        assert info["description"] == f"epoch {number * 10}"
        assert info["registered_model_tags"] == {"owner": "ada"}
        root = link.download(tmp_path / f"dl-{number}")
        got = {
            p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
        }
        assert got == source.files[("cat-resnet", number)]
    assert [link.metadata["mlflow"]["stage"] for link in links] == [
        "Archived",
        "Archived",
        "Production",
        "Staging",
    ]
    newest = links[-1]
    assert newest.metadata["mlflow"]["tags"] == {"accuracy": "0.94", "candidate": ""}
    assert newest.artifact.tags == ["candidate"]


def test_aliases_and_stages_become_aliases(migrated: Any) -> None:
    client, _, summary = migrated
    cats = client.registry(REGISTRY).collection("cat-resnet")
    by_version = _by_mlflow_version(cats)
    assert cats.aliases == {
        "archived": by_version[2].version,  # versions 1 and 2 are archived: the newest wins
        "production": by_version[3].version,
        "champion": by_version[3].version,
        "staging": by_version[4].version,
        "challenger": by_version[4].version,
        "latest": by_version[4].version,
    }
    assert client.use(f"{REGISTRY}/cat-resnet:champion").metadata["mlflow"]["version"] == 3
    archived_v1 = [s for s in summary.skipped if s.kind == "alias" and "version 1" in s.item]
    assert archived_v1
    assert "version 2" in archived_v1[0].reason
    assert {(a.alias, a.path) for a in summary.aliases} >= {
        ("champion", by_version[3].path),
        ("archived", by_version[2].path),
    }


def test_same_files_missing_files_and_other_sources(
    migrated: Any, source: MlflowRegistry, tmp_path: Path
) -> None:
    client, _, summary = migrated
    churn = client.registry(REGISTRY).collection("Churn Model (GBM)")
    links = churn.versions()
    assert len(links) == 1  # version 2 has the files of version 1; version 3 has none
    only = links[0]
    assert only.metadata["mlflow"]["version"] == 1
    assert only.artifact.name == "Churn-Model-GBM"
    assert "prod" in only.aliases  # the alias of version 2 goes to the version standing for it
    reasons = {s.item: s.reason for s in summary.skipped if s.kind == "version"}
    assert only.path in reasons["Churn Model (GBM) version 2"]
    assert "could not be downloaded" in reasons["Churn Model (GBM) version 3"]
    production = [s for s in summary.skipped if s.kind == "alias" and "production" in s.item]
    assert production
    assert "version 3 was not imported" in production[0].reason
    other = client.registry(REGISTRY).collection("churn model gbm").versions()[0]
    assert other.artifact.name == "churn-model-gbm-2"
    bert = client.registry(REGISTRY).collection("sentiment-bert").versions()[0]
    root = bert.download(tmp_path / "bert")
    got = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert got == source.files[("sentiment-bert", 1)]
    assert bert.metadata["mlflow"]["source"].startswith("models:/")
    fraud = client.registry(REGISTRY).collection("fraud-2").versions()[0]
    assert fraud.metadata["mlflow"]["model_name"] == "fraud"
    assert fraud.artifact.name == "fraud-2"


def test_summary_reads_well_and_escapes_html(migrated: Any) -> None:
    _, _, summary = migrated
    text = str(summary)
    assert "10 version(s) imported" in text
    assert f"{REGISTRY}/cat-resnet:v3 <- cat-resnet version 4" in text
    assert "could not be downloaded" in text
    page = summary._repr_html_()
    assert "Churn Model (GBM) version 3" in page
    summary.notes.append("<script>alert(1)</script>")
    assert "<script>" not in summary._repr_html_()
    assert "&lt;script&gt;" in summary._repr_html_()


def test_each_version_s_source_run_becomes_a_run_with_it_as_output(migrated: Any) -> None:
    client, _, _ = migrated
    cats = _by_mlflow_version(client.registry(REGISTRY).collection("cat-resnet"))
    for n in range(1, 5):
        version = cats[n].artifact
        run = version.run
        assert run is not None
        assert run.name == "train-cat-resnet"
        assert run.config == {"lr": 10.0**-n, "arch": "resnet50", "epochs": n * 10}
        assert run.summary == {"acc": 0.9 + n / 100, "val/loss": 0.1 * n}  # the final values
        assert run.state == "finished"
        assert run.created_at <= run.ended_at  # type: ignore[operator]
        assert run.created_by != ""
        assert run.outputs == [version]
        assert cats[n].metadata["mlflow"]["run_id"] is not None
    # Filters reach the imported versions through their runs.
    found = client.versions({"run.config.lr": {"$lt": 0.005}})
    assert sorted(link.metadata["mlflow"]["version"] for link in found) == [3, 4]
    assert len(client.runs({"config.arch": "resnet50"})) == 4
    # A version registered without a run has none.
    churn = _by_mlflow_version(client.registry(REGISTRY).collection("Churn Model (GBM)"))
    assert churn[1].artifact.run is not None
    assert churn[1].artifact.run.config == {}
    history = churn[1].artifact.run.history()
    assert [e.action for e in history] == ["run.output", "run.import"]
    assert {e.user for e in history} == {"mia"}  # who imported it


def test_second_run_changes_nothing(migrated: Any, source: MlflowRegistry) -> None:
    client, path, first = migrated
    runs = client.runs()
    before = _store_bytes(path)
    second = from_mlflow(client, source.uri, progress=False)
    assert _store_bytes(path) == before
    assert client.runs() == runs
    assert not second.changed
    assert (second.versions, second.aliases, second.collections) == ([], [], [])
    already = [s for s in second.skipped if "already imported" in s.reason]
    assert len(already) == len(first.versions)


def test_rerun_imports_only_new_versions(
    migrated: Any, source: MlflowRegistry, tmp_path: Path
) -> None:
    client, _, _ = migrated
    grown = source.copy(tmp_path)
    number = grown.add_version("cat-resnet", {"weights.bin": b"v5" * 32})
    grown.client().set_registered_model_alias("cat-resnet", "champion", str(number))
    summary = from_mlflow(client, grown.uri, progress=False)
    assert [(v.model, v.version) for v in summary.versions] == [("cat-resnet", 5)]
    assert [(a.alias, a.path) for a in summary.aliases] == [
        ("champion", f"{REGISTRY}/cat-resnet:v4")
    ]
    assert summary.collections == []
    cats = client.registry(REGISTRY).collection("cat-resnet")
    assert cats.count == 5
    assert cats.version("champion").metadata["mlflow"]["version"] == 5
    assert cats.version("latest").artifact.verify()


def test_a_refused_link_leaves_no_half_imported_version(
    source: MlflowRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = _store(tmp_path)
    real_link = rw.Client.link

    def refuse_fraud(self: rw.Client, version: Any, path: str, aliases: Any = ()) -> rw.Link:
        if path.endswith("/Fraud"):
            raise rw.ConflictError("refused for the test")
        return real_link(self, version, path, aliases)

    monkeypatch.setattr(rw.Client, "link", refuse_fraud)
    summary = from_mlflow(client, source.uri, progress=False)
    reasons = {s.item: s.reason for s in summary.skipped}
    assert "linking Fraud:v0 into mlflow-migrated/Fraud" in reasons["Fraud version 1"]
    assert "nothing was imported" in reasons["Fraud version 1"]
    assert client.artifacts({"name": "Fraud"}) == []  # the logged version was rolled back
    assert client.registry(REGISTRY).collection("Fraud").count == 0

    monkeypatch.setattr(rw.Client, "link", real_link)
    again = from_mlflow(client, source.uri, progress=False)
    assert [(v.model, v.version) for v in again.versions] == [("Fraud", 1)]


def test_restricted_registry_is_invisible_to_non_members(migrated: Any) -> None:
    _, path, _ = migrated
    bob = rw.Client(path, user="bob")
    assert REGISTRY not in [r.name for r in bob.registries()]
    with pytest.raises(rw.NotFoundError):
        bob.registry(REGISTRY)
    assert bob.search("cat-resnet") == []
    assert bob.versions() == []
    with pytest.raises(rw.NotFoundError):
        bob.use(f"{REGISTRY}/cat-resnet:production")


def test_every_page_of_mlflow_results_is_read(
    source: MlflowRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("registry_widget.migrate._mlflow_source._PAGE_SIZE", 2)
    client, _ = _store(tmp_path)
    summary = from_mlflow(client, source.uri, progress=False)
    assert len(summary.collections) == 7
    assert len(summary.versions) == 10


def test_progress_bar_counts_versions(
    source: MlflowRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client, _ = _store(tmp_path)
    from_mlflow(client, source.uri, progress=True)
    err = capsys.readouterr().err
    total = len(source.client().search_model_versions())
    assert "MLflow model versions" in err
    assert f"{total}/{total}" in err


def test_existing_registry_must_accept_models(source: MlflowRegistry, tmp_path: Path) -> None:
    client, path = _store(tmp_path)
    client.create_registry("evals", artifact_types=["dataset"])
    before = _store_bytes(path)
    with pytest.raises(rw.ValidationError, match="add_artifact_type"):
        from_mlflow(client, source.uri, registry="evals", progress=False)
    with pytest.raises(rw.ValidationError, match="core registry"):
        from_mlflow(client, source.uri, registry="Models", progress=False)
    assert _store_bytes(path) == before


def test_missing_database_is_refused(tmp_path: Path) -> None:
    client, _ = _store(tmp_path)
    missing = f"sqlite:///{tmp_path / 'nope.db'}"
    with pytest.raises(rw.ValidationError, match="does not exist"):
        from_mlflow(client, missing, progress=False)
    assert not (tmp_path / "nope.db").exists()


def test_missing_mlflow_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = _store(tmp_path)
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(ImportError, match=r'pip install "registry_widget\[mlflow\]"'):
        from_mlflow(client, "sqlite:///mlflow.db")


def test_importing_the_package_does_not_import_mlflow() -> None:
    code = (
        "import sys, registry_widget; "
        "assert 'mlflow' not in sys.modules and 'registry_widget.migrate' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
