"""A widely shared thread's claims about DePIN, put to the project's models and shipped data (notebook 00).

Each claim gets a number computed from runs of the batch engine or from ``data/history/`` (loaded through
``models.history``) and a verdict from ``models.analysis.findings.VERDICTS``, decided by a rule written here
(:func:`verdict_from`, ``claims_data.untestable_unless``), never typed by hand. Nothing here re-writes an economic
rule: runs go through ``models.sd.batch.run_batch`` with the shocks and twins of ``models.analysis.loop``,
regimes through ``models.analysis.twins`` and intervals through ``models.analysis.points``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from models.analysis import loop, twins
from models.analysis.claims_data import MONTHS_PER_YEAR
from models.analysis.points import critical_value, wilson

# --- the thread's numbers (the claims themselves) and the anchors the data README gives -------------------
AWS_S3_USD_PER_TIB_MONTH = 23.5  # AWS S3 Standard $0.023/GB-month, first 50 TB (data/history/README.md)
THREAD_DISCOUNT = 0.78  # claim 2: "about 78% cheaper than centralised storage" (the thread)
THREAD_REVENUE_USD_PER_YEAR = 15e6  # claim 3: "more than $15M a year of on-chain revenue" (the thread)
THREAD_COMPUTE_MARKET_USD = 5e12  # claim 4: "a $5T compute market" (the thread)
THREAD_CAPTURE_SHARE = 0.01  # claim 4: "capturing 1%" (the thread)
THREAD_GROWTH_MULTIPLE = 10.0  # claim 4: "means 10x growth" (the thread)
THREAD_MARKET_2028_USD = 3.5e12  # claim 4: "$3.5T by 2028" (the thread)
THREAD_INDUSTRY_USD = 1e12  # claim 5: "each sub-sector will disrupt a $1T industry" (the thread)
DAYS_PER_MONTH = 365.0 / 12.0  # calendar average (definition)

BITTENSOR_NODES_SINCE = "2023-10-01"  # the `nodes` count changes definition in 2023-10 (data/history/README.md)
HOURS_PER_DAY = 24.0  # definition (the compute sector's capacity is GPU-hours per day)

def verdict_from(holds: bool, when_true: str = "supported", when_false: str = "not supported") -> str:
    """The verdict a claim gets from the test its finding encodes: ``when_true`` if the test holds."""
    return when_true if bool(holds) else when_false


# --- claim 2: storage at 78% below AWS without token rewards ----------------------------------------------

def storage_unit_cost(scenario, utilisation: float = 1.0) -> dict:
    """USD cost per TiB-month a storage provider carries, from the scenario's own cost parameters.

    Hardware is written off over ``providers.hardware_lifetime_years`` (straight line, no cost of capital and no
    resale: a lower bound of the cost); opex is ``providers.opex_usd_per_year``. Capacity is
    ``providers.capacity_per_provider`` TiB held per day (storage units), of which ``utilisation`` is paid for.

    Returns:
        ``capex_usd_per_year``, ``opex_usd_per_year``, ``tib`` (capacity per provider), ``utilisation`` and
        ``usd_per_tib_month`` (cost per used TiB-month).
    """
    if not 0.0 < utilisation <= 1.0:
        raise ValueError(f"utilisation {utilisation!r} must lie in (0, 1]")
    p = scenario.providers
    capex = p.capex_usd / p.hardware_lifetime_years
    per_month = (capex + p.opex_usd_per_year) / MONTHS_PER_YEAR
    return {"capex_usd_per_year": capex, "opex_usd_per_year": p.opex_usd_per_year, "tib": p.capacity_per_provider,
            "utilisation": utilisation, "usd_per_tib_month": per_month / (p.capacity_per_provider * utilisation)}


def thread_price(aws: float = AWS_S3_USD_PER_TIB_MONTH, discount: float = THREAD_DISCOUNT) -> float:
    """The price the thread implies, USD per TiB-month: ``(1 - discount) x aws``."""
    return (1.0 - discount) * aws


def cost_over_price(cost_usd_per_tib_month: float, price_usd_per_tib_month: float) -> float:
    """Cost over price: above 1 the provider loses money at that price without rewards."""
    return cost_usd_per_tib_month / price_usd_per_tib_month


def break_even_utilisation(scenario, price_usd_per_tib_month: float) -> float:
    """Share of capacity that must be paid for at ``price`` for a provider to cover its costs (may exceed 1)."""
    return storage_unit_cost(scenario)["usd_per_tib_month"] / price_usd_per_tib_month


def storage_variants(scenario, discount: float = THREAD_DISCOUNT) -> dict[str, object]:
    """The storage sector as its file has it, at the thread's price, and at that price with emission off.

    The thread's price is ``(1 - discount)`` x ``users.alternative_price_usd`` (AWS per TiB-day). Emission off
    is a constant schedule of 0 tokens a year; everything else (users, pledge, market) is the file's.
    """
    from models.params import with_overrides

    price = (1.0 - discount) * scenario.users.alternative_price_usd
    return {"file": scenario,
            "thread price": with_overrides(scenario, {"payment.service_price_usd": price}),
            "thread price, no emission": with_overrides(scenario, {
                "payment.service_price_usd": price, "emission.schedule": "constant",
                "emission.initial_tokens_per_year": 0.0})}


def run_variants(variants: Mapping[str, object], seeds: Iterable[int],
                 columns: Sequence[str] = ("providers", "capacity", "served", "revenue_usd", "emission_usd", "price")
                 ) -> pd.DataFrame:
    """Every variant for every seed on the batch engine, in one call (``models.analysis.impulse.run_variants``).

    Returns:
        ``variant, seed, step`` and ``columns``.
    """
    from models.analysis.impulse import run_variants as batch_variants

    return batch_variants(variants, seeds)[["variant", "seed", "step", *columns]]


def utilisation(frame: pd.DataFrame, by: Sequence[str] = ("variant", "seed")) -> pd.Series:
    """Paid share of capacity over a run: total served over total capacity (both TiB per day, summed over steps)."""
    sums = frame.groupby(list(by))[["served", "capacity"]].sum()
    return sums["served"] / sums["capacity"].where(sums["capacity"] > 0)


def at_horizon(frame: pd.DataFrame, column: str = "providers", by: Sequence[str] = ("variant", "seed")) -> pd.Series:
    """``column`` at each run's last step."""
    last = frame[frame["step"] == frame["step"].max()]
    return last.set_index(list(by))[column]


# --- emission subsidy per dollar of usage revenue ---------------------------------------------------------

def subsidy_ratios(frame: pd.DataFrame, by: Sequence[str] = ("sector", "seed")) -> pd.DataFrame:
    """Emission value per dollar of usage revenue over each run (``models.analysis.regimes`` ``subsidy_ratio``).

    Args:
        frame: runs with ``emission_usd`` (tokens minted x the step's price) and ``revenue_usd`` per step.
        by: the columns that name a run.

    Returns:
        Per run: ``emission_usd``, ``revenue_usd`` (totals, USD) and ``subsidy_ratio`` (NaN without revenue).
    """
    sums = frame.groupby(list(by))[["emission_usd", "revenue_usd"]].sum()
    sums["subsidy_ratio"] = sums["emission_usd"] / sums["revenue_usd"].where(sums["revenue_usd"] > 0)
    return sums.reset_index()


def median_ratio_table(ratios: pd.DataFrame, by: str = "sector", column: str = "subsidy_ratio",
                       confidence: float = 0.95) -> pd.DataFrame:
    """Median of ``column`` per group with its bootstrap interval (``models.analysis.points.median_interval``)."""
    from models.analysis.points import median_interval

    rows = []
    for name, part in ratios.groupby(by, sort=False):
        med, low, high = median_interval(part[column], confidence)
        rows.append({by: name, column: med, "low": low, "high": high, "runs": len(part)})
    return pd.DataFrame(rows).set_index(by)


def provider_subsidy(table: pd.DataFrame, provider_shares: Mapping[str, float],
                     column: str = "subsidy_ratio") -> pd.DataFrame:
    """Add the share of emission that goes to providers and the subsidy the providers receive.

    ``emission_usd`` counts every minted token; only ``emission.provider_share`` of them pays providers (the rest
    goes to stakers, validators, subnet owners or a treasury). Returns ``table`` with ``provider_share`` and
    ``provider_subsidy`` (``column`` x share) by its index.
    """
    out = table.copy()
    out["provider_share"] = [float(provider_shares[name]) for name in out.index]
    out["provider_subsidy"] = out[column] * out["provider_share"]
    return out


def margin_share(value: float, threshold: float) -> float:
    """Largest share of ``value`` that could be taken off before it falls to ``threshold`` (0 if it is not above)."""
    return max(0.0, 1.0 - float(threshold) / float(value)) if value > 0 else 0.0


# --- claim 4: the growth arithmetic --------------------------------------------------------------------

def growth_multiple(target_usd: float, current_usd: float) -> float:
    """How many times ``current_usd`` the ``target_usd`` is (inf when there is nothing now)."""
    return float(target_usd) / float(current_usd) if current_usd > 0 else np.inf


def capture_target(market_usd: float = THREAD_COMPUTE_MARKET_USD, share: float = THREAD_CAPTURE_SHARE) -> float:
    """Revenue a year from capturing ``share`` of a market of ``market_usd`` a year (USD)."""
    return float(market_usd) * float(share)


# --- claim 1 and the -80% shock: regimes against the twin ----------------------------------------------

def bear_sweep(scenarios: Iterable, sizes: Sequence[float], start_day: float, duration_days: float
               ) -> tuple[dict, dict]:
    """A ``bear_market`` of every size on every sector (``models.analysis.loop.standard_bear_market``).

    Returns:
        ``(pairs, sizes)``: ``{(sector, label): Twins}`` for ``loop.run_twins`` and ``{label: size}``.
    """
    pairs, labels = {}, {}
    for sc in scenarios:
        for size in sizes:
            label = f"bear -{size:.0%}"
            pairs[(sc.sector, label)] = loop.standard_bear_market(sc, start_day, float(size), duration_days)
            labels[label] = float(size)
    return pairs, labels


def run_outcomes(frame: pd.DataFrame, scenarios: Mapping[str, object], window_steps: int = 26) -> pd.DataFrame:
    """Per sector, shock and seed of ``loop.run_twins`` output: the regime against the twin and what the shock did.

    Args:
        frame: ``loop.run_twins`` output with ``providers``, ``price`` and ``orders``.
        scenarios: sector -> scenario (for the regime thresholds).
        window_steps: window of the loop gain after the first effect, steps (``twins.loop_gain``; 26 weeks =
            the default ``regimes.recovery_window_days`` of 182 days).

    Returns:
        ``sector, shock, seed, regime, final_ratio`` (providers / twin at the horizon), ``trough``,
        ``price_drop`` (1 - lowest price ratio to the twin after the first effect) and ``loop_gain``
        (d log orders / d log price, NaN where ``twins.loop_gain`` has none).
    """
    rows = []
    for (sector, shock, seed), run in frame.groupby(loop.KEYS, sort=False):
        shocked = run[run["variant"] == loop.SHOCKED].sort_values("step").reset_index(drop=True)
        twin = run[run["variant"] == loop.TWIN].sort_values("step").reset_index(drop=True)
        effect = int(shocked["effect_step"].iloc[0])
        sc = scenarios[sector]
        res = twins.classify_against_twin(shocked["providers"], twin["providers"], effect - 1, sc.regimes,
                                          sc.simulation.dt_days)
        price = twins.twin_ratio(shocked["price"], twin["price"])[effect:]
        gain = twins.loop_gain(shocked, twin, effect - 1, window_steps)
        rows.append({"sector": sector, "shock": shock, "seed": int(seed), "regime": res.regime,
                     "final_ratio": res.final_ratio, "trough": res.trough,
                     "price_drop": float(1.0 - np.nanmin(price)), "loop_gain": np.nan if gain is None else gain})
    return pd.DataFrame(rows)


def collapse_table(outcomes: pd.DataFrame, by: Sequence[str] = ("sector", "shock"), confidence: float = 0.95
                   ) -> pd.DataFrame:
    """P(collapse against the twin) with a Wilson interval, median provider ratio at the horizon and price drop.

    Returns:
        Per group: ``runs``, ``collapses``, ``p_collapse``, ``p_low``, ``p_high``, ``final_ratio`` (median),
        ``price_drop`` (median) and ``loop_gain`` (median of the finite values).
    """
    rows = []
    for key, part in outcomes.groupby(list(by), sort=False):
        k, n = int((part["regime"] == "collapse").sum()), len(part)
        low, high = wilson(k, n, confidence)
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)), "runs": n,
                     "collapses": k, "p_collapse": k / n, "p_low": low, "p_high": high,
                     "final_ratio": float(part["final_ratio"].median()),
                     "price_drop": float(part["price_drop"].median()),
                     "loop_gain": float(part["loop_gain"].median())})
    return pd.DataFrame(rows)


def critical_falls(outcomes: pd.DataFrame, sizes: Mapping[str, float], n_resamples: int = 400) -> pd.DataFrame:
    """Per sector, the bear-market size and the price fall against the twin at which P(collapse) crosses 50%.

    Logistic crossings with bootstrap intervals (``models.analysis.points.critical_value``); ``inside`` False
    means the crossing lies outside the swept values (the data only say on which side).

    Returns:
        Indexed by sector: ``size``, ``size_low``, ``size_high``, ``size_inside``, and the same for
        ``price_drop``, plus ``max_p_collapse`` over the sizes.
    """
    data = outcomes.assign(size=outcomes["shock"].map(sizes))
    rows = []
    for sector, part in data.groupby("sector", sort=False):
        row = {"sector": sector}
        for column in ("size", "price_drop"):
            c = critical_value(part, column, n_resamples=n_resamples)
            row.update({column: c["value"], f"{column}_low": c["low"], f"{column}_high": c["high"],
                        f"{column}_inside": c["inside"]})
        row["max_p_collapse"] = float(part.groupby("size")["regime"].apply(lambda r: (r == "collapse").mean()).max())
        rows.append(row)
    return pd.DataFrame(rows).set_index("sector")


def claims_table(rows: Sequence[Mapping]) -> pd.DataFrame:
    """The claims side by side: ``claim, measured, number, verdict, why`` (one mapping per claim)."""
    columns = ["claim", "measured", "number", "verdict", "why"]
    return pd.DataFrame([{c: row[c] for c in columns} for row in rows]).set_index("claim")
