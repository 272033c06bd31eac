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


def run_pairs(scenarios: Sequence, keys: Sequence[tuple[int, int]], engine: str = "batch") -> list[Pair]:
    """Run every scenario and its twin.

    Args:
        scenarios: validated scenarios; run ``k`` draws from ``run_seed_sequence(scenarios[k].simulation.seed,
            *keys[k])``, exactly as a sweep or ``models.engines.run`` would.
        keys: ``(point, replicate)`` of each run.
        engine: ``abm``, ``cadcad`` or ``batch``; batch runs must share one array structure
            (``models.sd.compile.structure_of``); a twin always shares its run's.

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
    frame = run_batch(batch, exos, run_ids=np.arange(len(batch)))
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
