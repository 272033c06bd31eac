"""What each shock of a run asked for, who carried it out, and what it achieved.

The row of step ``t + 1`` records the state after step ``t``, so a shock that acts during steps
``start .. start + duration - 1`` shows in rows ``start + 1 .. start + duration``. Forced sales report
the price drop they achieved with their seller's inventory; a price path reports how far the pool
stayed from the path; the other shocks are applied exactly as stated. A shock that falls short gets a
warning: never silent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.mechanisms.shocks import duration_steps, path_values

SHORTFALL_TOLERANCE = 1e-6  # achieved drop may fall this far short of the target from rounding alone
PATH_TOLERANCE = 0.01  # a replayed price more than 1% (in logs) off its path counts as a miss


def _window(frame: pd.DataFrame, start: int, steps: int) -> pd.DataFrame:
    rows = frame.set_index("step")
    return rows.loc[(rows.index > start) & (rows.index <= start + steps)]


def shock_outcomes(frame: pd.DataFrame, scenario, starts) -> list[dict]:
    """One record per shock: type, actor, realised start step, target size, achieved size, warning.

    Args:
        frame: tidy frame of one run.
        scenario: the scenario that produced it.
        starts: realised start step of each shock (``Exogenous.shock_starts``).
    """
    dt = scenario.simulation.dt_days
    out = []
    for i, (shock, start) in enumerate(zip(scenario.shocks, starts, strict=True)):
        record = {"shock": i, "type": shock.type, "actor": shock.actor_name or None, "start_step": int(start),
                  "target": float(shock.size), "achieved": float(shock.size), "warning": None}
        # a path acts on every step its values cover, whatever duration_days says (models.mechanisms.shocks)
        span = len(path_values(shock, int(frame["step"].max()) + 1, dt)) if shock.type == "price_path" \
            else duration_steps(shock, dt)
        window = _window(frame, start, span)
        if shock.type == "price_crash":
            achieved = float(1.0 - np.prod(1.0 - window["crash_achieved"].to_numpy())) if len(window) else 0.0
            record["achieved"] = achieved
            record["inventory_tokens"] = float(shock.inventory_tokens)
            if achieved < shock.size - SHORTFALL_TOLERANCE:
                record["warning"] = (f"shocks.{i}: price_crash by {shock.actor_name!r} achieved a drop of "
                                     f"{achieved:.3g} of the {shock.size:.3g} it aimed for: its inventory of "
                                     f"{shock.inventory_tokens:,.0f} tokens ran out (the pool was deeper than at "
                                     "genesis)")
        elif shock.type == "price_path":
            window = window[window["path_target_price"].notna()]
            miss = np.abs(np.log(window["price"] / window["path_target_price"])) if len(window) else pd.Series([0.0])
            record["target"] = None
            record["achieved"] = None
            record["max_log_miss"] = float(miss.max())
            record["arbitrage_usd_in"] = float(window["arbitrage_usd"].clip(lower=0).sum())
            record["arbitrage_usd_out"] = float((-window["arbitrage_usd"]).clip(lower=0).sum())
            if record["max_log_miss"] > PATH_TOLERANCE:
                record["warning"] = (f"shocks.{i}: price_path by {shock.actor_name!r} missed its path by up to "
                                     f"{record['max_log_miss']:.3g} in log price: its inventory of "
                                     f"{shock.inventory_tokens:,.0f} tokens could not push the price down far enough")
        out.append(record)
    return out


def nominal_starts(scenario) -> tuple[int, ...]:
    """Shock start steps before jitter (for callers without the run's exogenous draws)."""
    from models.mechanisms.shocks import start_step

    return tuple(start_step(s, scenario.simulation.dt_days) for s in scenario.shocks)
