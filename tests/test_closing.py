"""Closing clients releases their files, locks and connections at once, not at GC time."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import registry_widget as rw
from tests.conftest import MakeClient

ROOT = Path(__file__).resolve().parents[1]


def test_a_closed_client_refuses_every_call_and_closing_again_does_nothing(
    make_client: MakeClient, files: Callable[..., Path]
) -> None:
    with make_client("ada") as client:
        models = client.registry("Models")
        version = client.log_artifact("cat", type="model", files=files("w.bin", b"w"))
    for call in (
        client.registries,
        lambda: client.registry("Models"),
        models.collections,
        version.download,
        lambda: client.log_artifact("cat", type="model", files=files("w.bin", b"x")),
    ):
        with pytest.raises(rw.StorageError, match="closed"):
            call()
    client.close()
    assert "closed" in repr(client)


def test_other_clients_of_the_store_go_on_after_one_is_closed(
    make_client: MakeClient, files: Callable[..., Path]
) -> None:
    first, second = make_client("ada"), make_client("ada")
    first.close()
    version = second.log_artifact("cat", type="model", files=files("w.bin", b"w"))
    second.link(version, "Models/cat", aliases=["production"])
    second.close()
    with make_client("ada") as third:
        assert third.use("Models/cat:production").artifact.read_file("w.bin") == b"w"


_MANY = """
import gc, os, resource, sys, tempfile
from pathlib import Path
import registry_widget as rw

resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
gc.disable()  # nothing may rely on the garbage collector
kind, count, close, root = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "close", Path(sys.argv[4])
src = root / "w.bin"
src.write_bytes(b"weights")
kept = []  # every client stays referenced: only close() can release what it holds
for i in range(count):
    if kind == "file":
        client = rw.Client(root / f"s{i}" / "registry.json", user="ada")
    else:
        client = rw.Client(":memory:", blobs=os.environ["BLOBS"], user="ada")
    if kind == "file":  # the journal, the snapshot and the pack open
        client.log_artifact("cat", type="model", files=src, metadata={"i": i})
    # an S3 client has connected to the bucket (checked when the client opens)
    kept.append(client)
    if close:
        client.close()
print("opened", count, flush=True)
"""


def _run_many(
    kind: str, count: int, close: bool, root: Path, blobs: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _MANY, kind, str(count), "close" if close else "keep", str(root)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "BLOBS": blobs},
        timeout=600,
        check=False,
    )


def test_two_thousand_file_store_clients_open_and_close_within_256_descriptors(
    tmp_path: Path,
) -> None:
    done = _run_many("file", 2000, True, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["opened", "2000"]
    # The same loop without close() runs out of descriptors: the limit is real.
    (tmp_path / "keep").mkdir()
    kept = _run_many("file", 2000, False, tmp_path / "keep")
    assert kept.returncode != 0
    assert "Too many open files" in kept.stderr or "EMFILE" in kept.stderr, kept.stderr[-2000:]


def test_s3_blob_store_clients_open_and_close_within_256_descriptors(
    tmp_path: Path, s3_url: str
) -> None:
    # 300 clients, each keeping its connection to the bucket unless it is closed,
    # are more than 256 descriptors hold (the same loop without close() runs out).
    done = _run_many("s3", 300, True, tmp_path, s3_url)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["opened", "300"]


_COLLECTED_UNDER_LOCK = """
import gc, os, sys
from pathlib import Path
import registry_widget as rw
from registry_widget.domain import backend

root = Path(sys.argv[1])
client = rw.Client(root / "a.json", user="ada")
with backend._lock:  # as when the collector runs inside open_store or blobs_for
    del client
    gc.collect()
fds = len(os.listdir("/proc/self/fd"))
rw.Client(root / "b.json", user="ada").close()  # the next open releases the first store
print(fds - len(os.listdir("/proc/self/fd")), flush=True)
"""


def test_a_client_collected_unclosed_is_released_by_the_next_open_without_deadlock(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _COLLECTED_UNDER_LOCK, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) >= 1  # the first store's descriptors were released
