"""Shock events turned into per-step schedules that every engine reads the same way."""

from __future__ import annotations

import numpy as np

SCHEDULE_KEYS = (
    "crash_drop",  # fraction the price is pushed down by a forced sale at this step
    "liquidity_removed",  # fraction of both pool reserves withdrawn at this step
    "unlock_fraction",  # fraction of still-unvested tokens unlocked at once
    "demand_multiplier",  # multiplier on the potential user market
    "cost_multiplier",  # multiplier on provider opex
    "sentiment_shift",  # added to market sentiment
    "target_price_rel",  # price_path: target price relative to the price at the event start (nan = none)
)


def empty_schedule(steps):
    """Schedule arrays for a run with no shocks."""
    sched = {k: np.zeros(steps) for k in SCHEDULE_KEYS}
    sched["demand_multiplier"][:] = 1.0
    sched["cost_multiplier"][:] = 1.0
    sched["target_price_rel"][:] = np.nan
    return sched


def shock_schedule(shocks, steps, starts):
    """Per-step schedule arrays for ``shocks`` with realised start steps ``starts``.

    Args:
        shocks: sequence of ShockEvent-like objects (type, size, duration, path).
        steps: horizon.
        starts: realised start step of each shock (after jitter).

    Returns:
        dict of arrays of length ``steps``, keys as in SCHEDULE_KEYS.
    """
    sched = empty_schedule(steps)
    for shock, start in zip(shocks, starts, strict=True):
        if start >= steps:
            continue
        window = slice(start, min(steps, start + shock.duration))
        if shock.type == "price_crash":
            # a crash lasting several steps spreads the same total drop evenly in log terms
            per_step = 1.0 - (1.0 - shock.size) ** (1.0 / shock.duration)
            sched["crash_drop"][window] = 1.0 - (1.0 - sched["crash_drop"][window]) * (1.0 - per_step)
        elif shock.type == "liquidity_drain":
            sched["liquidity_removed"][start] = 1.0 - (1.0 - sched["liquidity_removed"][start]) * (1 - shock.size)
        elif shock.type == "unlock_cliff":
            sched["unlock_fraction"][start] = 1.0 - (1.0 - sched["unlock_fraction"][start]) * (1 - shock.size)
        elif shock.type == "demand_drop":
            sched["demand_multiplier"][window] *= 1.0 - shock.size
        elif shock.type == "cost_spike":
            sched["cost_multiplier"][window] *= 1.0 + shock.size
        elif shock.type == "bear_market":
            sched["sentiment_shift"][window] -= shock.size
        elif shock.type == "price_path":
            path = np.asarray(shock.path, dtype=float)
            end = min(steps, start + len(path))
            sched["target_price_rel"][start:end] = path[: end - start]
    return sched
