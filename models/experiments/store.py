"""Parquet result store of a sweep: one directory per sweep, one pair of files per run, verified on every read.

Layout of ``<out>/<sweep name>/``::

    .depin-store.json        marker: this directory was created by a sweep (nothing else is ever deleted or moved)
    manifest.json            spec, root seed, model version, status and run counts, provenance
    runs/<run_id>.parquet    the run's time series (``keep: timeseries``); carries the model code hash
    runs/<run_id>.json       the run's record, written last: summary row, model version, the sha256 of the
                             time series file and of the record itself
    quarantine/              corrupt or truncated run files, moved here on resume and recomputed
    summary.parquet          every summary row of the spec's runs, sorted by point and replicate

Beside the store, ``<out>/.<sweep name>.lock`` is held while a sweep writes (:mod:`models.experiments.lock`).
Every file is written by atomic rename (``models.io``). Statuses in the manifest: ``running`` (a writer holds
the lock; read as ``interrupted`` when nobody does), ``complete`` (every expected run has a verified file),
``failed`` (some runs raised), ``interrupted`` (Ctrl-C, a full or read-only disk, lost cluster) and
``incomplete`` (runs are missing for another reason).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    import pyarrow as pa

from models.experiments.lock import StoreError, StoreLock
from models.experiments.spec import canonical_json
from models.io import (
    STORAGE_ERRNOS,
    atomic_write_bytes,
    atomic_write_files,
    atomic_write_json,
    json_bytes,
    parquet_bytes,
    provenance,
    sha256_bytes,
    sha256_file,
)
from models.params import SAFE_NAME_PATTERN

# Summary columns that depend on the machine or the moment, not on the model: leave out of comparisons.
VOLATILE_COLUMNS = ("runtime_seconds",)
MARKER = ".depin-store.json"
RECORD_FORMAT = 2
_TEMP = re.compile(r"^\..+\.[0-9a-f]{32}\.tmp$")  # the temporary names models.io creates


class _Unstage(Exception):
    """The durability barrier failed: the staged files are removed, nothing is renamed."""


class MixedModelError(StoreError):
    """The store holds runs of another model version than the code now running."""


def run_id(parameters: dict[str, Any], replicate: int, engine: str, root_seed: int, steps: int, point: int,
           base_hash: str) -> str:
    """Identity of one run: 16 hex digits of a sha256.

    Args:
        parameters: the swept ``{dotted.path: value}`` of the run's point.
        replicate: replicate index.
        engine: engine name.
        root_seed: the sweep's root seed.
        steps: horizon in steps.
        point: point index (part of the run's seed key, so it belongs to the identity).
        base_hash: hash of the base scenario after the sweep's fixed overrides.
    """
    from models import MODEL_VERSION

    key = {
        "parameters": parameters, "replicate": int(replicate), "engine": engine, "model_version": MODEL_VERSION,
        "seed": int(root_seed), "steps": int(steps), "point": int(point), "base": base_hash,
    }
    return hashlib.sha256(canonical_json(key).encode()).hexdigest()[:16]


def scenario_hash(scenario) -> str:
    """sha256 of a scenario's canonical JSON."""
    return hashlib.sha256(canonical_json(scenario.model_dump(mode="json")).encode()).hexdigest()


def _record_hash(record: dict[str, Any]) -> str:
    return sha256_bytes(canonical_json({k: v for k, v in record.items() if k != "sha256"}).encode())


def _now_tag() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass
class Scan:
    """What a store holds for a list of expected runs.

    Attributes:
        done: run ids with verified files.
        quarantined: run id -> problem, for files moved to ``quarantine/``.
        code_hashes: model code hash -> number of verified runs computed by it.
    """

    done: set[str] = field(default_factory=set)
    quarantined: dict[str, str] = field(default_factory=dict)
    code_hashes: Counter = field(default_factory=Counter)


class SweepStore:
    """Files of one sweep under ``root`` (``<out>/<sweep name>``)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.runs = self.root / "runs"
        self.quarantine_dir = self.root / "quarantine"

    # --- creating, locking, replacing ----------------------------------------------------------------

    @property
    def lock_path(self) -> Path:
        """``<out>/.<name>.lock``, beside the store so that moving the store aside keeps it locked."""
        return self.root.parent / f".{self.root.name}.lock"

    def lock(self) -> StoreLock:
        """The store's writer lock (not yet acquired)."""
        return StoreLock(self.lock_path)

    def is_store(self) -> bool:
        """True when ``root`` carries the marker a sweep writes when it creates a store."""
        try:
            marker = json.loads((self.root / MARKER).read_text())
        except (OSError, ValueError):
            return False
        return isinstance(marker, dict) and marker.get("kind") == "depin-sweep-store"

    @property
    def marker(self) -> Path:
        """The marker file that makes ``root`` a store."""
        return self.root / MARKER

    def create(self) -> bool:
        """Make ``root`` a store: create it with its marker, or accept an existing store.

        Returns:
            True when this call created the store.

        Raises:
            StoreError: the name is not safe, or ``root`` exists and is not a store (nothing is touched).
        """
        self.check_usable()
        created = not self.is_store()
        if created:
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write_json(self.marker, {"kind": "depin-sweep-store", "name": self.root.name,
                                            "created_utc": datetime.now(UTC).isoformat(timespec="seconds")})
        self.runs.mkdir(exist_ok=True)
        self.clean_temp()
        return created

    def check_usable(self) -> None:
        """Raise :class:`StoreError` unless ``root`` is absent, an empty directory, or a store (changes nothing)."""
        if not re.fullmatch(SAFE_NAME_PATTERN, self.root.name):
            raise StoreError(f"{self.root}: sweep name {self.root.name!r} is not allowed "
                             "(letters, digits, '-', '_' and '.', not leading)")
        if self.root.is_symlink() or (self.root.exists() and not self.root.is_dir()):
            raise StoreError(f"{self.root}: exists and is not a directory; choose another --out or sweep name")
        if self.root.is_dir() and not self.is_store() and any(self.root.iterdir()):
            raise StoreError(f"{self.root}: exists and was not created by a sweep (no {MARKER}); "
                             "choose another --out or sweep name")

    def remove_new(self) -> None:
        """Undo :meth:`create` of a store that holds nothing yet (only its marker and an empty ``runs/``)."""
        if self.runs.is_dir() and not any(self.runs.iterdir()):
            self.runs.rmdir()
        if self.is_store() and {p.name for p in self.root.iterdir()} == {MARKER}:
            self.marker.unlink()
            self.root.rmdir()

    def move_aside(self) -> Path | None:
        """Rename an existing store to ``<name>.replaced-<UTC time>`` (for ``--no-resume``); never deletes.

        Returns:
            The new location, or None when there was no store.

        Raises:
            StoreError: ``root`` exists but is not a store.
        """
        if not self.root.exists():
            return None
        if not self.is_store():
            raise StoreError(f"{self.root}: exists and was not created by a sweep (no {MARKER}); "
                             "refusing to replace it")
        target = self.root.with_name(f"{self.root.name}.replaced-{_now_tag()}")
        n = 1
        while target.exists():
            n += 1
            target = self.root.with_name(f"{self.root.name}.replaced-{_now_tag()}-{n}")
        os.rename(self.root, target)
        return target

    def clean_temp(self) -> list[Path]:
        """Delete the hidden temporary files ``models.io`` leaves when a writer is killed mid-write."""
        removed = []
        for folder in (self.root, self.runs):
            if folder.is_dir():
                for tmp in folder.iterdir():
                    if _TEMP.match(tmp.name) and tmp.is_file():
                        tmp.unlink(missing_ok=True)
                        removed.append(tmp)
        return removed

    # --- run files -----------------------------------------------------------------------------------

    def write_run(self, rid: str, row: dict[str, Any], frame: pd.DataFrame | pa.Table | None,
                  model: dict[str, Any]) -> None:
        """Write one run: the time series first (if any), then the record that marks it done (each fsynced).

        Args:
            rid: run id.
            row: the summary row.
            frame: the time series to keep, or None.
            model: :func:`models.io.model_version` of the code that computed the run.
        """
        for dest, data in self._run_files(rid, row, frame, model):
            atomic_write_bytes(dest, data)

    def write_runs(self, runs: list[tuple[str, dict[str, Any], pd.DataFrame | pa.Table | None]],
                   model: dict[str, Any]) -> list[tuple[str, str | None, bool]]:
        """Write the runs of a chunk: every file by atomic rename, with one durability barrier for all.

        Files go to hidden temporary names (:meth:`clean_temp` removes them after a kill), one flush makes them
        durable (:func:`models.experiments.durable.flush`), then each is renamed into place, a run's record
        last. A run that cannot be written (a full disk) leaves nothing; the runs staged before it are stored.

        Args:
            runs: ``(run id, summary row, time series or None)`` per run.
            model: :func:`models.io.model_version` of the code that computed the runs.

        Returns:
            ``(run id, error or None, storage fault)`` per run, stored runs first; after a storage fault
            (``models.io.STORAGE_ERRNOS``) the runs not yet staged are reported with the same error.
        """
        from models.experiments.durable import flush, stage_files

        done: list[tuple[str, str | None, bool]] = []
        failed: list[tuple[str, str | None, bool]] = []
        staged: list[tuple[str, list[tuple[Path, Path]]]] = []
        try:
            for k, (rid, row, frame) in enumerate(runs):
                try:
                    files = self._run_files(rid, row, frame, model)
                    staged.append((rid, stage_files(files)))
                except OSError as exc:
                    fault = exc.errno in STORAGE_ERRNOS
                    failed.append((rid, f"{type(exc).__name__}: {exc}", fault))
                    if fault:
                        failed += [(r[0], f"{type(exc).__name__}: {exc}", True) for r in runs[k + 1:]]
                        break
                except Exception as exc:  # noqa: BLE001 - reported per run, the chunk continues
                    failed.append((rid, f"{type(exc).__name__}: {exc}", False))
            if staged:
                try:
                    flush(self.runs, [tmp for _, pairs in staged for tmp, _ in pairs])
                except OSError as exc:
                    failed = [(rid, f"{type(exc).__name__}: {exc}", exc.errno in STORAGE_ERRNOS)
                              for rid, _ in staged] + failed
                    raise _Unstage from None
                while staged:
                    rid, pairs = staged[0]
                    for tmp, dest in pairs:
                        os.replace(tmp, dest)
                    staged.pop(0)
                    done.append((rid, None, False))
                flush(self.runs, [])  # the renames themselves (the directory)
        except _Unstage:
            pass
        finally:
            for _, pairs in staged:
                for tmp, _ in pairs:
                    tmp.unlink(missing_ok=True)
        return done + failed

    def _run_files(self, rid: str, row: dict[str, Any], frame: pd.DataFrame | pa.Table | None,
                   model: dict[str, Any]) -> list[tuple[Path, bytes]]:
        """The files of one run as ``(destination, bytes)``: the time series (if any), then the record."""
        files = []
        series_hash = None
        if frame is not None:
            data = parquet_bytes(frame, {"depin.run_id": rid, "depin.code_hash": model["code_hash"]})
            series_hash = sha256_bytes(data)
            files.append((self.runs / f"{rid}.parquet", data))
        record = {"format": RECORD_FORMAT, "run_id": rid, "row": row, "model": model,
                  "timeseries_sha256": series_hash}
        record["sha256"] = _record_hash(record)
        files.append((self.runs / f"{rid}.json", json_bytes(record)))
        return files

    def read_record(self, rid: str) -> dict[str, Any]:
        """The verified record of a run.

        Raises:
            ValueError: the record is missing fields, truncated or does not match its hash.
        """
        try:
            record = json.loads((self.runs / f"{rid}.json").read_text())
        except UnicodeDecodeError as exc:
            raise ValueError(f"not UTF-8: {exc}") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON (truncated?): {exc}") from None
        if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT or record.get("run_id") != rid:
            raise ValueError("not a run record of this format")
        if record.get("sha256") != _record_hash(record):
            raise ValueError("content does not match its sha256")
        return record

    def verify(self, rid: str, timeseries: bool) -> tuple[dict[str, Any] | None, str | None]:
        """Check one run's files: ``(record, None)`` when sound, ``(None, problem)`` otherwise."""
        if not (self.runs / f"{rid}.json").exists():
            return None, "missing"
        try:
            record = self.read_record(rid)
        except (OSError, ValueError) as exc:
            return None, f"record: {exc}"
        if timeseries:
            path = self.runs / f"{rid}.parquet"
            if record["timeseries_sha256"] is None:
                return None, "record has no time series (stored with keep: summary)"
            if not path.exists():
                return None, "time series file missing"
            if sha256_file(path) != record["timeseries_sha256"]:
                return None, "time series file does not match the sha256 in its record (truncated or altered)"
        return record, None

    def scan(self, expected: list[str], timeseries: bool) -> Scan:
        """Verify every expected run; move corrupt ones to ``quarantine/`` so they are recomputed."""
        result = Scan()
        for rid in expected:
            record, problem = self.verify(rid, timeseries)
            if record is not None:
                result.done.add(rid)
                result.code_hashes[record["model"]["code_hash"]] += 1
            elif problem != "missing":
                self.quarantine(rid, problem)
                result.quarantined[rid] = problem
        return result

    def quarantine(self, rid: str, problem: str) -> None:
        """Move a run's files to ``quarantine/`` with a note of the problem (never deletes them)."""
        self.quarantine_dir.mkdir(exist_ok=True)
        tag = _now_tag()
        for suffix in (".json", ".parquet"):
            src = self.runs / f"{rid}{suffix}"
            if src.exists():
                os.replace(src, self.quarantine_dir / f"{rid}{suffix}.{tag}")
        atomic_write_bytes(self.quarantine_dir / f"{rid}.{tag}.problem.txt", f"{rid}: {problem}\n".encode())

    # --- manifest and summary ------------------------------------------------------------------------

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Write ``manifest.json`` (adds provenance: git commit, package versions, time)."""
        atomic_write_json(self.root / "manifest.json", {**manifest, "provenance": provenance()})

    def stage_interrupted(self, manifest: dict[str, Any]) -> Path:
        """Pre-write an ``interrupted`` manifest beside the real one, for when the disk is full later.

        Renaming needs no free space, so :meth:`mark_interrupted` can always make the status true.
        """
        staged = self.root / ".manifest.interrupted.json"
        atomic_write_json(staged, {**manifest, "status": "interrupted", "provenance": provenance()})
        return staged

    def mark_interrupted(self, manifest: dict[str, Any], reason: str) -> None:
        """Set the status to ``interrupted``: a full manifest if possible, else the staged one."""
        try:
            self.write_manifest({**manifest, "status": "interrupted", "reason": reason})
            (self.root / ".manifest.interrupted.json").unlink(missing_ok=True)
        except OSError:
            staged = self.root / ".manifest.interrupted.json"
            if staged.exists():
                os.replace(staged, self.root / "manifest.json")

    def build_summary(self, run_ids: list[str]) -> pd.DataFrame:
        """Rebuild ``summary.parquet`` from the verified records of ``run_ids``, sorted by point, replicate."""
        rows = []
        for rid in run_ids:
            if (self.runs / f"{rid}.json").exists():
                try:
                    rows.append(self.read_record(rid)["row"])
                except (OSError, ValueError):
                    continue
        table = pd.DataFrame(rows)
        if len(table):
            table = table.sort_values(["point", "replicate"], kind="stable").reset_index(drop=True)
        atomic_write_files({self.root / "summary.parquet": parquet_bytes(table)})
        return table
