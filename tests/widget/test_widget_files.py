"""Preview and download a version's files from the widget, safely and through the domain."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import registry_widget as rw
from registry_widget.widget.app import HANDLERS
from registry_widget.widget.files import IMAGE_CAP, TEXT_CAP
from registry_widget.widget.protocol import dispatch

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def call(client: rw.Client, method: str, **params: Any) -> dict[str, Any]:
    reply = dispatch(
        HANDLERS, client, {"kind": "request", "id": "r", "method": method, "params": params}
    )
    json.dumps(reply, allow_nan=False)
    return reply


def ok(client: rw.Client, method: str, **params: Any) -> Any:
    reply = call(client, method, **params)
    assert reply["ok"], reply
    return reply["result"]


@pytest.fixture
def version(client: rw.Client, tmp_path: Path) -> str:
    src = tmp_path / "src"
    src.mkdir()
    (src / "notes.txt").write_text("hello\nworld\n")
    (src / "config.json").write_text('{"a": 1, "b": [1, 2]}')
    (src / "data.csv").write_text("x,y\n" + "".join(f"{i},{i * i}\n" for i in range(50)))
    (src / "plot.png").write_bytes(PNG)
    (src / "logo.svg").write_text('<svg onload="alert(1)"><script>alert(2)</script></svg>')
    (src / "page.html").write_text("<script>alert(3)</script>")
    (src / "weights.bin").write_bytes(b"\x00\x01" * 100)
    (src / "big.txt").write_text("a" * (TEXT_CAP + 10))
    (src / "huge.png").write_bytes(PNG + b"\x00" * IMAGE_CAP)
    art = client.log_artifact("cat", type="model", files=src)
    return client.link(art, "Models/cats").path


def test_previews_are_capped_and_never_executable(client: rw.Client, version: str) -> None:
    def show(name: str) -> dict[str, Any]:
        return ok(client, "file.preview", path=version, file=name)

    assert show("notes.txt")["text"] == "hello\nworld\n"
    assert show("config.json")["text"] == json.dumps({"a": 1, "b": [1, 2]}, indent=2)
    table = show("data.csv")
    assert table["kind"] == "table"
    assert table["rows"][:2] == [["x", "y"], ["0", "0"]]
    assert len(table["rows"]) == 21
    assert table["more"] is True
    image = show("plot.png")
    assert image["kind"] == "image"
    assert image["src"].startswith("data:image/png;base64,")
    # SVG and HTML are shown as text, never rendered.
    assert show("logo.svg")["kind"] == "text"
    assert show("page.html")["kind"] == "text"
    assert show("weights.bin")["kind"] == "binary"
    big = show("big.txt")
    assert (len(big["text"]), big["truncated"]) == (TEXT_CAP, True)
    assert show("huge.png")["kind"] == "too_large"
    assert call(client, "file.preview", path=version, file="nope.txt")["error"]["type"] == (
        "NotFoundError"
    )


def test_download_all_or_one_under_the_working_directory(
    client: rw.Client, version: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    one = ok(client, "version.download", path=version, folder="dl/one", file="notes.txt")
    assert (one["folder"], one["files"]) == (str(Path("dl/one")), 1)
    assert sorted(p.name for p in (work / "dl" / "one").iterdir()) == ["notes.txt"]
    every = ok(client, "version.download", path=version, folder="dl/all")
    assert every["files"] == 9
    assert (work / "dl" / "all" / "data.csv").is_file()
    default = ok(client, "version.download", path=version)
    assert default["folder"] == str(Path("artifacts", "cat", "v0"))
    for outside in ("../escape", str(tmp_path / "abs")):
        refusal = call(client, "version.download", path=version, folder=outside)["error"]
        assert refusal["field"] == "folder"
        assert "outside the notebook's working directory" in refusal["message"]
    assert not (tmp_path / "escape").exists()
    assert not (tmp_path / "abs").exists()


def test_a_restricted_viewer_may_neither_preview_nor_download(
    make_client: Callable[[str], rw.Client], version: str
) -> None:
    admin = make_client("ada")
    admin.add_user("dave", "viewer")
    admin.create_registry("Secret", visibility="restricted").add_member("dave", "restricted_viewer")
    admin.link(admin.use(version).artifact, "Secret/cats")
    dave = make_client("dave")
    for method, extra in (("file.preview", {"file": "notes.txt"}), ("version.download", {})):
        reply = call(dave, method, path="Secret/cats:v0", **extra)
        assert reply["ok"] is False
        assert reply["error"]["type"] == "PermissionDeniedError"
