"""Global sensitivity of sweep outcomes: Sobol indices (first, total, second order) and Morris screening.

A Sobol or Morris sweep (``sampler: sobol | morris`` in a spec, ``models.experiments.spec``) runs its design
through the sweep machinery like any other; this module takes the same design back
(``models.experiments.samplers.unit_design``, via the spec) and the outcome of every point, and calls SALib.
Outcomes are a summary column (:func:`outcome`) or a path over the horizon (:func:`outcome_paths`), so the
indices can be followed step by step (:func:`sobol_over_time`), which SALib itself does not offer
(SALib issue #525).

Methods: Saltelli et al. (2010), Comput. Phys. Commun. 181, 259-270 (estimators of first-order and total
indices, as implemented in ``SALib.analyze.sobol``), with bootstrap confidence intervals (Archer, Saltelli
and Sobol 1997); Morris (1991), Technometrics 33, 161-174, with the mu* of Campolongo, Cariboni and Saltelli
(2007), Environ. Model. Softw. 22, 1509-1518 (``SALib.analyze.morris``). The design is on the unit cube, so
a Morris elementary effect is the change of the outcome per full range of a parameter.

Replicates of a point are averaged before the analysis (the indices describe the expected outcome); with
``common_random_numbers: true`` every point sees the same market paths, so the indices do not mix a
parameter's effect with a new draw of the market.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models.experiments.samplers import design_points, problem, unit_design

SEED = 20261203  # bootstrap resampling seed of every interval here (assumption: any fixed seed)


def _names(spec) -> list[str]:
    if isinstance(spec.base, dict):
        raise ValueError("sensitivity analysis needs a sweep over one base (this one crosses several)")
    if spec.sampler not in ("sobol", "morris"):
        raise ValueError(f"sensitivity analysis needs sampler sobol or morris (this sweep uses {spec.sampler})")
    return list(spec.parameters)


def design(spec) -> np.ndarray:
    """The unit-cube design of a Sobol or Morris spec, row ``i`` = point ``i`` of the sweep."""
    names = _names(spec)
    return unit_design(spec.sampler, names, spec.samples, spec.seed, second_order=spec.second_order,
                       levels=spec.levels)


def _check(spec, y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    expected = design_points(spec.sampler, len(_names(spec)), spec.samples, spec.second_order)
    if y.shape[0] != expected:
        raise ValueError(f"{y.shape[0]} outcomes for a design of {expected} points")
    bad = ~np.isfinite(y)
    if bad.any():
        raise ValueError(f"{int(bad.sum())} of {y.size} outcomes are not finite (the estimators need every "
                         "point; choose an outcome defined for every run, or fill it explicitly)")
    return y


def sobol_indices(spec, y, *, num_resamples: int = 1000, conf_level: float = 0.95,
                  seed: int = SEED) -> dict[str, pd.DataFrame]:
    """First-order and total Sobol indices (and second-order ones for a ``second_order`` design).

    Args:
        spec: the loaded Sobol sweep spec.
        y: one outcome per point, in point order (:func:`outcome`).
        num_resamples: bootstrap resamples of the confidence intervals.
        conf_level: confidence level of the intervals.
        seed: bootstrap seed.

    Returns:
        ``{"indices": parameter, S1, S1_low, S1_high, ST, ST_low, ST_high}`` and, for a second-order design,
        ``{"second_order": parameter_a, parameter_b, S2, S2_low, S2_high}``. Low/high are the estimate
        minus/plus SALib's bootstrap half-width (normal approximation at ``conf_level``).
    """
    from SALib.analyze import sobol

    names = _names(spec)
    y = _check(spec, y)
    res = sobol.analyze(problem(names), y, calc_second_order=spec.second_order, num_resamples=num_resamples,
                        conf_level=conf_level, seed=seed)
    table = pd.DataFrame({"parameter": names, "S1": res["S1"], "S1_conf": res["S1_conf"],
                          "ST": res["ST"], "ST_conf": res["ST_conf"]})
    for key in ("S1", "ST"):
        table[f"{key}_low"] = table[key] - table[f"{key}_conf"]
        table[f"{key}_high"] = table[key] + table[f"{key}_conf"]
    out = {"indices": table.drop(columns=["S1_conf", "ST_conf"])}
    if spec.second_order:
        rows = [{"parameter_a": names[i], "parameter_b": names[j], "S2": res["S2"][i, j],
                 "S2_low": res["S2"][i, j] - res["S2_conf"][i, j], "S2_high": res["S2"][i, j] + res["S2_conf"][i, j]}
                for i in range(len(names)) for j in range(i + 1, len(names))]
        out["second_order"] = pd.DataFrame(rows)
    return out


def sobol_over_time(spec, paths: np.ndarray, steps=None, *, every: int = 1, num_resamples: int = 200,
                    conf_level: float = 0.95, seed: int = SEED, min_variance: float = 1e-12,
                    min_relative_std: float = 1e-3) -> pd.DataFrame:
    """First-order and total indices of an outcome at every ``every``-th step of the horizon.

    Args:
        spec: the loaded Sobol sweep spec.
        paths: array ``(points, steps)``, the outcome of every point at every step (:func:`outcome_paths`).
        steps: the step numbers of ``paths``' columns (default ``0 .. steps - 1``).
        every: analyse every ``every``-th column only.
        num_resamples: bootstrap resamples per step (fewer than :func:`sobol_indices` uses: many steps).
        conf_level: confidence level of the intervals.
        seed: bootstrap seed.
        min_variance: a step whose outcome varies less than this over the design (before a shock, a ratio to
            the twin is 1 everywhere) has no indices: its rows are NaN with ``defined`` False.
        min_relative_std: likewise when the outcome's standard deviation is below this share of its mean
            magnitude (just after a shock the ratio has barely moved, and the estimators divide a tiny variance
            by itself: S1 of 2.6 and ST of 6 were seen at N = 16).

    Returns:
        Tidy frame: ``step, parameter, S1, S1_low, S1_high, ST, ST_low, ST_high, variance, defined``.
    """
    paths = np.asarray(paths, dtype=float)
    steps = np.arange(paths.shape[1]) if steps is None else np.asarray(steps)
    frames = []
    for col in range(0, paths.shape[1], every):
        y = paths[:, col]
        variance = float(np.var(y)) if np.isfinite(y).all() else float("nan")
        spread = np.sqrt(variance) >= min_relative_std * float(np.mean(np.abs(y))) if np.isfinite(variance) else False
        if np.isfinite(variance) and variance > min_variance and spread:
            table = sobol_indices(spec, y, num_resamples=num_resamples, conf_level=conf_level,
                                  seed=seed)["indices"].assign(defined=True)
        else:
            table = pd.DataFrame({"parameter": _names(spec), "defined": False})
            for key in ("S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"):
                table[key] = np.nan
        frames.append(table.assign(step=int(steps[col]), variance=variance))
    frame = pd.concat(frames, ignore_index=True)
    return frame[["step", "parameter", "S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high", "variance", "defined"]]


def morris_indices(spec, y, *, num_resamples: int = 1000, conf_level: float = 0.95,
                   seed: int = SEED) -> pd.DataFrame:
    """Morris screening: mu, mu* (with a bootstrap interval), sigma and the rank by mu* per parameter.

    Args:
        spec: the loaded Morris sweep spec.
        y: one outcome per point, in point order (:func:`outcome`).
        num_resamples: bootstrap resamples of the mu* interval.
        conf_level: confidence level of the interval.
        seed: bootstrap seed.

    Returns:
        One row per parameter, sorted by mu* (largest first): ``parameter, mu, mu_star, mu_star_low,
        mu_star_high, sigma, rank``. Effects are per full range of each parameter (the design is on the unit
        cube); sigma large against mu* means interactions or a non-linear effect (Morris 1991).
    """
    from SALib.analyze import morris

    names = _names(spec)
    y = _check(spec, y)
    res = morris.analyze(problem(names), design(spec), y, num_resamples=num_resamples, conf_level=conf_level,
                         num_levels=spec.levels, seed=seed)
    table = pd.DataFrame({"parameter": names, "mu": res["mu"], "mu_star": res["mu_star"],
                          "mu_star_conf": res["mu_star_conf"], "sigma": res["sigma"]})
    table["mu_star_low"] = table["mu_star"] - table["mu_star_conf"]
    table["mu_star_high"] = table["mu_star"] + table["mu_star_conf"]
    table = table.sort_values("mu_star", ascending=False, kind="stable").reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    return table[["parameter", "mu", "mu_star", "mu_star_low", "mu_star_high", "sigma", "rank"]]


def outcome(summary: pd.DataFrame, column: str, equals: Any = None, points: int | None = None) -> np.ndarray:
    """One value per point from a sweep's summary: ``column`` (or ``column == equals``), averaged over replicates.

    Args:
        summary: ``SweepResults.summary``.
        column: a summary column, for example ``trough`` or ``regime``.
        equals: compare first (``regime`` equals ``collapse`` gives P(collapse) per point).
        points: the design's size; every point must be present (a missing one is an error).
    """
    values = summary[column]
    values = (values == equals).astype(float) if equals is not None else values.astype(float)
    y = values.groupby(summary["point"]).mean()
    n = points if points is not None else int(summary["point"].max()) + 1
    missing = sorted(set(range(n)) - set(y.index))
    if missing:
        raise ValueError(f"{len(missing)} points have no run in the summary (first: point {missing[0]})")
    return y.reindex(range(n)).to_numpy()


def outcome_paths(series: pd.DataFrame, column: str, relative_to_twin: bool = False, points: int | None = None,
                  floor: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """``(points, steps)`` paths of ``column`` from stored time series, averaged over replicates.

    Args:
        series: ``SweepResults.timeseries(columns=["point", "replicate", "step", column, ...])``.
        column: an output column.
        relative_to_twin: the run's value over its twin's (``twin_<column>``): the shock's effect alone.
        points: the design's size (every point must be present).
        floor: a twin value below this counts as this (a dead twin does not divide by zero).

    Returns:
        ``(paths, steps)``.
    """
    values = series[column].astype(float)
    if relative_to_twin:
        values = values / np.maximum(series[f"twin_{column}"].astype(float), floor)
    table = values.groupby([series["point"], series["step"]]).mean().unstack("step")
    n = points if points is not None else int(series["point"].max()) + 1
    missing = sorted(set(range(n)) - set(table.index))
    if missing:
        raise ValueError(f"{len(missing)} points have no stored series (first: point {missing[0]})")
    table = table.reindex(range(n))
    return table.to_numpy(), table.columns.to_numpy()
