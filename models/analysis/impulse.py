"""Shock effects measured against the unshocked twin: impulse responses, half-lives and ablations.

A shocked run and its twin share the scenario and the seed, so every exogenous path is the same
(common random numbers) and the ratio shocked / twin isolates what the shock did. Runs are batched
on the aggregate engine: one call steps every seed of both variants at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from models.exogenous import run_seed_sequence, sample_exogenous
from models.param_blocks import ShockEvent
from models.params import with_overrides

RATIO_COLUMNS = ("price", "providers", "users", "capacity")


def one_off_move(start_day: float, relative_price: float, inventory_tokens: float = 0.0,
                 actor: str = "arbitrageur") -> ShockEvent:
    """A one-step price move by an arbitrageur to ``relative_price`` x the price before (then released)."""
    return ShockEvent(type="price_path", start_day=start_day, path=(relative_price,), duration_days=1.0,
                      actor=actor, inventory_tokens=inventory_tokens)


def with_shocks(scenario, shocks: Sequence[ShockEvent]):
    """The scenario with its shock list replaced (validated again)."""
    data = scenario.model_dump(mode="json")
    data["shocks"] = [s.model_dump(mode="json") for s in shocks]
    from models.params import scenario_from_dict

    return scenario_from_dict(data, f"<{scenario.name} with shocks>")


def twin_of(scenario):
    """The unshocked twin: the same scenario and actors, with no shock acting.

    Trading actors keep their inventories (a forced seller that never sells), so both runs start from
    the same accounts; every other shock is dropped. The exogenous draws are identical for the same seed.
    """
    inert = [ShockEvent(type="price_crash", start_day=0.0, size=0.0, actor=s.actor_name,
                        inventory_tokens=s.inventory_tokens)
             for s in scenario.shocks if s.type in ("price_crash", "price_path") and s.inventory_tokens > 0]
    return with_shocks(scenario, inert)


def run_variants(variants: Mapping | Sequence, seeds: Iterable[int]) -> pd.DataFrame:
    """Every variant for every seed in one batch-engine call.

    Common random numbers: the runs of one seed share every exogenous path.

    Args:
        variants: label -> scenario, or a sequence of scenarios (labelled by position).
        seeds: root seeds of the runs.

    Returns:
        The batch engine's tidy frame with ``variant`` (the label) and ``seed`` beside ``run``.
    """
    from models.sd.batch import run_batch

    labelled = variants.items() if isinstance(variants, Mapping) else enumerate(variants)
    seeds = [int(s) for s in seeds]
    runs, exos, keys = [], [], []
    for i, sc in labelled:
        for seed in seeds:
            runs.append(sc)
            exos.append(sample_exogenous(sc, run_seed_sequence(int(seed))))
            keys.append((i, int(seed)))
    frame = run_batch(runs, exos)
    index = pd.DataFrame(keys, columns=["variant", "seed"]).rename_axis("run").reset_index()
    return frame.merge(index, on="run")


def twin_ratios(scenario, seeds: Iterable[int], columns: Sequence[str] = RATIO_COLUMNS) -> pd.DataFrame:
    """Per step and seed, each column of the shocked run over its unshocked twin.

    Args:
        scenario: a scenario with shocks (the twin is :func:`twin_of` it).
        seeds: root seeds, one replicate each.
        columns: columns to divide.

    Returns:
        Tidy frame: ``seed, step, day`` and one ``<column>`` ratio each (NaN where the twin is 0).
    """
    seeds = list(seeds)
    twin = twin_of(scenario)
    frame = run_variants([scenario, twin], seeds)
    shocked = frame[frame["variant"] == 0].set_index(["seed", "step"])[list(columns)]
    base = frame[frame["variant"] == 1].set_index(["seed", "step"])[list(columns)]
    ratio = (shocked / base.where(base != 0)).reset_index()
    ratio.insert(2, "day", ratio["step"] * scenario.simulation.dt_days)
    return ratio


def half_life_days(log_ratio: np.ndarray, shock_step: int, dt_days: float) -> float:
    """Days after the impulse until |log ratio| first falls to half its value right after the shock.

    Args:
        log_ratio: log of shocked / twin per step (row ``t`` after ``t`` steps).
        shock_step: step during which the shock acted (its effect shows in row ``shock_step + 1``).
        dt_days: days per step.

    Returns:
        Days (NaN when the effect never halves within the horizon or there is no effect).
    """
    series = np.asarray(log_ratio, dtype=float)[shock_step + 1:]
    if series.size == 0 or not np.isfinite(series[0]) or series[0] == 0:
        return float("nan")
    halved = np.flatnonzero(np.abs(series) <= 0.5 * abs(series[0]))
    return float(halved[0] * dt_days) if halved.size else float("nan")


def impulse_response(scenario, moves: Mapping[str, float], start_day: float, seeds: Iterable[int],
                     inventory_tokens: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Impulse responses of one-off price moves and their half-lives.

    Args:
        scenario: the unshocked scenario.
        moves: label -> relative price of the one-step move (0.5 = -50%, 2.0 = +100%).
        start_day: day of the move.
        seeds: root seeds.
        inventory_tokens: tokens the arbitrageur holds for falls.

    Returns:
        (ratios, summary): tidy ratios with a ``move`` column; per move the price impact, the half-life in
        days of the median log price ratio and the median of the per-seed half-lives, the price ratio a
        year later, and the providers' extreme and final ratio (median over seeds).
    """
    seeds = list(seeds)
    frames, rows = [], []
    for label, rel in moves.items():
        shocked = with_shocks(scenario, (one_off_move(start_day, rel, inventory_tokens),))
        ratio = twin_ratios(shocked, seeds)
        ratio.insert(0, "move", label)
        frames.append(ratio)
        step = int(np.floor(start_day / scenario.simulation.dt_days + 1e-9))
        price = np.log(ratio.pivot(index="step", columns="seed", values="price"))
        per_seed = [half_life_days(price[s].to_numpy(), step, scenario.simulation.dt_days) for s in seeds]
        providers = ratio.pivot(index="step", columns="seed", values="providers").median(axis=1).loc[step + 1:]
        year_later = step + 1 + round(365 / scenario.simulation.dt_days)
        rows.append({
            "move": label, "relative_price": rel,
            "price_impact": float(np.exp(np.nanmedian(price.loc[step + 1]))),
            "half_life_days": half_life_days(np.nanmedian(price.to_numpy(), axis=1), step,
                                             scenario.simulation.dt_days),
            "median_seed_half_life_days": float(np.nanmedian(per_seed)),
            "seeds_halved": int(np.isfinite(per_seed).sum()), "seeds": len(seeds),
            "price_ratio_1y": float(np.exp(np.nanmedian(price.loc[min(year_later, price.index[-1])]))),
            "providers_extreme": float(providers.min() if rel < 1 else providers.max()),
            "providers_ratio_final": float(providers.iloc[-1]),
        })
    return pd.concat(frames, ignore_index=True), pd.DataFrame(rows)


def crash_ablation(scenario, variants: Mapping[str, Mapping], seeds: Iterable[int]) -> pd.DataFrame:
    """The shock's effect on price and providers with parts of the economy switched off.

    Args:
        scenario: a shocked scenario.
        variants: label -> overrides (dotted paths) applied to both the shocked run and its twin.
        seeds: root seeds.

    Returns:
        One row per variant and seed: price and provider ratio (shocked / twin) at their trough after the
        shock and at the horizon.
    """
    seeds = list(seeds)
    rows = []
    start = min(s.start_day for s in scenario.shocks)
    step = int(np.floor(start / scenario.simulation.dt_days + 1e-9))
    for label, overrides in variants.items():
        ratio = twin_ratios(with_overrides(scenario, dict(overrides)), seeds)
        after = ratio[ratio["step"] > step]
        for seed, run in after.groupby("seed"):
            rows.append({"variant": label, "seed": seed,
                         "price_trough": float(run["price"].min()), "providers_trough": float(run["providers"].min()),
                         "price_final": float(run["price"].iloc[-1]),
                         "providers_final": float(run["providers"].iloc[-1])})
    return pd.DataFrame(rows)
