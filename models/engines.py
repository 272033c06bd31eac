"""One entry point for every engine: ``run(scenario, engine, seed)`` -> tidy per-step DataFrame."""

from __future__ import annotations

import pandas as pd

from models.exogenous import run_seed_sequence, sample_exogenous

ENGINES = ("abm", "cadcad", "batch")


def run(scenario, engine: str = "batch", seed: int | None = None, steps: int | None = None,
        point: int = 0, replicate: int = 0) -> pd.DataFrame:
    """Run one scenario once.

    Args:
        scenario: validated ``models.params.Scenario``.
        engine: ``abm``, ``cadcad`` or ``batch``.
        seed: root seed (defaults to ``scenario.simulation.seed``).
        steps: horizon override (at most the scenario's).
        point: parameter-point index of this run under the root seed (sweeps use it).
        replicate: Monte Carlo replicate index under that point.

    Returns:
        Tidy frame: one row per step 0..steps, columns of ``models.output.COLUMNS`` plus ``run``.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; allowed: {', '.join(ENGINES)}")
    if steps is not None:
        scenario = scenario.model_copy(
            update={"simulation": scenario.simulation.model_copy(update={"steps": int(steps)})}
        )
    root = scenario.simulation.seed if seed is None else seed
    seq = run_seed_sequence(root, point, replicate)
    if engine == "abm":
        from models.abm.model import run_abm

        return run_abm(scenario, seq)
    exo = sample_exogenous(scenario, seq)
    if engine == "cadcad":
        from models.sd.cadcad_model import run_cadcad

        return run_cadcad([scenario], [exo])
    from models.sd.batch import run_batch

    return run_batch([scenario], [exo])
