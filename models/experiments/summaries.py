"""Summary rows of a whole chunk of runs at once, on ``(runs, steps)`` numpy arrays (issue 14).

The same numbers, bit for bit, as ``models.analysis.twin_runs.summarise`` applied run by run (that is
``models.analysis.twins.summarise_pair`` over ``models.analysis.regimes.summarise_run``), without a pandas
frame per run: every ratio, division, comparison, minimum and sum is the same IEEE operation on the same
values in the same order (row-wise reductions of a C-contiguous array sum each row exactly as a 1-d sum
does). What stays per run is cheap scalar work on numpy rows: the transcendental pieces (``log``, ``pow``
of the loop gain and the inflation rate) and the shock outcomes, computed on exactly the 1-d slices the
per-run code uses, so that no vectorised math library can round them differently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.analysis.twins import PRICE_SHOCKS, RATIO_SERIES, absolute_names

# what the summary reads of a run (and of its twin); the rest of the tidy frame is never needed
SUMMARY_COLUMNS = ("providers", "capacity", "users", "price", "revenue_usd", "emission_usd", "supply", "orders",
                   "crash_achieved", "path_target_price")
REGIME_COLUMNS = ("providers", "capacity", "users", "price")


@dataclass(frozen=True)
class Thresholds:
    """Per-run regime thresholds as arrays over runs (``models.params.RegimeParams`` and ``dt_days``)."""

    collapse: np.ndarray
    recovery: np.ndarray
    growth: np.ndarray
    min_rise: np.ndarray
    window: np.ndarray  # steps of ``recovery_window_days``, at least 1
    dt: np.ndarray

    @classmethod
    def of(cls, scenarios: Sequence) -> Thresholds:
        """Thresholds of each scenario, in order."""
        reg = [sc.regimes for sc in scenarios]
        dt = np.array([float(sc.simulation.dt_days) for sc in scenarios])
        window = np.array([max(1, int(round(r.recovery_window_days / d))) for r, d in zip(reg, dt, strict=True)])
        return cls(np.array([r.collapse_level for r in reg], dtype=float),
                   np.array([r.recovery_level for r in reg], dtype=float),
                   np.array([r.growth_level for r in reg], dtype=float),
                   np.array([r.recovery_min_rise for r in reg], dtype=float), window, dt)


@dataclass(frozen=True)
class Classified:
    """:func:`models.analysis.regimes.classify` of every row: arrays over runs."""

    regime: np.ndarray  # str objects
    pre_step: np.ndarray
    fell: np.ndarray  # bool: fell below the collapse level
    fell_step: np.ndarray
    trough: np.ndarray
    final: np.ndarray

    def fell_below(self, r: int) -> int | None:
        """``fell_below_step`` of run ``r`` (None when it never fell)."""
        return int(self.fell_step[r]) if self.fell[r] else None


def classify_rows(values: np.ndarray, steps: np.ndarray, pre_step: np.ndarray, th: Thresholds) -> Classified:
    """``models.analysis.regimes.classify`` of each row of ``values`` (runs, steps) at once.

    Args:
        values: one series per run, in step order.
        steps: the step numbers, shared by every row.
        pre_step: each run's reference step.
        th: per-run thresholds.

    Returns:
        The classification of every row, equal to the per-row results.
    """
    n, length = values.shape
    rows, cols = np.arange(n), np.arange(length)
    idx = np.minimum(np.searchsorted(steps, pre_step, side="left"), length - 1)
    pre = values[rows, idx]
    positive = np.isfinite(values) & (values > 0)
    earlier = np.where(positive & (cols < idx[:, None]), cols, -1).max(axis=1)
    dead = np.isfinite(pre) & (pre <= 0) & (earlier >= 0)  # died before the reference: its last positive level
    level_idx = np.where(dead, earlier, idx)
    pre = np.where(dead, values[rows, np.maximum(earlier, 0)], pre)
    ok = np.isfinite(pre) & (pre > 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = values / np.where(ok, pre, 1.0)[:, None]
    fall = (cols >= level_idx[:, None]) & (ratio < th.collapse[:, None])
    fell = fall.any(axis=1) & ok
    fell_step = steps[fall.argmax(axis=1)]
    final = ratio[:, -1]
    window_start = np.maximum(0, length - idx - 1 - th.window)
    with np.errstate(invalid="ignore"):
        rising = final - ratio[rows, idx + window_start] > th.min_rise
    trough = np.where(cols >= idx[:, None], ratio, np.inf).min(axis=1)
    collapse = ok & (final < th.collapse) & ~rising
    recovery = ok & ~collapse & fell & (final >= th.recovery)
    growth = ok & ~collapse & ~recovery & ~fell & (final > th.growth)
    regime = np.select([collapse, recovery, growth], ["collapse", "recovery", "growth"], "stall").astype(object)
    return Classified(regime, steps[idx], fell, fell_step, np.where(ok, trough, np.nan), np.where(ok, final, np.nan))


def twin_ratio_rows(shocked: np.ndarray, twin: np.ndarray) -> np.ndarray:
    """``models.analysis.twins.twin_ratio`` of each row (runs, steps) at once."""
    alive = twin > 0
    rows, cols = np.arange(shocked.shape[0])[:, None], np.arange(shocked.shape[1])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(alive, shocked / np.where(alive, twin, 1.0), np.nan)
    last = np.maximum.accumulate(np.where(alive, cols, -1), axis=1)
    carried = np.where(last >= 0, ratio[rows, np.maximum(last, 0)], 1.0)
    return np.where(alive, ratio, np.where(shocked > 0, np.inf, carried))


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _sum(row: np.ndarray) -> np.ndarray:
    """Row sums as pandas' skipna ``Series.sum`` gives them (NaN counted as 0)."""
    return np.where(np.isnan(row), 0.0, row).sum(axis=-1)


def _shock_summary(scenario, starts, steps: np.ndarray, crash: np.ndarray, price: np.ndarray,
                   target: np.ndarray) -> dict:
    """``shock_target``, ``shock_achieved`` and ``shock_warnings`` of one run (``models.analysis.shocks``)."""
    from models.analysis.shocks import PATH_TOLERANCE, SHORTFALL_TOLERANCE
    from models.mechanisms.shocks import duration_steps, path_values

    dt = scenario.simulation.dt_days
    first: dict = {}
    warnings = 0
    for i, (shock, start) in enumerate(zip(scenario.shocks, starts, strict=True)):
        span = len(path_values(shock, int(steps.max()) + 1, dt)) if shock.type == "price_path" \
            else duration_steps(shock, dt)
        inside = (steps > start) & (steps <= start + span)
        outcome = {"target": float(shock.size), "achieved": float(shock.size)}
        if shock.type == "price_crash":
            window = crash[inside]
            outcome["achieved"] = float(1.0 - np.prod(1.0 - window)) if window.size else 0.0
            warnings += outcome["achieved"] < shock.size - SHORTFALL_TOLERANCE
        elif shock.type == "price_path":
            kept = inside & ~np.isnan(target)
            outcome = {"target": None, "achieved": None}
            if kept.any():
                with np.errstate(divide="ignore", invalid="ignore"):
                    miss = np.abs(np.log(price[kept] / target[kept]))
                worst = float(np.nanmax(miss)) if not np.isnan(miss).all() else math.nan
            else:
                worst = 0.0
            warnings += worst > PATH_TOLERANCE
        if i == 0:
            first = outcome
    return {"shock_target": _finite(first["target"]) if first.get("target") is not None else None,
            "shock_achieved": _finite(first["achieved"]) if first.get("achieved") is not None else None,
            "shock_warnings": int(warnings)}


def _loop_gain(orders, twin_orders, price, twin_price, idx: int, window: int) -> float | None:
    """``models.analysis.twins.loop_gain`` on one run's rows (the same 1-d slices)."""
    from models.analysis.twins import LOOP_GAIN_MIN_LOG_PRICE

    rows = slice(idx + 1, idx + 1 + window)
    total, twin_total = orders[rows].sum(), twin_orders[rows].sum()
    p = price[rows]
    if total <= 0 or twin_total <= 0 or p.size == 0:
        return None
    log_price = float(np.mean(np.log(p / twin_price[rows])))
    if abs(log_price) < LOOP_GAIN_MIN_LOG_PRICE:
        return None
    return _finite(np.log(total / twin_total) / log_price)


def _inflation(supply: np.ndarray, dt: float) -> float | None:
    years = (len(supply) - 1) * dt / 365.0
    if years <= 0 or supply[0] <= 0:
        return None
    return _finite((supply[-1] / supply[0]) ** (1.0 / years) - 1.0)


def summarise_rows(main: dict[str, np.ndarray], twin: dict[str, np.ndarray], steps: np.ndarray, scenarios: Sequence,
                   shock_starts: Sequence[tuple[int, ...]]) -> list[dict]:
    """Summary of every run of a group (one step vector): ``models.analysis.twin_runs.summarise`` per run.

    Args:
        main: column -> (runs, steps) array of the runs (at least :data:`SUMMARY_COLUMNS`), in step order.
        twin: the same of their twins (the runs' own arrays for runs without a shock).
        steps: the step numbers (sorted), shared by every run of the group.
        scenarios: each run's scenario.
        shock_starts: each run's realised shock starts (``Exogenous.shock_starts``; empty without shocks).

    Returns:
        One dict per run, with the keys, order, values and Python types of the per-run summary.
    """
    from models.analysis.regimes import reference_step

    n = len(scenarios)
    th = Thresholds.of(scenarios)
    shock = np.array([min(s) if s else reference_step(sc) for sc, s in zip(scenarios, shock_starts, strict=True)])
    absolute = {c: classify_rows(main[c], steps, shock, th) for c in REGIME_COLUMNS}
    ratios = {c: twin_ratio_rows(main[c], twin[c]) for c in RATIO_SERIES}
    relative = {c: classify_rows(ratios[c], steps, shock, th) for c in RATIO_SERIES}
    revenue, emission = _sum(main["revenue_usd"]), _sum(main["emission_usd"])

    # the providers ratio from the shock on, left-aligned (padding after the end never wins a tie)
    length = len(steps)
    rows, cols = np.arange(n), np.arange(length)
    idx = np.minimum(np.searchsorted(steps, shock, side="left"), length - 1)
    at = idx[:, None] + cols
    valid = at < length
    after = np.where(valid, ratios["providers"][rows[:, None], np.minimum(at, length - 1)], np.inf)
    trough_k = after.argmin(axis=1)
    trough_at = idx + trough_k
    level = np.array([sc.regimes.recovery_level for sc in scenarios], dtype=float)
    back = valid & (after >= level[:, None])
    never_below = (back == valid).all(axis=1)
    back &= cols >= trough_k[:, None]
    back_at = back.argmax(axis=1)
    days_back = back_at * th.dt
    to_trough = (steps[trough_at] - steps[idx]) * th.dt

    out = []
    for r, sc in enumerate(scenarios):
        head = absolute["providers"]
        summary = {
            "regime": head.regime[r], "pre_shock_step": int(head.pre_step[r]), "trough": _finite(head.trough[r]),
            "fell_below_step": head.fell_below(r),
            "time_to_collapse": int(head.fell_step[r] - head.pre_step[r])
            if head.regime[r] == "collapse" and head.fell[r] else None,
            "final_ratio": _finite(head.final[r]),
        }
        for col in REGIME_COLUMNS[1:]:
            res = absolute[col]
            summary.update({f"regime_{col}": res.regime[r], f"trough_{col}": _finite(res.trough[r]),
                            f"final_ratio_{col}": _finite(res.final[r])})
        rev, emi = float(revenue[r]), float(emission[r])
        summary.update(subsidy_ratio=_finite(emi / rev) if rev > 0 else None, total_emission_usd=emi,
                       total_revenue_usd=rev, final_price=float(main["price"][r, -1]),
                       final_providers=float(main["providers"][r, -1]), final_users=float(main["users"][r, -1]),
                       final_step=int(steps[-1]))
        if sc.shocks:
            summary.update(_shock_summary(sc, shock_starts[r], steps, main["crash_achieved"][r], main["price"][r],
                                          main["path_target_price"][r]))
        else:
            summary.update(shock_target=None, shock_achieved=None, shock_warnings=0)
        row = absolute_names(summary)
        rel = relative["providers"]
        row.update(
            regime=rel.regime[r], trough=_finite(rel.trough[r]), final_ratio=_finite(rel.final[r]),
            fell_below_step=rel.fell_below(r),
            time_to_collapse=int(rel.fell_step[r] - rel.pre_step[r]) if rel.regime[r] == "collapse" and rel.fell[r]
            else None,
            trough_step=int(steps[trough_at[r]]), time_to_trough_days=float(to_trough[r]),
            time_to_recover_days=0.0 if never_below[r] else (float(days_back[r]) if back[r].any() else None),
            permanent_loss=_finite(1.0 - rel.final[r]),
        )
        for col in RATIO_SERIES[1:]:
            res = relative[col]
            row.update({f"regime_{col}": res.regime[r], f"trough_{col}": _finite(res.trough[r]),
                        f"final_ratio_{col}": _finite(res.final[r])})
            if col == "price":
                row["price_drop_vs_twin"] = _finite(1.0 - res.trough[r])
        through_price = bool(sc.shocks) and all(s.type in PRICE_SHOCKS for s in sc.shocks)
        dt = sc.simulation.dt_days
        window = max(1, int(round(sc.regimes.recovery_window_days / dt)))
        row.update(net_inflation_per_year=_inflation(main["supply"][r], dt),
                   loop_gain=_loop_gain(main["orders"][r], twin["orders"][r], main["price"][r], twin["price"][r],
                                        int(idx[r]), window) if through_price else None)
        out.append(row)
    return out
