"""Turn validated scenarios into the arrays the aggregate engines step.

``Structure`` holds what must be shared by every run stepped together (horizon, cohorts, lead time,
number of vesting allocations); ``P`` maps dotted parameter paths to arrays with one value per run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.mechanisms.providers import cost_quantiles

SCHEDULE_CODES = {"constant": 0, "halving": 1, "exponential_decay": 2, "baseline": 3}


@dataclass(frozen=True)
class Structure:
    """Shape of the state shared by all runs in a batch."""

    steps: int
    cohorts: int
    lead_time: int
    allocations: int
    dt_days: float

    @property
    def steps_per_year(self) -> float:
        """Steps in a 365-day year."""
        return 365.0 / self.dt_days


def structure_of(scenario) -> Structure:
    """The structural key of one scenario (runs with equal keys can be batched)."""
    return Structure(
        steps=scenario.simulation.steps,
        cohorts=scenario.simulation.cost_cohorts,
        lead_time=scenario.providers.lead_time_steps,
        allocations=len(scenario.vesting.allocations),
        dt_days=scenario.simulation.dt_days,
    )


def _flatten(prefix: str, block, out: dict) -> None:
    for name, value in block:
        if isinstance(value, bool) or isinstance(value, str) or value is None:
            continue
        if isinstance(value, (int, float)):
            out[f"{prefix}{name}"] = float(value)


def compile_params(scenarios) -> tuple[Structure, dict[str, np.ndarray]]:
    """Stack scenarios into per-run parameter arrays.

    Raises:
        ValueError: when the scenarios do not share one structure.
    """
    structures = {structure_of(s) for s in scenarios}
    if len(structures) != 1:
        raise ValueError(f"scenarios in one batch must share a structure, got {sorted(map(str, structures))}")
    (structure,) = structures
    rows = []
    for sc in scenarios:
        row: dict = {}
        for block_name in ("simulation", "token", "emission", "payment", "market", "providers", "users",
                           "speculators"):
            _flatten(f"{block_name}.", getattr(sc, block_name), row)
        row["token.max_supply"] = np.inf if sc.token.max_supply is None else float(sc.token.max_supply)
        row["emission.schedule_code"] = SCHEDULE_CODES[sc.emission.schedule]
        row["payment.is_bme"] = sc.payment.mode == "bme"
        row["speculators.initial_shares"] = np.asarray(sc.speculators.initial_shares, dtype=float)
        allocs = sc.vesting.allocations
        row["vesting.tokens"] = np.array([a.tokens for a in allocs], dtype=float)
        row["vesting.cliff_steps"] = np.array([a.cliff_steps for a in allocs], dtype=float)
        row["vesting.vesting_steps"] = np.array([a.vesting_steps for a in allocs], dtype=float)
        row["vesting.sell_share"] = np.array([a.sell_share for a in allocs], dtype=float)
        rows.append(row)
    P = {k: np.stack([np.asarray(r[k]) for r in rows]) for k in rows[0]}
    P["providers.opex_cohorts"] = cost_quantiles(
        P["providers.opex_usd_per_step"], P["providers.opex_dispersion"], structure.cohorts
    )
    return structure, P
