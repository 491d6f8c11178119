"""The store under real processes: concurrent writers lose nothing; revocations apply at once."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import time
from pathlib import Path

import pytest

import registry_widget as rw

pytestmark = pytest.mark.slow

WRITERS = 4
LINKS_EACH = 100


def _writer(path: str, worker: int, start: mp.synchronize.Event) -> None:  # type: ignore[name-defined]
    client = rw.Client(path, user=f"w{worker}")
    folder = Path(path).parent / f"src{worker}"
    folder.mkdir()
    start.wait()
    for i in range(LINKS_EACH):
        f = folder / "weights.bin"
        f.write_text(f"worker {worker} link {i}")
        version = client.log_artifact(f"w{worker}", type="model", files=f)
        client.link(version, "Models/shared")


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    admin = rw.Client(path, user="ada")
    for worker in range(WRITERS):
        admin.add_user(f"w{worker}")
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(str(path), w, start)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout=240)
        assert p.exitcode == 0
    links = admin.registry("Models").collection("shared").versions()
    assert len(links) == WRITERS * LINKS_EACH
    assert sorted(x.index for x in links) == list(range(WRITERS * LINKS_EACH))
    assert len({x.artifact.ref for x in links}) == WRITERS * LINKS_EACH
    for worker in range(WRITERS):
        assert admin.artifact(f"w{worker}:latest").version == f"v{LINKS_EACH - 1}"
    assert links[0].aliases == ["latest"]


def _member(path: str, inbox: mp.Queue, outbox: mp.Queue) -> None:  # type: ignore[type-arg]
    client = rw.Client(path, user="bob")
    reg = client.registry("Team")
    while (command := inbox.get()) != "stop":
        try:
            client.link("m:v0", f"Team/{command}")
            outbox.put("linked")
        except rw.RegistryError as exc:
            outbox.put(f"{type(exc).__name__}: {exc}")
        try:
            outbox.put(reg.role)
        except rw.NotFoundError:
            outbox.put("not found")


def test_a_permission_revoked_in_one_process_applies_at_once_in_another(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    admin = rw.Client(path, user="ada")
    admin.add_user("bob", "viewer")
    reg = admin.create_registry("Team", visibility="restricted")
    reg.add_member("bob", "member")
    (tmp_path / "m.bin").write_text("m")
    admin.log_artifact("m", type="model", files=tmp_path / "m.bin")
    ctx = mp.get_context("spawn")
    inbox, outbox = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=_member, args=(str(path), inbox, outbox))
    proc.start()
    try:
        inbox.put("first")
        assert outbox.get(timeout=60) == "linked"
        assert outbox.get(timeout=60) == "member"
        reg.set_role("bob", "viewer")
        inbox.put("second")
        assert outbox.get(timeout=60).startswith("PermissionDeniedError")
        assert outbox.get(timeout=60) == "viewer"
        reg.remove_member("bob")
        inbox.put("third")
        assert outbox.get(timeout=60).startswith("NotFoundError")
        assert outbox.get(timeout=60) == "not found"
        inbox.put("stop")
        proc.join(timeout=60)
        assert proc.exitcode == 0
    finally:
        if proc.is_alive():
            proc.kill()
    assert [c.name for c in reg.collections()] == ["first"]


SMALL = (b"small blob, packed " * 8, b"another small blob")
BIG = (bytes(range(256)) * 400, bytes(range(255, -1, -1)) * 400)  # 100 KiB: loose files


def _relogger(path: str, worker: int, start: mp.synchronize.Event, until: float) -> None:  # type: ignore[name-defined]
    client = rw.Client(path, user=f"w{worker}")
    folder = Path(path).parent / f"relog{worker}"
    folder.mkdir()
    start.wait()
    i = 0
    while time.time() < until:
        # Blobs that exist already (so they are not stored again), and one new file.
        (folder / "packed.bin").write_bytes(SMALL[i % 2])
        (folder / "loose.bin").write_bytes(BIG[i % 2])
        (folder / "n.txt").write_text(f"worker {worker} log {i}")
        client.log_artifact(f"r{worker}", type="model", files=folder)
        i += 1


def _collector(path: str, start: mp.synchronize.Event, until: float) -> None:  # type: ignore[name-defined]
    client = rw.Client(path, user="ada")
    start.wait()
    while time.time() < until:
        for version in client.artifacts():
            with contextlib.suppress(rw.NotFoundError):  # gone since it was listed
                version.delete()
        client.collect_garbage(min_age=0)


def test_collecting_garbage_while_others_log_the_same_files_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    admin = rw.Client(path, user="ada")
    for worker in range(2):
        admin.add_user(f"w{worker}")
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    until = time.time() + 20
    procs = [ctx.Process(target=_relogger, args=(str(path), w, start, until)) for w in range(2)]
    procs.append(ctx.Process(target=_collector, args=(str(path), start, until - 3)))
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    survivors = admin.artifacts()
    assert survivors  # the loggers went on after the collector stopped
    for version in survivors:
        report = version.verify()
        assert report.ok, f"{version.ref}: {report}"
    # Versions were deleted while the loggers went on re-using their blobs.
    assert admin.store.count("history", action="artifact.delete") > 10
