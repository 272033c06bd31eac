"""Batched engine: many runs stepped at once as arrays of shape (runs,).

Two backends step the same economy: ``numpy`` (the reference, and the default) and ``jax``
(``models.sd.compiled``: the same source traced and compiled by XLA; opt-in, agrees to rounding).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.exogenous import Exogenous, stack_exogenous
from models.output import COLUMNS, frame_from_arrays, record
from models.sd.compile import compile_params
from models.sd.economy import BLOCKS, exo_at, initial_state

BACKENDS = ("numpy", "jax")
# Runs stepped together by run_batch: the rate per run-step is flat from 64 to 10,000 runs (numpy 10.0-10.7 k
# run-steps/s at 64-256 runs, 9.1 k at 10,000), and a chunk bounds the working memory (jax: 4 of its buckets).
CHUNK_RUNS = 1024


def step_all(P: dict, structure, exo: dict, steps: int):
    """Yield the recorded row (arrays over runs) of step 0 .. ``steps``."""
    s = initial_state(P, structure)
    yield record(s, 0)
    for t in range(steps):
        exo_t = exo_at(exo, t)
        for _, block in BLOCKS:
            s = {**s, **block(P, structure, s, exo_t, t)}
        yield record(s, t + 1)


def step_columns(P: dict, structure, exo: dict, steps: int, columns, backend: str = "numpy") -> dict:
    """``column -> (runs, steps + 1)`` arrays of the chosen output columns, on either backend."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown batch backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    columns = tuple(c for c in columns if c != "step")
    if backend == "jax":
        from models.sd import compiled

        return compiled.step_columns(P, structure, exo, steps, columns)
    rows = list(step_all(P, structure, exo, steps))
    return {c: np.stack([r[c] for r in rows], axis=1) for c in columns}


def iter_batch(scenarios, exogenous: list[Exogenous], run_ids=None, steps: int | None = None,
               backend: str = "numpy", chunk_runs: int = CHUNK_RUNS):
    """Yield the tidy frames of :func:`run_batch`, ``chunk_runs`` runs at a time (in run order).

    Memory stays flat in the number of runs: a caller that writes each frame away (a Parquet file per chunk)
    never holds more than one chunk's state and output. Runs are independent, so a run's numbers do not
    depend on the chunk it is stepped in (``tests/test_compiled.py`` holds chunked to unchunked, exactly).
    """
    if len(scenarios) != len(exogenous):
        raise ValueError(f"{len(scenarios)} scenarios but {len(exogenous)} exogenous draws (one each)")
    structure, P = compile_params(scenarios)  # once: it also checks that every scenario has one structure
    steps = structure.steps if steps is None else min(steps, structure.steps)
    exo = stack_exogenous(exogenous)
    ids = np.arange(len(scenarios)) if run_ids is None else np.asarray(run_ids)
    for lo in range(0, len(scenarios), chunk_runs):
        part = slice(lo, lo + chunk_runs)
        arrays = step_columns({k: np.asarray(v)[part] for k, v in P.items()}, structure,
                              {k: np.asarray(v)[part] for k, v in exo.items()}, steps, COLUMNS, backend)
        yield frame_from_arrays(arrays, steps, ids[part])


def run_batch(scenarios, exogenous: list[Exogenous], run_ids=None, steps: int | None = None,
              backend: str = "numpy") -> pd.DataFrame:
    """Run one scenario per entry of ``scenarios`` (all of one structure) with its exogenous paths.

    The runs are stepped :data:`CHUNK_RUNS` at a time (:func:`iter_batch`), so the engine's working memory
    does not grow with the batch; only the returned frame does.

    Args:
        scenarios: validated scenarios sharing one ``models.sd.compile.Structure``.
        exogenous: one exogenous draw per scenario.
        run_ids: values of the ``run`` column (default 0..n-1).
        steps: horizon override (at most the scenarios').
        backend: ``numpy`` (reference) or ``jax`` (compiled by XLA, ``models.sd.compiled``).

    Returns:
        Tidy frame with a ``run`` column and the columns of ``models.output``.
    """
    frames = list(iter_batch(scenarios, exogenous, run_ids, steps, backend))
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def final_state_arrays(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Values of ``column`` at each run's last step, ordered by run."""
    return frame.groupby("run")[column].last().to_numpy()
