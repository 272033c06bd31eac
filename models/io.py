"""Atomic file writes and run provenance.

Every result file is written to a temporary file in the destination directory and then moved into
place with ``os.replace``, which is atomic on POSIX and Windows within one file system. A reader (or a
resumed sweep) therefore sees either the old file or the complete new one, never a half-written file.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

# Distribution names as pip knows them; the keys are what provenance reports.
_PACKAGES = {
    "numpy": "numpy",
    "pandas": "pandas",
    "mesa": "mesa",
    "cadCAD": "cadCAD",
    "pydantic": "pydantic",
    "pyarrow": "pyarrow",
    "dask": "dask",
}


@contextmanager
def _temp_beside(path: Path):
    """Yield a temporary path in ``path``'s directory; move it onto ``path`` only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    # O_EXCL: never clobber another writer's temp file; mode 0o666 so the umask applies, as for open()
    # (mkstemp would leave result files readable by their owner only).
    os.close(os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, creating parent directories.

    Args:
        path: destination file.
        data: full file content.

    Returns:
        The destination path.
    """
    path = Path(path)
    with _temp_beside(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return path


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically; NaN and infinity are refused (they are not JSON)."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n")


def atomic_write_parquet(frame, path: str | Path) -> Path:
    """Write a pandas DataFrame to Parquet (pyarrow) atomically.

    Args:
        frame: the table; its index is dropped (tidy frames carry their keys as columns).
        path: destination ``.parquet`` file.

    Returns:
        The destination path.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with _temp_beside(path) as tmp:
        pq.write_table(table, tmp)
    return path


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


def provenance() -> dict[str, Any]:
    """Where a result came from: git commit, package versions, Python version and a UTC timestamp.

    Timestamps appear only here, so result tables stay byte-identical between repeated runs.
    """
    from models import MODEL_VERSION, __version__

    return {
        "git_commit": git_commit(),
        "package_version": __version__,
        "model_version": MODEL_VERSION,
        "packages": package_versions(),
        "python": platform.python_version(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
