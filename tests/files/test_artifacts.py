from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import registry_widget.files.blobs as blobs_module
from registry_widget.errors import (
    ConflictError,
    NotFoundError,
    StoreCorruptedError,
    ValidationError,
)
from registry_widget.files import manifest as manifests
from registry_widget.files.artifacts import VerifyReport, download, verify
from registry_widget.files.blobs import BlobStore
from registry_widget.files.folder import FileBlobStore
from registry_widget.files.manifest import build_manifest, manifest_digest, manifest_size
from registry_widget.files.memory import MemoryBlobStore
from registry_widget.files.s3 import S3BlobStore
from registry_widget.files.sources import collect_files

BAD_RELPATHS = [
    "../evil",
    "a/../../x",
    "..",
    "/abs",
    "//server/share/x",
    "a\\b",
    "\\\\server\\share",
    "C:/x",
    "c:x",
    "a\x00b",
    "a\nb",
    "a\x7fb",
    "",
    ".",
    "./a",
    "a/./b",
    "a//b",
    "a/",
]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def listing(folder: Path) -> list[tuple[str, bytes | None]]:
    """Every entry below ``folder`` with the content of files, to compare before/after."""
    out = []
    for path in sorted(folder.rglob("*")):
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else None
        out.append((path.relative_to(folder).as_posix(), data))
    return out


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(params=["file", "memory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "file":
        return FileBlobStore(tmp_path / "blobs")
    if request.param == "s3":
        return S3BlobStore(request.getfixturevalue("s3_url"))
    return MemoryBlobStore()


@pytest.fixture
def src(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    write(folder / "model.pt", b"weights" * 1000)
    write(folder / "config.json", b'{"lr": 0.1}')
    write(folder / "data" / "train.csv", b"a,b\n1,2\n")
    return folder


# ---------------------------------------------------------------------- reading


def test_file_changing_while_read_is_refused(tmp_path: Path, store: BlobStore) -> None:
    path = write(tmp_path / "growing.log", b"x" * (2 * blobs_module.CHUNK_SIZE))

    def append(_n: int) -> None:
        with path.open("ab") as fh:
            fh.write(b"more")

    with pytest.raises(ConflictError, match=r"growing\.log.*changed while it was being read"):
        store.ingest(path, on_read=append)
    assert list(store.digests()) == []


# -------------------------------------------------------------------- manifests


def test_manifest_entries_and_digest(tmp_path: Path, src: Path, store: BlobStore) -> None:
    manifest = build_manifest(collect_files(src), store)
    assert list(manifest) == ["config.json", "data/train.csv", "model.pt"]
    assert manifest["model.pt"] == {"digest": sha(b"weights" * 1000), "size": 7000}
    assert manifest_size(manifest) == 7000 + 11 + 8
    text = "registry_widget manifest v1\n" + "".join(
        f"{e['digest']} {e['size']} {rel}\n" for rel, e in sorted(manifest.items())
    )
    assert manifest_digest(manifest) == sha(text.encode())


def test_manifest_and_digest_independent_of_input_order(src: Path, store: BlobStore) -> None:
    files = collect_files(src)
    reordered = dict(reversed(list(files.items())))
    m1, m2 = build_manifest(files, store), build_manifest(reordered, store)
    assert m1 == m2
    assert list(m1) == list(m2) == sorted(files)
    assert manifest_digest(m1) == manifest_digest(m2)
    assert manifest_digest(dict(reversed(list(m1.items())))) == manifest_digest(m1)


def test_digest_changes_with_content_and_path(tmp_path: Path, store: BlobStore) -> None:
    a = write(tmp_path / "a", b"1")
    b = write(tmp_path / "b", b"2")
    base = manifest_digest(build_manifest({"x": a}, store))
    assert manifest_digest(build_manifest({"x": b}, store)) != base
    assert manifest_digest(build_manifest({"y": a}, store)) != base


def test_identical_files_are_stored_once(tmp_path: Path, store: BlobStore) -> None:
    a = write(tmp_path / "a.bin", b"same bytes")
    b = write(tmp_path / "sub" / "b.bin", b"same bytes")
    c = write(tmp_path / "c.bin", b"other")
    manifest = build_manifest({"a.bin": a, "b.bin": b, "c.bin": c}, store)
    assert manifest["a.bin"]["digest"] == manifest["b.bin"]["digest"]
    assert sorted(store.digests()) == sorted({sha(b"same bytes"), sha(b"other")})
    build_manifest({"again.bin": a}, store)
    assert len(list(store.digests())) == 2


def test_build_manifest_reads_each_file_once(
    tmp_path: Path, store: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "big.bin", os.urandom(blobs_module.CHUNK_SIZE + 5))
    reads: list[Path] = []
    real = blobs_module.read_chunks

    def counting(p: Path, on_read: object = None):  # type: ignore[no-untyped-def]
        reads.append(p)
        return real(p, on_read)  # type: ignore[arg-type]

    monkeypatch.setattr(blobs_module, "read_chunks", counting)
    build_manifest({"big.bin": path}, store)
    assert reads == [path]


def test_build_manifest_refuses_empty_and_bad_paths(tmp_path: Path, store: BlobStore) -> None:
    good = write(tmp_path / "f", b"data")
    with pytest.raises(ValidationError) as info:
        build_manifest({}, store)
    assert info.value.field == "files"
    for bad in BAD_RELPATHS:
        with pytest.raises(ValidationError):
            build_manifest({bad: good}, store)
    assert list(store.digests()) == []


def test_manifest_digest_refuses_malformed_entries() -> None:
    ok = {"digest": "0" * 64, "size": 1}
    for bad in (
        {"../x": ok},
        {"a": {"digest": "../../etc/passwd", "size": 1}},
        {"a": {"digest": "A" * 64, "size": 1}},
        {"a": {"digest": "0" * 64, "size": -1}},
        {"a": {"digest": "0" * 64, "size": True}},
        {"a": ok, "a/b": ok},
    ):
        with pytest.raises(ValidationError):
            manifest_digest(bad)  # type: ignore[arg-type]


# ---------------------------------------------------------------- collect_files


def test_collect_single_file(src: Path) -> None:
    assert collect_files(src / "model.pt") == {"model.pt": src / "model.pt"}
    assert collect_files(str(src / "model.pt")) == {"model.pt": src / "model.pt"}


def test_collect_directory(src: Path) -> None:
    files = collect_files(src)
    assert files == {
        "config.json": src / "config.json",
        "data/train.csv": src / "data" / "train.csv",
        "model.pt": src / "model.pt",
    }
    assert list(files) == sorted(files)


def test_collect_list_expands_directories_under_their_name(tmp_path: Path, src: Path) -> None:
    extra = write(tmp_path / "notes.md", b"notes")
    files = collect_files([extra, src / "data"])
    assert files == {"data/train.csv": src / "data" / "train.csv", "notes.md": extra}


def test_collect_list_refuses_duplicates_naming_both(tmp_path: Path) -> None:
    a = write(tmp_path / "one" / "model.pt", b"1")
    b = write(tmp_path / "two" / "model.pt", b"2")
    with pytest.raises(ValidationError, match=r"model\.pt") as info:
        collect_files([a, b])
    assert str(a) in str(info.value)
    assert str(b) in str(info.value)


def test_collect_dict(tmp_path: Path, src: Path) -> None:
    files = collect_files(
        {"weights/final.pt": src / "model.pt", "cfg.json": str(src / "config.json")}
    )
    assert files == {"cfg.json": src / "config.json", "weights/final.pt": src / "model.pt"}
    assert list(files) == ["cfg.json", "weights/final.pt"]


@pytest.mark.parametrize("bad", BAD_RELPATHS)
def test_collect_dict_refuses_bad_relpaths(tmp_path: Path, bad: str) -> None:
    good = write(tmp_path / "src" / "f.txt", b"data")
    before = listing(tmp_path)
    with pytest.raises(ValidationError) as info:
        collect_files({bad: good})
    assert repr(bad) in str(info.value) or (bad and bad in str(info.value))
    assert listing(tmp_path) == before


def test_collect_refuses_file_that_is_also_a_folder(tmp_path: Path) -> None:
    f = write(tmp_path / "f", b"x")
    with pytest.raises(ValidationError, match="both"):
        collect_files({"a": f, "a/b": f})


def test_collect_missing_source(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.pt"
    for files in (missing, [missing], {"m.pt": missing}):
        with pytest.raises(NotFoundError, match=str(missing)):
            collect_files(files)


@pytest.mark.parametrize("empty", [[], (), {}])
def test_collect_empty_input(empty: object) -> None:
    with pytest.raises(ValidationError) as info:
        collect_files(empty)
    assert info.value.field == "files"


def test_collect_empty_directory_and_bad_types(tmp_path: Path) -> None:
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(ValidationError, match="no files"):
        collect_files(tmp_path / "empty")
    for bad in (42, b"bytes", "", [None]):
        with pytest.raises(ValidationError):
            collect_files(bad)


def test_collect_symlinks(tmp_path: Path) -> None:
    outside = write(tmp_path / "secret.txt", b"secret")
    folder = tmp_path / "folder"
    write(folder / "real.txt", b"real")
    (folder / "alias.txt").symlink_to(folder / "real.txt")
    (folder / "loop").symlink_to(folder)
    assert collect_files(folder) == {
        "alias.txt": folder / "alias.txt",
        "real.txt": folder / "real.txt",
    }
    (folder / "leak.txt").symlink_to(outside)
    with pytest.raises(ValidationError, match="outside"):
        collect_files(folder)
    (folder / "leak.txt").unlink()
    (folder / "leakdir").symlink_to(tmp_path)
    with pytest.raises(ValidationError, match="outside"):
        collect_files(folder)


# --------------------------------------------------------------------- download


def test_download_round_trip(tmp_path: Path, src: Path, store: BlobStore) -> None:
    manifest = build_manifest(collect_files(src), store)
    out = tmp_path / "out" / "deeper"
    assert download(manifest, store, out) == out
    assert tree(out) == tree(src)
    assert verify(manifest, store, out).ok


@pytest.mark.parametrize("evil", ["../evil", "/abs", "a/../../x", "C:/x", "a\\..\\..\\x"])
def test_download_refuses_crafted_manifest(tmp_path: Path, store: BlobStore, evil: str) -> None:
    manifest = build_manifest({"ok.txt": write(tmp_path / "ok.txt", b"evil")}, store)
    crafted = {"a.txt": manifest["ok.txt"], evil: manifest["ok.txt"]}
    sandbox = tmp_path / "sandbox"
    root = sandbox / "root"
    root.mkdir(parents=True)
    before = listing(tmp_path)
    with pytest.raises(ValidationError) as info:
        download(crafted, store, root)  # type: ignore[arg-type]
    assert repr(evil) in str(info.value)
    assert listing(tmp_path) == before
    assert not Path("/abs").exists()


def test_download_refuses_symlinked_folder_leading_outside(
    tmp_path: Path, store: BlobStore
) -> None:
    manifest = build_manifest({"sub/x.txt": write(tmp_path / "x.txt", b"x")}, store)
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "sub").symlink_to(outside)
    before = listing(tmp_path)
    with pytest.raises(ValidationError, match="symbolic link"):
        download(manifest, store, root)
    assert listing(tmp_path) == before
    assert list(outside.iterdir()) == []


def test_download_refuses_link_or_folder_as_destination(tmp_path: Path, store: BlobStore) -> None:
    manifest = build_manifest({"x.txt": write(tmp_path / "x.txt", b"x")}, store)
    target = write(tmp_path / "target.txt", b"keep me")
    root = tmp_path / "root"
    root.mkdir()
    (root / "x.txt").symlink_to(target)
    with pytest.raises(ValidationError, match="symbolic link"):
        download(manifest, store, root)
    assert target.read_bytes() == b"keep me"
    (root / "x.txt").unlink()
    (root / "x.txt").mkdir()
    with pytest.raises(ValidationError, match="not a file"):
        download(manifest, store, root)


def test_download_fixes_modified_file_and_keeps_identical(
    tmp_path: Path, src: Path, store: BlobStore
) -> None:
    manifest = build_manifest(collect_files(src), store)
    out = download(manifest, store, tmp_path / "out")
    (out / "model.pt").chmod(0o644)
    (out / "model.pt").write_bytes(b"tampered")
    inode = (out / "config.json").stat().st_ino
    mtime = (out / "config.json").stat().st_mtime_ns
    download(manifest, store, out)
    assert tree(out) == tree(src)
    assert (out / "config.json").stat().st_ino == inode
    assert (out / "config.json").stat().st_mtime_ns == mtime
    assert not list(out.rglob("*.part"))


def test_download_missing_blob(tmp_path: Path, store: BlobStore) -> None:
    manifest = build_manifest({"m.pt": write(tmp_path / "m", b"m")}, store)
    store.remove(manifest["m.pt"]["digest"])
    root = tmp_path / "root"
    with pytest.raises(NotFoundError, match=r"'m\.pt'.*" + manifest["m.pt"]["digest"]):
        download(manifest, store, root)
    assert not root.exists()


def test_download_refuses_corrupted_blob(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    manifest = build_manifest({"m.pt": write(tmp_path / "m", b"model")}, store)
    blob = store.path_hint(manifest["m.pt"]["digest"])
    assert blob is not None
    blob.chmod(0o644)
    blob.write_bytes(b"rotten")
    with pytest.raises(StoreCorruptedError, match="corrupted"):
        download(manifest, store, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


# ----------------------------------------------------------------------- verify


def test_verify_blobs_detects_modified_and_missing(tmp_path: Path, src: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    manifest = build_manifest(collect_files(src), store)
    report = verify(manifest, store)
    assert report.ok
    assert bool(report)
    assert report.checked == 3
    assert str(report) == "3 files verified"

    blob = store.path_hint(manifest["model.pt"]["digest"])
    assert blob is not None
    blob.chmod(0o644)
    blob.write_bytes(b"bitrot")
    store.remove(manifest["config.json"]["digest"])
    report = verify(manifest, store)
    assert not report
    assert report.changed == ["model.pt"]
    assert report.missing == ["config.json"]
    assert report.extra == []
    assert str(report) == "1 changed: model.pt; 1 missing: config.json"


def test_verify_memory_blobs_missing(tmp_path: Path, src: Path) -> None:
    store = MemoryBlobStore()
    manifest = build_manifest(collect_files(src), store)
    store.remove(manifest["model.pt"]["digest"])
    assert verify(manifest, store).missing == ["model.pt"]


def test_verify_downloaded_copy(tmp_path: Path, src: Path, store: BlobStore) -> None:
    manifest = build_manifest(collect_files(src), store)
    out = download(manifest, store, tmp_path / "out")
    assert verify(manifest, store, out) == VerifyReport(checked=3)
    (out / "model.pt").write_bytes(b"changed")
    (out / "config.json").unlink()
    write(out / "data" / "stray.txt", b"?")
    report = verify(manifest, store, out)
    assert (report.changed, report.missing, report.extra) == (
        ["model.pt"],
        ["config.json"],
        ["data/stray.txt"],
    )
    assert not report.ok
    assert str(report) == "1 changed: model.pt; 1 missing: config.json; 1 extra: data/stray.txt"


def test_verify_report_lists_are_shortened() -> None:
    report = VerifyReport(checked=9, missing=[f"f{i}" for i in range(8)])
    assert str(report) == "8 missing: f0, f1, f2, f3, f4, … (+3 more)"
    assert str(VerifyReport(checked=1)) == "1 file verified"


# ------------------------------------------------------------------ blob stores


def test_blob_store_interface(tmp_path: Path, store: BlobStore) -> None:
    data = b"blob content"
    digest = sha(data)
    path = write(tmp_path / "f", data)
    assert not store.has(digest)
    store.put_file(path, digest)
    store.put_file(path, digest)
    assert store.has(digest)
    assert list(store.digests()) == [digest]
    with store.open(digest) as fh:
        assert fh.read() == data
    store.remove(digest)
    store.remove(digest)
    assert not store.has(digest)
    with pytest.raises(NotFoundError, match=digest):
        store.open(digest)


def test_blob_store_refuses_wrong_digest_and_bad_names(tmp_path: Path, store: BlobStore) -> None:
    path = write(tmp_path / "f", b"abc")
    with pytest.raises(ValidationError, match="sha256"):
        store.put_file(path, sha(b"something else"))
    assert list(store.digests()) == []
    for bad in ("../../etc/passwd", "ab", "G" * 64, sha(b"x").upper()):
        with pytest.raises(ValidationError):
            store.has(bad)


def test_file_blob_layout_read_only_and_lazy(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = FileBlobStore(root)
    assert list(store.digests()) == []
    assert not root.exists()
    data = b"layout"
    digest = sha(data)
    store.ingest(write(tmp_path / "f", data))
    blob = root / "sha256" / digest[:2] / digest[2:]
    assert store.path_hint(digest) == blob
    assert blob.read_bytes() == data
    assert stat.S_IMODE(blob.stat().st_mode) == 0o444
    assert [p.name for p in (root / "sha256").rglob("*") if p.is_file()] == [digest[2:]]
    assert MemoryBlobStore().path_hint(digest) is None


def test_failed_copy_leaves_no_blob(
    tmp_path: Path, store: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(3 * 1024)
    path = write(tmp_path / "f.bin", data)
    monkeypatch.setattr(blobs_module, "CHUNK_SIZE", 1024)

    def failing(p: Path, on_read: object = None):  # type: ignore[no-untyped-def]
        with p.open("rb") as fh:
            yield fh.read(1024)
            yield fh.read(1024)
        raise OSError("No space left on device")

    monkeypatch.setattr(blobs_module, "read_chunks", failing)
    for attempt in (lambda: store.ingest(path), lambda: store.put_file(path, sha(data))):
        with pytest.raises(OSError, match="No space"):
            attempt()
        assert not store.has(sha(data))
        assert list(store.digests()) == []
    if isinstance(store, FileBlobStore):
        leftovers = [p for p in store.root.rglob("*") if p.is_file()]
        assert leftovers == []


# --------------------------------------------------------------------- progress


class FakeTqdm:
    instances: ClassVar[list[FakeTqdm]] = []

    def __init__(self, **kwargs: object) -> None:
        self.kwargs = kwargs
        self.n = 0
        self.closed = False
        FakeTqdm.instances.append(self)

    def update(self, n: int) -> None:
        self.n += n

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_tqdm(monkeypatch: pytest.MonkeyPatch) -> list[FakeTqdm]:
    FakeTqdm.instances = []
    monkeypatch.setattr("tqdm.auto.tqdm", FakeTqdm)
    return FakeTqdm.instances


def test_progress_bar_only_above_threshold(
    tmp_path: Path, store: BlobStore, fake_tqdm: list[FakeTqdm], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(manifests, "PROGRESS_THRESHOLD", 1000)
    small = {"s": write(tmp_path / "s", b"x" * 1000)}
    build_manifest(small, store)
    download(build_manifest(small, store), store, tmp_path / "o1")
    assert fake_tqdm == []

    big = {"a": write(tmp_path / "a", b"a" * 600), "b": write(tmp_path / "b", b"b" * 600)}
    manifest = build_manifest(big, store)
    download(manifest, store, tmp_path / "o2")
    hashing, downloading = fake_tqdm
    assert hashing.kwargs["desc"] == "hashing 2 files"
    assert hashing.kwargs["total"] == hashing.n == 1200
    assert hashing.kwargs["unit"] == "B"
    assert hashing.kwargs["unit_scale"] is True
    assert downloading.kwargs["desc"] == "downloading"
    assert downloading.n == 1200
    assert all(bar.closed for bar in fake_tqdm)


def test_progress_flag_forces_or_disables(
    tmp_path: Path, store: BlobStore, fake_tqdm: list[FakeTqdm], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"s": write(tmp_path / "s", b"x" * 10)}
    build_manifest(files, store, progress=True)
    assert len(fake_tqdm) == 1
    monkeypatch.setattr(manifests, "PROGRESS_THRESHOLD", 0)
    build_manifest(files, store, progress=False)
    download(build_manifest(files, store, progress=False), store, tmp_path / "o", progress=False)
    assert len(fake_tqdm) == 1


def test_progress_bar_is_written_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = write(tmp_path / "big.bin", b"\0" * (manifests.PROGRESS_THRESHOLD + 1))
    build_manifest({"big.bin": big}, MemoryBlobStore())
    assert "hashing 1 file" in capsys.readouterr().err
    build_manifest({"small": write(tmp_path / "small", b"x")}, MemoryBlobStore())
    assert capsys.readouterr().err == ""


def test_import_does_not_load_tqdm() -> None:
    code = "import sys, registry_widget.files.artifacts; print('tqdm' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------- properties

SEGMENT = st.text(alphabet="abzAZ09_-. éß", min_size=1, max_size=6).filter(
    lambda s: s not in (".", "..")
)
RELPATH = st.lists(SEGMENT, min_size=1, max_size=3).map("/".join)


def _no_file_is_a_folder(files: dict[str, bytes]) -> bool:
    return not any(other.startswith(rel + "/") for rel in files for other in files)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.dictionaries(RELPATH, st.binary(max_size=300), min_size=1, max_size=6).filter(
        _no_file_is_a_folder
    ),
    kind=st.sampled_from(["file", "memory"]),
)
def test_download_reproduces_logged_files(files: dict[str, bytes], kind: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        sources = {
            rel: write(base / "src" / f"{i}.bin", data)
            for i, (rel, data) in enumerate(files.items())
        }
        store: BlobStore = FileBlobStore(base / "blobs") if kind == "file" else MemoryBlobStore()
        manifest = build_manifest(collect_files(sources), store)
        assert manifest_size(manifest) == sum(len(d) for d in files.values())
        out = download(manifest, store, base / "out")
        assert tree(out) == files
        assert verify(manifest, store, out).ok
        assert verify(manifest, store).ok


def test_collect_missing_folder_is_named_as_written_with_where_it_was_looked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotFoundError) as info:
        collect_files("weights/")
    assert str(info.value) == f"folder 'weights/' does not exist (looked for {tmp_path}/weights/)"
    with pytest.raises(NotFoundError) as info:
        collect_files(["model.bin"])
    assert str(info.value) == (
        f"file or folder 'model.bin' does not exist (looked for {tmp_path}/model.bin)"
    )
