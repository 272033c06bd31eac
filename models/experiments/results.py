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

    @property
    def parameters(self) -> list[str]:
        """The swept columns of the summary: ``base`` (a sweep over several bases) and every swept path."""
        spec = self.manifest["spec"]
        names = ["base"] if isinstance(spec["base"], dict) else []
        names += list(spec["parameters"])
        for extra in spec.get("base_parameters", {}).values():
            names += [k for k in extra if k not in names]
        return names

    def points(self, by: list[str] | None = None, column: str = "regime", **kwargs) -> pd.DataFrame:
        """Per parameter point (or group of ``by``): regime shares and medians with intervals.

        See ``models.analysis.points.point_table`` (Wilson intervals for shares, bootstrap for medians).
        """
        from models.analysis.points import point_table

        return point_table(self.summary, by or self.parameters, column=column, **kwargs)

    def critical_values(self, parameter: str, by: list[str], **kwargs) -> pd.DataFrame:
        """Where P(collapse) crosses 50% along ``parameter`` within each group of ``by``.

        See ``models.analysis.points.critical_values`` (logistic fit over runs, bootstrap interval).
        """
        from models.analysis.points import critical_values

        return critical_values(self.summary, parameter, by, **kwargs)

    def rerun(self, run_ids, columns=None) -> pd.DataFrame:
        """Recompute stored runs with their twins (the same numbers the sweep computed) on the sweep's engine.

        A sweep that keeps only summaries can still show the paths of chosen runs (representative
        trajectories): each run is rebuilt from the manifest's base scenarios and the row's parameters and
        seed key, and stepped again with its twin.

        Returns:
            Tidy frame: ``run_id`` and the swept parameters, then the run's columns and ``twin_<column>`` for
            ``models.analysis.twin_runs.TWIN_COLUMNS``.
        """
        from models.analysis.twin_runs import run_pairs, with_twin_columns
        from models.experiments.runner import seed_key
        from models.experiments.spec import point_scenario
        from models.params import Scenario

        manifest = self.manifest
        if "base_scenarios" in manifest:
            scenarios = {k: Scenario.model_validate(v) for k, v in manifest["base_scenarios"].items()}
        else:
            scenarios = {None: Scenario.model_validate(manifest["base_scenario"])}
        rows = self.summary.set_index("run_id").loc[list(run_ids)]
        params = self.parameters
        spec = manifest["spec"]
        out = []
        for rid, row in rows.iterrows():
            # the paths this run's base sweeps (another base's columns are empty in its row, not values)
            label = row["base"] if "base" in params else None
            own = [*spec["parameters"], *spec.get("base_parameters", {}).get(label, {})]
            values = {p: (row[p].item() if hasattr(row[p], "item") else row[p]) for p in own}
            if label is not None:
                values["base"] = label
            scenario = point_scenario(scenarios, values)
            key = seed_key(int(row["point"]), int(row["replicate"]), spec.get("common_random_numbers", False))
            (pair,) = run_pairs([scenario], [key], manifest["engine"], manifest.get("backend", "numpy"))
            frame = with_twin_columns(pair)
            frame = frame if columns is None else frame[["step", *columns, *[f"twin_{c}" for c in columns
                                                                           if f"twin_{c}" in frame]]]
            out.append(frame.assign(run_id=rid, **{p: row[p] for p in params}))
        frame = pd.concat(out, ignore_index=True)
        return frame[["run_id", *params, *[c for c in frame.columns if c not in ("run_id", *params)]]]

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
