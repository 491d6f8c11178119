"""Fixtures shared by the whole suite: every library test runs on both store backends."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

import registry_widget as rw
from registry_widget.domain.backend import blobs_for
from registry_widget.store import MemoryStore

MakeClient = Callable[..., rw.Client]


@pytest.fixture(params=["json", "memory"])
def backend(request: pytest.FixtureRequest) -> str:
    """The store implementation under test."""
    return str(request.param)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "registry.json"


def read_blob_folder(folder: Path) -> bytes:
    """Every folder and every file's bytes below a blob store's folder, in one value."""
    if not folder.exists():
        return b"(none)"
    parts = [b"D ."]
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix().encode()
        parts.append(b"D " + rel if p.is_dir() else b"F " + rel + b"\0" + p.read_bytes())
    return b"\n".join(parts)


def read_store(path: Path) -> bytes:
    """The bytes of a JSON store on disk: its file, its journal (empty when missing) and
    its blob folder (every folder and every file's bytes)."""
    parts = []
    for p in (path, path.with_name(path.name + ".journal")):
        parts.append(p.read_bytes() if p.exists() else b"")
    parts.append(read_blob_folder(path.with_name(path.stem + ".blobs")))
    return b"\0".join(parts)


def read_state(client: rw.Client) -> object:
    """All a store holds, to compare before and after a call, on either backend.

    A JSON store: :func:`read_store`. A store in memory: its tables and its blobs.
    """
    store = client.store
    path = getattr(store, "path", None)
    if path is not None:
        return read_store(Path(path))
    blobs = blobs_for(store)
    contents = {}
    for digest in blobs.digests():
        with blobs.open(digest) as fh:
            contents[digest] = fh.read()
    # A read may create an empty table in memory; an empty table and none hold the same.
    tables = {name: docs for name, docs in store._dump().items() if docs}
    return copy.deepcopy(tables), contents


@pytest.fixture
def store_state() -> Callable[[rw.Client], object]:
    """``store_state(client)``: all a store holds, on either backend (:func:`read_state`)."""
    return read_state


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
