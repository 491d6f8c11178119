"""The blob pack: small blobs appended to one file, synced once per commit."""

from __future__ import annotations

import fcntl
import gc
import hashlib
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import registry_widget as rw
from registry_widget.errors import StoreCorruptedError
from registry_widget.files.artifacts import download, verify
from registry_widget.files.blobpack import HEADER, PACK_NAME, BlobPack
from registry_widget.files.folder import PACK_LIMIT, FileBlobStore
from registry_widget.files.manifest import build_manifest


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_round_trip_through_a_second_reader(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs", pack_limit=PACK_LIMIT)
    datas = [b"", b"a", os.urandom(PACK_LIMIT), b"same", b"same"]
    digests = [store.ingest(write(tmp_path / f"f{i}", d))[0] for i, d in enumerate(datas)]
    assert digests == [sha(d) for d in datas]
    store.sync()
    assert not (tmp_path / "blobs" / "sha256").exists()  # everything went into the pack
    other = FileBlobStore(tmp_path / "blobs", pack_limit=PACK_LIMIT)
    assert sorted(other.digests()) == sorted(set(digests))
    for d, digest in zip(datas, digests, strict=True):
        assert other.has(digest)
        with other.open(digest) as fh:
            assert fh.read() == d
    # The same content twice is stored once (each blob with the record of when it was).
    pack = tmp_path / "blobs" / PACK_NAME
    assert pack.stat().st_size == sum(HEADER + len(d) + HEADER + 8 for d in datas[:4])


def test_a_read_pack_says_where_each_blob_is_and_holds_no_container_per_blob(
    tmp_path: Path,
) -> None:
    writer = BlobPack(tmp_path / PACK_NAME)
    datas = [f"blob {i}".encode() * (i + 1) for i in range(2000)]
    for d in datas:
        writer.add(sha(d), d)
    writer.sync()
    reader = BlobPack(tmp_path / PACK_NAME)
    offset = 0
    for d in datas:
        offset += HEADER
        assert reader.find(sha(d)) == (offset, len(d))
        assert reader.read(sha(d)) == d
        offset += len(d) + HEADER + 8  # the blob, then the record of its use
    # Where the blobs are is a dictionary of ints, which the garbage collector never
    # tracks: a collection does not walk a large pack's index.
    assert not gc.is_tracked(reader._index)


def test_removal_hides_and_adding_again_shows(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs", pack_limit=PACK_LIMIT)
    digest, _ = store.ingest(write(tmp_path / "f", b"bytes"))
    store.remove(digest)
    assert not store.has(digest)
    assert not FileBlobStore(tmp_path / "blobs", pack_limit=PACK_LIMIT).has(digest)
    with pytest.raises(rw.NotFoundError):
        store.open(digest)
    store.put_file(tmp_path / "f", digest)
    assert FileBlobStore(tmp_path / "blobs", pack_limit=PACK_LIMIT).has(digest)


def test_put_file_refuses_the_wrong_digest(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs", pack_limit=PACK_LIMIT)
    with pytest.raises(rw.ValidationError, match="sha256"):
        store.put_file(write(tmp_path / "f", b"x"), sha(b"y"))
    assert list(store.digests()) == []


def test_a_torn_tail_is_ignored_and_cut_off_by_the_next_append(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs", pack_limit=PACK_LIMIT)
    first, _ = store.ingest(write(tmp_path / "a", b"first"))
    pack = tmp_path / "blobs" / PACK_NAME
    good = pack.stat().st_size
    # A process died while appending: half a header, then zeros from a lost write.
    torn = b"RWB1+" + bytes.fromhex(sha(b"torn"))[:10]
    with pack.open("ab") as fh:
        fh.write(torn)
    reader = FileBlobStore(tmp_path / "blobs", pack_limit=PACK_LIMIT)
    assert list(reader.digests()) == [first]
    second, _ = reader.ingest(write(tmp_path / "b", b"second"))
    assert pack.stat().st_size == good + HEADER + len(b"second") + HEADER + 8
    with pack.open("ab") as fh:
        fh.write(b"\x00" * 100)
    third, _ = FileBlobStore(tmp_path / "blobs", pack_limit=PACK_LIMIT).ingest(
        write(tmp_path / "c", b"third")
    )
    fresh = FileBlobStore(tmp_path / "blobs", pack_limit=PACK_LIMIT)
    assert sorted(fresh.digests()) == sorted([first, second, third])
    assert verify({"c": {"digest": third, "size": 5}}, fresh).ok


def test_damage_in_the_middle_is_refused_for_writing_and_found_by_verify(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs", pack_limit=PACK_LIMIT)
    a = build_manifest({"a": write(tmp_path / "a", b"alpha")}, store)
    b = build_manifest({"b": write(tmp_path / "b", b"bravo")}, store)
    pack = tmp_path / "blobs" / PACK_NAME
    raw = bytearray(pack.read_bytes())
    raw[raw.index(b"alpha")] = ord("A")  # bit rot in the bytes of a blob
    pack.write_bytes(bytes(raw))
    fresh = FileBlobStore(tmp_path / "blobs", pack_limit=PACK_LIMIT)
    report = verify(a, fresh)
    assert report.changed == ["a"]
    with pytest.raises(StoreCorruptedError, match="corrupted"):
        download(a, fresh, tmp_path / "out")
    assert verify(b, fresh).ok
    # A damaged header in front of more records: reading stops there, writing is refused.
    second = raw.index(b"RWB1", 4)
    raw[second : second + 4] = b"XXXX"
    pack.write_bytes(bytes(raw))
    damaged = FileBlobStore(tmp_path / "blobs", pack_limit=PACK_LIMIT)
    assert verify(a, damaged).changed == ["a"]
    assert verify(b, damaged).missing == ["b"]
    with pytest.raises(StoreCorruptedError, match="damaged record"):
        damaged.ingest(write(tmp_path / "c", b"charlie"))
    assert pack.read_bytes() == bytes(raw)


def test_a_bad_copy_is_not_reused_when_the_same_content_comes_again(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs", pack_limit=PACK_LIMIT)
    digest, _ = store.ingest(write(tmp_path / "a", b"content"))
    pack = tmp_path / "blobs" / PACK_NAME
    pack.write_bytes(pack.read_bytes().replace(b"content", b"CONTENT"))
    store.ingest(write(tmp_path / "b", b"content"))
    with FileBlobStore(tmp_path / "blobs", pack_limit=PACK_LIMIT).open(digest) as fh:
        assert fh.read() == b"content"


def _append_many(root: str, start: int) -> None:
    store = FileBlobStore(root, pack_limit=PACK_LIMIT)
    for i in range(start, start + 40):
        path = Path(root).parent / f"src-{i}"
        path.write_bytes(b"blob %d" % i * (i % 7 + 1))
        store.ingest(path)
    store.sync()


def test_appends_from_several_processes_never_interleave(tmp_path: Path) -> None:
    root = str(tmp_path / "blobs")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(root, s)) for s in (0, 100, 200)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = FileBlobStore(root, pack_limit=PACK_LIMIT)
    wanted = {sha(b"blob %d" % i * (i % 7 + 1)) for s in (0, 100, 200) for i in range(s, s + 40)}
    assert set(store.digests()) == wanted
    manifest = {d: {"digest": d, "size": len(store.open(d).read())} for d in wanted}
    assert verify(manifest, store).ok  # type: ignore[arg-type]


def test_a_forked_child_waits_for_the_pack_lock_its_parent_holds(tmp_path: Path) -> None:
    pack = BlobPack(tmp_path / PACK_NAME)
    pack.add(sha(b"parent"), b"parent")  # opens the file: a child inherits the descriptor
    fd = os.open(pack.path, os.O_RDONLY)
    fcntl.flock(pack._fd, fcntl.LOCK_EX)  # type: ignore[arg-type]  # as an append holds it
    try:
        size = pack.path.stat().st_size
        pid = os.fork()
        if pid == 0:  # the child: its append must wait for the parent's lock
            try:
                pack.add(sha(b"child"), b"child")
                pack.sync()
            finally:
                os._exit(0)
        deadline = time.monotonic() + 0.5
        done, status = 0, 0
        while not done and time.monotonic() < deadline:
            time.sleep(0.01)
            done, status = os.waitpid(pid, os.WNOHANG)
        grown = os.fstat(fd).st_size
    finally:
        fcntl.flock(pack._fd, fcntl.LOCK_UN)  # type: ignore[arg-type]
        os.close(fd)
    if not done:
        _, status = os.waitpid(pid, 0)
    assert grown == size, "the child appended while its parent held the pack's lock"
    assert os.waitstatus_to_exitcode(status) == 0
    pack.add(sha(b"again"), b"again")
    fresh = BlobPack(tmp_path / PACK_NAME)
    for data in (b"parent", b"child", b"again"):
        assert fresh.read(sha(data)) == data


def _log_many(store_path: Path, worker: int) -> int:
    client = rw.Client(store_path, user="ada")  # the parent's store and pack, inherited
    for i in range(60):
        src = store_path.parent / f"w{worker}-{i}.bin"
        src.write_bytes(os.urandom(60_000))  # small enough for the pack
        client.log_artifact(f"m{worker}-{i}", type="model", files=src)
    return worker


VERIFY_ALL = """
import sys
import registry_widget as rw
client = rw.Client(sys.argv[1], user="ada")
bad = [n for n in sys.argv[2:] if not client.artifact(n + ":v0").verify()]
print(" ".join(bad))
"""


def test_forked_workers_logging_into_one_store_lose_no_blob(store_path: Path, files) -> None:
    client = rw.Client(store_path, user="ada")
    client.log_artifact("first", type="model", files=files("first.bin", b"x" * 100))
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4) as pool:
        assert sorted(pool.starmap(_log_many, [(store_path, w) for w in range(4)])) == [0, 1, 2, 3]
    names = ["first"] + [f"m{w}-{i}" for w in range(4) for i in range(60)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run(
        [sys.executable, "-c", VERIFY_ALL, str(store_path), *names],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert proc.stdout.split() == []


def _fdatasync_names(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names: list[str] = []
    real = os.fdatasync

    def recording(fd: int) -> None:
        names.append(os.path.basename(os.readlink(f"/proc/self/fd/{fd}")))
        real(fd)

    monkeypatch.setattr(os, "fdatasync", recording)
    return names


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_the_pack_is_synced_before_the_journal_and_once_per_batch(
    store_path: Path, files, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = rw.Client(store_path, user="ada")
    client.log_artifact("warm", type="model", files=files("w0.bin", b"warm"))
    names = _fdatasync_names(monkeypatch)
    client.log_artifact("cat", type="model", files=files("w1.bin", b"one"))
    assert names == [PACK_NAME, "registry.json.journal"]
    names.clear()
    with client.batch():
        for i in range(5):
            client.log_artifact("cat", type="model", files=files(f"b{i}.bin", b"b%d" % i))
    assert names == [PACK_NAME, "registry.json.journal"]


CRASH = """
import os, sys
import registry_widget as rw
from registry_widget.store.jsonfile import JSONFileStore
path, src = sys.argv[1], sys.argv[2]
client = rw.Client(path, user="ada")
def die(self, changes):
    os._exit(3)  # the pack holds the bytes, the journal never gets the version
JSONFileStore._persist = die
client.log_artifact("cat", type="model", files=src)
"""


def test_a_crash_between_pack_and_journal_leaves_no_version(store_path: Path, files) -> None:
    client = rw.Client(store_path, user="ada")
    client.log_artifact("dog", type="model", files=files("d.bin", b"dog"))
    src = files("c.bin", b"cat bytes")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run(
        [sys.executable, "-c", CRASH, str(store_path), str(src)], env=env, check=False
    )
    assert proc.returncode == 3
    fresh = rw.Client(store_path, user="ada")
    with pytest.raises(rw.NotFoundError):
        fresh.artifact("cat")
    assert fresh.artifact("dog:v0").verify()
    again = fresh.log_artifact("cat", type="model", files=src)
    assert again.version == "v0"
    assert again.verify()
    assert again.download(store_path.parent / "out").joinpath("c.bin").read_bytes() == b"cat bytes"


def test_blob_pack_alone_reads_nothing_before_the_file_exists(tmp_path: Path) -> None:
    pack = BlobPack(tmp_path / "none" / PACK_NAME)
    assert pack.find(sha(b"x")) is None
    assert pack.read(sha(b"x")) is None
    assert list(pack.digests()) == []
    pack.sync()
    assert not (tmp_path / "none").exists()
