"""The README's 30-second example runs as written, in an empty folder, and again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _thirty_seconds() -> str:
    section = README.read_text().split("## 30 seconds", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    return code.group(1)


def test_thirty_second_example_runs_as_copied_and_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # an empty folder: the example makes what it needs
    for _ in range(2):  # re-running a script must not fail on what the first run made
        namespace: dict[str, object] = {}
        exec(compile(_thirty_seconds(), "README.md", "exec"), namespace)
        link = namespace["link"]
        assert link.metadata["acc"] == 0.94  # type: ignore[attr-defined]
        assert (tmp_path / "deploy" / "model.bin").read_text() == "second"


def test_missing_folder_message_quoted_in_the_readme_is_the_librarys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import registry_widget as rw

    quoted = re.search(
        r"`(folder 'weights/' does not exist \(looked for (.*?)\))`", README.read_text()
    )
    assert quoted is not None
    home = Path(quoted.group(2)).parent
    monkeypatch.chdir(tmp_path)
    client = rw.Client("registry.json", user="ada")
    with pytest.raises(rw.NotFoundError) as info:
        client.log_artifact("cat-resnet", type="model", files="weights/")
    assert str(info.value) == quoted.group(1).replace(str(home), str(tmp_path))


def test_runs_example_runs_as_copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    section = README.read_text().split("## Runs and lineage", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REGISTRY_WIDGET_USER", "ada")
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)
    trained = namespace["trained"]
    assert trained.config == {"lr": 1e-3, "arch": "resnet50"}  # type: ignore[attr-defined]
    assert [v.ref for v in trained.inputs] == ["cats:v0"]  # type: ignore[attr-defined]
    assert trained.state == "finished"  # type: ignore[attr-defined]
    graph = namespace["graph"]
    kinds = sorted(node.kind for node in graph.nodes)  # type: ignore[attr-defined]
    assert kinds == ["link", "link", "run", "version", "version"]
