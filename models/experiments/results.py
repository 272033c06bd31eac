"""Reading a sweep back: its summary table, its time series (lazily, with pyarrow) and its true status."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from models.experiments.store import SweepStore
from models.params import SAFE_NAME_PATTERN


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
    def status(self) -> str:
        """The manifest's status; ``running`` with no live writer holding the lock reads ``interrupted``."""
        status = self.manifest.get("status", "unknown")
        if status == "running" and not SweepStore(self.root).lock().held():
            return "interrupted"
        return status

    @property
    def summary(self) -> pd.DataFrame:
        """One row per run (``summary.parquet``, or rebuilt in memory from verified run records if absent)."""
        if self._summary is None:
            path = self.root / "summary.parquet"
            if path.exists():
                self._summary = pd.read_parquet(path)
            else:
                store = SweepStore(self.root)
                rows = []
                for p in sorted(store.runs.glob("*.json")):
                    try:
                        rows.append(store.read_record(p.stem)["row"])
                    except (OSError, ValueError):
                        continue
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
    if not re.fullmatch(SAFE_NAME_PATTERN, name):
        raise ValueError(f"sweep name {name!r} is not allowed (letters, digits, '-', '_' and '.', not leading)")
    return SweepResults(Path(root) / name)
