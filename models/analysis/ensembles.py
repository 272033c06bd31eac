"""Run one scenario over many seeds on any engine, for ensemble bands and engine comparisons."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models import engines


def run_ensemble(scenario, engine: str, seeds, steps: int | None = None) -> pd.DataFrame:
    """Stack one run per seed (root seed = each seed) into one frame with ``seed`` and ``engine`` columns."""
    frames = [engines.run(scenario, engine, seed=int(s), steps=steps).assign(seed=int(s)) for s in seeds]
    return pd.concat(frames, ignore_index=True).assign(engine=engine)


def ensemble_mean(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """Mean over seeds of ``columns`` at each step."""
    return frame.groupby("step")[list(columns)].mean()


def max_relative_difference(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """Largest relative difference over every shared numeric column of two aligned tables."""
    cols = [c for c in a.select_dtypes("number").columns if c in b.columns]
    diff = (a[cols] - b[cols]).abs() / b[cols].abs().clip(lower=1e-12)
    return float(np.nanmax(diff.to_numpy()))
