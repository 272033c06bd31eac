"""Regime metrics: did a run grow, stall, collapse or recover after its shock (DESIGN.md, Regimes).

Levels are measured against the pre-shock level: the value at the first shock's realised start step
(the row of that step is recorded before the shock acts), or at ``regimes.reference_day`` when the
scenario has no shock. Thresholds come from ``scenario.regimes``:

- ``collapse``: ends below ``collapse_level`` x pre-shock and has not risen by more than
  ``recovery_min_rise`` x pre-shock over the last ``recovery_window_days`` days;
- ``recovery``: fell below ``collapse_level`` at some point and ends at or above ``recovery_level``;
- ``growth``: never fell below ``collapse_level`` and ends above ``growth_level``;
- ``stall``: everything else.

A network that dies before the reference step (the series was positive at some earlier step and is
<= 0 at the reference step) is judged against its **last positive level before the reference step**, so
a run that died and stays dead is ``collapse``, with ``fell_below_step`` the first step below
``collapse_level`` x that level (earlier than the reference step), ``trough`` 0 and ``final_ratio`` 0.
A series that is never positive up to the reference step (for example no providers until later) has no
level to compare with: it is ``stall`` with NaN ratios (None in :func:`summarise_run`), as is a
non-finite reference level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.analysis.shocks import nominal_starts, shock_outcomes

REGIMES = ("collapse", "recovery", "growth", "stall")
# Series whose regime is reported; providers is the headline (DESIGN.md: "measured on active providers").
REGIME_COLUMNS = ("providers", "capacity", "users", "price")


@dataclass(frozen=True)
class RegimeResult:
    """Classification of one series.

    Attributes:
        regime: one of ``REGIMES``.
        pre_step: the pre-shock (reference) step, clamped to the series' last step.
        pre_level: the level ratios are taken against: the value at ``pre_step``, or, when that is <= 0
            and the series was positive before, the last positive value before ``pre_step``.
        fell_below_step: first step after ``level_step`` below ``collapse_level`` x ``pre_level``, or
            None; earlier than ``pre_step`` when the series had died before it.
        trough: minimum level from ``pre_step`` on divided by ``pre_level`` (NaN without a level).
        final_ratio: last level divided by ``pre_level`` (NaN without a level).
        level_step: step whose value is ``pre_level`` (equals ``pre_step`` unless the series had died).
    """

    regime: str
    pre_step: int
    pre_level: float
    fell_below_step: int | None
    trough: float
    final_ratio: float
    level_step: int | None = None


def classify(series, pre_step: int, regimes, steps=None, dt_days: float = 7.0) -> RegimeResult:
    """Classify one time series.

    Args:
        series: values in step order (array-like or pandas Series).
        pre_step: the pre-shock step; clamped to the last step when the horizon is shorter.
        regimes: ``models.params.RegimeParams`` (thresholds).
        steps: step numbers of ``series`` (defaults to 0..n-1).
        dt_days: days per step (converts ``recovery_window_days``).

    Returns:
        A :class:`RegimeResult`. When the value at the reference step is <= 0 but the series was positive
        at some earlier step (the network died before the reference step), ratios are taken against the
        last positive value before the reference step: a run that died and stays dead is ``collapse``
        with ``trough`` and ``final_ratio`` 0 and ``fell_below_step`` the first step below
        ``collapse_level`` x that level. A series never positive up to the reference step, or with a
        non-finite reference value, has no meaningful ratio: ``stall`` with NaN ratios.
    """
    values = np.asarray(series, dtype=float)
    step_numbers = np.arange(len(values)) if steps is None else np.asarray(steps)
    if values.size == 0:
        raise ValueError("cannot classify an empty series")
    # Position of the reference step; a run shorter than the reference is judged from its last step.
    idx = int(np.searchsorted(step_numbers, pre_step, side="left"))
    idx = min(idx, len(values) - 1)
    ref_step = int(step_numbers[idx])
    level_idx = idx
    pre_level = float(values[idx])
    if np.isfinite(pre_level) and pre_level <= 0:
        # Died before the reference step: judge against the last positive level before it.
        earlier = np.flatnonzero(np.isfinite(values[:idx]) & (values[:idx] > 0))
        if earlier.size:
            level_idx = int(earlier[-1])
            pre_level = float(values[level_idx])
    if not np.isfinite(pre_level) or pre_level <= 0:
        return RegimeResult("stall", ref_step, pre_level, None, math.nan, math.nan)

    # The fall is searched from the level's step on; trough, end and trend from the reference step on.
    fall = np.flatnonzero(values[level_idx:] / pre_level < regimes.collapse_level)
    fell_below_step = int(step_numbers[level_idx + fall[0]]) if fall.size else None
    ratio = values[idx:] / pre_level
    final = float(ratio[-1])
    # "Not recovering": no rise over the window (or since the shock, for a shorter post-shock span).
    window_start = max(0, len(ratio) - 1 - max(1, int(round(regimes.recovery_window_days / dt_days))))
    rising = ratio[-1] - ratio[window_start] > regimes.recovery_min_rise

    if final < regimes.collapse_level and not rising:
        regime = "collapse"
    elif fell_below_step is not None and final >= regimes.recovery_level:
        regime = "recovery"
    elif fell_below_step is None and final > regimes.growth_level:
        regime = "growth"
    else:
        regime = "stall"
    return RegimeResult(regime, ref_step, pre_level, fell_below_step, float(ratio.min()), final,
                        int(step_numbers[level_idx]))


def pre_shock_step(scenario, seed: int | None = None, steps: int | None = None, point: int = 0,
                   replicate: int = 0) -> int:
    """The pre-shock step of one run: the first shock's realised start, else ``reference_step(scenario)``.

    Shock starts can be jittered, so they are drawn from the run's own seed exactly as the engines do.

    Args:
        scenario: validated ``models.params.Scenario``.
        seed: root seed (defaults to ``scenario.simulation.seed``), as in ``models.engines.run``.
        steps: horizon override, as in ``models.engines.run`` (the draws depend on the horizon).
        point: parameter-point index of the run's seed (sweeps).
        replicate: replicate index of the run's seed.
    """
    if not scenario.shocks:
        return reference_step(scenario)
    return int(min(realised_shock_starts(scenario, seed, steps, point, replicate)))


def realised_shock_starts(scenario, seed: int | None = None, steps: int | None = None, point: int = 0,
                          replicate: int = 0) -> tuple[int, ...]:
    """Start step of every shock of one run, drawn from the run's own seed as the engines draw them."""
    if not scenario.shocks:
        return ()
    from models.exogenous import run_seed_sequence, sample_exogenous

    if steps is not None:
        sim = scenario.simulation.model_copy(update={"steps": int(steps)})
        scenario = scenario.model_copy(update={"simulation": sim})
    root = scenario.simulation.seed if seed is None else seed
    return sample_exogenous(scenario, run_seed_sequence(root, point, replicate)).shock_starts


def reference_step(scenario) -> int:
    """The step of ``regimes.reference_day`` at the scenario's step length."""
    return int(np.floor(scenario.regimes.reference_day / scenario.simulation.dt_days + 1e-9))


def _finite_or_none(x) -> float | None:
    """JSON-friendly float: NaN and infinity become None."""
    x = float(x)
    return x if math.isfinite(x) else None


def format_ratio(x, spec: str = ".2f", missing: str = "n/a") -> str:
    """Format a metric of :func:`summarise_run` that may be None or NaN (``missing`` then)."""
    if x is None:
        return missing
    x = float(x)
    return format(x, spec) if math.isfinite(x) else missing


def summarise_run(frame: pd.DataFrame, scenario, shock_start: int | None = None, shock_starts=None) -> dict:
    """Headline metrics of one run.

    Args:
        frame: tidy frame of one run (columns of ``models.output.COLUMNS``).
        scenario: the scenario that produced it (for thresholds and the reference step).
        shock_start: the pre-shock step (see :func:`pre_shock_step`); None = :func:`reference_step`.
        shock_starts: realised start step of every shock (None = their nominal starts).

    Returns:
        Flat dict: ``regime`` (providers) and ``regime_<column>`` for capacity, users and price, the
        providers' ``trough``, ``fell_below_step``, ``time_to_collapse`` (steps from the shock to the
        first fall, collapse runs only; negative when the providers had died before the shock) and
        ``final_ratio``, ``subsidy_ratio`` (total emission USD / total revenue USD), and final price,
        providers and users; ``shock_target`` and ``shock_achieved`` of the first shock (what a forced
        sale aimed for and achieved) and ``shock_warnings`` (shocks that fell short, see
        ``models.analysis.shocks``). Non-finite numbers are None. These can be None: ``trough``,
        ``final_ratio``, ``trough_<column>`` and ``final_ratio_<column>`` (series never positive up to
        the reference step, see :func:`classify`), ``fell_below_step`` (never fell),
        ``time_to_collapse`` (not a collapse) and ``subsidy_ratio`` (no revenue). Formatting code must
        handle None (:func:`format_ratio`).
    """
    if "run" in frame and frame["run"].nunique() > 1:
        raise ValueError("summarise_run expects one run; group the frame by 'run' first")
    frame = frame.sort_values("step")
    pre = reference_step(scenario) if shock_start is None else int(shock_start)
    dt = scenario.simulation.dt_days
    results = {col: classify(frame[col], pre, scenario.regimes, frame["step"], dt) for col in REGIME_COLUMNS}
    head = results["providers"]
    revenue = float(frame["revenue_usd"].sum())
    emission = float(frame["emission_usd"].sum())
    last = frame.iloc[-1]
    summary = {
        "regime": head.regime,
        "pre_shock_step": head.pre_step,
        "trough": _finite_or_none(head.trough),
        "fell_below_step": head.fell_below_step,
        "time_to_collapse": (head.fell_below_step - head.pre_step)
        if head.regime == "collapse" and head.fell_below_step is not None else None,
        "final_ratio": _finite_or_none(head.final_ratio),
    }
    for col in REGIME_COLUMNS[1:]:
        summary[f"regime_{col}"] = results[col].regime
        summary[f"trough_{col}"] = _finite_or_none(results[col].trough)
        summary[f"final_ratio_{col}"] = _finite_or_none(results[col].final_ratio)
    summary.update(
        subsidy_ratio=_finite_or_none(emission / revenue) if revenue > 0 else None,
        total_emission_usd=emission,
        total_revenue_usd=revenue,
        final_price=float(last["price"]),
        final_providers=float(last["providers"]),
        final_users=float(last["users"]),
        final_step=int(last["step"]),
    )
    starts = nominal_starts(scenario) if shock_starts is None else shock_starts
    outcomes = shock_outcomes(frame, scenario, starts)
    first = outcomes[0] if outcomes else {}
    summary.update(
        shock_target=_finite_or_none(first["target"]) if first.get("target") is not None else None,
        shock_achieved=_finite_or_none(first["achieved"]) if first.get("achieved") is not None else None,
        shock_warnings=sum(o["warning"] is not None for o in outcomes),
    )
    return summary


def regime_probabilities(regimes: Sequence[str], confidence: float = 0.95) -> pd.DataFrame:
    """Share of each regime over replicates with Wilson score intervals.

    Args:
        regimes: one regime label per replicate.
        confidence: confidence level of the intervals.

    Returns:
        One row per regime in ``REGIMES`` order: ``regime, count, n, share, ci_low, ci_high``.
    """
    from models.analysis.points import wilson

    labels = list(regimes)
    unknown = sorted(set(labels) - set(REGIMES))
    if unknown:
        raise ValueError(f"unknown regime labels {unknown}; allowed: {', '.join(REGIMES)}")
    n = len(labels)
    if n == 0:
        raise ValueError("regime_probabilities needs at least one replicate")
    rows = []
    for regime in REGIMES:
        k = labels.count(regime)
        low, high = wilson(k, n, confidence)
        rows.append({"regime": regime, "count": k, "n": n, "share": k / n, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


def run_replicates(scenario, engine: str = "batch", replicates: int = 10, steps: int | None = None,
                   seed: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monte Carlo replicates of one scenario and one summary row per replicate.

    Replicate ``r`` is child ``(0, r)`` of the root seed, as in sweeps, so results do not depend on how
    many replicates are run. The batched engine steps all replicates, and their unshocked twins, at once.

    Args:
        scenario: validated ``models.params.Scenario``.
        engine: ``abm``, ``cadcad`` or ``batch``.
        replicates: number of runs (each with its twin when the scenario has a shock).
        steps: horizon override.
        seed: root seed (defaults to ``scenario.simulation.seed``).

    Returns:
        ``(frame, summary)``: the tidy time series with ``run`` = replicate and ``scenario`` columns,
        and one row per replicate of twin-relative metrics with the absolute ones beside them
        (``models.analysis.twins.summarise_pair``).
    """
    from models.analysis.twin_runs import run_pairs, summarise

    if steps is not None:
        sim = scenario.simulation.model_copy(update={"steps": int(steps)})
        scenario = scenario.model_copy(update={"simulation": sim})
    root = scenario.simulation.seed if seed is None else seed
    if root != scenario.simulation.seed:
        scenario = scenario.model_copy(update={"simulation": scenario.simulation.model_copy(update={"seed": root})})
    keys = [(0, r) for r in range(replicates)]
    if engine == "batch":
        pairs = run_pairs([scenario] * replicates, keys)
    else:
        pairs = [run_pairs([scenario], [key], engine)[0] for key in keys]
    frame = pd.concat([p.frame.assign(run=r) for r, p in enumerate(pairs)], ignore_index=True)
    frame = frame[["run", *[c for c in frame.columns if c != "run"]]]
    summary = pd.DataFrame([{"run": r, **summarise(p, scenario, 0, r)} for r, p in enumerate(pairs)])
    frame.insert(0, "scenario", scenario.name)
    summary.insert(0, "scenario", scenario.name)
    return frame, summary


def run_scenarios(scenarios, engine: str = "batch", replicates: int = 10, steps: int | None = None,
                  seed: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`run_replicates` for several scenarios (objects or YAML paths), stacked.

    Returns:
        ``(frame, summary)`` with a ``scenario`` column holding each scenario's name.
    """
    from models.params import Scenario, load_scenario

    frames, summaries = [], []
    for item in scenarios:
        scenario = item if isinstance(item, Scenario) else load_scenario(item)
        frame, summary = run_replicates(scenario, engine, replicates, steps, seed)
        frames.append(frame)
        summaries.append(summary)
    return pd.concat(frames, ignore_index=True), pd.concat(summaries, ignore_index=True)


def regime_table(summary: pd.DataFrame, column: str = "regime", by: str = "scenario") -> pd.DataFrame:
    """:func:`regime_probabilities` of ``column`` for each group of a summary table."""
    parts = [regime_probabilities(group[column]).assign(**{by: name})
             for name, group in summary.groupby(by, sort=False)]
    table = pd.concat(parts, ignore_index=True)
    return table[[by, *[c for c in table.columns if c != by]]]


HEADLINE = ("trough", "final_ratio", "fell_below_step", "subsidy_ratio", "final_price", "final_providers",
            "final_users")


def headline_table(summary: pd.DataFrame, by: str = "scenario", columns=HEADLINE) -> pd.DataFrame:
    """Median of the headline metrics over replicates, one row per group, with the regime counts."""
    numeric = summary[[by, *columns]].apply(
        lambda s: pd.to_numeric(s, errors="coerce") if s.name != by else s
    )
    table = numeric.groupby(by, sort=False).median()
    counts = summary.groupby(by, sort=False)["regime"].value_counts().unstack(fill_value=0)
    table["regimes"] = [", ".join(f"{r}: {int(n)}" for r, n in counts.loc[g].items() if n) for g in table.index]
    return table
