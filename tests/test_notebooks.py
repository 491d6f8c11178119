"""The notebooks run top to bottom, write only where they are told, and are committed clean."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = [
    "01-quickstart.ipynb",
    "02-cat-models.ipynb",
    "03-registry-types.ipynb",
    "04-teams-and-permissions.ipynb",
    "05-migrate-from-mlflow.ipynb",
    "06-team-server.ipynb",
]
# Notebooks that need an optional extra: skipped locally without it, never under CI.
NEEDS = {"05-migrate-from-mlflow.ipynb": "mlflow"}
# Notebooks that run against a server the test starts: $REGISTRY_SERVER_URL names a fresh
# database of the run's PostgreSQL, as login ada (login bob exists too).
SERVER = {"06-team-server.ipynb"}
CELL_TIMEOUT = 120
KERNEL = "registry-widget-test"
CI = os.environ.get("CI", "").lower() == "true"


def _ids(path: Path) -> str:
    return path.stem


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kernelspec running this interpreter, whatever kernels the machine has installed."""
    root = tmp_path_factory.mktemp("kernels")
    spec = root / KERNEL
    spec.mkdir()
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "registry_widget tests", "language": "python"})
    )
    return root


def _kernel_env(demo_dir: Path, home: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("REGISTRY_WIDGET_USER", "MLFLOW_DISABLE_TELEMETRY", "XDG_CONFIG_HOME"):
        env.pop(name, None)  # the notebooks name their users and settle their own settings
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    env["REGISTRY_DEMO_DIR"] = str(demo_dir)
    env["HOME"] = str(home)
    return env


def test_every_notebook_is_there_and_linked_from_the_readme() -> None:
    assert [p.name for p in NOTEBOOKS] == EXPECTED
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in EXPECTED:
        assert f"(notebooks/{name})" in readme, f"README does not link notebooks/{name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert dict(nb.metadata) == {
        "kernelspec": {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        }
    }
    for cell in nb.cells:
        assert not cell.metadata, f"cell {cell.id} has metadata {dict(cell.metadata)}"
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {cell.id} has outputs"
            assert cell.execution_count is None, f"cell {cell.id} has an execution count"


def _server_database(request: pytest.FixtureRequest, name: str) -> str:
    """A fresh database owned by login ``ada`` on the run's PostgreSQL, as its URL."""
    import re

    from tests.conftest import PgCluster

    cluster: PgCluster = request.getfixturevalue("postgres")
    database = "nb_" + re.sub(r"[^a-z0-9_]", "_", name.lower())[:40]
    cluster.login("bob")
    cluster.admin.execute(f"CREATE DATABASE {database} OWNER {cluster.login('ada')}")
    server = cluster.server
    return f"postgresql://ada@{server.host}:{server.port}/{database}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_runs_top_to_bottom(
    path: Path, tmp_path: Path, kernel_dir: Path, request: pytest.FixtureRequest
) -> None:
    extra = NEEDS.get(path.name)
    if extra is not None and not CI and importlib.util.find_spec(extra) is None:
        pytest.skip(f"{path.name} needs {extra}: pip install 'registry_widget[{extra}]'")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    demo_dir = tmp_path / "demo"
    nb = nbformat.read(path, as_version=4)
    # One more cell reports which registry_widget the kernel imported.
    nb.cells.append(
        nbformat.v4.new_code_cell("import registry_widget\nprint(registry_widget.__file__)")
    )
    km = KernelManager(
        kernel_name=KERNEL, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)])
    )
    client = NotebookClient(
        nb,
        km=km,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(cwd)}},
    )
    env = _kernel_env(demo_dir, home)
    env.pop("REGISTRY_SERVER_URL", None)
    if path.name in SERVER:
        env["REGISTRY_SERVER_URL"] = _server_database(request, tmp_path.name)
    try:
        client.execute(env=env)
    finally:
        # The client leaves a kernel it was given running: close its channels, stop it.
        if client.kc is not None:
            client.kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=True)

    imported = Path(nb.cells[-1].outputs[0]["text"].strip())
    assert imported.is_relative_to(ROOT / "registry_widget")
    assert list(cwd.iterdir()) == [], "the notebook wrote into the working directory"
    # Only the kernel's own IPython profile may appear in the home folder.
    assert {p.name for p in home.iterdir()} <= {".ipython"}, "the notebook wrote into $HOME"
    assert demo_dir.is_dir(), "the notebook did not write under $REGISTRY_DEMO_DIR"
    assert any(demo_dir.iterdir())
