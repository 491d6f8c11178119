"""The lock that serialises a file store's writers across processes: ``flock`` on a file.

A store's writers take an exclusive ``flock`` on ``<store>.lock`` for each transaction.
The lock file stays open between transactions, so taking the lock costs two system calls
(the lock, and a check that the file is still the one at the path) rather than an open,
a close and the bookkeeping of a general-purpose lock library, on every commit.

``flock`` locks belong to an open file, which a forked child shares with its parent: a
child that locked the inherited descriptor would be granted the lock its parent holds,
and unlocking it would release the parent's. So a lock notices when it is used in
another process than the one that opened its file, forgets what it inherited and opens
the file again. The kernel releases a lock when its process dies, however it dies.

A wait for the lock polls, pausing a little longer each time up to :data:`LAST_PAUSE_S`,
until the timeout: a blocking ``flock`` cannot be given one.
"""

from __future__ import annotations

import fcntl
import os
import time

__all__ = ["FIRST_PAUSE_S", "LAST_PAUSE_S", "FileLock"]

FIRST_PAUSE_S = 0.0005
"""The first pause of a wait for a lock another process holds."""

LAST_PAUSE_S = 0.01
"""The longest pause between two tries (each pause doubles the one before)."""


class FileLock:
    """An exclusive lock on the file ``path`` between processes, re-entrant in one thread.

    Callers serialise their threads themselves (the stores take a thread lock first): one
    object is used by one thread at a time.
    """

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        """Seconds :meth:`acquire` waits by default."""
        self._fd: int | None = None
        self._pid = 0  # the process that opened ``_fd``
        self._depth = 0  # acquisitions not yet released

    @property
    def is_locked(self) -> bool:
        """Whether this process holds the lock through this object."""
        return self._depth > 0 and self._pid == os.getpid()

    def acquire(self, timeout: float | None = None) -> bool:
        """Take the lock, waiting up to ``timeout`` seconds (default :attr:`timeout`).

        Returns False if another holder kept it that long (``timeout=0``: do not wait).

        Raises
        ------
        OSError
            If the lock file cannot be opened or locked (no permission, no folder).
        """
        if self._pid != os.getpid():
            self._forget()
        if self._depth:
            self._depth += 1
            return True
        wait = self.timeout if timeout is None else timeout
        deadline: float | None = None
        pause = FIRST_PAUSE_S
        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                now = time.monotonic()
                if deadline is None:
                    deadline = now + wait
                if now >= deadline:
                    return False
                time.sleep(min(pause, deadline - now))
                pause = min(pause * 2, LAST_PAUSE_S)
                continue
            if os.fstat(fd).st_nlink:
                self._depth = 1
                return True
            # The file was removed (or replaced by a rename) since it was opened: a lock
            # on it excludes nobody who opens the path now. Take the one at the path.
            fcntl.flock(fd, fcntl.LOCK_UN)
            self._close()

    def release(self) -> None:
        """Release one acquisition; the lock is free once every one is released."""
        if self._depth <= 0 or self._fd is None:
            msg = f"the lock {self.path} is not held"
            raise RuntimeError(msg)
        self._depth -= 1
        if self._depth == 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the lock file, unless this process holds the lock (its holder releases)."""
        if not self.is_locked:
            self._depth = 0
            self._close()

    def _open(self) -> int:
        fd = self._fd
        if fd is None:
            fd = self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            self._pid = os.getpid()
        return fd

    def _close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def _forget(self) -> None:
        """In a forked child: drop the parent's descriptor without touching its lock.

        Closing a descriptor releases a ``flock`` only when no other descriptor of the
        same open file remains, and the parent keeps its own.
        """
        self._depth = 0
        self._close()  # the next _open opens the file for this process
