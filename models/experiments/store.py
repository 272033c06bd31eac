"""Parquet result store of a sweep: one directory per sweep, one pair of files per run.

Layout of ``<out>/<sweep name>/``::

    manifest.json            spec, spec hash, root seed, git commit, package versions, run counts
    runs/<run_id>.parquet    the run's time series (only with ``keep: timeseries``)
    runs/<run_id>.json       the run's summary row, written last: its presence marks the run as done
    summary.parquet          every summary row of the spec's runs, sorted by point and replicate

Every file is written by atomic rename (``models.io``), so a killed sweep leaves complete files only,
plus possibly hidden ``.*.tmp`` files that :meth:`SweepStore.clean_temp` removes on the next start.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

from models.experiments.spec import canonical_json
from models.io import atomic_write_json, atomic_write_parquet, provenance

# Summary columns that depend on the machine or the moment, not on the model: leave out of comparisons.
VOLATILE_COLUMNS = ("runtime_seconds",)


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


def headline(frame: pd.DataFrame, scenario, shock_start: int | None) -> dict[str, Any]:
    """Headline metrics of one run via ``models.analysis.regimes.summarise_run``.

    Falls back to a few metrics computed here (final price, providers and users, minimum providers) when
    the analysis module is unavailable.
    """
    try:
        from models.analysis.regimes import summarise_run
    except ImportError:
        summarise_run = None
    if summarise_run is not None:
        return summarise_run(frame, scenario, shock_start)
    last = frame.sort_values("step").iloc[-1]
    return {
        "final_price": float(last["price"]), "final_providers": float(last["providers"]),
        "final_users": float(last["users"]), "min_providers": float(frame["providers"].min()),
        "final_step": int(last["step"]),
    }


class SweepStore:
    """Files of one sweep under ``root`` (``<out>/<sweep name>``)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.runs = self.root / "runs"

    def prepare(self) -> None:
        """Create the directories and remove temporary files left by a killed writer."""
        self.runs.mkdir(parents=True, exist_ok=True)
        self.clean_temp()

    def clean_temp(self) -> list[Path]:
        """Delete hidden ``.*.tmp`` files (partial writes of an interrupted run); return what was removed."""
        removed = []
        for folder in (self.root, self.runs):
            if folder.is_dir():
                for tmp in folder.glob(".*.tmp"):
                    tmp.unlink(missing_ok=True)
                    removed.append(tmp)
        return removed

    def done(self, timeseries: bool = False) -> set[str]:
        """Run ids whose summary row (and, if ``timeseries``, time series file) is on disk."""
        if not self.runs.is_dir():
            return set()
        ids = {p.stem for p in self.runs.glob("*.json") if not p.name.startswith(".")}
        if timeseries:
            ids &= {p.stem for p in self.runs.glob("*.parquet") if not p.name.startswith(".")}
        return ids

    def write_run(self, rid: str, row: dict[str, Any], frame: pd.DataFrame | None = None) -> None:
        """Write one run: the time series first (if any), then the summary row that marks it done."""
        if frame is not None:
            atomic_write_parquet(frame, self.runs / f"{rid}.parquet")
        atomic_write_json(self.runs / f"{rid}.json", row)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Write ``manifest.json`` (adds provenance: git commit, package versions, time)."""
        atomic_write_json(self.root / "manifest.json", {**manifest, "provenance": provenance()})

    def build_summary(self, run_ids: list[str] | None = None) -> pd.DataFrame:
        """Rebuild ``summary.parquet`` from the run rows.

        Args:
            run_ids: the runs belonging to the current spec (default: every row on disk).

        Returns:
            The summary table, sorted by point and replicate.
        """
        ids = sorted(self.done()) if run_ids is None else [r for r in run_ids if (self.runs / f"{r}.json").exists()]
        rows = [json.loads((self.runs / f"{r}.json").read_text()) for r in ids]
        table = pd.DataFrame(rows)
        if len(table):
            table = table.sort_values(["point", "replicate"], kind="stable").reset_index(drop=True)
        atomic_write_parquet(table, self.root / "summary.parquet")
        return table


class SweepResults:
    """A finished (or partial) sweep read back from disk; time series are read lazily."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not (self.root / "summary.parquet").exists() and not (self.root / "runs").is_dir():
            raise FileNotFoundError(f"no sweep results under {self.root}")
        self._summary: pd.DataFrame | None = None

    @property
    def manifest(self) -> dict[str, Any]:
        """Contents of ``manifest.json``."""
        return json.loads((self.root / "manifest.json").read_text())

    @property
    def summary(self) -> pd.DataFrame:
        """One row per run (``summary.parquet``, or rebuilt in memory from the run rows if absent)."""
        if self._summary is None:
            path = self.root / "summary.parquet"
            if path.exists():
                self._summary = pd.read_parquet(path)
            else:
                store = SweepStore(self.root)
                rows = [json.loads((store.runs / f"{r}.json").read_text()) for r in sorted(store.done())]
                self._summary = pd.DataFrame(rows).sort_values(["point", "replicate"]).reset_index(drop=True)
        return self._summary

    def dataset(self):
        """A ``pyarrow.dataset.Dataset`` over the time series of the runs in the summary.

        Files left in ``runs/`` by an earlier version of the spec are not part of it.
        """
        import pyarrow.dataset as ds

        current = set(self.summary["run_id"]) if "run_id" in self.summary else set()
        files = sorted(str(p) for p in (self.root / "runs").glob("*.parquet")
                       if not p.name.startswith(".") and p.stem in current)
        if not files:
            raise FileNotFoundError(f"{self.root}: no time series stored (sweep ran with keep: summary?)")
        return ds.dataset(files, format="parquet")

    def timeseries(self, columns: list[str] | None = None, filter=None) -> pd.DataFrame:
        """Read time series lazily: only the requested columns and rows are loaded.

        Args:
            columns: column names (default: all).
            filter: a ``pyarrow.compute`` expression, or a dict ``{column: value or list of values}``.

        Returns:
            A tidy DataFrame (``run`` holds the run id).
        """
        import pyarrow.compute as pc

        if isinstance(filter, dict):
            expr = None
            for col, value in filter.items():
                term = pc.field(col).isin(list(value)) if isinstance(value, (list, tuple, set)) \
                    else pc.field(col) == value
                expr = term if expr is None else expr & term
            filter = expr
        return self.dataset().to_table(columns=columns, filter=filter).to_pandas()


def load(name: str, root: str | Path = "results") -> SweepResults:
    """Open the results of sweep ``name`` under ``root``."""
    return SweepResults(Path(root) / name)
