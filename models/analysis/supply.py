"""Supply-side measures of a run: exit waves around halvings, orders, lead times, exits after a shock.

Each takes the tidy per-step frame of one run (``models.output``; columns ``providers``, ``exits``,
``orders``, ``lead_time_days`` ...) and returns plain numbers, so tests, notebooks and benchmarks share them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.mechanisms import timebase


def halving_steps(scenario) -> list[int]:
    """Steps inside the horizon in which a halving of the emission schedule falls (empty for other schedules)."""
    if scenario.emission.schedule != "halving":
        return []
    sim = scenario.simulation
    period = scenario.emission.halving_period_years * timebase.DAYS_PER_YEAR / sim.dt_days
    return [int(k * period) for k in range(1, int(sim.steps / period) + 1) if k * period < sim.steps]


def largest_exit_share(run: pd.DataFrame, around_step: int, window_steps: int = 4, before_steps: int = 8,
                       after_steps: int = 26) -> float:
    """Largest share of providers that leave within ``window_steps`` consecutive steps near ``around_step``.

    Windows start from ``before_steps`` before to ``after_steps`` after the step; each window's exits are
    divided by the providers active at its start.
    """
    providers, exits = run["providers"].to_numpy(), run["exits"].to_numpy()
    first, last = max(around_step - before_steps, 0), min(around_step + after_steps, len(run) - window_steps)
    shares = [exits[t + 1:t + 1 + window_steps].sum() / providers[t] for t in range(first, last) if providers[t] > 0]
    return float(max(shares)) if shares else float("nan")


def mean_orders(run: pd.DataFrame, first_step: int, last_step: int) -> float:
    """Mean hardware orders per step over steps ``first_step`` .. ``last_step - 1`` (the step's own flow)."""
    return float(run["orders"].to_numpy()[first_step + 1:last_step + 1].mean())


def exit_share_after(run: pd.DataFrame, start_step: int, steps: int) -> float:
    """Providers that leave in the ``steps`` steps from ``start_step`` on, as a share of those active at it."""
    active = run["providers"].to_numpy()[start_step]
    return float(run["exits"].to_numpy()[start_step + 1:start_step + 1 + steps].sum() / active) if active else np.nan


def realised_lead_times(model) -> pd.DataFrame:
    """ABM: per step with arrivals, how many arrived and their mean realised lead time (order to serving), days."""
    return pd.DataFrame(model.lead_time_log, columns=["step", "arrivals", "lead_time_days"])
