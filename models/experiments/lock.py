"""One writer at a time: an advisory lock file beside a sweep store.

The lock is an ``fcntl.flock`` on ``<out>/.<sweep name>.lock``. The kernel releases it when its holder
dies, however it dies (SIGKILL included), so a lock left behind by a dead process is detected as stale
simply by being free; its content (pid, host, start time, command) is kept only to tell the user who
holds it, or who held it last. ``flock`` works on local file systems and NFSv4.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class StoreError(Exception):
    """The output location or the store cannot be used as asked; nothing was changed."""


class StoreLocked(StoreError):
    """Another process is writing the same sweep store."""


class StoreLock:
    """Exclusive lock on one sweep store, held from :meth:`acquire` to :meth:`release`.

    Args:
        path: the lock file (created if missing, removed on release).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fd: int | None = None
        self.stale: dict[str, Any] | None = None

    def _read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def acquire(self) -> StoreLock:
        """Take the lock or raise :class:`StoreLocked` naming the holder.

        Sets :attr:`stale` to the previous holder's record when a holder died without releasing.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                holder = self._read()
                who = (f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('started_utc')}"
                       if holder else "another process")
                raise StoreLocked(f"{self.path.parent}: the sweep store is being written by {who} "
                                  f"(lock {self.path}); wait for it to finish") from None
            # The file may have been removed and recreated between open and flock: lock the current one.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        previous = self._read()
        self.stale = previous if previous.get("pid") else None
        record = {"pid": os.getpid(), "host": socket.gethostname(), "argv": sys.argv,
                  "started_utc": datetime.now(UTC).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def held(self) -> bool:
        """True when some process holds the lock now (checked without creating or changing anything)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def release(self) -> None:
        """Remove the lock file and release the lock (idempotent)."""
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StoreLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
