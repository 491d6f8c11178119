"""Artifact files in an S3 bucket, proved against a real object store (Swift with s3api).

The blob-level behaviour shared by every backend is tested in test_artifacts.py and
test_artifact_files.py (parametrised over folder, memory and S3); this module covers
what only an object store has: conditional PUTs racing, multipart uploads, objects
damaged in the bucket, the store failing or refusing, the grace period measured by
the store's clock, and a client killed in the middle of an upload.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

import registry_widget as rw
from registry_widget.domain.backend import open_blobs
from registry_widget.files import s3
from registry_widget.files.artifacts import download, verify
from registry_widget.files.folder import FileBlobStore
from registry_widget.files.manifest import build_manifest
from registry_widget.files.s3 import S3BlobStore
from registry_widget.files.s3_bucket import parse_s3_url
from tests.conftest import read_bucket, s3_client
from tests.servers.swift import Swift

MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def raw_client(swift: Swift, **config: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=swift.endpoint,
        aws_access_key_id=config.pop("key", swift.access_key),
        aws_secret_access_key=config.pop("secret", swift.secret_key),
        region_name=swift.region,
        config=Config(s3={"addressing_style": "path"}, **config),
    )


def objects(store: S3BlobStore) -> dict[str, bytes]:
    found, _ = read_bucket(store)  # type: ignore[misc]
    return found


def uploads(store: S3BlobStore) -> list[str]:
    _, pending = read_bucket(store)  # type: ignore[misc]
    return pending


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: object) -> Any:
        yield self.body


def fail_with(status: int, code: str, *, times: int | None = None) -> Any:
    """A before-send hook answering ``status`` instead of the store (``times`` times)."""
    calls: list[str] = []

    def hook(request: Any, **_: object) -> AWSResponse | None:
        calls.append(request.url)
        if times is not None and len(calls) > times:
            return None
        body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
        return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, _Raw(body))

    hook.calls = calls  # type: ignore[attr-defined]
    return hook


# ---------------------------------------------------------------- layout and URLs


def test_blobs_are_content_addressed_objects_under_the_prefix(s3_url: str, tmp_path: Path) -> None:
    store = open_blobs(s3_url)
    assert isinstance(store, S3BlobStore)
    data = b"weights"
    digest, size = store.ingest(write(tmp_path / "w.bin", data))
    assert (digest, size) == (sha(data), len(data))
    prefix = parse_s3_url(s3_url)[1]
    assert objects(store) == {f"{prefix}/sha256/{digest[:2]}/{digest[2:]}": data}
    assert list(store.digests()) == [digest]
    assert store.size(digest) == len(data)


def test_the_same_content_in_many_versions_is_one_object(
    s3_url: str, tmp_path: Path, store_path: Path
) -> None:
    client = rw.Client(store_path, blobs=s3_url, user="ada")
    shared = write(tmp_path / "shared.bin", b"shared" * 100)
    for i in range(3):
        client.log_artifact(
            f"m{i}", type="model", files=[shared, write(tmp_path / f"{i}", b"%d" % i)]
        )
    store = client._s.blobs
    assert isinstance(store, S3BlobStore)
    assert len([k for k in objects(store) if "/sha256/" in k]) == 4


def test_blob_locations_are_checked(tmp_path: Path) -> None:
    for bad in ("s3://", "s3:///prefix", "s3://b/p?x=1", ""):
        with pytest.raises(rw.ValidationError, match="blobs") as err:
            open_blobs(bad)
        assert err.value.field == "blobs"
    folder = open_blobs(tmp_path / "elsewhere")
    assert isinstance(folder, FileBlobStore)
    assert folder.pack_limit > 0
    assert open_blobs(folder) is folder
    assert repr(folder) == f"FileBlobStore({str(tmp_path / 'elsewhere')!r})"


def test_a_folder_given_as_blobs_holds_the_files(tmp_path: Path, store_path: Path) -> None:
    client = rw.Client(store_path, blobs=tmp_path / "elsewhere", user="ada")
    version = client.log_artifact("m", type="model", files=write(tmp_path / "w.bin", b"w"))
    assert (tmp_path / "elsewhere" / "blobs.pack").is_file()
    assert not store_path.with_name("registry.blobs").exists()
    assert version.verify().ok


def test_credentials_and_endpoint_come_from_an_aws_profile(
    s3_url: str, swift: Swift, tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    (tmp_path / "credentials").write_text(
        f"[team]\naws_access_key_id = {swift.access_key}\n"
        f"aws_secret_access_key = {swift.secret_key}\n"
    )
    (tmp_path / "config").write_text(
        f"[profile team]\nregion = {swift.region}\nendpoint_url = {swift.endpoint}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_PROFILE", "team")
    client = rw.Client(store_path, blobs=s3_url, user="ada")
    version = client.log_artifact("m", type="model", files=write(tmp_path / "w.bin", b"w"))
    assert version.verify().ok
    assert client._s.blobs.endpoint == swift.endpoint  # type: ignore[attr-defined]


# ------------------------------------------------------------- conditional PUTs


def test_a_second_upload_of_stored_content_meets_412_and_changes_nothing(
    s3_url: str, swift: Swift, tmp_path: Path
) -> None:
    data = os.urandom(MiB)
    src = write(tmp_path / "same.bin", data)
    first, second = S3BlobStore(s3_url), S3BlobStore(s3_url)
    first.ingest(src)
    key = first.key(sha(data))
    head = first._client.head_object(Bucket=first.bucket, Key=key)
    sent: list[int] = []

    def record_status(http_response: Any, **_: object) -> None:
        sent.append(http_response.status_code)

    second._client.meta.events.register("after-call.s3.PutObject", record_status)
    with second.recording() as added:
        assert second.ingest(src) == (sha(data), len(data))
    assert sent[0] == 412  # the conditional PUT, then the marker that makes it young
    assert not added.digests  # not this call's: a refusal would not take it back
    again = first._client.head_object(Bucket=first.bucket, Key=key)
    assert (again["ETag"], again["LastModified"]) == (head["ETag"], head["LastModified"])
    # The store itself refuses the overwrite: a conditional PUT of other bytes gets 412.
    with pytest.raises(Exception, match="PreconditionFailed"):
        s3_client(swift).put_object(Bucket=first.bucket, Key=key, Body=b"x", IfNoneMatch="*")  # type: ignore[attr-defined]
    with first.open(sha(data)) as fh:
        assert fh.read() == data


def test_concurrent_uploads_of_one_content_leave_one_whole_object(
    s3_url: str, tmp_path: Path, store_path: Path
) -> None:
    # Swift checks If-None-Match when a PUT begins, so uploads that overlap may all
    # succeed; the key is the content's digest, so the object is whole either way.
    data = os.urandom(MiB)
    src = write(tmp_path / "same.bin", data)
    stores = [S3BlobStore(s3_url) for _ in range(8)]
    stored: list[set[str]] = []
    barrier = threading.Barrier(len(stores))

    def upload(store: S3BlobStore) -> None:
        with store.recording() as added:
            barrier.wait()
            store.ingest(src)
        stored.append(set(added.digests))

    threads = [threading.Thread(target=upload, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stored) == 8
    assert all(s <= {sha(data)} for s in stored)
    assert any(stored)
    assert list(objects(stores[0]).values()).count(data) == 1
    assert len(objects(stores[0])) <= 2  # the blob, and maybe its marker
    assert verify({"same.bin": {"digest": sha(data), "size": len(data)}}, stores[0]).ok


def test_many_small_files_upload_concurrently_within_the_bound(s3_url: str, tmp_path: Path) -> None:
    store = S3BlobStore(s3_url, max_workers=6)
    real_put = store._client.put_object
    lock = threading.Lock()
    running = [0]
    peak = [0]

    def put_object(**kwargs: Any) -> Any:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            time.sleep(0.02)
            return real_put(**kwargs)
        finally:
            with lock:
                running[0] -= 1

    store._client.put_object = put_object
    files = {f"f{i:03}.txt": write(tmp_path / f"f{i}", b"file %d" % i) for i in range(60)}
    manifest = build_manifest(files, store)
    assert 1 < peak[0] <= 6
    assert len(list(store.digests())) == 60
    assert verify(manifest, store).ok


def test_many_small_files_download_concurrently_and_a_failure_stops_the_rest(
    s3_url: str, tmp_path: Path
) -> None:
    store = S3BlobStore(s3_url, max_workers=6)
    files = {f"d{i % 3}/f{i:03}.txt": write(tmp_path / f"f{i}", b"file %d" % i) for i in range(40)}
    manifest = build_manifest(files, store)
    real_get = store._client.get_object
    lock = threading.Lock()
    running = [0]
    peak = [0]

    def get_object(**kwargs: Any) -> Any:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            time.sleep(0.02)
            return real_get(**kwargs)
        finally:
            with lock:
                running[0] -= 1

    store._client.get_object = get_object
    out = download(manifest, store, tmp_path / "out")
    assert 1 < peak[0] <= 6
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*.txt")} == {
        rel: path.read_bytes() for rel, path in files.items()
    }
    # One object damaged: that file is refused, the error raised once the others stop.
    store._client.put_object(
        Bucket=store.bucket, Key=store.key(manifest["d1/f010.txt"]["digest"]), Body=b"bad"
    )
    with pytest.raises(rw.StoreCorruptedError, match="f010"):
        download(manifest, store, tmp_path / "again")
    assert not (tmp_path / "again" / "d1" / "f010.txt").exists()
    assert not list((tmp_path / "again").rglob("*.part"))


def test_large_transfers_show_a_bar_per_file(
    s3_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tqdm.auto

    shown: list[tuple[str, int, int]] = []

    class Bar:
        def __init__(self, *, total: int, desc: str, **_: object) -> None:
            self.desc, self.total, self.n = desc, total, 0

        def update(self, n: int) -> None:
            self.n += n

        def close(self) -> None:
            shown.append((self.desc, self.total, self.n))

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    store = S3BlobStore(s3_url, multipart_threshold=6 * MiB, part_size=5 * MiB)
    size = 11 * MiB
    files = {"big.bin": write(tmp_path / "big.bin", os.urandom(size))}
    files["small.txt"] = write(tmp_path / "small.txt", b"small")
    manifest = build_manifest(files, store)
    download(manifest, store, tmp_path / "out")
    digest = manifest["big.bin"]["digest"]
    assert shown == [
        ("uploading big.bin", size, size),
        ("hashing 2 files", size + 5, size + 5),
        (f"reading blob {digest[:12]}", size, size),
        ("downloading", size + 5, size + 5),
    ]


# --------------------------------------------------------------------- multipart


def test_large_files_are_uploaded_in_parts_and_read_back_whole(s3_url: str, tmp_path: Path) -> None:
    store = S3BlobStore(s3_url, multipart_threshold=6 * MiB, part_size=5 * MiB)
    data = os.urandom(13 * MiB)
    manifest = build_manifest({"big.bin": write(tmp_path / "big.bin", data)}, store)
    digest = manifest["big.bin"]["digest"]
    head = store._client.head_object(Bucket=store.bucket, Key=store.key(digest))
    assert head["ETag"].strip('"').endswith("-3")  # three parts: 5 + 5 + 3 MiB
    assert head["ContentLength"] == len(data)
    out = download(manifest, store, tmp_path / "out")
    assert (out / "big.bin").read_bytes() == data
    assert uploads(store) == []
    # Stored under a digest it does not have: refused before the upload is completed.
    other = write(tmp_path / "other.bin", os.urandom(7 * MiB))
    with pytest.raises(rw.ValidationError, match="not the digest"):
        store.put_file(other, sha(b"something else"))
    assert not store.has(sha(b"something else"))
    assert uploads(store) == []
    # The same content again is read once more, and the stored object is left as it is:
    # the staged upload is dropped once its digest is found stored.
    key = store.key(digest)
    before = store._client.head_object(Bucket=store.bucket, Key=key)
    assert store.ingest(tmp_path / "big.bin") == (digest, len(data))
    after = store._client.head_object(Bucket=store.bucket, Key=key)
    assert (after["ETag"], after["LastModified"]) == (before["ETag"], before["LastModified"])
    assert uploads(store) == []
    assert not [k for k in objects(store) if "/uploads/" in k]


class _CountingReads:
    """Counts the passes over one file (opened and read from) and the bytes read."""

    def __init__(self, target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.passes = 0
        self.bytes = 0
        real_open = Path.open
        counter = self

        class Counted:
            def __init__(self, fh: Any) -> None:
                self._fh = fh
                self._read = False

            def read(self, n: int = -1) -> bytes:
                data = self._fh.read(n)
                if data and not self._read:
                    self._read = True
                    counter.passes += 1
                counter.bytes += len(data)
                return bytes(data)

            def __getattr__(self, name: str) -> Any:
                return getattr(self._fh, name)

            def __enter__(self) -> Counted:
                return self

            def __exit__(self, *exc: object) -> None:
                self._fh.close()

        def counting_open(path: Path, *args: Any, **kwargs: Any) -> Any:
            fh = real_open(path, *args, **kwargs)
            if Path(path).resolve() != target.resolve():
                return fh
            return Counted(fh)

        monkeypatch.setattr(Path, "open", counting_open)


def test_a_large_file_is_read_once_while_it_is_hashed_and_uploaded(
    s3_url: str, tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = S3BlobStore(s3_url, multipart_threshold=6 * MiB, part_size=5 * MiB)
    data = os.urandom(12 * MiB + 3)
    big = write(tmp_path / "big.bin", data)
    client = rw.Client(store_path, blobs=store, user="ada")
    reads = _CountingReads(big, monkeypatch)
    version = client.log_artifact("big", type="model", files=big)
    assert (reads.passes, reads.bytes) == (1, len(data))
    assert version.files["big.bin"]["digest"] == sha(data)
    assert uploads(store) == []
    assert sorted(objects(store)) == [store.key(sha(data))]  # nothing staged is left
    head = store._client.head_object(Bucket=store.bucket, Key=store.key(sha(data)))
    assert head["ETag"].strip('"').endswith("-3")  # copied in the parts it was sent in
    with store.open(sha(data)) as fh:
        assert fh.read() == data


def test_a_staged_upload_never_overwrites_a_stored_object(s3_url: str, tmp_path: Path) -> None:
    data = os.urandom(7 * MiB)
    src = write(tmp_path / "same.bin", data)
    first = S3BlobStore(s3_url, multipart_threshold=6 * MiB, part_size=5 * MiB)
    digest, _ = first.ingest(src)
    key = first.key(digest)
    head = first._client.head_object(Bucket=first.bucket, Key=key)
    # Uploaders that do not see it stored (as if it were stored just after they
    # looked) complete their copy conditionally: 412, dropped, nothing written over.
    racers = [S3BlobStore(s3_url, multipart_threshold=6 * MiB, part_size=5 * MiB) for _ in range(4)]
    for racer in racers:
        racer.has = lambda digest: False  # type: ignore[method-assign]
    barrier = threading.Barrier(len(racers))
    results: list[object] = []

    def upload(store: S3BlobStore) -> None:
        barrier.wait()
        with store.recording() as added:
            results.append(store.ingest(src))
        results.append(set(added.digests))

    threads = [threading.Thread(target=upload, args=(r,)) for r in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count((digest, len(data))) == 4
    assert results.count(set()) == 4  # none of them stored it: a refusal keeps it
    again = first._client.head_object(Bucket=first.bucket, Key=key)
    assert (again["ETag"], again["LastModified"]) == (head["ETag"], head["LastModified"])
    assert uploads(first) == []
    assert sorted(k for k in objects(first) if "/sha256/" in k or "/uploads/" in k) == [key]
    with first.open(digest) as fh:
        assert fh.read() == data


def test_a_failure_while_placing_a_staged_upload_commits_nothing_and_gc_collects_it(
    s3_url: str, tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = S3BlobStore(s3_url, multipart_threshold=6 * MiB, part_size=5 * MiB)
    client = rw.Client(store_path, blobs=store, user="ada")
    data = os.urandom(11 * MiB)
    big = write(tmp_path / "big.bin", data)
    real_copy, real_delete = store._client.upload_part_copy, store._client.delete_object
    calls: list[int] = []

    def upload_part_copy(**kwargs: Any) -> Any:
        calls.append(kwargs["PartNumber"])
        if kwargs["PartNumber"] == 2:
            msg = "the connection broke"
            raise ConnectionError(msg)
        return real_copy(**kwargs)

    def delete_object(**kwargs: Any) -> Any:
        if "/uploads/" in kwargs["Key"]:  # as if the client died before cleaning up
            msg = "the client died"
            raise ConnectionError(msg)
        return real_delete(**kwargs)

    store._client.upload_part_copy = upload_part_copy
    store._client.delete_object = delete_object
    with pytest.raises(rw.StorageError, match="copy part 2"):
        client.log_artifact("big", type="model", files=big)
    assert 2 in calls
    with pytest.raises(rw.NotFoundError):
        client.artifact("big")
    assert not store.has(sha(data))
    assert uploads(store) == []  # the copy to the content address was aborted
    staged = [k for k in objects(store) if "/uploads/" in k]
    assert len(staged) == 1
    store._client.delete_object = real_delete
    report = client.collect_garbage(timedelta(hours=1))
    assert [k for k in objects(store) if "/uploads/" in k] == staged  # young: kept
    report = client.collect_garbage(min_age=0)
    assert [k for k in objects(store) if "/uploads/" in k] == staged  # within the floor
    monkeypatch.setattr(s3, "LEFTOVER_MIN_AGE_S", 0.0)  # as if the floor had passed
    report = client.collect_garbage(min_age=0)
    assert report.removed == 0
    assert objects(store) == {}


def test_a_large_file_changed_during_its_upload_leaves_nothing(
    s3_url: str, tmp_path: Path, store_path: Path
) -> None:
    store = S3BlobStore(s3_url, multipart_threshold=6 * MiB, part_size=5 * MiB)
    client = rw.Client(store_path, blobs=store, user="ada")
    big = write(tmp_path / "big.bin", os.urandom(12 * MiB))
    real_upload = store._client.upload_part

    def upload_part(**kwargs: Any) -> Any:
        if kwargs["PartNumber"] == 1:
            with big.open("r+b") as fh:  # same size: only the content changes
                fh.write(b"changed!")
            os.utime(big, ns=(0, 0))
        return real_upload(**kwargs)

    store._client.upload_part = upload_part
    with pytest.raises(rw.ConflictError, match="changed while"):
        client.log_artifact("m", type="model", files=big)
    assert objects(store) == {}
    assert uploads(store) == []
    with pytest.raises(rw.NotFoundError):
        client.artifact("m")


# ----------------------------------------------------------------- damaged objects


def test_a_corrupted_object_is_refused_on_download_and_reported_by_verify(
    s3_url: str, swift: Swift, tmp_path: Path, store_path: Path
) -> None:
    client = rw.Client(store_path, blobs=s3_url, user="ada")
    version = client.log_artifact(
        "m",
        type="model",
        files=[write(tmp_path / "a.bin", b"model"), write(tmp_path / "b.bin", b"ok")],
    )
    store = client._s.blobs
    assert isinstance(store, S3BlobStore)
    # Someone with write access to the bucket overwrites the object in place.
    s3_client(swift).put_object(Bucket=store.bucket, Key=store.key(sha(b"model")), Body=b"rotten")  # type: ignore[attr-defined]
    out = tmp_path / "out"
    with pytest.raises(rw.StoreCorruptedError, match=r"corrupted.*'a\.bin'|'a\.bin'.*corrupted"):
        version.download(out)
    assert not (out / "a.bin").exists()
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    report = version.verify()
    assert (report.changed, report.missing) == (["a.bin"], [])


def test_a_deleted_object_is_missing_for_verify_and_download(
    s3_url: str, tmp_path: Path, store_path: Path
) -> None:
    client = rw.Client(store_path, blobs=s3_url, user="ada")
    version = client.log_artifact("m", type="model", files=write(tmp_path / "a.bin", b"model"))
    store = client._s.blobs
    store._client.delete_object(Bucket=store.bucket, Key=store.key(sha(b"model")))  # type: ignore[attr-defined]
    assert version.verify().missing == ["a.bin"]
    with pytest.raises(rw.NotFoundError, match=r"a\.bin"):
        version.download(tmp_path / "out")


# ------------------------------------------------------------------------ failures


def test_an_unreachable_object_store_is_a_storage_error(
    s3_url: str, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    with pytest.raises(rw.StorageError, match=f"127.0.0.1:{port}.*could not be reached") as err:
        rw.Client(store_path, blobs=s3_url, user="ada")
    assert isinstance(err.value, rw.RegistryError)
    assert not store_path.exists()


def test_refused_credentials_and_a_missing_bucket_are_refusals_with_nothing_committed(
    s3_url: str, swift: Swift, tmp_path: Path, store_path: Path, store_state
) -> None:
    with pytest.raises(rw.NotFoundError, match="'no-such-bucket' does not exist"):
        rw.Client(store_path, blobs="s3://no-such-bucket/x", user="ada")
    bad = S3BlobStore(s3_url, client=raw_client(swift, secret="wrong"))
    with pytest.raises(rw.PermissionDeniedError, match="refused the credentials"):
        bad.check()
    # A client opened fine, then the store starts refusing: nothing is committed.
    client = rw.Client(store_path, blobs=s3_url, user="ada")
    client.log_artifact("first", type="model", files=write(tmp_path / "f.bin", b"first"))
    before = store_state(client)
    store = client._s.blobs
    assert isinstance(store, S3BlobStore)
    good = store._client
    store._client = raw_client(swift, secret="wrong")
    with pytest.raises(rw.PermissionDeniedError, match="refused the credentials"):
        client.log_artifact("m", type="model", files=write(tmp_path / "m.bin", b"m"))
    store._client = raw_client(swift)
    missing = S3BlobStore("s3://no-such-bucket/x", client=good)
    client2 = rw.Client(store_path, blobs=missing, user="ada")
    with pytest.raises(rw.NotFoundError, match="does not exist"):
        client2.log_artifact("m", type="model", files=write(tmp_path / "m.bin", b"m"))
    rw.Client(store_path, blobs=store, user="ada")  # the bucket store_state reads
    assert store_state(client) == before
    with pytest.raises(rw.NotFoundError):
        client.artifact("m")


def test_a_transient_5xx_is_retried_and_a_lasting_one_fails_with_nothing_committed(
    s3_url: str, swift: Swift, tmp_path: Path, store_path: Path, store_state
) -> None:
    s3 = raw_client(swift, retries={"mode": "standard", "max_attempts": 3})
    store = S3BlobStore(s3_url, client=s3, multipart_threshold=6 * MiB, part_size=5 * MiB)
    client = rw.Client(store_path, blobs=store, user="ada")
    once = fail_with(503, "ServiceUnavailable", times=1)
    s3.meta.events.register("before-send.s3.UploadPart", once)
    data = os.urandom(11 * MiB)
    version = client.log_artifact("ok", type="model", files=write(tmp_path / "a.bin", data))
    assert len(once.calls) == 4  # three parts, the first one sent twice
    assert version.verify().ok
    s3.meta.events.unregister("before-send.s3.UploadPart", once)

    before = store_state(client)
    always = fail_with(500, "InternalError")
    s3.meta.events.register("before-send.s3.UploadPart", always)
    small = write(tmp_path / "small.bin", b"small file, stored before the big one fails")
    big = write(tmp_path / "b.bin", os.urandom(11 * MiB))
    with pytest.raises(rw.StorageError, match="answered 500 InternalError") as err:
        client.log_artifact("bad", type="model", files=[small, big])
    assert s3.meta.endpoint_url in str(err.value)
    assert len(always.calls) >= 3  # retried before giving up
    s3.meta.events.unregister("before-send.s3.UploadPart", always)
    # No version, no object of the failed call, no unfinished upload.
    assert store_state(client) == before


def test_a_conditional_put_in_conflict_is_tried_again(
    s3_url: str, swift: Swift, tmp_path: Path
) -> None:
    # AWS answers 409 while another conditional write of the key is in flight.
    s3 = raw_client(swift)
    store = S3BlobStore(s3_url, client=s3)
    conflict = fail_with(409, "ConditionalRequestConflict", times=2)
    s3.meta.events.register("before-send.s3.PutObject", conflict)
    with store.recording() as added:
        digest, _ = store.ingest(write(tmp_path / "a.bin", b"contended"))
    assert len(conflict.calls) == 3
    assert added.digests == {digest}
    assert store.has(digest)


# ---------------------------------------------------------------- garbage collection


def test_collection_keeps_young_and_relogged_objects_by_the_stores_clock(
    s3_url: str, tmp_path: Path, store_path: Path
) -> None:
    client = rw.Client(store_path, blobs=s3_url, user="ada")
    store = client._s.blobs
    client.log_artifact("old", type="model", files=write(tmp_path / "o.bin", b"old")).delete()
    client.log_artifact("kept", type="model", files=write(tmp_path / "k.bin", b"kept")).delete()
    live = client.log_artifact("live", type="model", files=write(tmp_path / "l.bin", b"live"))
    assert client.collect_garbage(min_age=timedelta(hours=1)) == rw.GarbageReport(0, 0, 2)
    time.sleep(3.2)
    # Logged again now: the object is young again (its marker), though its version is gone.
    client.log_artifact("kept", type="model", files=write(tmp_path / "k.bin", b"kept")).delete()
    report = client.collect_garbage(min_age=2.5)
    assert (report.removed, report.freed, report.kept) == (1, 3, 1)
    assert not store.has(sha(b"old"))
    assert store.has(sha(b"kept"))
    assert live.verify().ok
    assert client.collect_garbage(min_age=0).removed == 1
    assert sorted(objects(store)) == [store.key(sha(b"live"))]  # type: ignore[attr-defined]


def test_an_object_collected_after_ingest_is_uploaded_again_at_commit(
    s3_url: str, tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry_widget.domain import artifact_log

    client = rw.Client(store_path, blobs=s3_url, user="ada")
    big = write(tmp_path / "w.bin", os.urandom(20 * MiB))  # a multipart upload
    client.log_artifact("a", type="model", files=big).delete()
    real = artifact_log.build_manifest

    def ingest_then_collect(*args: Any, **kwargs: Any) -> Any:
        manifest = real(*args, **kwargs)
        assert client.collect_garbage(min_age=0).removed == 1
        return manifest

    monkeypatch.setattr(artifact_log, "build_manifest", ingest_then_collect)
    version = client.log_artifact("b", type="model", files=big)
    assert version.verify().ok


class _Paused:
    """A logger in another thread whose S3 client stops at one request until resumed."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.resume = threading.Event()
        self.error: BaseException | None = None
        self.version: rw.ArtifactVersion | None = None
        self.thread: threading.Thread | None = None

    def pause(self) -> None:
        """Called by the logger's request: wait there until the test resumes it."""
        self.reached.set()
        assert self.resume.wait(60), "never resumed"

    def log(self, client: rw.Client, name: str, path: Path) -> None:
        """Log ``path`` in another thread; return once its upload is paused."""

        def run() -> None:
            try:
                self.version = client.log_artifact(name, type="model", files=path)
            except BaseException as exc:  # reported by the test
                self.error = exc
            finally:
                self.reached.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert self.reached.wait(60), "the upload never reached the pause"
        assert self.error is None, "it failed before the pause"
        assert self.version is None, "it ended before the pause"

    def finish(self) -> rw.ArtifactVersion:
        assert self.thread is not None
        self.resume.set()
        self.thread.join(60)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error
        assert self.version is not None
        return self.version


@pytest.mark.parametrize("phase", ["sending parts", "copying into place"])
def test_collecting_garbage_leaves_another_clients_upload_in_progress_alone(
    s3_url: str, tmp_path: Path, store_path: Path, phase: str
) -> None:
    # A colleague logs a large file; an admin collects garbage with min_age=0 meanwhile.
    store = S3BlobStore(s3_url, multipart_threshold=6 * MiB, part_size=5 * MiB)
    logger = rw.Client(store_path, blobs=store, user="ada")
    admin = rw.Client(store_path, blobs=s3_url, user="ada")
    data = os.urandom(11 * MiB)
    paused = _Paused()
    name = "upload_part" if phase == "sending parts" else "upload_part_copy"
    real = getattr(store._client, name)

    def request(**kwargs: Any) -> Any:
        if kwargs["PartNumber"] == 2:
            paused.pause()
        return real(**kwargs)

    setattr(store._client, name, request)
    paused.log(logger, "big", write(tmp_path / "big.bin", data))
    before = read_bucket(store)
    staged = [k for k in objects(store) if "/uploads/" in k]
    assert len(uploads(store)) == 1
    assert len(staged) == (0 if phase == "sending parts" else 1)
    assert admin.collect_garbage(min_age=0) == rw.GarbageReport(0, 0, 0)
    assert read_bucket(store) == before  # its parts and its staged object are all there
    version = paused.finish()
    assert version.verify().ok
    assert (version.download(tmp_path / "out") / "big.bin").read_bytes() == data
    assert uploads(store) == []
    assert [k for k in objects(store) if "/uploads/" in k] == []


def test_a_copy_landing_parts_keeps_its_upload_and_staged_object_past_the_floor(
    s3_url: str, tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The copy of a staged object to its content address lasts longer than the floor: its
    # upload was begun, and the staged object written, before the floor; a part landed since.
    floor = 8.0
    monkeypatch.setattr(s3, "LEFTOVER_MIN_AGE_S", floor)
    store = S3BlobStore(s3_url, multipart_threshold=6 * MiB, part_size=5 * MiB)
    logger = rw.Client(store_path, blobs=store, user="ada")
    admin = rw.Client(store_path, blobs=s3_url, user="ada")
    data = os.urandom(11 * MiB)  # copied in three parts, one after the other: 5 + 5 + 1 MiB
    paused = _Paused()
    idle_over = threading.Event()
    copied = {n: threading.Event() for n in (1, 2, 3)}
    real = store._client.upload_part_copy

    def upload_part_copy(**kwargs: Any) -> Any:
        number = kwargs["PartNumber"]
        if number > 1:
            assert copied[number - 1].wait(60)
        if number == 2:
            assert idle_over.wait(60)
        if number == 3:
            paused.pause()
        result = real(**kwargs)
        copied[number].set()
        return result

    store._client.upload_part_copy = upload_part_copy
    thread = threading.Thread(
        target=paused.log, args=(logger, "big", write(tmp_path / "b", data)), daemon=True
    )
    thread.start()
    assert copied[1].wait(60)
    time.sleep(floor + 2)  # the upload's start, its first part and the staged object: idle
    idle_over.set()
    thread.join(60)  # the second part has just been copied; the third waits
    before = read_bucket(store)
    assert len(uploads(store)) == 1
    assert len([k for k in objects(store) if "/uploads/" in k]) == 1
    assert admin.collect_garbage(min_age=0) == rw.GarbageReport(0, 0, 0)
    assert read_bucket(store) == before
    version = paused.finish()
    assert version.verify().ok
    assert (version.download(tmp_path / "out") / "b").read_bytes() == data
    assert uploads(store) == []


def test_abandoned_uploads_are_collected_once_idle_past_the_floor_and_the_grace_period(
    s3_url: str, tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    floor = 8.0
    monkeypatch.setattr(s3, "LEFTOVER_MIN_AGE_S", floor)
    client = rw.Client(store_path, blobs=s3_url, user="ada")
    store = client._s.blobs
    assert isinstance(store, S3BlobStore)
    s3c = store._client
    kept = client.log_artifact("kept", type="model", files=write(tmp_path / "k.bin", b"kept"))

    def begin(key: str, parts: int) -> str:
        upload_id = str(s3c.create_multipart_upload(Bucket=store.bucket, Key=key)["UploadId"])
        for number in range(1, parts + 1):
            s3c.upload_part(
                Bucket=store.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=b"p"
            )
        return upload_id

    # What killed clients left: parts sent to a staging key, a copy to a content address
    # begun, a staged object never copied.
    staging = f"{store.prefix}/uploads/{'a' * 32}"
    begin(staging, 1)
    begin(store.key(sha(b"never finished")), 0)
    s3c.put_object(Bucket=store.bucket, Key=f"{store.prefix}/uploads/{'b' * 32}", Body=b"s")
    time.sleep(floor + 2)
    live = f"{store.prefix}/uploads/{'c' * 32}"
    live_id = begin(live, 1)  # another client's, sending parts right now
    assert len(uploads(store)) == 3
    # Idle past the floor but not past the grace period: kept.
    assert client.collect_garbage(min_age=timedelta(hours=1)) == rw.GarbageReport(0, 0, 0)
    assert len(uploads(store)) == 3
    assert len([k for k in objects(store) if "/uploads/" in k]) == 1
    client.collect_garbage(min_age=0)
    assert uploads(store) == [live]  # the one sending parts is left alone
    assert sorted(objects(store)) == [store.key(sha(b"kept"))]
    assert kept.verify().ok
    s3c.abort_multipart_upload(Bucket=store.bucket, Key=live, UploadId=live_id)


# ------------------------------------------------------------------- killed client

_CHILD = """
import sys, time
import registry_widget as rw
from registry_widget.files.s3 import S3BlobStore

store = S3BlobStore(sys.argv[2], multipart_threshold=6 * 2**20, part_size=5 * 2**20)
real = store._client.upload_part

def upload_part(**kwargs):
    result = real(**kwargs)
    if kwargs["PartNumber"] == 2:
        print("uploading", flush=True)
        time.sleep(60)
    return result

store._client.upload_part = upload_part
client = rw.Client(sys.argv[1], blobs=store, user="ada")
files = [sys.argv[3] + f"/s{i}.txt" for i in range(20)] + [sys.argv[3] + "/big.bin"]
client.log_artifact("killed", type="model", files=files)
print("committed", flush=True)
"""


def test_a_client_killed_mid_upload_commits_nothing_and_gc_collects_its_leftovers(
    s3_url: str, tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = rw.Client(store_path, blobs=s3_url, user="ada")
    first = client.log_artifact("first", type="model", files=write(tmp_path / "f.bin", b"f"))
    src = tmp_path / "src"
    for i in range(20):
        write(src / f"s{i}.txt", b"small %d" % i)
    write(src / "big.bin", os.urandom(16 * MiB))
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(store_path), s3_url, str(src)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"uploading"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    store = client._s.blobs
    assert isinstance(store, S3BlobStore)
    assert len(uploads(store)) == 1  # the big file's parts, never completed
    # Nothing committed: only the first version, and every committed version is whole.
    client.store.refresh()
    with pytest.raises(rw.NotFoundError):
        client.artifact("killed")
    assert first.verify().ok
    monkeypatch.setattr(s3, "LEFTOVER_MIN_AGE_S", 0.0)  # as if the floor had passed
    report = client.collect_garbage(min_age=0)
    assert report.removed == 20  # the small files that were uploaded before the kill
    assert uploads(store) == []
    assert sorted(objects(store)) == [store.key(sha(b"f"))]
    assert first.verify().ok
