"""Atomic file writes and run provenance.

Every result file is written to a temporary file in the destination directory and then moved into
place with ``os.replace``, which is atomic on POSIX and Windows within one file system. A reader (or a
resumed sweep) therefore sees either the old file or the complete new one, never a half-written file.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import os
import platform
import subprocess
import uuid
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

# Errors of the file system rather than of the run: retrying elsewhere in the sweep cannot help.
STORAGE_ERRNOS = (errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES, errno.EPERM)

# Distribution names as pip knows them; the keys are what provenance reports.
_PACKAGES = {
    "numpy": "numpy",
    "pandas": "pandas",
    "mesa": "mesa",
    "cadCAD": "cadCAD",
    "pydantic": "pydantic",
    "pyarrow": "pyarrow",
    "dask": "dask",
    "scipy": "scipy",
    "SALib": "SALib",
    "ema_workbench": "ema_workbench",
    "scikit-learn": "scikit-learn",
    "seaborn": "seaborn",
    "matplotlib": "matplotlib",
}


def atomic_write_files(contents: dict[str | Path, bytes]) -> list[Path]:
    """Write several files so that either all of them are replaced or none is.

    Every temporary file is written and fsynced first; only then are they renamed into place, so a
    failure while writing (a full disk, say) leaves every previous file exactly as it was.

    Args:
        contents: destination path -> full file content.

    Returns:
        The destination paths, in the order given.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for dest, data in contents.items():
            dest = Path(dest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            staged.append((tmp, dest))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, dest in staged:
        os.replace(tmp, dest)
    return [dest for _, dest in staged]


def parquet_bytes(frame, metadata: dict[str, str] | None = None) -> bytes:
    """A pandas DataFrame (index dropped) or a ``pyarrow.Table`` as Parquet file bytes, with optional metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    if metadata:
        merged = {**(table.schema.metadata or {}), **{k.encode(): v.encode() for k, v in metadata.items()}}
        table = table.replace_schema_metadata(merged)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def json_bytes(obj: Any) -> bytes:
    """Indented JSON as bytes; NaN and infinity are refused (they are not JSON)."""
    return (json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n").encode("utf-8")


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file beside it, fsync, rename), creating parents."""
    return atomic_write_files({path: data})[0]


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically; NaN and infinity are refused (they are not JSON)."""
    return atomic_write_bytes(path, json_bytes(obj))


def atomic_write_parquet(frame, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Write a pandas DataFrame to Parquet (pyarrow) atomically; its index is dropped."""
    return atomic_write_bytes(path, parquet_bytes(frame, metadata))


def unwritable_reason(out: str | Path) -> str | None:
    """Why files cannot be written under directory ``out`` (created if missing), or None if they can.

    Checks the nearest existing ancestor without writing anything: it must be a directory, writable, and
    not on a read-only file system (root ignores permission bits but not a read-only mount).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        return f"{out} exists and is not a directory"
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a directory"
    if os.statvfs(existing).f_flag & os.ST_RDONLY or not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable (read-only file system or permissions)"
    return None


def git_commit(cwd: str | Path | None = None) -> str | None:
    """Commit hash of the repository holding the package (or ``cwd``), or None outside git."""
    where = Path(cwd) if cwd is not None else Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that can change a result (None when not installed)."""
    versions: dict[str, str | None] = {}
    for key, dist in _PACKAGES.items():
        try:
            versions[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[key] = None
    return versions


def is_presentation(relative: Path) -> bool:
    """Whether a module (path relative to the package) only presents results.

    Those are ``*figures.py``, the findings file writer and the ``site`` package that builds the HTML report.
    """
    parts = relative.as_posix()
    return relative.name.endswith("figures.py") or parts == "analysis/findings.py" or parts.startswith("site/")


@functools.cache
def model_code_hash() -> str:
    """sha256 over the source of the imported ``models`` package (every ``.py`` file, path and bytes).

    Any edit to the economy's code changes it, so results of two model versions are never mixed unawares.
    Presentation code (:func:`is_presentation`) only draws, formats and publishes what is stored (it never
    computes a run or its summary), so it is left out: restyling a figure or the site does not invalidate
    every stored sweep.
    """
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        if is_presentation(path.relative_to(package)):
            continue
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def model_version() -> dict[str, Any]:
    """The model code a result comes from: code hash, git commit, and whether ``models/`` had local edits."""
    from models import MODEL_VERSION

    return {"model_version": MODEL_VERSION, "code_hash": model_code_hash(), "git_commit": git_commit(),
            "dirty": git_dirty(Path(__file__).resolve().parent)}


def git_dirty(where: str | Path | None = None, scope: str = ".") -> bool | None:
    """Whether ``scope`` (relative to ``where``) has uncommitted changes or untracked files; None outside git.

    Args:
        where: a directory inside the checkout (default: the package's).
        scope: the path that is checked (``"."``: ``where`` and below; ``":/"``: the whole checkout).
    """
    where = Path(where) if where is not None else Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--", scope], cwd=where, capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out.stdout.strip()) if out.returncode == 0 else None


def machine() -> dict[str, Any]:
    """The machine a result was computed on: OS, architecture, processor, logical CPUs, memory."""
    import os

    memory = None
    try:
        import psutil

        memory = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:  # psutil is a dependency; a bare install still gets the rest
        pass
    return {"platform": platform.platform(), "architecture": platform.machine(),
            "processor": platform.processor() or None, "cpus": os.cpu_count(), "memory_gib": memory}


def provenance() -> dict[str, Any]:
    """Where a result came from: git commit and whether the tree was dirty, packages, machine, UTC time.

    Timestamps appear only here, so result tables stay byte-identical between repeated runs.
    """
    from models import MODEL_VERSION, __version__

    return {
        "git_commit": git_commit(),
        "git_dirty": git_dirty(scope=":/"),
        "package_version": __version__,
        "model_version": MODEL_VERSION,
        "code_hash": model_code_hash(),
        "packages": package_versions(),
        "python": platform.python_version(),
        "machine": machine(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
