"""The flywheel loop link by link: which link breaks first after a shock, and how fragile each sector is.

The loop (DESIGN.md): price -> reward value -> providers -> capacity -> service quality and coverage ->
users -> usage revenue and burn -> price. Each link is a column of ``models.output``. A shocked run is
compared with its twin (same scenario and seed without the shock, so every exogenous path is shared:
``models.analysis.impulse.twin_of``); a link *breaks* at the first step from the shock's first effect on at
which its shocked / twin ratio is below a threshold. Row ``t + 1`` records step ``t``, so a shock starting
in step ``s`` first shows in row ``s + 1``, its ``effect_step``; delays are counted from there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from models.analysis.impulse import twin_of, with_shocks
from models.analysis.shocks import nominal_starts
from models.mechanisms.amm import tokens_for_price_drop
from models.param_blocks import ShockEvent


class Link(NamedTuple):
    """A link of the loop: name, ``models.output`` column, and whether it is tokens valued at the step's price."""

    name: str
    column: str
    priced: bool  # moves with the price in the same step


LOOP = (
    Link("price", "price", True), Link("reward value", "reward_per_provider_usd", True),
    Link("providers", "providers", False), Link("capacity", "capacity", False),
    Link("service quality", "quality", False), Link("coverage", "coverage", False), Link("users", "users", False),
    Link("usage revenue", "revenue_usd", False), Link("burn", "burn_usd", True),
)
LOOP_COLUMNS = tuple(link.column for link in LOOP)
LINK_NAMES = tuple(link.name for link in LOOP)
CRASH, BEAR = "crash", "bear market"
SHOCKED, TWIN = "shocked", "twin"
KEYS = ["sector", "shock", "seed"]


class Twins(NamedTuple):
    """A shocked scenario and its unshocked twin."""

    shocked: object
    twin: object


def crash_funding(scenario, size: float = 0.8, margin: float = 3.0) -> dict:
    """Tokens a forced seller needs for a crash of ``size`` and what the sector's genesis supply can spare.

    The inventory must be part of ``token.initial_supply`` (``models.params``): it comes out of the outside
    float, which must still hold the genesis stake. The sector's own shocks are ignored (the crash replaces them).

    Returns:
        ``sector``, ``pool_tokens`` (genesis pool), ``tokens_needed`` (to crash it by ``size``), ``tokens_wanted``
        (``margin`` x needed), ``tokens_available``, ``inventory_tokens`` (the smaller of the two) and
        ``margin`` (inventory / needed).
    """
    market, spec = scenario.market, scenario.simulation.speculators * scenario.speculators.initial_tokens
    pool = market.liquidity_usd / market.initial_price_usd
    needed = float(tokens_for_price_drop(pool, size, market.fee))
    held = sum(a.tokens for a in scenario.vesting.allocations) + pool + spec
    # the genesis stake is bought from the same outside float (models.params checks both)
    available = max(scenario.token.initial_supply - held - scenario._genesis_stake(), 0.0) * (1.0 - 1e-9)
    inventory = min(margin * needed, available)
    return {"sector": scenario.sector, "pool_tokens": pool, "tokens_needed": needed, "tokens_wanted": margin * needed,
            "tokens_available": available, "inventory_tokens": inventory, "margin": inventory / needed}


def standard_crash(scenario, start_day: float, size: float = 0.8, margin: float = 3.0, min_margin: float = 1.0,
                   actor: str = "forced_seller") -> Twins:
    """A ``price_crash`` of ``size`` by a named forced seller on ``start_day``, and its twin (the seller inert).

    The inventory is ``margin`` x the tokens that crash the genesis pool by ``size`` (pools deepen as supply
    grows), capped by what the genesis supply can spare (:func:`crash_funding`). A pool deeper at the crash
    than the inventory can move makes the achieved drop fall short (column ``crash_achieved``).

    Raises:
        ValueError: the sector cannot fund ``min_margin`` x the genesis need.
    """
    f = crash_funding(scenario, size, margin)
    if f["inventory_tokens"] < min_margin * f["tokens_needed"] * (1.0 - 1e-6):
        raise ValueError(
            f"{scenario.name}: a {size:.0%} crash needs {min_margin:g} x {f['tokens_needed']:,.0f} tokens sold into "
            f"the genesis pool of {f['pool_tokens']:,.0f} tokens, but token.initial_supply "
            f"({scenario.token.initial_supply:,.0f}) leaves only {f['tokens_available']:,.0f} after vesting, pool, "
            "speculators and the genesis stake (allowed: a smaller size or min_margin)")
    shock = ShockEvent(type="price_crash", start_day=start_day, size=size, actor=actor,
                       inventory_tokens=f["inventory_tokens"])
    shocked = with_shocks(scenario, (shock,))
    return Twins(shocked, twin_of(shocked))


def standard_bear_market(scenario, start_day: float, size: float = 0.7, duration_days: float = 182.0) -> Twins:
    """A ``bear_market`` (market factor down by ``size`` over ``duration_days``) and its twin (no shock)."""
    shock = ShockEvent(type="bear_market", start_day=start_day, size=size, duration_days=duration_days)
    shocked = with_shocks(scenario, (shock,))
    return Twins(shocked, twin_of(shocked))


def sector_shocks(scenarios: Iterable, crash_day: float, bear_day: float, steps: int | None = None,
                  crash_size: float = 0.8, bear_size: float = 0.7, bear_duration_days: float = 182.0,
                  margin: float = 3.0) -> dict[tuple[str, str], Twins]:
    """``{(sector, CRASH or BEAR): Twins}`` for sector scenarios (objects or YAML paths), horizon ``steps``."""
    from models.params import Scenario, load_scenario, with_overrides

    out = {}
    for item in scenarios:
        sc = item if isinstance(item, Scenario) else load_scenario(item)
        sc = sc if steps is None else with_overrides(sc, {"simulation.steps": int(steps)})
        out[(sc.sector, CRASH)] = standard_crash(sc, crash_day, crash_size, margin)
        out[(sc.sector, BEAR)] = standard_bear_market(sc, bear_day, bear_size, bear_duration_days)
    return out


def effect_step(scenario) -> int:
    """First row that shows the scenario's earliest shock: its nominal start step + 1."""
    return int(min(nominal_starts(scenario))) + 1


def run_twins(scenarios: Mapping, seeds: Sequence[int],
              columns: Sequence[str] = (*LOOP_COLUMNS, "crash_achieved", "amm_tokens")) -> pd.DataFrame:
    """Run every shocked scenario and its twin for every seed on the batch engine.

    Runs that share a structure (``models.sd.compile.structure_of``) are stepped in one ``run_batch`` call;
    a seed's shocked run and twin draw the same exogenous paths (common random numbers).

    Args:
        scenarios: ``{(sector, shock): Twins}``, or ``{(sector, shock): shocked scenario}`` (twin by ``twin_of``).
        seeds: root seeds, one replicate each.
        columns: output columns to keep.

    Returns:
        ``sector, shock, seed, variant`` (shocked / twin), ``step, day, dt_days, effect_step`` and ``columns``.
    """
    from models.exogenous import run_seed_sequence, sample_exogenous
    from models.sd.batch import run_batch
    from models.sd.compile import structure_of

    pairs = {key: v if isinstance(v, Twins) else Twins(v, twin_of(v)) for key, v in scenarios.items()}
    groups: dict = {}
    for key, pair in pairs.items():
        groups.setdefault(structure_of(pair.shocked), []).append(key)
    frames = []
    for keys in groups.values():
        runs, exos, index = [], [], []
        for key in keys:
            for variant, sc in zip((SHOCKED, TWIN), pairs[key], strict=True):
                for seed in seeds:
                    runs.append(sc)
                    exos.append(sample_exogenous(sc, run_seed_sequence(int(seed))))
                    index.append((*key, int(seed), variant, sc.simulation.dt_days, effect_step(pairs[key].shocked)))
        frame = run_batch(runs, exos)[["run", "step", *columns]]
        index = pd.DataFrame(index, columns=[*KEYS, "variant", "dt_days", "effect_step"])
        frame = index.rename_axis("run").reset_index().merge(frame, on="run").drop(columns="run")
        frame.insert(5, "day", frame["step"] * frame["dt_days"])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def baseline_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """The sectors as their files describe them: the bear market's twins (the crash twin holds a seller)."""
    return frame[(frame["shock"] == BEAR) & (frame["variant"] == TWIN)].reset_index(drop=True)


def link_ratios(frame: pd.DataFrame, columns: Sequence[str] = LOOP_COLUMNS) -> pd.DataFrame:
    """Shocked / twin per step and seed of each loop column (NaN where the twin is 0), ``weeks`` since the effect."""
    index = [*KEYS, "step", "day", "dt_days", "effect_step"]
    cols = [c for c in columns if c in frame]
    shocked = frame[frame["variant"] == SHOCKED].set_index(index)[cols]
    twin = frame[frame["variant"] == TWIN].set_index(index)[cols]
    out = (shocked / twin.where(twin != 0)).reset_index()
    out.insert(7, "weeks", (out["step"] - out["effect_step"]) * out["dt_days"] / 7.0)  # 0 at the first effect
    return out


def _runs(ratio_frame: pd.DataFrame, start_step: int | None):
    """Each run's labels, its rows from the start step on, the start step and the step length in days."""
    keys = [k for k in KEYS if k in ratio_frame]
    for key, run in ratio_frame.sort_values("step").groupby(keys, sort=False):
        start = int(run["effect_step"].iloc[0]) if start_step is None else int(start_step)
        dt = float(run["dt_days"].iloc[0]) if "dt_days" in run else 7.0
        yield dict(zip(keys, key, strict=True)), run[run["step"] >= start], start, dt


def first_break(ratio_frame: pd.DataFrame, start_step: int | None = None, threshold: float = 0.9) -> pd.DataFrame:
    """Per sector, shock, seed and link: when the twin ratio first falls below ``threshold``, and its trough.

    Args:
        ratio_frame: :func:`link_ratios` output (any frame with ``sector, shock, seed, step`` and link columns).
        start_step: first step searched, from which delays count; None reads each run's ``effect_step``.
        threshold: a ratio strictly below it is broken.

    Returns:
        One row per run and link (loop order): ``link, column, break_step, delay_weeks`` (NaN: never breaks),
        ``trough`` (minimum ratio from the start step on) and ``trough_step``.
    """
    rows = []
    for key, after, start, dt in _runs(ratio_frame, start_step):
        steps = after["step"].to_numpy()
        for link in (link for link in LOOP if link.column in after):
            ratio = after[link.column].to_numpy(dtype=float)
            below = np.flatnonzero(ratio < threshold)
            brk = int(steps[below[0]]) if below.size else np.nan
            low = int(np.nanargmin(ratio)) if np.isfinite(ratio).any() else None
            rows.append({**key, "link": link.name, "column": link.column, "break_step": brk,
                         "delay_weeks": (brk - start) * dt / 7.0, "trough": np.nan if low is None else ratio[low],
                         "trough_step": np.nan if low is None else int(steps[low])})
    return pd.DataFrame(rows)


def loop_order(breaks: pd.DataFrame) -> pd.DataFrame:
    """Per sector, shock and link: median break delay over seeds and the order in which the links break.

    Seeds whose link never breaks count as infinitely late, so the median is NaN ("never") when at least half
    never break. ``order`` ranks the links with a median delay (ties broken by loop order); ``first`` marks
    order 1.

    Returns:
        ``sector, shock, link, priced, median_delay_weeks, broken_share, median_trough, order, first``.
    """
    groups = ["sector", "shock"]
    table = breaks.groupby([*groups, "link"], sort=False).agg(
        median_delay_weeks=("delay_weeks", lambda d: np.median(np.where(np.isnan(d), np.inf, d))),
        broken_share=("delay_weeks", lambda d: float(np.isfinite(d).mean())),
        median_trough=("trough", "median")).reset_index()
    table["median_delay_weeks"] = table["median_delay_weeks"].replace(np.inf, np.nan)
    table.insert(3, "priced", table["link"].map({link.name: link.priced for link in LOOP}))
    table["position"] = table["link"].map({name: i for i, name in enumerate(LINK_NAMES)})
    table = table.sort_values([*groups, "position"], kind="stable")
    ranked = table.dropna(subset="median_delay_weeks").sort_values([*groups, "median_delay_weeks", "position"])
    table["order"] = ranked.groupby(groups, sort=False).cumcount() + 1
    table["first"] = table["order"] == 1
    return table.drop(columns="position").reset_index(drop=True)


def first_links(order: pd.DataFrame) -> pd.DataFrame:
    """Per sector and shock: the first link to break, the first beyond the priced links, and the sequence.

    Priced links (price, reward value, burn in USD) are tokens valued at the step's price and move with it in
    the same step; ``first_beyond_price`` is the first link that measures the network itself.
    """
    rows = []
    for (sector, shock), part in order.groupby(["sector", "shock"], sort=False):
        broken = part.dropna(subset="order").sort_values("order")
        real = broken[~broken["priced"].astype(bool)]
        rows.append({"sector": sector, "shock": shock, "first_link": _head(broken, "link", "none"),
                     "delay_weeks": _head(broken, "median_delay_weeks", np.nan),
                     "first_beyond_price": _head(real, "link", "none"),
                     "beyond_price_delay_weeks": _head(real, "median_delay_weeks", np.nan),
                     "sequence": " → ".join(broken["link"]) or "no link breaks"})
    return pd.DataFrame(rows)


def _head(frame: pd.DataFrame, column: str, default):
    return frame[column].iloc[0] if len(frame) else default


def delay_grid(order: pd.DataFrame, shock: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sector x link median break delays (weeks) of one shock, and labels: weeks, "never", or "n/a" (twin 0)."""
    part = order[order["shock"] == shock]
    values = part.pivot(index="sector", columns="link", values="median_delay_weeks").reindex(columns=LINK_NAMES)
    trough = part.pivot(index="sector", columns="link", values="median_trough").reindex(columns=LINK_NAMES)
    labels = values.map(lambda v: "never" if np.isnan(v) else f"{v:.0f}").where(trough.notna(), "n/a")
    return values, labels


def fragility_per_seed(ratio_frame: pd.DataFrame, column: str = "providers", recovery_level: float = 0.8,
                       start_step: int | None = None) -> pd.DataFrame:
    """Per sector, shock and seed: trough and peak of ``column``'s twin ratio, weeks to recover, ratio at the horizon.

    ``recovery_weeks`` counts from the start step to the first step after the trough at which the ratio is back
    at or above ``recovery_level``: 0 if it never fell below, inf if it does not recover within the run.
    """
    rows = []
    for key, after, start, dt in _runs(ratio_frame, start_step):
        ratio, steps = after[column].to_numpy(dtype=float), after["step"].to_numpy()
        if not np.isfinite(ratio).any():
            continue
        low = int(np.nanargmin(ratio))
        back = np.flatnonzero(ratio[low:] >= recovery_level)
        weeks = 0.0 if ratio[low] >= recovery_level else (
            (steps[low + back[0]] - start) * dt / 7.0 if back.size else np.inf)
        rows.append({**key, "trough": ratio[low], "trough_weeks": (steps[low] - start) * dt / 7.0,
                     "peak": np.nanmax(ratio), "recovery_weeks": weeks, "recovered": bool(np.isfinite(weeks)),
                     "final_ratio": ratio[-1]})
    return pd.DataFrame(rows)


def _median_interval(values, confidence: float, n_resamples: int, random_state: int) -> list[float]:
    """Median and percentile-bootstrap interval; inf (not recovered) goes through a sentinel and comes back."""
    from scipy.stats import bootstrap

    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return [np.nan] * 3
    largest = float(np.max(x[np.isfinite(x)], initial=0.0))
    data = np.where(np.isinf(x), 1e12, x)
    out = [float(np.median(data)), np.nan, np.nan]
    if x.size > 1:
        ci = bootstrap((data,), np.median, confidence_level=confidence, n_resamples=n_resamples, method="percentile",
                       rng=np.random.default_rng(random_state)).confidence_interval
        out[1:] = [float(ci.low), float(ci.high)]
    # a value above the largest finite one involves a run that never recovered
    return [np.inf if v > largest * (1 + 1e-12) + 1e-12 else v for v in out]


def fragility(ratio_frame: pd.DataFrame, column: str = "providers", recovery_level: float = 0.8,
              confidence: float = 0.9, n_resamples: int = 2000, random_state: int = 0) -> pd.DataFrame:
    """Fragility per sector and shock: medians over seeds of :func:`fragility_per_seed` with bootstrap intervals.

    Intervals are percentile intervals of ``scipy.stats.bootstrap`` with a fixed generator.

    Returns:
        ``sector, shock, seeds, recovered_share``, then ``trough``, ``peak``, ``recovery_weeks`` (inf: the median
        seed does not recover) and ``final_ratio``, each with ``_low`` / ``_high`` interval ends, and ``rank``
        within the shock (1 = most fragile: deepest median trough, then lowest final ratio).
    """
    rows = []
    for (sector, shock), part in fragility_per_seed(ratio_frame, column, recovery_level).groupby(
            ["sector", "shock"], sort=False):
        row = {"sector": sector, "shock": shock, "seeds": len(part), "recovered_share": part["recovered"].mean()}
        for metric in ("trough", "peak", "recovery_weeks", "final_ratio"):
            row[metric], row[f"{metric}_low"], row[f"{metric}_high"] = _median_interval(
                part[metric], confidence, n_resamples, random_state)
        rows.append(row)
    table = pd.DataFrame(rows).sort_values(["shock", "trough", "final_ratio"], kind="stable")
    table["rank"] = table.groupby("shock", sort=False).cumcount() + 1
    return table.reset_index(drop=True)


def fragility_ranking(summary: pd.DataFrame) -> pd.DataFrame:
    """Sectors from most to least fragile: mean :func:`fragility` rank over the shocks, ties by mean trough."""
    wide = summary.pivot(index="sector", columns="shock", values="trough").add_prefix("trough, ")
    ranking = summary.groupby("sector").agg(mean_rank=("rank", "mean"), mean_trough=("trough", "mean")).join(wide)
    return ranking.sort_values(["mean_rank", "mean_trough"]).reset_index()


def achieved_drops(frame: pd.DataFrame) -> pd.DataFrame:
    """Per sector: the crash's achieved price drop (median, min, max over seeds) and the pool depth then.

    ``pool_growth`` is the median over seeds of the twin's pool (tokens) just before the crash over the pool
    at genesis: how much deeper the pool had grown than the one the inventory was sized on.
    """
    crash = frame[(frame["shock"] == CRASH) & (frame["step"] == frame["effect_step"])]
    drops = crash[crash["variant"] == SHOCKED].groupby("sector", sort=False)["crash_achieved"].agg(
        ["median", "min", "max"]).add_prefix("achieved_")
    twin = frame[(frame["shock"] == CRASH) & (frame["variant"] == TWIN)].set_index(["sector", "seed", "step"])
    pool = twin["amm_tokens"]
    before = twin[twin.index.get_level_values("step") == twin["effect_step"] - 1]["amm_tokens"].droplevel("step")
    drops["pool_growth"] = (before / pool.xs(0, level="step")).groupby("sector").median()
    return drops


def sector_table(scenarios: Iterable) -> pd.DataFrame:
    """The sectors side by side: mechanism (emission, payment, stake, space), start date and scale."""
    rows = []
    for sc in scenarios:
        pay, sp = sc.payment, sc.space
        rows.append({
            "sector": sc.sector, "start date": str(sc.simulation.start_date),
            "horizon (weeks)": sc.simulation.steps * sc.simulation.dt_days / 7.0,
            "emission": sc.emission.schedule, "provider share of emission": sc.emission.provider_share,
            "payment": f"bme, burn {pay.burn_share:.0%}" if pay.mode == "bme" else f"fee, take {pay.take_rate:.0%}",
            "stake": sc.stake.mode, "space": f"radius {sp.coverage_radius_km:g} km" if sp.enabled else "no",
            "potential providers": sc.simulation.potential_providers, "initial providers": sc.providers.initial_active,
            "capex (USD)": sc.providers.capex_usd, "initial price (USD)": sc.market.initial_price_usd,
            "pool (USD)": sc.market.liquidity_usd, "initial supply (tokens)": sc.token.initial_supply,
        })
    return pd.DataFrame(rows).set_index("sector")
