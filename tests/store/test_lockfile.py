"""The lock between a file store's writers: flock on a lock file, across processes and forks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from registry_widget.store.lockfile import FileLock

HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(60)
"""


def test_two_holders_exclude_each_other_and_one_holder_may_take_it_again(tmp_path: Path) -> None:
    path = str(tmp_path / "s.lock")
    first, second = FileLock(path, 10.0), FileLock(path, 10.0)
    assert first.acquire()
    assert first.acquire()  # re-entrant
    assert first.is_locked
    assert not second.acquire(timeout=0)
    first.release()
    assert not second.acquire(timeout=0)  # one acquisition is still held
    first.release()
    assert not first.is_locked
    assert second.acquire(timeout=0)
    assert not first.acquire(timeout=0)
    second.release()
    with pytest.raises(RuntimeError, match="not held"):
        second.release()
    first.close()
    second.close()


def test_a_wait_lasts_the_timeout_then_answers_false(tmp_path: Path) -> None:
    path = str(tmp_path / "s.lock")
    holder, waiter = FileLock(path, 10.0), FileLock(path, 0.2)
    assert holder.acquire()
    start = time.monotonic()
    assert not waiter.acquire()
    assert 0.2 <= time.monotonic() - start < 2.0
    holder.release()
    assert waiter.acquire()


def test_another_process_holds_it_until_it_dies_however_it_dies(tmp_path: Path) -> None:
    path = tmp_path / "s.lock"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "held"
        lock = FileLock(str(path), 10.0)
        assert not lock.acquire(timeout=0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert lock.acquire(timeout=5)  # the kernel released it with the process
        lock.release()
    finally:
        proc.kill()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def test_a_forked_child_neither_inherits_nor_releases_its_parents_lock(tmp_path: Path) -> None:
    path = str(tmp_path / "s.lock")
    parent = FileLock(path, 10.0)
    assert parent.acquire()
    pid = os.fork()
    if pid == 0:  # the child: the lock object it inherited must not claim the parent's lock
        code = 0
        try:
            code |= 1 if parent.is_locked else 0
            code |= 2 if parent.acquire(timeout=0.05) else 0
            parent.close()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert parent.is_locked
    assert not FileLock(path, 10.0).acquire(timeout=0)  # still held after the child left
    parent.release()
    assert FileLock(path, 10.0).acquire(timeout=0)


def test_a_lock_file_removed_meanwhile_is_opened_again(tmp_path: Path) -> None:
    path = tmp_path / "s.lock"
    old = FileLock(str(path), 10.0)
    assert old.acquire()
    old.release()  # keeps the file it opened
    path.unlink()
    new = FileLock(str(path), 10.0)
    assert new.acquire()  # creates and locks the file now at the path
    # a lock on the removed file would exclude nobody: the old holder takes the new one
    assert not old.acquire(timeout=0)
    new.release()
    assert old.acquire(timeout=0)
    old.release()
