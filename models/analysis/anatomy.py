"""Anatomy of a death spiral: one collapse followed round the flywheel loop, with the lag at each link.

A shocked run is compared with its twin (same scenario and seed without the shock, common random numbers:
``models.analysis.twin_runs``), link by link along ``models.analysis.loop.LOOP`` with the provider exits
inserted after the reward value (:data:`CHAIN`). Each link's *deviation* from its twin is

* for a stock or a rate that falls (price, reward value, providers, ..., burn): ``-log(shocked / twin)``,
  positive when the shocked run is below its twin;
* for the exits (a flow that rises): the extra exits since the shock's first effect,
  ``sum(exits_shocked - exits_twin)``, as a share of the twin's providers at that step.

The *crossing step* of a link is the first step from the shock's first effect on (``loop.effect_step``) at
which its deviation reaches ``fraction`` (one half) of its largest deviation in the run: a half-response
time, the median lag of a distributed delay (Sterman 2000, *Business Dynamics*, ch. 11). The *lag* of a link
is its crossing step minus the previous link's (the price's is counted from the first effect), in days.
It is scale-free: a link that falls to 5% of its twin and one that falls to 50% are timed at the same share
of their own response.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from models.analysis.loop import LOOP, SHOCKED, TWIN, Link, _median_interval, effect_step

EXITS = Link("exits", "exits", False)
CHAIN = (*LOOP[:2], EXITS, *LOOP[2:])  # price, reward value, exits, providers, ..., usage revenue, burn
CHAIN_NAMES = tuple(link.name for link in CHAIN)
RISING = frozenset({EXITS.name})  # links whose deviation is a rise, not a fall


def collapse_scenario(path, overrides: Mapping | None = None, steps: int | None = None):
    """A sector scenario with ``overrides`` (``models.params.with_overrides``) and horizon ``steps``."""
    from models.params import load_scenario, with_overrides

    sc = load_scenario(path)
    extra = dict(overrides or {})
    if steps is not None:
        extra["simulation.steps"] = int(steps)
    return with_overrides(sc, extra) if extra else sc


def run_replicates(scenario, replicates: int) -> tuple[list, pd.DataFrame]:
    """Shocked runs and their twins for replicates ``0 .. replicates - 1`` on the batch engine.

    Returns:
        The ``twin_runs.Pair`` list and one summary row per replicate
        (``twin_runs.summarise``: ``replicate``, ``regime``, ``trough``, ``final_ratio``, ...).
    """
    from models.analysis.twin_runs import run_pairs, summarise

    pairs = run_pairs([scenario] * replicates, [(0, r) for r in range(replicates)])
    rows = [{"replicate": r, **summarise(pair, scenario, 0, r)} for r, pair in enumerate(pairs)]
    return pairs, pd.DataFrame(rows)


def representative(summary: pd.DataFrame, regime: str = "collapse", metric: str = "trough") -> int:
    """The replicate whose ``metric`` is the median among the replicates of ``regime``.

    With an even number the lower of the two middle values is taken (a value that occurred); ties go to
    the lowest replicate.

    Raises:
        ValueError: no replicate is in ``regime``.
    """
    part = summary[summary["regime"] == regime].sort_values([metric, "replicate"], kind="stable")
    if part.empty:
        raise ValueError(f"no replicate is in regime {regime!r} (regimes: {sorted(set(summary['regime']))})")
    return int(part["replicate"].iloc[(len(part) - 1) // 2])


def deviations(pair, start: int) -> pd.DataFrame:
    """Each link's deviation from its twin per step (module docstring), indexed by ``step``.

    Args:
        pair: a ``twin_runs.Pair`` (``frame`` and ``twin`` with the :data:`CHAIN` columns and ``step``).
        start: the first step of the shock's effect; the extra exits count from it.

    Returns:
        One column per link name; NaN where the twin is 0 or not finite.
    """
    shocked, twin = pair.frame.set_index("step"), pair.twin.set_index("step")
    out = {}
    for link in CHAIN:
        if link.name in RISING:
            extra = (shocked[link.column] - twin[link.column]).where(shocked.index >= start, 0.0).cumsum()
            out[link.name] = extra / float(twin["providers"].get(start, np.nan))
        else:
            ratio = shocked[link.column] / twin[link.column].where(twin[link.column] > 0)
            out[link.name] = -np.log(ratio.where(ratio > 0))
    return pd.DataFrame(out)


def ratios(pair, start: int) -> pd.DataFrame:
    """Shocked / twin per step of each falling link and the extra exits share (:func:`deviations`) for exits."""
    dev = deviations(pair, start)
    falling = [name for name in CHAIN_NAMES if name not in RISING]
    dev[falling] = np.exp(-dev[falling])
    return dev


def crossings(dev: pd.DataFrame, start: int, fraction: float = 0.5, dt_days: float = 7.0) -> pd.DataFrame:
    """Crossing step and lag of every link of one run (module docstring).

    Args:
        dev: :func:`deviations` of the run.
        start: the shock's first effect step; steps before it are not searched.
        fraction: share of the largest deviation that marks the crossing (in (0, 1]).
        dt_days: step length, days.

    Returns:
        One row per link in loop order: ``link, peak`` (largest deviation from ``start`` on), ``peak_step``,
        ``crossing_step`` (NaN: the link never deviates in its direction), ``delay_days`` (from ``start``)
        and ``lag_days`` (from the previous link's crossing; the first link's from ``start``; NaN when
        either is missing).
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    after = dev[dev.index >= start]
    steps = after.index.to_numpy()
    rows = []
    for name in dev.columns:
        values = after[name].to_numpy(dtype=float)
        finite = np.isfinite(values)
        peak = float(np.max(values[finite])) if finite.any() else np.nan
        if not np.isfinite(peak) or peak <= 1e-9:
            rows.append({"link": name, "peak": peak, "peak_step": np.nan, "crossing_step": np.nan})
            continue
        hit = np.flatnonzero(finite & (values >= fraction * peak))
        rows.append({"link": name, "peak": peak, "peak_step": int(steps[int(np.nanargmax(values))]),
                     "crossing_step": int(steps[hit[0]])})
    table = pd.DataFrame(rows)
    table["delay_days"] = (table["crossing_step"] - start) * dt_days
    previous = table["crossing_step"].shift(1)
    previous.iloc[:1] = start
    table["lag_days"] = (table["crossing_step"] - previous) * dt_days
    return table


def trough_ratios(table: pd.DataFrame) -> pd.Series:
    """Twin ratio at the largest deviation of each falling link (``exp(-peak)``), by link; exits excluded."""
    falling = table[~table["link"].isin(RISING)]
    return pd.Series(np.exp(-falling["peak"].to_numpy()), index=falling["link"].to_numpy(), name="trough_ratio")


def anatomy(pairs: Sequence, scenario, replicates: Sequence[int] | None = None,
            fraction: float = 0.5) -> pd.DataFrame:
    """:func:`crossings` of every replicate (all, or those listed), stacked with a ``replicate`` column."""
    start, dt = effect_step(scenario), scenario.simulation.dt_days
    chosen = range(len(pairs)) if replicates is None else replicates
    frames = [crossings(deviations(pairs[r], start), start, fraction, dt).assign(replicate=int(r))
              for r in chosen]
    return pd.concat(frames, ignore_index=True)


def lag_spread(table: pd.DataFrame, confidence: float = 0.9, n_resamples: int = 2000,
               random_state: int = 0) -> pd.DataFrame:
    """Per link: median lag and delay over replicates, percentile-bootstrap interval of the median, range.

    Uses ``loop._median_interval`` (``scipy.stats.bootstrap`` with a fixed generator); a single replicate
    gets no interval (NaN). Replicates where the link never crosses are left out (``replicates`` counts
    the others).

    Returns:
        Indexed by link in loop order: ``replicates, lag_days, lag_low, lag_high, lag_min, lag_max,
        delay_days, delay_low, delay_high``.
    """
    rows = []
    for name in CHAIN_NAMES:
        part = table[table["link"] == name]
        if part.empty:
            continue
        lags, delays = part["lag_days"].dropna(), part["delay_days"].dropna()
        lag = _median_interval(lags, confidence, n_resamples, random_state)
        delay = _median_interval(delays, confidence, n_resamples, random_state)
        rows.append({"link": name, "replicates": len(lags), "lag_days": lag[0], "lag_low": lag[1],
                     "lag_high": lag[2], "lag_min": lags.min() if len(lags) else np.nan,
                     "lag_max": lags.max() if len(lags) else np.nan, "delay_days": delay[0],
                     "delay_low": delay[1], "delay_high": delay[2]})
    return pd.DataFrame(rows).set_index("link")


def gap_days(table: pd.DataFrame, first: str, later: str) -> pd.Series:
    """Per replicate: crossing day of link ``later`` minus that of link ``first`` (positive: ``later`` is later)."""
    wide = table.pivot(index="replicate", columns="link", values="delay_days")
    return (wide[later] - wide[first]).rename(f"{later} - {first} (days)")


def twin_frame(pairs: Sequence, scenario, replicates: Sequence[int], sector: str = "sector",
               shock: str = "shock") -> pd.DataFrame:
    """Pairs in the long form of ``loop.run_twins`` (``sector, shock, seed, variant, step, ...``).

    So that ``loop.link_ratios`` and ``loop.first_break`` can time the same runs by a fixed threshold; the
    replicate stands in for the seed.
    """
    dt, start = scenario.simulation.dt_days, effect_step(scenario)
    frames = []
    for r in replicates:
        for variant, frame in zip((SHOCKED, TWIN), pairs[r], strict=True):
            frames.append(frame.assign(sector=sector, shock=shock, seed=int(r), variant=variant, dt_days=dt,
                                       effect_step=start, day=frame["step"] * dt))
    return pd.concat(frames, ignore_index=True)


def absolute_paths(pair, columns: Sequence[str] = ("price", "providers")) -> pd.DataFrame:
    """Long frame of ``columns`` of a pair: ``step, variant`` (shocked / twin), ``series, value``."""
    parts = [frame[["step", *columns]].assign(variant=variant)
             for variant, frame in zip((SHOCKED, TWIN), pair, strict=True)]
    return pd.concat(parts, ignore_index=True).melt(id_vars=["step", "variant"], var_name="series")


def price_beyond_market(pair) -> pd.Series:
    """Per step: the price's twin ratio over the market factor's (the part of the fall the market does not explain).

    Below 1 the network's own decline (less burn, more selling) pushes the price below what the bear market
    alone does: the loop closing back onto the price.
    """
    shocked, twin = pair.frame.set_index("step"), pair.twin.set_index("step")
    return ((shocked["price"] / twin["price"]) / (shocked["market_factor"] / twin["market_factor"])).rename(
        "price ratio / market factor ratio")


def median_with_interval(values, confidence: float = 0.9, n_resamples: int = 2000,
                         random_state: int = 0) -> tuple[float, tuple[float, float] | None]:
    """Median of ``values`` and the percentile-bootstrap interval of it (``loop._median_interval``).

    Returns:
        ``(median, (low, high))``, with None for the interval when it is not finite (a single value).
    """
    median, low, high = _median_interval(values, confidence, n_resamples, random_state)
    return median, ((low, high) if np.isfinite(low) and np.isfinite(high) else None)
