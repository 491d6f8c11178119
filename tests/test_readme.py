"""The README's 30-second example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_thirty_second_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = README.read_text()
    section = text.split("## 30 seconds", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    monkeypatch.chdir(tmp_path)
    for folder, content in (("weights", "first"), ("weights-v2", "second")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "model.bin").write_text(content)
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)
    link = namespace["link"]
    assert link.metadata["acc"] == 0.94  # type: ignore[attr-defined]
    assert (tmp_path / "deploy" / "model.bin").read_text() == "second"
