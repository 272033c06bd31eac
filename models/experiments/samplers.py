"""Unit-cube designs of a sweep: Latin hypercube, Sobol (Saltelli) and Morris, shared by sweeps and analysis.

A sweep's points are a design on ``[0, 1]^D`` scaled onto each parameter's range (or list of values). The
analysis of a Sobol or Morris sweep (``models.analysis.sensitivity``) needs the very same design, in the
same order, so both call :func:`unit_design` here and nothing else draws one.

Sources: Saltelli et al. (2010), *Variance based sensitivity analysis of model output*, Comput. Phys.
Commun. 181, 259-270 (the ``N (D + 2)`` and ``N (2D + 2)`` designs); Morris (1991), *Factorial sampling
plans for preliminary computational experiments*, Technometrics 33, 161-174 (``r (D + 1)`` trajectories on a
``levels``-level grid). Both are drawn with SALib (``SALib.sample.sobol``, ``SALib.sample.morris``).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def problem(names: list[str]) -> dict[str, Any]:
    """SALib's problem dict for ``names`` on the unit cube (ranges are applied when points are scaled)."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def unit_design(sampler: str, names: list[str], samples: int, seed: int, *, second_order: bool = False,
                levels: int = 4) -> np.ndarray:
    """The design of a sampled sweep on the unit cube, one row per point.

    Args:
        sampler: ``latin_hypercube``, ``sobol`` or ``morris``.
        names: the swept parameters, in the spec's order (columns of the result).
        samples: LHS points; Sobol base sample ``N``; Morris trajectories ``r``.
        seed: the sweep's root seed (the design is a function of it alone).
        second_order: Sobol only: the ``N (2D + 2)`` design that also gives second-order indices.
        levels: Morris only: grid levels ``p`` (even; the jump is ``p / (2 (p - 1))``).

    Returns:
        Array ``(points, D)`` in ``[0, 1]``.
    """
    if sampler == "latin_hypercube":
        from scipy.stats import qmc

        return qmc.LatinHypercube(d=len(names), rng=np.random.default_rng(seed)).random(samples)
    if sampler == "sobol":
        from SALib.sample import sobol

        return np.clip(sobol.sample(problem(names), samples, calc_second_order=second_order, seed=seed), 0.0, 1.0)
    if sampler == "morris":
        from SALib.sample import morris

        return morris.sample(problem(names), samples, num_levels=levels, seed=seed)
    raise ValueError(f"{sampler!r} is not a sampled design (allowed: latin_hypercube, sobol, morris)")


def design_points(sampler: str, dims: int, samples: int, second_order: bool = False) -> int:
    """Number of points of a design without drawing it."""
    if sampler == "latin_hypercube":
        return samples
    if sampler == "sobol":
        return samples * (2 * dims + 2 if second_order else dims + 2)
    if sampler == "morris":
        return samples * (dims + 1)
    raise ValueError(f"{sampler!r} is not a sampled design (allowed: latin_hypercube, sobol, morris)")
