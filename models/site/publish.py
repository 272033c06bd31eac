"""Where the site goes: built in a staging directory beside ``out`` and swapped in by rename.

A site records every file it holds in its marker (``.depin-site.json``); a later build replaces it only when
it holds nothing else, so a file somebody added is never deleted. A directory that is not such a site (and
not empty, and not just the ``findings.json`` that notebooks write when run by hand) is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

MARKER = ".depin-site.json"  # written into every site this command builds; lists the site's files
HAND_RUN = {"findings.json"}  # what the notebooks write into site/ when run by hand (findings_path's default)
EARLY_FILES = ("index.html", "flywheel.svg", "findings.json")  # besides its pages, in a marker without "files"


class SiteError(Exception):
    """The site cannot be written where asked (exit code 2)."""


def listed_files(site: Path) -> set[str]:
    """The files a built site's marker lists (relative paths), the marker itself included."""
    try:
        record = json.loads((site / MARKER).read_text())
        files = record["files"] if "files" in record else [*record["pages"], *EARLY_FILES]
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return set()
    return set(files) | {MARKER}


def files_under(root: Path) -> set[str]:
    """Every file and link under ``root`` as a relative path (directories are implied by their files)."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def prepare_out(out: Path) -> None:
    """Refuse an ``out`` this command may not replace (its files are never touched).

    Raises:
        SiteError: ``out`` is a link or a file, or a directory holding files no build of this command wrote.
    """
    if out.is_symlink():
        raise SiteError(f"--out {out}: is a symbolic link; give the directory it points to")
    if out.exists() and not out.is_dir():
        raise SiteError(f"--out {out}: exists and is not a directory")
    if not out.is_dir():
        return
    present = files_under(out)
    extra = present - (listed_files(out) if (out / MARKER).is_file() else set()) - HAND_RUN
    if extra:
        shown = ", ".join(sorted(extra)[:5]) + (" ..." if len(extra) > 5 else "")
        what = "files this command did not write" if (out / MARKER).is_file() else f"no {MARKER}: not a built site"
        raise SiteError(f"--out {out}: holds {what} ({shown}); move them or choose another --out")


def new_staging(out: Path) -> Path:
    """An empty staging directory beside ``out``, with the permissions the umask gives a new directory."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes 0700: a published site must be readable by others
    return staging


def write_marker(staging: Path, record: dict) -> None:
    """Write the marker listing every file now in ``staging`` (call it last)."""
    from models.io import atomic_write_json

    atomic_write_json(staging / MARKER, {**record, "files": sorted(files_under(staging) - {MARKER})})


def publish(staging: Path, out: Path) -> None:
    """Swap the finished ``staging`` in for ``out``: one rename each way, then the old site is removed.

    Raises:
        SiteError: something wrote into ``out`` while the site was built (the new site stays in ``staging``).
    """
    if not out.exists():
        staging.rename(out)
        return
    prepare_out(out)  # checked again: something may have written into it while the notebooks ran
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rename(out, old)  # replaces the empty directory; `out` is missing only until the next line
    staging.rename(out)
    shutil.rmtree(old)  # it held only files the marker listed (or the notebooks' findings.json)


def discard(staging: Path) -> None:
    """Remove a staging directory this build made (after a failure or an interrupt)."""
    shutil.rmtree(staging, ignore_errors=True)
