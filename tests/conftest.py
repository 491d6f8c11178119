"""Fixtures shared by the whole suite: every library test runs on both store backends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import registry_widget as rw
from registry_widget.store import MemoryStore

MakeClient = Callable[..., rw.Client]


@pytest.fixture(params=["json", "memory"])
def backend(request: pytest.FixtureRequest) -> str:
    """The store implementation under test."""
    return str(request.param)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "registry.json"


def read_store(path: Path) -> bytes:
    """The bytes of a JSON store on disk: its file and its journal (empty when missing)."""
    parts = []
    for p in (path, path.with_name(path.name + ".journal")):
        parts.append(p.read_bytes() if p.exists() else b"")
    return b"\0".join(parts)


@pytest.fixture
def store_bytes() -> Callable[[Path], bytes]:
    """``store_bytes(path)``: the bytes of a store on disk, file and journal together."""
    return read_store


@pytest.fixture
def make_client(backend: str, store_path: Path) -> MakeClient:
    """Clients of one store, as any user: ``make_client("bob")``."""
    memory = MemoryStore()

    def make(user: str = "ada") -> rw.Client:
        return rw.Client(store_path if backend == "json" else memory, user=user)

    return make


@pytest.fixture
def client(make_client: MakeClient) -> rw.Client:
    """The first user of a new store, so its organisation admin: ``ada``."""
    return make_client("ada")


@pytest.fixture
def files(tmp_path: Path) -> Callable[..., Path]:
    """Write small files: ``files("a.txt", b"...")`` → a path, in a fresh folder each call."""
    counter = iter(range(1_000_000))

    def write(name: str = "model.bin", content: bytes | str = b"weights") -> Path:
        folder = tmp_path / f"src{next(counter)}"
        folder.mkdir()
        path = folder / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return write


@pytest.fixture
def log(client: rw.Client, files: Callable[..., Path]) -> Callable[..., rw.ArtifactVersion]:
    """Log a small artifact version with unique content: ``log("cat", type="model")``."""
    counter = iter(range(1_000_000))

    def do(name: str = "cat", *, type: str = "model", **kwargs: object) -> rw.ArtifactVersion:
        path = files("model.bin", f"content {name} {next(counter)}")
        return client.log_artifact(name, type=type, files=path, **kwargs)  # type: ignore[arg-type]

    return do
