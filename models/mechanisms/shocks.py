"""Shock events turned into per-step schedules that every engine reads the same way.

Times in a shock are days; here they become steps (``timebase``). The schedule says what each step
asks for; the engines carry it out with the named actor's holdings and record what was achieved.
"""

from __future__ import annotations

import numpy as np

SCHEDULE_KEYS = (
    "crash_drop",  # price drop the forced seller aims for at this step (fraction)
    "liquidity_removed",  # fraction of both pool reserves withdrawn by liquidity providers at this step
    "unlock_fraction",  # fraction of still-unvested tokens unlocked at once
    "demand_multiplier",  # multiplier on the potential user market
    "cost_multiplier",  # multiplier on provider opex
    "factor_shift",  # bear_market: cumulative shift of the log market factor (<= 0)
    "target_price_rel",  # price_path: target price relative to the price at the event start (nan = none)
    "target_price_usd",  # price_path in USD (a replayed history): target price, USD/token (nan = none)
)


def empty_schedule(steps):
    """Schedule arrays for a run with no shocks."""
    sched = {k: np.zeros(steps) for k in SCHEDULE_KEYS}
    sched["demand_multiplier"][:] = 1.0
    sched["cost_multiplier"][:] = 1.0
    sched["target_price_rel"][:] = np.nan
    sched["target_price_usd"][:] = np.nan
    return sched


def start_step(shock, dt_days) -> int:
    """First step of a shock before jitter."""
    return int(np.floor(shock.start_day / dt_days + 1e-9))


def jitter_steps(shock, dt_days) -> int:
    """Largest whole-step delay the start jitter allows."""
    return int(np.floor(shock.start_jitter_days / dt_days + 1e-9))


def duration_steps(shock, dt_days) -> int:
    """Steps a shock lasts (at least one)."""
    return max(1, int(round(shock.duration_days / dt_days)))


def path_values(shock, steps_after_start, dt_days):
    """price_path: relative target price at each step from the start, linearly interpolated in days."""
    days = np.arange(steps_after_start) * dt_days
    knots = np.arange(len(shock.path)) * shock.path_interval_days
    inside = days <= knots[-1] + 1e-9
    return np.interp(days[inside], knots, np.asarray(shock.path, dtype=float))


def shock_schedule(shocks, steps, starts, dt_days=7.0):
    """Per-step schedule arrays for ``shocks`` with realised start steps ``starts``.

    Args:
        shocks: sequence of ShockEvent-like objects.
        steps: horizon in steps.
        starts: realised start step of each shock (after jitter).
        dt_days: days per step.

    Returns:
        dict of arrays of length ``steps``, keys as in SCHEDULE_KEYS.
    """
    sched = empty_schedule(steps)
    for shock, start in zip(shocks, starts, strict=True):
        if start >= steps:
            continue
        duration = duration_steps(shock, dt_days)
        window = slice(start, min(steps, start + duration))
        if shock.type == "price_crash":
            # a crash lasting several steps spreads the same total drop evenly in log terms
            per_step = 1.0 - (1.0 - shock.size) ** (1.0 / duration)
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
            # the factor falls by `size` over the duration, evenly in logs, and stays down (a random walk) unless
            # it reverts: then it climbs back over another duration from revert_after_days after the fall
            k = np.arange(1, steps - start + 1)
            ramp = np.minimum(k / duration, 1.0)
            if getattr(shock, "revert_after_days", None) is not None:
                back = duration + int(round(shock.revert_after_days / dt_days))
                ramp = ramp - np.clip((k - back) / duration, 0.0, 1.0)
            sched["factor_shift"][start:] += np.log1p(-shock.size) * ramp
        elif shock.type == "price_path":
            values = path_values(shock, steps - start, dt_days)
            key = "target_price_usd" if shock.path_unit == "usd" else "target_price_rel"
            sched[key][start:start + len(values)] = values
    return sched

