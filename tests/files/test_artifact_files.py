"""Artifact files against a hostile environment: odd names, unreadable files, a full disk,
a target folder changing under a download, and blobs collected while others log."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

import registry_widget as rw
from registry_widget.domain import artifact_log
from registry_widget.files import blobpack, folder, placing
from registry_widget.files import blobs as blobs_module
from registry_widget.files.manifest import Manifest
from registry_widget.files.memory import MemoryBlobStore
from registry_widget.store import JSONFileStore

ENOSPC = OSError(errno.ENOSPC, "No space left on device")


def module_with(module: types.ModuleType, **replaced: object) -> types.ModuleType:
    """A stand-in for ``module`` whose attributes ``replaced`` are swapped."""
    proxy = types.ModuleType(module.__name__)
    proxy.__dict__.update(module.__dict__)
    proxy.__dict__.update(replaced)
    return proxy


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture(params=["json", "memory", "postgres", "s3"])
def backend(request: pytest.FixtureRequest) -> str:
    """Every blob backend: a folder beside a JSON store, memory, a folder recorded by a
    PostgreSQL store, an S3 bucket."""
    return str(request.param)


@pytest.fixture
def logged(client: rw.Client, files) -> rw.ArtifactVersion:
    """A store that already holds a version (so a pack and a blob folder exist)."""
    return client.log_artifact("first", type="model", files=files("w.bin", b"first"))


# ------------------------------------------------------------- garbage collection


def test_deleting_keeps_blobs_and_collecting_removes_the_unreferenced(
    client: rw.Client, files
) -> None:
    shared = files("shared.bin", b"shared")
    a = client.log_artifact("a", type="model", files=[shared, files("a.bin", b"only a")])
    b = client.log_artifact("b", type="model", files=[shared])
    a.delete()
    # Young blobs are kept by default (one hour), whatever refers to them.
    assert client.collect_garbage() == rw.GarbageReport(removed=0, freed=0, kept=1)
    assert client.collect_garbage(min_age=timedelta(0)) == rw.GarbageReport(1, 6, 0)
    assert client.collect_garbage(min_age=0) == rw.GarbageReport(0, 0, 0)
    assert b.verify().ok
    again = client.log_artifact("a", type="model", files=files("a.bin", b"only a"))
    assert again.verify().ok


# An object store keeps its own clock (tests/files/test_s3_blobs.py waits for real instead).
@pytest.mark.parametrize("backend", ["json", "memory", "postgres"], indirect=True)
def test_an_old_unreferenced_blob_is_collected_unless_logged_again(
    client: rw.Client, files, monkeypatch: pytest.MonkeyPatch
) -> None:
    hours_ago = time.time() - 2 * 3600
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: hours_ago)
        m.setattr(time, "time_ns", lambda: int(hours_ago * 1e9))
        client.log_artifact("old", type="model", files=files("o.bin", b"old")).delete()
        client.log_artifact("kept", type="model", files=files("k.bin", b"kept")).delete()
    # Logged again now: the blob is young again, even though a version was deleted.
    client.log_artifact("kept", type="model", files=files("k.bin", b"kept")).delete()
    report = client.collect_garbage(min_age=3600)
    assert (report.removed, report.kept) == (1, 1)
    assert "1 unreferenced blobs removed" in str(report)


_DIES_WHILE_COPYING = """
import os, sys
import registry_widget as rw
from registry_widget.files import blobs

real = blobs.read_chunks

def dying(path, on_read=None):
    for i, chunk in enumerate(real(path, on_read)):
        if i == 2:
            os._exit(9)  # killed: no cleanup runs
        yield chunk

blobs.read_chunks = dying
rw.Client(sys.argv[1], user="ada").log_artifact("big", type="model", files=sys.argv[2])
"""


def test_a_partial_copy_left_by_a_killed_logger_is_collected_once_old(
    store_path: Path, tmp_path: Path
) -> None:
    client = rw.Client(store_path, user="ada")
    first = client.log_artifact("first", type="model", files=write(tmp_path / "f.bin", b"f"))
    big = write(tmp_path / "big.bin", os.urandom(4 * 2**20))  # a loose blob, copied
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", _DIES_WHILE_COPYING, str(store_path), str(big)],
        env={**os.environ, "PYTHONPATH": str(root)},
        check=False,
    )
    assert proc.returncode == 9
    blob_folder = store_path.with_name("registry.blobs")
    (part,) = blob_folder.rglob(".tmp-*.part")
    assert client.collect_garbage(min_age=3600) == rw.GarbageReport(0, 0, 0)
    assert part.exists()  # young: maybe a copy still being written
    week_ago = time.time() - 7 * 86400
    os.utime(part, (week_ago, week_ago))
    client.collect_garbage(min_age=3600)
    assert list(blob_folder.rglob(".tmp-*")) == []
    assert first.verify().ok
    assert client.log_artifact("big", type="model", files=big).verify().ok


def test_a_copy_its_logger_is_still_writing_is_never_collected(
    store_path: Path, tmp_path: Path
) -> None:
    client = rw.Client(store_path, user="ada")
    client.log_artifact("first", type="model", files=write(tmp_path / "f.bin", b"f"))
    folder = store_path.with_name("registry.blobs") / "sha256"
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / ".tmp-0123456789abcdef0123456789abcdef.part"
    part.write_bytes(b"half a copy")
    long_ago = time.time() - 7 * 86400
    os.utime(part, (long_ago, long_ago))
    with part.open("rb") as writing:  # a live logger holds its copy's lock
        fcntl.flock(writing.fileno(), fcntl.LOCK_EX)
        client.collect_garbage(min_age=0)
        assert part.exists()
    client.collect_garbage(min_age=0)  # the lock went with its holder
    assert not part.exists()
    young = folder / ".tmp-fedcba9876543210fedcba9876543210.part"
    young.write_bytes(b"just created, not locked yet")
    client.collect_garbage(min_age=0)
    assert young.exists()


def test_collecting_garbage_is_for_organisation_admins(make_client, client: rw.Client) -> None:
    client.add_user("bob", "member")
    with pytest.raises(rw.PermissionDeniedError, match="collect"):
        make_client("bob").collect_garbage(min_age=0)
    for bad in (-1, float("nan"), "1h", True, timedelta(seconds=-1)):
        with pytest.raises(rw.ValidationError, match="min_age") as err:
            client.collect_garbage(min_age=bad)  # type: ignore[arg-type]
        assert err.value.field == "min_age"


def test_a_blob_collected_after_ingest_is_stored_again_at_commit(
    client: rw.Client, files, monkeypatch: pytest.MonkeyPatch
) -> None:
    keep = files("w.bin", b"content")
    client.log_artifact("a", type="model", files=keep).delete()
    real = artifact_log.build_manifest

    def ingest_then_collect(*args: object, **kwargs: object) -> Manifest:
        manifest = real(*args, **kwargs)  # type: ignore[arg-type]
        # Another process deletes and collects between the ingest and the commit.
        assert client.collect_garbage(min_age=0).removed == 1
        return manifest

    monkeypatch.setattr(artifact_log, "build_manifest", ingest_then_collect)
    version = client.log_artifact("b", type="model", files=keep)
    assert version.verify().ok


# ------------------------------------------------------------------ file names


def test_a_file_name_that_is_not_utf8_is_refused_before_anything_is_stored(
    client: rw.Client, logged, tmp_path: Path, store_state
) -> None:
    folder = tmp_path / "data"
    write(folder / "fine.txt", b"fine")
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as fh:
        fh.write(b"latin-1 name")
    before = store_state(client)
    with pytest.raises(rw.ValidationError, match="UTF-8") as err:
        client.log_artifact("m", type="model", files=folder)
    assert "caf\\udce9.txt" in str(err.value)
    assert "b'caf\\xe9.txt'" in str(err.value)
    assert store_state(client) == before
    # A folder whose own name is not UTF-8, listed by name.
    odd = os.path.join(os.fsencode(tmp_path), b"d\xff")
    os.mkdir(odd)
    write(Path(os.fsdecode(odd)) / "x.txt", b"x")
    with pytest.raises(rw.ValidationError, match="UTF-8"):
        client.log_artifact("m", type="model", files=[Path(os.fsdecode(odd))])
    assert store_state(client) == before


def test_a_lone_surrogate_in_a_relative_path_is_refused(
    client: rw.Client, logged, files, store_state
) -> None:
    before = store_state(client)
    with pytest.raises(rw.ValidationError, match="UTF-8") as err:
        client.log_artifact("m", type="model", files={"a\ud800.txt": files("a.txt", b"a")})
    assert "a\\ud800.txt" in str(err.value)
    assert store_state(client) == before


def test_file_names_over_255_bytes_are_refused_at_logging(
    client: rw.Client, logged, files, tmp_path: Path, store_state
) -> None:
    before = store_state(client)
    for name in ("x" * 256 + ".bin", "é" * 128, "dir" * 90 + "/a.txt"):
        with pytest.raises(rw.ValidationError, match="255 bytes") as err:
            client.log_artifact("m", type="model", files={name: files("a.bin", b"a")})
        assert name[:40] in str(err.value)
    assert store_state(client) == before
    longest = "y" * 251 + ".bin"
    version = client.log_artifact("m", type="model", files={longest: files("a.bin", b"a")})
    assert (version.download(tmp_path / "out") / longest).read_bytes() == b"a"


def test_file_paths_over_3072_bytes_are_refused_at_logging(
    client: rw.Client, logged, files, tmp_path: Path, store_state
) -> None:
    segment = "\U0001f600" * 63  # 252 bytes in UTF-8
    too_long = "/".join([segment] * 16)  # 1023 characters, 4047 bytes: beyond PATH_MAX
    before = store_state(client)
    with pytest.raises(rw.ValidationError, match="at most 3072 bytes") as err:
        client.log_artifact("m", type="model", files={too_long: files("a.bin", b"a")})
    assert too_long[:40] in str(err.value)
    assert store_state(client) == before
    longest = "/".join([segment] * 12) + "/" + "z" * 36  # 3072 bytes, the most allowed
    version = client.log_artifact("m", type="model", files={longest: files("a.bin", b"a")})
    out = version.download(tmp_path / "projects" / "cat-classifier" / "artifacts")
    assert version.verify(out).ok


# ------------------------------------------------------------------ unreadable


def test_an_unreadable_folder_is_refused_not_skipped(
    client: rw.Client, logged, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_state
) -> None:
    folder = tmp_path / "data"
    write(folder / "a.txt", b"a")
    write(folder / "secret" / "b.txt", b"b")
    real = os.scandir

    def scandir(path: object = ".") -> object:
        if os.fspath(path).endswith("secret"):  # type: ignore[arg-type]
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))  # type: ignore[arg-type]
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    before = store_state(client)
    with pytest.raises(rw.StorageError, match="Permission denied") as err:
        client.log_artifact("m", type="model", files=folder)
    assert str(folder / "secret") in str(err.value)
    assert isinstance(err.value, rw.RegistryError)
    assert store_state(client) == before


@pytest.mark.parametrize("when", ["before", "while reading"])
def test_an_unreadable_file_is_refused_with_nothing_stored(
    client: rw.Client,
    logged,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    when: str,
    store_state,
) -> None:
    folder = tmp_path / "data"
    write(folder / "a.txt", b"a is read first")
    write(folder / "big.bin", os.urandom(100_000))  # a loose blob, not packed
    secret = write(folder / "z.txt", b"z is unreadable")
    real_open = os.open
    opened: list[object] = []

    def guarded_open(path: object, *args: object, **kwargs: object) -> int:
        if path == secret:
            opened.append(path)
            if when == "before" or len(opened) > 1:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", guarded_open)
    before = store_state(client)
    with pytest.raises(rw.StorageError, match="Permission denied") as err:
        client.log_artifact("m", type="model", files=folder)
    assert str(secret) in str(err.value)
    assert store_state(client) == before


def _odd_entry(folder: Path, entry: str) -> tuple[str, type[rw.RegistryError], str]:
    """Put an entry that is not a file into ``folder``: its name, the error, the words."""
    if entry == "broken link":
        (folder / "weights.bin").symlink_to(folder / ".cache" / "blob-123")
        return "weights.bin", rw.NotFoundError, "broken symbolic link"
    if entry == "link loop":
        (folder / "weights.bin").symlink_to(folder / "weights.bak")
        (folder / "weights.bak").symlink_to(folder / "weights.bin")
        return "weights.b", rw.ValidationError, "symbolic link that loops"
    if entry == "named pipe":
        os.mkfifo(folder / "weights.bin")
        return "weights.bin", rw.ValidationError, "is a named pipe, not a regular file"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind("model/weights.bin")  # relative: a socket's path has a short limit
    sock.close()  # the socket file stays
    return "weights.bin", rw.ValidationError, "is a socket, not a regular file"


@pytest.mark.parametrize("entry", ["broken link", "link loop", "named pipe", "socket"])
def test_an_entry_of_a_folder_that_is_no_file_is_refused_not_skipped(
    client: rw.Client,
    logged,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    store_state,
    entry: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "model" / "config.json", b"{}")
    name, error, words = _odd_entry(tmp_path / "model", entry)
    before = store_state(client)
    with pytest.raises(error, match=words) as err:
        client.log_artifact("m", type="model", files="model")
    assert f"'model/{name}" in str(err.value)  # named as the caller wrote the folder
    assert store_state(client) == before


@pytest.mark.parametrize("found", ["a file", "a link inside"])
def test_a_file_swapped_for_a_link_leading_outside_after_the_walk_is_not_read(
    client: rw.Client,
    logged,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    store_state,
    found: str,
) -> None:
    secret = write(tmp_path / "secret.key", b"not to be logged")
    folder = tmp_path / "model"
    write(folder / "config.json", b"{}")
    weights = folder / "weights.bin"
    if found == "a file":
        write(weights, b"weights")
    else:
        write(folder / "blobs" / "w", b"weights")
        weights.symlink_to(folder / "blobs" / "w")
    walk = artifact_log.collect_files

    def walk_then_swap(files: object) -> dict[str, Path]:
        sources = walk(files)  # the walk saw nothing leading outside
        weights.unlink()
        weights.symlink_to(secret)
        return sources

    monkeypatch.setattr(artifact_log, "collect_files", walk_then_swap)
    before = store_state(client)
    with pytest.raises(rw.ConflictError, match="changed while it was being logged") as err:
        client.log_artifact("m", type="model", files=folder)
    assert str(weights) in str(err.value)
    assert store_state(client) == before


# ------------------------------------------------------------------- full disk


def test_a_full_disk_while_packing_leaves_the_store_unchanged(
    store_path: Path, files, monkeypatch: pytest.MonkeyPatch, store_state
) -> None:
    client = rw.Client(store_path, user="ada")
    client.log_artifact("first", type="model", files=files("w.bin", b"first"))
    calls = []

    def write_then_fill(fd: int, data: object) -> int:
        calls.append(fd)
        if len(calls) > 1:
            raise ENOSPC
        return os.write(fd, data)  # type: ignore[arg-type]

    monkeypatch.setattr(blobpack, "os", module_with(os, write=write_then_fill))
    before = store_state(client)
    two = [files("a.bin", b"one"), files("b.bin", b"two")]
    with pytest.raises(rw.StorageError, match="No space left") as err:
        client.log_artifact("m", type="model", files=two)
    assert "b.bin" in str(err.value)
    assert isinstance(err.value, OSError)
    assert err.value.errno == errno.ENOSPC
    assert store_state(client) == before


def test_a_full_disk_while_writing_a_loose_blob_leaves_the_store_unchanged(
    store_path: Path, files, monkeypatch: pytest.MonkeyPatch, store_state
) -> None:
    client = rw.Client(store_path, user="ada")
    client.log_artifact("first", type="model", files=files("w.bin", b"first"))

    def fsync(fd: int) -> None:
        raise ENOSPC

    monkeypatch.setattr(folder, "os", module_with(os, fsync=fsync))
    before = store_state(client)
    big = files("big.bin", os.urandom(100_000))
    with pytest.raises(rw.StorageError, match="No space left"):
        client.log_artifact("m", type="model", files=[files("a.bin", b"small"), big])
    assert store_state(client) == before


def test_a_full_disk_while_downloading_is_a_storage_error(
    client: rw.Client, files, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = client.log_artifact("m", type="model", files=files("w.bin", b"weights"))
    real_open = os.open

    def open_full(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if flags & os.O_CREAT:
            raise ENOSPC
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(placing, "os", module_with(os, open=open_full))
    with pytest.raises(rw.StorageError, match="No space left") as err:
        version.download(tmp_path / "out")
    assert "w.bin" in str(err.value)
    assert list((tmp_path / "out").iterdir()) == []


# -------------------------------------------------------------------- download


def test_downloading_onto_an_existing_file_is_a_conflict(
    client: rw.Client, files, tmp_path: Path
) -> None:
    version = client.log_artifact("m", type="model", files=files("w.bin", b"weights"))
    target = write(tmp_path / "taken", b"keep me")
    for root in (target, target / "below"):
        with pytest.raises(rw.ConflictError, match="existing file") as err:
            version.download(root)
        assert str(root) in str(err.value)
    assert target.read_bytes() == b"keep me"


def test_a_folder_swapped_for_a_link_during_downloads_never_leads_outside(
    client: rw.Client, files, tmp_path: Path
) -> None:
    sources = {f"sub/f{i}.txt": files(f"f{i}.txt", f"file {i}") for i in range(20)}
    version = client.log_artifact("m", type="model", files=sources)
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    outside.mkdir()
    stop = threading.Event()

    swaps = []

    def swap() -> None:
        sub = root / "sub"
        while not stop.is_set():
            aside = root / f"aside{len(swaps)}"
            swaps.append(aside)
            # A step fails when a download recreated the folder meanwhile: go on swapping.
            with contextlib.suppress(OSError):
                sub.rename(aside)
                sub.symlink_to(outside)
                time.sleep(0)
                sub.unlink()
                aside.rename(sub)

    root.mkdir()
    swapper = threading.Thread(target=swap)
    swapper.start()
    raw: list[OSError] = []
    try:
        deadline = time.monotonic() + 6
        for _ in range(300):
            if time.monotonic() > deadline:
                break
            try:
                version.download(root)
            except rw.RegistryError:
                pass  # refused (a link on the way) or the folder vanished: fine
            except OSError as exc:
                raw.append(exc)
    finally:
        stop.set()
        swapper.join(timeout=10)
    assert list(outside.iterdir()) == []
    assert raw == []
    assert len(swaps) > 10


def test_a_folder_swapped_for_a_link_after_the_checks_is_not_followed(
    client: rw.Client, files, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = client.log_artifact("m", type="model", files={"sub/x.txt": files("x.txt", b"x")})
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    blobs = client._s.blobs
    real_open = blobs.open

    def swap_then_open(digest: str) -> object:
        # Every check has passed; now the folder becomes a link leading outside.
        (root / "sub").rename(root / "aside")
        (root / "sub").symlink_to(outside)
        return real_open(digest)

    monkeypatch.setattr(blobs, "open", swap_then_open)
    version.download(root)
    assert list(outside.iterdir()) == []
    assert (root / "aside" / "x.txt").read_bytes() == b"x"


def test_a_link_to_a_folder_inside_the_root_is_followed(
    client: rw.Client, files, tmp_path: Path
) -> None:
    version = client.log_artifact("m", type="model", files={"sub/x.txt": files("x.txt", b"x")})
    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    (root / "sub").symlink_to(root / "real")
    version.download(root)
    assert (root / "real" / "x.txt").read_bytes() == b"x"


# --------------------------------------------------------------------- refusals


def test_a_refused_type_change_takes_back_the_blobs_it_stored(
    client: rw.Client, logged, files, store_state
) -> None:
    before = store_state(client)
    with pytest.raises(rw.ValidationError, match="type"):
        client.log_artifact("first", type="dataset", files=files("n.bin", os.urandom(70_000)))
    assert store_state(client) == before


def test_a_file_changed_while_logged_leaves_no_blob_folder(
    client: rw.Client, logged, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_state
) -> None:
    folder = tmp_path / "data"
    write(folder / "a.txt", b"small")
    big = write(folder / "b.bin", os.urandom(200_000))
    real_read: Callable[..., object] = blobs_module.read_chunks

    def growing(path: Path, on_read: object = None):  # type: ignore[no-untyped-def]
        for chunk in real_read(path, on_read):  # type: ignore[operator]
            yield chunk
            if path == big:
                with big.open("ab") as fh:
                    fh.write(b"more")

    monkeypatch.setattr(blobs_module, "read_chunks", growing)
    before = store_state(client)
    with pytest.raises(rw.ConflictError, match="changed while"):
        client.log_artifact("m", type="model", files=folder)
    assert store_state(client) == before


# -- where the bytes live: the blob store beside the store, or the one given ----------------


def blob_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


@pytest.mark.parametrize("location", ["json", "memory"])
def test_a_client_keeps_files_in_the_blob_folder_it_is_given(
    location: str, tmp_path: Path, files
) -> None:
    store_path = tmp_path / "registry.json"
    where: str | Path = store_path if location == "json" else ":memory:"
    folder = tmp_path / "elsewhere" / "blobs"
    client = rw.Client(where, blobs=str(folder), user="ada")
    version = client.log_artifact("m", type="model", files=files("w.bin", b"weights" * 100))
    assert blob_files(folder)
    assert not (tmp_path / "registry.blobs").exists()
    again = rw.Client(client.store, blobs=folder, user="ada")
    out = again.artifact(f"m:{version.version}").download(tmp_path / "out")
    assert (out / "w.bin").read_bytes() == b"weights" * 100


def test_a_client_takes_a_blob_store_object(tmp_path: Path, files) -> None:
    blobs = MemoryBlobStore()
    client = rw.Client(tmp_path / "registry.json", blobs=blobs, user="ada")
    version = client.log_artifact("m", type="model", files=files("w.bin", b"weights"))
    assert list(blobs.digests()) == [entry["digest"] for entry in version.files.values()]
    assert not (tmp_path / "registry.blobs").exists()


def test_a_store_object_with_a_file_keeps_its_blobs_beside_it(tmp_path: Path, files) -> None:
    store = JSONFileStore(tmp_path / "registry.json")
    client = rw.Client(store, user="ada")
    client.log_artifact("m", type="model", files=files("w.bin", b"weights"))
    assert blob_files(tmp_path / "registry.blobs")


@pytest.mark.parametrize("blobs", [42, b"folder", "", "ftp://host/folder"])
def test_a_blob_location_that_cannot_be_opened_is_refused(tmp_path: Path, blobs: object) -> None:
    with pytest.raises(rw.ValidationError, match="not a blob location") as caught:
        rw.Client(tmp_path / "registry.json", blobs=blobs, user="ada")  # type: ignore[arg-type]
    assert caught.value.field == "blobs"
    assert not (tmp_path / "registry.json").exists()
