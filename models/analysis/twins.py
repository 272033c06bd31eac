"""Regimes measured against a run's unshocked twin (DESIGN.md, Regimes; issue 11, item 1).

The shock's effect is the shocked path over its twin's (same scenario and seed without the shock, so
every exogenous path, halving and vesting cliff is shared). The regime thresholds of
``scenario.regimes`` are applied to that ratio from the shock's step on, so an event that hits both
twins is not counted as the shock's doing. A scenario without a shock is its own twin: the ratio is 1
everywhere and the run is never ``collapse``.

Where the twin is at zero the ratio is 1 if the shocked run is at zero too (both dead: the shock made no
difference) and infinite if the shocked run is alive.
"""

from __future__ import annotations

import numpy as np

from models.analysis.regimes import RegimeResult, classify


def twin_ratio(shocked, twin) -> np.ndarray:
    """Shocked over twin per step, with the conventions above where the twin is at zero."""
    shocked, twin = np.asarray(shocked, dtype=float), np.asarray(twin, dtype=float)
    if shocked.shape != twin.shape:
        raise ValueError(f"shocked and twin differ in length: {shocked.shape} against {twin.shape}")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = shocked / np.where(twin > 0, twin, 1.0)
    return np.where(twin > 0, ratio, np.where(shocked > 0, np.inf, 1.0))


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
