"""Regimes measured against a run's unshocked twin (DESIGN.md, Regimes; issue 11, item 1).

The shock's effect is the shocked path over its twin's (same scenario and seed without the shock, so
every exogenous path, halving and vesting cliff is shared). The regime thresholds of
``scenario.regimes`` are applied to that ratio from the shock's step on, so an event that hits both
twins is not counted as the shock's doing. A scenario without a shock is its own twin: the ratio is 1
everywhere and the run is never ``collapse``.

Where the twin is at zero the ratio is infinite if the shocked run is alive; if both are at zero it keeps the
last ratio from before the twin died (1 when the twin was never alive: both dead all along). A shock that kills
the network years before its twin dies is thus still judged on how far it had fallen, not forgiven as 0 / 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.analysis.regimes import RegimeResult, classify


def twin_ratio(shocked, twin) -> np.ndarray:
    """Shocked over twin per step, with the conventions above where the twin is at zero."""
    shocked, twin = np.asarray(shocked, dtype=float), np.asarray(twin, dtype=float)
    if shocked.shape != twin.shape:
        raise ValueError(f"shocked and twin differ in length: {shocked.shape} against {twin.shape}")
    alive = twin > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(alive, shocked / np.where(alive, twin, 1.0), np.nan)
    # both dead: carry the last ratio from while the twin lived forward (1 before it ever lived)
    last = np.where(alive, np.arange(ratio.size), -1)
    last = np.maximum.accumulate(last) if ratio.size else last
    carried = np.where(last >= 0, ratio[np.maximum(last, 0)], 1.0)
    return np.where(alive, ratio, np.where(shocked > 0, np.inf, carried))


def classify_against_twin(shocked, twin, shock_step: int, regimes, dt_days: float = 7.0) -> RegimeResult:
    """Regime of the shocked/twin ratio from ``shock_step`` on (``models.analysis.regimes.classify``).

    Args:
        shocked: the shocked run's series (providers, say) in step order.
        twin: the twin's series, same length.
        shock_step: the step the shock starts (the row recorded before it acts; the ratio is 1 there for a
            shock that has not acted yet).
        regimes: ``models.params.RegimeParams`` (thresholds).
        dt_days: days per step.

    Returns:
        A :class:`~models.analysis.regimes.RegimeResult` whose levels are ratios to the twin.
    """
    ratio = twin_ratio(shocked, twin)
    return classify(ratio, shock_step, regimes, dt_days=dt_days)


# --- per-run metrics of a shocked run against its twin (issue 11, item 2) ------------------------------

RATIO_SERIES = ("providers", "capacity", "users", "price")
# keys of summarise_run that are twin-relative here and kept with an ``_absolute`` suffix beside them
_ABSOLUTE_KEYS = ("regime", "trough", "fell_below_step", "time_to_collapse", "final_ratio",
                  *(f"{kind}_{col}" for col in RATIO_SERIES[1:] for kind in ("regime", "trough", "final_ratio")))
# below this mean |log price ratio| (5%) the shock moved the price too little to divide by (the gain would blow up)
LOOP_GAIN_MIN_LOG_PRICE = 0.05
PRICE_SHOCKS = ("price_crash", "price_path", "bear_market")  # shocks that reach providers only through the price


def absolute_names(summary: dict) -> dict:
    """``summarise_run``'s metrics with the level-against-pre-shock keys renamed ``<key>_absolute``."""
    out = {k: v for k, v in summary.items() if k not in _ABSOLUTE_KEYS}
    out.update({f"{k}_absolute": summary[k] for k in _ABSOLUTE_KEYS})
    return out


def has_twin(scenario) -> bool:
    """Whether a run needs a separate twin: only a scenario with a shock does (otherwise it is its own twin)."""
    return bool(scenario.shocks)


def twin_scenario(scenario):
    """The unshocked twin (``models.analysis.impulse.twin_of``), or the scenario itself when it has no shock."""
    from models.analysis.impulse import twin_of

    return twin_of(scenario) if has_twin(scenario) else scenario


def _none_if_nan(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def recovery_days(ratio: np.ndarray, shock_idx: int, level: float, dt_days: float) -> float | None:
    """Days from the shock until the ratio is back at ``level`` after its trough (0 if it never fell below).

    None when it never gets back within the horizon (censored: the run ended first).
    """
    after = ratio[shock_idx:]
    if after.size == 0 or np.all(after >= level):
        return 0.0
    trough = int(np.argmin(after))
    back = np.flatnonzero(after[trough:] >= level)
    return float((trough + back[0]) * dt_days) if back.size else None


def loop_gain(frame: pd.DataFrame, twin: pd.DataFrame, shock_idx: int, window_steps: int) -> float | None:
    """Total elasticity of provider entry to price over a window, measured from the pair: d log orders / d log price.

    Over the ``window_steps`` rows after the shock's first effect, the log of the shocked run's orders over
    the twin's (summed) divided by the mean log price ratio. The twin supplies the counterfactual, so
    halvings and market swings that hit both runs cancel. It is a reduced-form, total elasticity: within the
    window the orders also feel what the price did to word of mouth and to the pool of potential providers, not
    only the first link of the loop (entry responding to reward value; Sterman 2000, ch. 17: a reinforcing
    loop's gain is the product of its links' elasticities). None when the twin placed no orders, the shocked
    run placed none (elasticity unbounded) or the shock barely moved the price (``LOOP_GAIN_MIN_LOG_PRICE``);
    :func:`summarise_pair` also leaves it out for shocks that reach providers other than through the price.
    """
    rows = slice(shock_idx + 1, shock_idx + 1 + window_steps)
    orders, twin_orders = frame["orders"].to_numpy()[rows].sum(), twin["orders"].to_numpy()[rows].sum()
    price = frame["price"].to_numpy()[rows]
    twin_price = twin["price"].to_numpy()[rows]
    if orders <= 0 or twin_orders <= 0 or price.size == 0:
        return None
    log_price = float(np.mean(np.log(price / twin_price)))
    if abs(log_price) < LOOP_GAIN_MIN_LOG_PRICE:
        return None
    return _none_if_nan(np.log(orders / twin_orders) / log_price)


def net_inflation_per_year(frame: pd.DataFrame, dt_days: float) -> float | None:
    """Annual growth rate of total supply over the run (minted less burned), compounded."""
    supply = frame["supply"].to_numpy()
    years = (len(supply) - 1) * dt_days / 365.0
    if years <= 0 or supply[0] <= 0:
        return None
    return _none_if_nan((supply[-1] / supply[0]) ** (1.0 / years) - 1.0)


def summarise_pair(frame: pd.DataFrame, twin: pd.DataFrame, scenario, shock_start: int, shock_starts=None) -> dict:
    """Headline metrics of a shocked run judged against its twin, with the absolute ones beside them.

    Args:
        frame: tidy frame of the shocked run.
        twin: tidy frame of its twin (same steps); the run itself when the scenario has no shock.
        scenario: the shocked scenario.
        shock_start: the pre-shock step (``models.analysis.regimes.pre_shock_step``).
        shock_starts: realised start step of every shock.

    Returns:
        ``models.analysis.regimes.summarise_run``'s keys, where ``regime``, ``trough``, ``final_ratio``,
        ``fell_below_step``, ``time_to_collapse`` and the per-series ``regime_<col>``, ``trough_<col>``,
        ``final_ratio_<col>`` are now shocked / twin ratios, and the same keys with ``_absolute`` appended
        hold the levels against the pre-shock level. Added: ``trough_step`` and ``time_to_trough_days`` (of
        the providers ratio), ``time_to_recover_days`` (shock to back at ``recovery_level`` of the twin; 0 if
        never below, None if not within the horizon), ``permanent_loss`` (1 - final providers ratio),
        ``price_drop_vs_twin`` (1 - lowest price ratio: what the shock achieved on the price, whatever its
        type), ``net_inflation_per_year`` (of the shocked run over its whole horizon, not against the twin)
        and ``loop_gain`` (:func:`loop_gain`, over ``recovery_window_days``; None unless every shock acts
        through the price: ``PRICE_SHOCKS``).
    """
    from models.analysis.regimes import summarise_run

    frame, twin = frame.sort_values("step"), twin.sort_values("step")
    if not np.array_equal(frame["step"].to_numpy(), twin["step"].to_numpy()):
        raise ValueError("a run and its twin must cover the same steps")
    dt, regimes = scenario.simulation.dt_days, scenario.regimes
    out = absolute_names(summarise_run(frame, scenario, shock_start, shock_starts))
    steps = frame["step"].to_numpy()
    idx = min(int(np.searchsorted(steps, shock_start)), len(steps) - 1)
    for col in RATIO_SERIES:
        ratio = twin_ratio(frame[col], twin[col])
        result = classify(ratio, shock_start, regimes, steps, dt)
        if col == "providers":
            after = ratio[idx:]
            trough_at = idx + int(np.argmin(after))
            out.update(
                regime=result.regime, trough=_none_if_nan(result.trough), final_ratio=_none_if_nan(result.final_ratio),
                fell_below_step=result.fell_below_step,
                time_to_collapse=(result.fell_below_step - result.pre_step)
                if result.regime == "collapse" and result.fell_below_step is not None else None,
                trough_step=int(steps[trough_at]), time_to_trough_days=float((steps[trough_at] - steps[idx]) * dt),
                time_to_recover_days=recovery_days(ratio, idx, regimes.recovery_level, dt),
                permanent_loss=_none_if_nan(1.0 - result.final_ratio),
            )
        else:
            out.update({f"regime_{col}": result.regime, f"trough_{col}": _none_if_nan(result.trough),
                        f"final_ratio_{col}": _none_if_nan(result.final_ratio)})
            if col == "price":
                out["price_drop_vs_twin"] = _none_if_nan(1.0 - result.trough)
    window = max(1, int(round(regimes.recovery_window_days / dt)))
    through_price = bool(scenario.shocks) and all(sh.type in PRICE_SHOCKS for sh in scenario.shocks)
    out.update(net_inflation_per_year=net_inflation_per_year(frame, dt),
               loop_gain=loop_gain(frame, twin, idx, window) if through_price else None)
    return out
