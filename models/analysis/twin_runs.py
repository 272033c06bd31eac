"""Run shocked scenarios together with their unshocked twins and summarise each pair (issue 11, item 1).

A twin has the same scenario and seed without the shock (``models.analysis.twins.twin_scenario``), so
every exogenous path is shared (common random numbers). On the batch engine a run and its twin are stepped
in the same call; cadCAD and the ABM run the twin right after the run. A scenario without a shock is its own
twin and is run once.

What the pair shares is the exogenous paths (sentiment, noise traders, the market factor). The aggregate
engines are deterministic given those, so their ratio is the shock's effect alone. The ABM also draws its
agents' own choices from a second stream whose draws depend on how many agents act, so once the shocked
population differs from the twin's the two streams part and the ABM ratio carries agent-level noise too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from models.analysis.twins import has_twin, summarise_pair, twin_scenario


class Pair(NamedTuple):
    """One run and its twin (the same frame when the scenario has no shock)."""

    frame: pd.DataFrame
    twin: pd.DataFrame


def run_pairs(scenarios: Sequence, keys: Sequence[tuple[int, int]], engine: str = "batch",
              backend: str = "numpy") -> list[Pair]:
    """Run every scenario and its twin.

    Args:
        scenarios: validated scenarios; run ``k`` draws from ``run_seed_sequence(scenarios[k].simulation.seed,
            *keys[k])``, exactly as a sweep or ``models.engines.run`` would.
        keys: ``(point, replicate)`` of each run.
        engine: ``abm``, ``cadcad`` or ``batch``; batch runs must share one array structure
            (``models.sd.compile.structure_of``); a twin always shares its run's.
        backend: the batch engine's backend (``models.sd.batch.BACKENDS``).

    Returns:
        One :class:`Pair` per scenario, in order; frames without the ``run`` column.
    """
    twins = [twin_scenario(sc) if has_twin(sc) else None for sc in scenarios]
    if engine != "batch":
        from models import engines

        def one(sc, key):
            frame = engines.run(sc, engine, seed=sc.simulation.seed, point=key[0], replicate=key[1])
            return frame.drop(columns=["run"], errors="ignore").reset_index(drop=True)

        out = []
        for sc, tw, key in zip(scenarios, twins, keys, strict=True):
            frame = one(sc, key)
            out.append(Pair(frame, one(tw, key) if tw is not None else frame))
        return out
    from models.exogenous import run_seed_sequence, sample_exogenous
    from models.sd.batch import run_batch

    batch, exos, owner = [], [], []
    for k, (sc, tw, key) in enumerate(zip(scenarios, twins, keys, strict=True)):
        seq = run_seed_sequence(sc.simulation.seed, *key)
        for variant in (sc, tw):
            if variant is not None:
                batch.append(variant)
                exos.append(sample_exogenous(variant, seq))
                owner.append(k)
    frame = run_batch(batch, exos, run_ids=np.arange(len(batch)), backend=backend)
    parts = [part.drop(columns=["run"]).reset_index(drop=True) for _, part in frame.groupby("run", sort=True)]
    first: dict[int, pd.DataFrame] = {}
    pairs: dict[int, Pair] = {}
    for k, part in zip(owner, parts, strict=True):
        if k in first:
            pairs[k] = Pair(first[k], part)
        else:
            first[k] = part
            if twins[k] is None:
                pairs[k] = Pair(part, part)
    return [pairs[k] for k in range(len(scenarios))]


def summarise(pair: Pair, scenario, point: int = 0, replicate: int = 0) -> dict:
    """:func:`models.analysis.twins.summarise_pair` of one pair, with the run's realised shock starts."""
    from models.analysis.regimes import realised_shock_starts, reference_step

    starts = realised_shock_starts(scenario, seed=scenario.simulation.seed, point=point, replicate=replicate)
    shock = min(starts) if starts else reference_step(scenario)
    return summarise_pair(pair.frame, pair.twin, scenario, shock, starts)


TWIN_COLUMNS = ("providers", "capacity", "users", "price", "orders", "revenue_usd")


def with_twin_columns(pair: Pair, columns: Sequence[str] = TWIN_COLUMNS) -> pd.DataFrame:
    """The run's frame with ``twin_<column>`` beside each of ``columns`` (what a stored time series keeps)."""
    extra = {f"twin_{c}": pair.twin[c].to_numpy() for c in columns}
    return pair.frame.assign(**extra)


class PairArrays(NamedTuple):
    """Chosen columns of runs and their twins as ``(runs, steps)`` arrays (no tidy frame is built).

    Attributes:
        main: column -> array of the runs, rows in the order of the scenarios given.
        twin: column -> array of their twins (the runs' own rows for a scenario without a shock).
        steps: the step numbers, shared by every run.
        shock_starts: each run's realised shock starts (``Exogenous.shock_starts``).
    """

    main: dict
    twin: dict
    steps: np.ndarray
    shock_starts: list


def run_pair_arrays(scenarios: Sequence, keys: Sequence[tuple[int, int]], columns: Sequence[str],
                    backend: str = "numpy") -> PairArrays:
    """:func:`run_pairs` on the batch engine, keeping only ``columns`` of each run and its twin.

    The same engine call as :func:`run_pairs` (every run and its twin stepped together, the same seeds and
    exogenous paths), but the recorded rows are stacked into ``(runs, steps)`` arrays of the chosen columns
    only: the tidy frame of every column (``models.output.to_frame``) is never built.

    Args:
        scenarios: validated scenarios of one array structure (``models.sd.compile.structure_of``).
        keys: ``(point, replicate)`` seed key of each run.
        columns: columns of ``models.output.COLUMNS`` to keep (``step`` is always returned as ``steps``).
        backend: ``numpy`` or ``jax`` (``models.sd.batch.step_columns``).
    """
    from models.exogenous import run_seed_sequence, sample_exogenous, stack_exogenous
    from models.sd.batch import step_columns
    from models.sd.compile import compile_params

    twins = [twin_scenario(sc) if has_twin(sc) else None for sc in scenarios]
    batch, exos, main_rows, twin_rows, starts = [], [], [], [], []
    for sc, tw, key in zip(scenarios, twins, keys, strict=True):
        seq = run_seed_sequence(sc.simulation.seed, *key)
        main_rows.append(len(batch))
        for variant in (sc, tw):
            if variant is not None:
                batch.append(variant)
                exos.append(sample_exogenous(variant, seq))
        twin_rows.append(len(batch) - 1)
        starts.append(exos[main_rows[-1]].shock_starts)
    structure, params = compile_params(batch)
    wanted = [c for c in dict.fromkeys(columns) if c != "step"]
    stacked = step_columns(params, structure, stack_exogenous(exos), structure.steps, wanted, backend)
    steps = np.arange(structure.steps + 1, dtype=np.int64)
    main = {c: a[main_rows] for c, a in stacked.items()}
    twin = {c: a[twin_rows] for c, a in stacked.items()}
    return PairArrays(main, twin, steps, starts)


def pair_arrays(pairs: Sequence[Pair], columns: Sequence[str]) -> PairArrays:
    """The chosen columns of pairs of frames (cadCAD, ABM) as ``(runs, steps)`` arrays; frames sorted by step.

    Every pair must cover the same steps. ``shock_starts`` is left empty (the caller knows them).
    """
    frames = [p.frame.sort_values("step") for p in pairs]
    twins = [p.twin.sort_values("step") for p in pairs]
    steps = frames[0]["step"].to_numpy().astype(np.int64)
    for f, t in zip(frames, twins, strict=True):
        if not (np.array_equal(f["step"].to_numpy(), steps) and np.array_equal(t["step"].to_numpy(), steps)):
            raise ValueError("runs of one summary group, and their twins, must cover the same steps")
    wanted = [c for c in dict.fromkeys(columns) if c != "step"]
    main = {c: np.stack([f[c].to_numpy(dtype=float) for f in frames]) for c in wanted}
    twin = {c: np.stack([t[c].to_numpy(dtype=float) for t in twins]) for c in wanted}
    return PairArrays(main, twin, steps, [() for _ in pairs])
