"""Staging files under temporary names and making many of them durable with one flush (issue 14).

``models.io.atomic_write_files`` fsyncs every file it writes; a sweep writing a record per run paid one
``fsync`` (~1-2 ms on ext4) per file. A chunk's files are instead written under the temporary names
``models.io`` uses (``.<name>.<32 hex>.tmp``, which ``SweepStore.clean_temp`` removes after a kill), flushed
together with one ``syncfs`` (Linux) and only then renamed into place, so a name never points at data that
is not on disk. Where ``syncfs`` is missing, each file is fsynced (the old cost, never less safe).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import uuid
from pathlib import Path

_LIBC = None


def _syncfs():
    """The C library's ``syncfs``, or None where there is none."""
    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        except OSError:
            _LIBC = False
    return getattr(_LIBC, "syncfs", None) if _LIBC else None


def stage_files(files: list[tuple[Path, bytes]]) -> list[tuple[Path, Path]]:
    """Write each ``(destination, bytes)`` to a new temporary file beside it, without fsync.

    Returns:
        ``(temporary, destination)`` pairs, in order.

    Raises:
        OSError: after removing what this call wrote.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for dest, data in files:
            tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            staged.append((tmp, dest))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    return staged


def flush(folder: Path, paths: list[Path]) -> None:
    """Make ``paths`` (files in ``folder``'s file system) and ``folder`` itself durable.

    One ``syncfs`` of the file system where available; otherwise an ``fsync`` per file and of the folder.

    Raises:
        OSError: the flush reported a write error (a full disk, an I/O error).
    """
    fd = os.open(folder, os.O_RDONLY)
    try:
        syncfs = _syncfs()
        if syncfs is not None:
            if syncfs(fd) != 0:
                code = ctypes.get_errno() or errno.EIO
                raise OSError(code, os.strerror(code), str(folder))
            return
        for path in paths:
            with open(path, "rb+") as fh:
                os.fsync(fh.fileno())
        os.fsync(fd)
    finally:
        os.close(fd)
