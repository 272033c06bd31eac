"""Helpers of the flagship notebook (06): where the flywheel breaks under a lasting price shock.

The sweep itself is ``params/sweeps/price_shock.yaml``; this module adds what the notebook needs around it:
where the spec lives, how many runs a store already holds, the share of runs each regime label calls
collapse, how far the critical shock size moves between two levels of a parameter, representative runs per
regime, and a small hysteresis experiment (a bear market that reverts: does the network come back when the
price does?).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from models.analysis.points import median_interval, wilson

SPEC = "price_shock.yaml"
SIZE = "shocks.0.size"


def spec_path() -> Path:
    """Path of the flagship sweep spec (``models.experiments.timed.sweep_path``)."""
    from models.experiments.timed import sweep_path

    return sweep_path(SPEC)


def sector_path(name: str) -> Path:
    """Path of ``params/sectors/<name>.yaml``, found relative to the installed ``models`` package."""
    import models

    return Path(models.__file__).resolve().parents[1] / "params" / "sectors" / f"{name}.yaml"


def run_study(workers: int = 2, out: str | Path = "../results", quick: bool = False) -> dict:
    """Run (or resume, or verify) the flagship sweep and time the call.

    A store computed by other model code (any edit under ``models/`` changes the code hash) is not mixed
    with new runs: it is moved aside by ``run_sweep(..., resume=False)`` and every run is recomputed.

    Args:
        workers: Dask worker processes.
        out: parent directory of the sweep stores.
        quick: the spec's quick mode.

    Returns:
        ``root`` (the sweep directory), ``seconds`` (wall time of the call), ``stored`` (runs on disk before
        the call), ``computed`` (runs computed by this call) and ``stale`` (an older model's store was moved
        aside).
    """
    from models.experiments.timed import run_timed

    return run_timed(spec_path(), workers=workers, out=out, quick=quick)


def label_shares(summary: pd.DataFrame, by: str = "base", regime: str = "collapse",
                 columns: Sequence[str] = ("regime", "regime_absolute")) -> pd.DataFrame:
    """Share of runs that each regime label calls ``regime``, per group, with Wilson 95% intervals.

    Args:
        summary: one row per run (a sweep's summary).
        by: grouping column; a row ``all`` over every run is appended.
        regime: the regime counted.
        columns: the label columns compared (twin-relative and absolute by default).

    Returns:
        One row per group: ``n`` and, per label column ``c``, ``c``, ``c_low``, ``c_high`` (shares), and
        ``disagree`` (share of runs the two first labels classify differently, one of them as ``regime``).
    """
    rows = []
    groups = [*summary.groupby(by, sort=True), ("all", summary)]
    for key, group in groups:
        row = {by: key, "n": len(group)}
        for col in columns:
            k = int((group[col] == regime).sum())
            low, high = wilson(k, len(group))
            row.update({col: k / len(group), f"{col}_low": low, f"{col}_high": high})
        first, second = (group[c] == regime for c in columns[:2])
        row["disagree"] = float((first != second).mean())
        rows.append(row)
    return pd.DataFrame(rows).set_index(by)


def shift(critical: pd.DataFrame, column: str, low, high, by: str = "base") -> pd.DataFrame:
    """How the critical value moves from ``column == low`` to ``column == high`` within each group of ``by``.

    Args:
        critical: ``SweepResults.critical_values(SIZE, by=[by, column])``.
        column: the parameter whose levels are compared.
        low: the reference level.
        high: the level compared with it.
        by: grouping column (the base).

    Returns:
        One row per group with ``value_low``, ``value_high``, their intervals (``*_lo``, ``*_hi``), ``inside_low``,
        ``inside_high``, ``change`` (``value_high - value_low``) and ``separated`` (the two intervals do not
        overlap). Groups missing either level are left out.
    """
    rows = []
    for key, group in critical.groupby(by, sort=True):
        a, b = group[group[column] == low], group[group[column] == high]
        if a.empty or b.empty:
            continue
        a, b = a.iloc[0], b.iloc[0]
        rows.append({by: key, "value_low": a["value"], "value_high": b["value"], "low_lo": a["low"],
                     "low_hi": a["high"], "high_lo": b["low"], "high_hi": b["high"], "inside_low": bool(a["inside"]),
                     "inside_high": bool(b["inside"]), "change": b["value"] - a["value"],
                     "separated": bool(b["low"] > a["high"] or a["low"] > b["high"])})
    return pd.DataFrame(rows).set_index(by) if rows else pd.DataFrame()


def describe_value(value: float, low: float, high: float, inside: bool) -> str:
    """A critical shock size with its interval, flagged when the crossing lies outside the swept range."""
    if not np.isfinite(value):
        return "no crossing to fit (P(collapse) is the same at every swept size)"
    if np.isfinite(low) and np.isfinite(high):
        interval = f" (95% interval {low:.2f} to {high:.2f})"
    elif np.isfinite(low):
        interval = f" (95% interval from {low:.2f}, open above: resamples put the crossing beyond the data)"
    elif np.isfinite(high):
        interval = f" (95% interval up to {high:.2f}, open below: resamples put the crossing below the data)"
    else:
        interval = ""
    text = f"{value:.2f}{interval}"
    return text if inside else text + ", outside the swept sizes: an extrapolation"


def describe_shift(moves: pd.DataFrame, what: str, low_name: str, high_name: str) -> str:
    """One Markdown bullet per base: which way and how far the critical size moves between two levels."""
    lines = []
    for base, row in moves.iterrows():
        change = row["change"]
        if not np.isfinite(change):
            way = "cannot be compared (no crossing at one of the levels)"
        else:
            resolved = (" (the intervals do not overlap)" if row["separated"]
                        else " (the intervals overlap: not resolved)")
            way = (f"{'rises' if change > 0 else 'falls'} by {abs(change):.2f}" if abs(change) >= 0.005
                   else "does not move") + resolved
        before = describe_value(row["value_low"], row["low_lo"], row["low_hi"], row["inside_low"])
        after = describe_value(row["value_high"], row["high_lo"], row["high_hi"], row["inside_high"])
        lines.append(f"- **{base}**, {what}: the critical size {way}, from {before} with {low_name} to {after} with "
                     f"{high_name}.")
    return "\n".join(lines)


def representative_runs(summary: pd.DataFrame, per_regime: int = 2, by: str = "base",
                        metric: str = "final_ratio") -> pd.DataFrame:
    """Runs typical of each regime in each group: the ``per_regime`` closest to the regime's median ``metric``.

    Returns:
        The chosen summary rows (``run_id``, ``by``, ``regime`` and the rest), ordered by group and regime.
    """
    chosen = []
    for _, group in summary.groupby([by, "regime"], sort=True):
        values = pd.to_numeric(group[metric], errors="coerce")
        distance = (values - values.median()).abs().fillna(np.inf)
        chosen.append(group.loc[distance.sort_values(kind="stable").index[:per_regime]])
    return pd.concat(chosen) if chosen else summary.iloc[:0]


def hysteresis_scenarios(sectors: Sequence[str] = ("wireless", "storage"), sizes: Sequence[float] = (0.5, 0.8, 0.9),
                         revert_after_days: float = 182.0, start_day: float = 364.0, duration_days: float = 91.0,
                         liquidity: float = 0.1) -> list[tuple[dict, object]]:
    """Bear markets of each size, lasting and reverting, on each sector (pool depth ``liquidity``).

    Args:
        sectors: names of ``params/sectors/`` files.
        sizes: falls of the crypto-market factor.
        revert_after_days: days after the fall is complete at which the reverting factor starts to climb back
            (it regains the fall over another ``duration_days``).
        start_day: first day of the fall.
        duration_days: days of the fall (and of the climb back).
        liquidity: ``market.liquidity_target_share`` of every scenario.

    Returns:
        ``(labels, scenario)`` pairs; labels hold ``sector``, ``size`` and ``revert`` (bool).
    """
    from models.params import load_scenario, with_overrides

    out = []
    for name in sectors:
        base = with_overrides(load_scenario(sector_path(name)), {"market.liquidity_target_share": liquidity})
        for size in sizes:
            for revert in (False, True):
                shock = {"type": "bear_market", "start_day": start_day, "size": float(size),
                         "duration_days": duration_days, "revert_after_days": revert_after_days if revert else None}
                out.append(({"sector": name, "size": float(size), "revert": revert},
                            with_overrides(base, {"shocks": [shock]})))
    return out


def measure_day(start_day: float = 364.0, duration_days: float = 91.0, revert_after_days: float = 182.0,
                after_days: float = 365.0) -> float:
    """Day ``after_days`` after a reverting factor is back at its old level (fall, wait, climb back)."""
    return start_day + duration_days + revert_after_days + duration_days + after_days


def run_hysteresis(cases: list[tuple[dict, object]], replicates: int, day: float
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Price and providers of each shocked run over its twin on ``day`` (one row per case and replicate).

    Args:
        cases: :func:`hysteresis_scenarios`.
        replicates: runs per case (each with its unshocked twin), as ``models.analysis.regimes.run_replicates``.
        day: day of the measurement (the step is ``floor(day / dt_days)``, clamped to the horizon).

    Returns:
        ``(points, paths)``: per case and replicate the case labels, ``replicate``, ``price_ratio``,
        ``providers_ratio`` on ``day`` and ``regime`` (twin-relative, over the whole run); and the same ratios
        at every step (``step`` column) for the figures.
    """
    from models.analysis.twin_runs import run_pairs, summarise
    from models.analysis.twins import twin_ratio

    rows, paths = [], []
    for labels, scenario in cases:
        keys = [(0, r) for r in range(replicates)]
        pairs = run_pairs([scenario] * replicates, keys)
        step = min(int(day // scenario.simulation.dt_days), scenario.simulation.steps)
        for r, pair in enumerate(pairs):
            at = int(np.searchsorted(pair.frame["step"].to_numpy(), step))
            at = min(at, len(pair.frame) - 1)
            series = {f"{c}_ratio": twin_ratio(pair.frame[c], pair.twin[c]) for c in ("price", "providers")}
            paths.append(pd.DataFrame({**labels, "replicate": r, "step": pair.frame["step"].to_numpy(), **series}))
            ratios = {c: float(series[f"{c}_ratio"][at]) for c in ("price", "providers")}
            rows.append({**labels, "replicate": r, "step": int(pair.frame["step"].iloc[at]),
                         "price_ratio": ratios["price"], "providers_ratio": ratios["providers"],
                         "regime": summarise(pair, scenario, 0, r)["regime"]})
    return pd.DataFrame(rows), pd.concat(paths, ignore_index=True)


def hysteresis_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per sector, size and revert: medians of the price and providers ratios with bootstrap 95% intervals.

    ``gap`` is price ratio minus providers ratio per run (positive: the price came back further than the
    network); ``share_below`` is the share of runs whose providers ratio is below their price ratio.
    """
    rows = []
    runs = runs.assign(gap=runs["price_ratio"] - runs["providers_ratio"])
    for (sector, size, revert), group in runs.groupby(["sector", "size", "revert"], sort=True):
        row = {"sector": sector, "size": size, "revert": revert, "n": len(group)}
        for col in ("price_ratio", "providers_ratio", "gap"):
            med, low, high = median_interval(group[col])
            row.update({col: med, f"{col}_low": low, f"{col}_high": high})
        row["share_below"] = float((group["gap"] > 0).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def critical_table(tables: dict[str, pd.DataFrame], by: str = "base") -> pd.DataFrame:
    """Critical shock sizes of several ``critical_values`` tables in one tidy table.

    Args:
        tables: ``{varied column: SweepResults.critical_values(SIZE, by=[by, column])}``.
        by: the group column kept beside each level.

    Returns:
        ``by``, ``varied``, ``level``, ``runs``, ``P(collapse)`` (share over the group's runs), ``critical size``,
        ``low``, ``high`` and ``inside`` (the crossing lies within the swept sizes).
    """
    parts = []
    for column, table in tables.items():
        parts.append(pd.DataFrame({by: table[by], "varied": column, "level": table[column].astype(str),
                                   "runs": table["n"], "P(collapse)": table["share"],
                                   "critical size": table["value"], "low": table["low"], "high": table["high"],
                                   "inside": table["inside"]}))
    return pd.concat(parts, ignore_index=True).set_index([by, "varied", "level"])
