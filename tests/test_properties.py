"""Property tests over random valid scenarios on every engine, and over the AMM mechanism.

Properties:
1. conservation: supply == sum of the token accounts (``ledger.TOKEN_ACCOUNTS``) every step, and it changes by
   minted - burned; USD held in the model (``ledger.USD_ACCOUNTS``) changes by usd_in_total - usd_out_total;
2. the pool's constant product never falls on a swap (mechanism level: ``sell_tokens``, ``buy_tokens``,
   ``signed_trade``, ``trade_toward_price``; engine level, block by block inside each step: every block but
   the liquidity moves keeps or raises it, a liquidity drain lowers it by at most the drained share, and the
   outside holders move the price toward their valuation and never past it);
3. no negative balances or counts, every numeric output finite (NaN only where a column is undefined);
4. cadCAD and the batched engine give the same numbers for the same scenario and seed.

Runs are reproducible: the ``ci`` profile (the default) is derandomized and does not shrink;
``HYPOTHESIS_PROFILE=shrink`` minimises a failing example of the same run, ``HYPOTHESIS_PROFILE=explore`` draws
fresh random examples; ``PROPERTY_EXAMPLES_SCALE`` multiplies every example count.
"""

from __future__ import annotations

import importlib
import math
import os
import pkgutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from ledger_checks import NON_NEGATIVE, check_ledger

import models
from models import engines
from models.exogenous import run_seed_sequence, sample_exogenous
from models.ledger import TOKEN_ACCOUNTS, USD_ACCOUNTS
from models.mechanisms import amm
from models.params import load_scenario, with_overrides
from models.sd import economy

# -- example counts (the lead quotes these) ---------------------------------------------------------------
_SCALE = float(os.environ.get("PROPERTY_EXAMPLES_SCALE", "1"))
AMM_EXAMPLES = int(400 * _SCALE)  # per AMM mechanism property
# each engine example is one run checked for properties 1-3 at once (ledger, finiteness, pool block by block)
BATCH_EXAMPLES = int(300 * _SCALE)  # runs of the batched engine
CADCAD_EXAMPLES = int(60 * _SCALE)  # runs of the cadCAD engine
ABM_EXAMPLES = int(100 * _SCALE)  # runs of the Mesa engine
AGREE_EXAMPLES = int(100 * _SCALE)  # cadCAD == batch
HUGE_SUPPLY_EXAMPLES = int(50 * _SCALE)  # batch conservation with supplies up to ~1e12 tokens
AGREE_RTOL = 1e-9
K_RTOL = 1e-12  # constant product may fall by at most this relative amount (rounding)

_COMMON = {
    "database": None,
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}
# ci: reproducible, and a failure is reported at once with the full drawn example (no shrinking: one engine
# run per shrink step makes shrinking take minutes); shrink: the same examples, minimised for a reproducer;
# explore: fresh random examples, minimised.
settings.register_profile("ci", derandomize=True, phases=[Phase.explicit, Phase.reuse, Phase.generate], **_COMMON)
settings.register_profile("shrink", derandomize=True, **_COMMON)
settings.register_profile("explore", derandomize=False, **_COMMON)
# applied per test (not loaded globally) so other modules' hypothesis tests keep their own settings
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
# Hypothesis also draws constants it finds in the local (non-test) modules loaded so far, so a derandomized
# run's examples would depend on which other tests were collected or ran first in the process; loading every
# ``models`` module up front gives the ``ci`` profile the same examples in any run.
for _module in pkgutil.walk_packages(models.__path__, "models."):
    importlib.import_module(_module.name)


def examples(n: int) -> settings:
    return settings(PROFILE, max_examples=max(n, 1))


BASE = load_scenario(Path(__file__).resolve().parents[1] / "params" / "base.yaml")
SHOCK_TYPES = (
    "price_crash", "bear_market", "liquidity_drain", "unlock_cliff", "demand_drop", "cost_spike", "price_path",
)
FRACTION_SHOCKS = ("price_crash", "bear_market", "liquidity_drain", "unlock_cliff", "demand_drop")

# -- scenario strategy ------------------------------------------------------------------------------------

# Liquidity providers whose half-life is far below the step can withdraw nearly the whole pool in one step, and
# ``ledger.outside_holders_trade`` computes the rest as ``x - x * remove``: the cancellation moves the price by
# up to eps / (1 - remove) (LP_DRAIN below, reported). The strategy keeps their half-life at least a quarter
# step (at most 15/16 withdrawn a step, a few ulps of error) until the remainder is computed as ``x * (1 - remove)``.


def uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def log_uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Spread over orders of magnitude: 10**u with u uniform in [log10 lo, log10 hi]."""
    return uniform(math.log10(lo), math.log10(hi)).map(lambda u: float(10.0**u))


def share() -> st.SearchStrategy[float]:
    """A fraction in [0, 1] that hits both ends now and then."""
    return st.one_of(st.sampled_from([0.0, 1.0]), uniform(0.0, 1.0))


@st.composite
def shock_events(draw, horizon_days: float, dt_days: float, pool_tokens: float, fee: float) -> dict:
    kind = draw(st.sampled_from(SHOCK_TYPES))
    start = float(draw(st.integers(0, int(horizon_days) - 1)))
    event = {
        "type": kind,
        "start_day": start,
        "duration_days": draw(uniform(1.0, 84.0)),
        # the latest possible start stays inside the horizon
        "start_jitter_days": min(draw(st.sampled_from([0.0, 0.0, 0.0, dt_days, 3 * dt_days])),
                                 horizon_days - 1 - start),
    }
    if kind in FRACTION_SHOCKS:
        event["size"] = draw(st.one_of(st.just(0.0), uniform(0.0, 0.99)))
    elif kind == "cost_spike":
        event["size"] = draw(uniform(0.0, 5.0))
    else:  # price_path
        event["path"] = draw(st.lists(log_uniform(0.05, 5.0), min_size=1, max_size=16))
        event["path_interval_days"] = draw(st.sampled_from([1.0, 7.0, 30.0]))
        event["inventory_tokens"] = draw(st.one_of(st.just(0.0), log_uniform(1.0, pool_tokens)))
    if kind == "price_crash":
        # the forced seller holds at least what the drop needs against the genesis pool (validation)
        needed = float(amm.tokens_for_price_drop(pool_tokens, event["size"], fee))
        event["inventory_tokens"] = needed * draw(st.one_of(st.just(1.0), uniform(1.0, 3.0)))
    return event


@st.composite
def scenario_overrides(draw, max_providers: int = 300, max_users: int = 1500, max_speculators: int = 40,
                       max_pool_tokens: float = 1e8) -> dict:
    """Dotted overrides of the base scenario that always pass validation (cross-field checks included).

    Rates are per year and durations in days, drawn over ranges that cover daily to monthly steps. Token
    amounts stay below about 1e9 by default: ``check_ledger`` compares supply changes with an absolute
    tolerance of 1e-6 tokens, below the float resolution of larger supplies.
    """
    steps = draw(st.integers(10, 80))
    dt = draw(st.sampled_from([1.0, 7.0, 7.0, 14.0, 30.0]))
    n_providers = draw(st.integers(1, max_providers))
    n_users = draw(st.integers(1, max_users))
    n_spec = draw(st.one_of(st.just(0), st.integers(0, max_speculators)))
    o: dict = {
        "simulation.steps": steps,
        "simulation.dt_days": dt,
        "simulation.potential_providers": n_providers,
        "simulation.potential_users": n_users,
        "simulation.speculators": n_spec,
        "simulation.cost_cohorts": draw(st.integers(1, 6)),
        # emission
        "emission.schedule": draw(st.sampled_from(["constant", "halving", "exponential_decay", "baseline"])),
        "emission.initial_tokens_per_year": draw(st.one_of(st.just(0.0), log_uniform(5e3, 5e7))),
        "emission.halving_period_years": draw(uniform(0.02, 4.0)),
        "emission.half_life_years": draw(uniform(0.2, 20.0)),
        "emission.decay_total_tokens": draw(log_uniform(1e5, 3 * max_pool_tokens)),
        "emission.baseline_total_tokens": draw(log_uniform(1e5, 3 * max_pool_tokens)),
        "emission.baseline_initial_capacity": draw(log_uniform(1.0, 1e5)),
        "emission.baseline_growth_per_year": draw(uniform(0.0, 2.0)),
        "emission.provider_share": draw(share()),
        # payment
        "payment.mode": draw(st.sampled_from(["bme", "fee"])),
        "payment.service_price_usd": draw(uniform(0.0, 1.0)),
        "payment.burn_share": draw(share()),
        "payment.take_rate": draw(share()),
        # market: the pool, liquidity providers, the outside float and the crypto-market factor
        "market.fee": draw(st.one_of(st.just(0.0), uniform(0.0, 0.1))),
        "market.liquidity_target_share": draw(st.one_of(st.none(), log_uniform(1e-3, 1.0))),
        # at least a quarter step: see the note above the strategy (LP_DRAIN)
        "market.liquidity_half_life_days": draw(log_uniform(max(0.5, dt / 4), 365.0)),
        "market.float_half_life_days": draw(log_uniform(0.5, 365.0)),
        "market.flow_information_share": draw(share()),
        "market.flow_memory_half_life_days": draw(log_uniform(1.0, 365.0)),
        "market.factor_drift_per_year": draw(uniform(-1.0, 1.0)),
        "market.factor_volatility_per_year": draw(uniform(0.0, 2.0)),
        "market.factor_tail_df": draw(uniform(2.5, 50.0)),
        "market.sentiment_volatility": draw(uniform(0.0, 1.0)),
        "market.sentiment_half_life_days": draw(log_uniform(1.0, 365.0)),
        # treasury
        "treasury.policy": draw(st.sampled_from(["hold", "buyback_burn", "add_liquidity"])),
        "treasury.spend_rate_per_year": draw(uniform(0.0, 20.0)),
        "treasury.initial_usd": draw(st.one_of(st.just(0.0), log_uniform(1.0, 1e7))),
        # providers
        "providers.initial_active": draw(st.integers(0, n_providers)),
        "providers.capex_usd": draw(uniform(0.0, 3000.0)),
        "providers.opex_usd_per_year": draw(uniform(0.0, 1500.0)),
        "providers.opex_dispersion": draw(st.one_of(st.just(0.0), uniform(0.0, 3.0))),
        "providers.capacity_per_provider": draw(log_uniform(0.02, 20.0)),
        "providers.lead_time_days": draw(uniform(0.0, 90.0)),
        "providers.exit_patience_days": draw(uniform(0.0, 140.0)),
        "providers.margin_half_life_days": draw(log_uniform(1.0, 365.0)),
        "providers.exit_rate_per_year": draw(st.one_of(st.just(0.0), log_uniform(0.1, 100.0))),
        "providers.hardware_lifetime_years": draw(uniform(0.05, 20.0)),
        "providers.sell_share": draw(share()),
        "providers.inventory_sale_rate_per_year": draw(st.one_of(st.just(0.0), log_uniform(0.01, 100.0))),
        "providers.exit_sale_share": draw(share()),
        "providers.payback_threshold_years": draw(uniform(0.05, 4.0)),
        "providers.entry_max_rate_per_year": draw(st.one_of(st.just(0.0), log_uniform(0.01, 50.0))),
        "providers.entry_steepness": draw(uniform(0.1, 20.0)),
        "providers.word_of_mouth": draw(uniform(0.0, 5.0)),
        "providers.expectation_half_life_days": draw(log_uniform(1.0, 365.0)),
        # users
        "users.market_growth_per_year": draw(uniform(0.0, 3.0)),
        "users.bass_innovation_per_year": draw(uniform(0.0, 10.0)),
        "users.bass_imitation_per_year": draw(uniform(0.0, 50.0)),
        "users.usage_per_user": draw(log_uniform(0.01, 5.0)),
        "users.quality_elasticity": draw(uniform(0.0, 3.0)),
        "users.alternative_price_usd": draw(log_uniform(0.01, 1.0)),
        "users.price_elasticity": draw(uniform(0.0, 5.0)),
        "users.wtp_dispersion": draw(st.one_of(st.just(0.0), uniform(0.0, 3.0))),
        "users.base_churn_per_year": draw(uniform(0.0, 10.0)),
        "users.quality_churn_per_year": draw(uniform(0.0, 50.0)),
        # speculators
        "speculators.budget_usd": draw(uniform(0.0, 1e4)),
        "speculators.initial_tokens": draw(uniform(0.0, min(1e5, max_pool_tokens / max(max_speculators, 1)))),
        "speculators.trade_half_life_days": draw(log_uniform(0.1, 60.0)),
        "speculators.discount_rate_per_year": draw(uniform(0.01, 10.0)),
        "speculators.max_revenue_multiple": draw(log_uniform(0.1, 200.0)),
        "speculators.growth_half_life_days": draw(log_uniform(1.0, 365.0)),
        "speculators.fundamentalist_strength": draw(uniform(0.0, 5.0)),
        "speculators.trend_strength": draw(uniform(0.0, 5.0)),
        "speculators.trend_half_life_days": draw(log_uniform(1.0, 365.0)),
        "speculators.noise_sigma": draw(uniform(0.0, 2.0)),
        "speculators.intensity_of_choice": draw(uniform(0.0, 50.0)),
        "speculators.fitness_half_life_days": draw(log_uniform(1.0, 365.0)),
        "speculators.volatility_half_life_days": draw(log_uniform(1.0, 365.0)),
        "speculators.prior_volatility_per_year": draw(log_uniform(0.01, 10.0)),
        "speculators.sentiment_strength": draw(uniform(0.0, 2.0)),
    }
    liquidity = draw(log_uniform(1e3, 1e7))
    o["market.liquidity_usd"] = liquidity
    o["market.initial_price_usd"] = draw(log_uniform(max(1e-4, liquidity / max_pool_tokens), 1e2))
    pool_tokens = liquidity / o["market.initial_price_usd"]
    market_share = draw(share())
    o["users.initial_market_share"] = market_share
    o["users.initial_users"] = draw(st.integers(0, math.floor(n_users * market_share)))
    weights = draw(st.tuples(*[st.sampled_from([0.0, 1.0, 2.0, 5.0])] * 3).filter(lambda w: sum(w) > 0))
    o["speculators.initial_shares"] = [w / sum(weights) for w in weights]
    # vesting on (1-2 allocations) or off
    horizon = steps * dt
    allocations = []
    if draw(st.booleans()):
        for i in range(draw(st.integers(1, 2))):
            allocations.append(
                {
                    "name": f"alloc{i}",
                    "tokens": draw(st.one_of(st.just(0.0), log_uniform(1e3, min(5e6, max_pool_tokens)))),
                    "cliff_days": draw(uniform(0.0, horizon + 70.0)),
                    "vesting_days": draw(uniform(1.0, 1050.0)),
                    "sell_share": draw(share()),
                }
            )
    o["vesting.allocations"] = allocations
    o["shocks"] = draw(st.lists(shock_events(horizon, dt, pool_tokens, o["market.fee"]), min_size=0, max_size=3))
    # genesis: supply covers vesting + pool + speculators + shock actors (the validator's sum), plus a float
    vested = sum(a["tokens"] for a in allocations)
    spec_tokens = n_spec * o["speculators.initial_tokens"]
    actors = sum(e.get("inventory_tokens", 0.0) for e in o["shocks"])
    held = vested + pool_tokens + spec_tokens + actors
    supply = held * (1.0 + draw(st.one_of(st.just(1e-6), uniform(1e-3, 1.0)))) + draw(uniform(0.0, 1e6))
    o["token.initial_supply"] = supply
    o["token.max_supply"] = draw(st.one_of(st.none(), uniform(0.5, 3.0).map(lambda r: r * supply)))
    return o


SMALL = scenario_overrides()  # ABM-sized populations
LARGE = scenario_overrides(max_providers=20_000, max_users=200_000, max_speculators=1000)
HUGE_SUPPLY = scenario_overrides(max_providers=20_000, max_users=200_000, max_speculators=1000, max_pool_tokens=1e12)
seeds = st.integers(0, 2**32 - 1)


def build(overrides: dict):
    return with_overrides(BASE, overrides)


def run(overrides: dict, engine: str, seed: int) -> pd.DataFrame:
    return engines.run(build(overrides), engine, seed=seed)


# -- checks -------------------------------------------------------------------------------------------------

# columns that may legitimately be negative (a margin, sentiment, net arbitrage USD); everything else is a
# balance, count, price or share
SIGNED = {"mean_margin_usd", "sentiment", "arbitrage_usd"}
# columns that are NaN by definition at some steps: no tokens sold (bme_price), no price path (path_target_price),
# unlimited production (production_capacity)
NULLABLE = {"bme_price", "path_target_price", "production_capacity"}


def check_finite_and_non_negative(frame: pd.DataFrame, steps: int, negative_tolerance: float = 1e-9) -> None:
    """Property 3; the default tolerance is ``check_ledger``'s (an absolute 1e-9)."""
    assert list(frame["step"]) == list(range(steps + 1))
    numeric = frame.select_dtypes("number")
    assert set(NULLABLE) <= set(numeric.columns)
    values = numeric.to_numpy(dtype=float)
    nullable = np.isin(numeric.columns, list(NULLABLE))
    bad = ~np.isfinite(values) & ~(np.isnan(values) & nullable)
    assert not bad.any(), f"non-finite values in {list(numeric.columns[bad.any(axis=0)])}"
    non_negative = [c for c in numeric.columns if c not in SIGNED]
    assert set(NON_NEGATIVE) <= set(non_negative)
    lows = numeric[non_negative].min().dropna()  # NaN skipped (an all-NaN nullable column has no minimum)
    assert (lows >= -negative_tolerance).all(), lows[lows < -negative_tolerance].to_dict()
    assert (frame["price"] > 0).all() and (frame["amm_tokens"] > 0).all() and (frame["amm_usd"] > 0).all()
    for col in ("quality", "share_fundamentalist", "share_trend", "share_noise"):
        assert frame[col].max() <= 1 + 1e-9, (col, frame[col].max())
    shares = frame[["share_fundamentalist", "share_trend", "share_noise"]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0, rtol=1e-9)
    # nan exactly when undefined: bme_price when no tokens were sold
    # (or when a dust sale makes usage USD / tokens sold exceed the float range: BME_PRICE_OVERFLOW below)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        undefined = (frame["tokens_sold"] <= 0) | ~np.isfinite(frame["revenue_usd"] / frame["tokens_sold"])
    np.testing.assert_array_equal(frame["bme_price"].isna(), undefined)
    # a forced seller never pushes the price further than it aims for
    assert (frame["crash_achieved"] <= frame["crash_target"] + 1e-9).all()


def check_conservation_at_float_resolution(frame: pd.DataFrame) -> None:
    """Property 1 with a tolerance scaled to the supply (a few ulps), for supplies of any size."""
    tol = 64 * np.finfo(float).eps * frame[list(TOKEN_ACCOUNTS)].abs().sum(axis=1).max()
    for _, r in frame.groupby("run"):
        held = r[list(TOKEN_ACCOUNTS)].sum(axis=1).to_numpy()
        supply = r["supply"].to_numpy()
        assert np.abs(held - supply).max() <= tol, np.abs(held - supply).max() / tol
        flow = (r["minted"] - r["burned"]).to_numpy()[1:]
        assert np.abs(np.diff(supply) - flow).max(initial=0.0) <= tol, np.abs(np.diff(supply) - flow).max() / tol
        # USD the same way: held changes by what crossed the model's boundary, to a few ulps of the USD in play
        usd = r[list(USD_ACCOUNTS)].sum(axis=1).to_numpy()
        net = (r["usd_in_total"] - r["usd_out_total"]).to_numpy()
        usd_tol = 64 * np.finfo(float).eps * max(r[list(USD_ACCOUNTS)].abs().sum(axis=1).max(),
                                                 r["usd_in_total"].max(), r["usd_out_total"].max())
        assert np.abs((usd - usd[0]) - (net - net[0])).max() <= usd_tol


def check_path_schedule(frame: pd.DataFrame, scenario, seed: int) -> None:
    """``path_target_price`` is recorded exactly at the steps the replayed price path asks for one."""
    exo = sample_exogenous(scenario, run_seed_sequence(seed))
    on_path = ~np.isnan(exo.schedule["target_price_rel"][: len(frame) - 1])
    np.testing.assert_array_equal(frame["path_target_price"].notna().to_numpy()[1:], on_path)


# -- pool moves, block by block ------------------------------------------------------------------------------
#
# Liquidity providers now deposit and withdraw every step (outside_holders), so the pool's constant product
# moves between rows by design. The property is checked inside each step, block by block, on the engines'
# own loops: a block that only swaps, or deposits at the pool ratio, never lowers the product; the shocks
# block lowers it by at most the drain; the outside holders' block moves the price toward their valuation
# and never past it (its liquidity moves are at the pool ratio and keep the price).


@dataclass
class PoolMove:
    step: int
    block: str
    x0: float
    y0: float
    x1: float
    y1: float
    valuation: float
    drained: float


def _traced(name, block, log):
    """An ``economy.BLOCKS`` entry that records the pool before and after it (one run)."""

    def run_block(P, structure, s, exo_t, step):
        changes = block(P, structure, s, exo_t, step)
        after = {**s, **changes}
        log.append(PoolMove(int(step), name, float(s["amm_tokens"][0]), float(s["amm_usd"][0]),
                            float(after["amm_tokens"][0]), float(after["amm_usd"][0]),
                            float(after["valuation"][0]), float(exo_t["liquidity_removed"][0])))
        return changes

    return run_block


def traced_aggregate(scenario, engine: str, seed: int) -> tuple[pd.DataFrame, list[PoolMove]]:
    """Run the batched or cadCAD engine with every economy block traced."""
    from models.sd import batch, cadcad_model

    log: list[PoolMove] = []
    blocks = tuple((name, _traced(name, block, log)) for name, block in economy.BLOCKS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(batch if engine == "batch" else cadcad_model, "BLOCKS", blocks)
        frame = engines.run(scenario, engine, seed=seed)
    return frame, log


def traced_abm(scenario, seed: int) -> tuple[pd.DataFrame, list[PoolMove]]:
    """Run the ABM with each of its blocks traced."""
    from models.abm.model import DePINModel
    from models.output import to_frame

    model = DePINModel(scenario, run_seed_sequence(seed))
    log: list[PoolMove] = []

    def wrap(name, block):
        def run_block(t):
            s = model.s
            x0, y0 = float(s["amm_tokens"][0]), float(s["amm_usd"][0])
            block(t)
            log.append(PoolMove(t, name, x0, y0, float(s["amm_tokens"][0]), float(s["amm_usd"][0]),
                                float(s["valuation"][0]), float(model.exo_t["liquidity_removed"][0])))
        return run_block

    model.blocks = tuple((name, wrap(name, block)) for name, block in model.blocks)
    for _ in range(scenario.simulation.steps):
        model.step()
    return to_frame(model.rows), log


def check_pool_moves(log: list[PoolMove], steps: int) -> None:
    assert len(log) == steps * len(economy.BLOCKS)
    for m in log:
        k0, k1 = m.x0 * m.y0, m.x1 * m.y1
        p0, p1 = m.y0 / m.x0, m.y1 / m.x1
        where = (m.step, m.block)
        assert m.x1 > 0 and m.y1 > 0, where
        if m.block == "outside_holders":
            toward, moved = np.log(m.valuation / p0), np.log(p1 / p0)
            assert moved * toward >= -1e-9 * (1 + abs(toward)), (where, moved, toward)
            assert abs(moved) <= abs(toward) + 1e-9, (where, moved, toward)
        elif m.block == "shocks":
            assert k1 >= k0 * (1 - m.drained) ** 2 * (1 - K_RTOL), (where, k1 / k0 - 1)
        else:
            assert k1 >= k0 * (1 - K_RTOL), (where, k1 / k0 - 1)


def check_all(frame: pd.DataFrame, overrides: dict, seed: int) -> None:
    scenario = build(overrides)
    check_ledger(frame)
    check_finite_and_non_negative(frame, scenario.simulation.steps)
    check_path_schedule(frame, scenario, seed)


def relative_differences(a: pd.DataFrame, b: pd.DataFrame) -> pd.Series:
    """Largest relative difference per numeric column (as ``models.analysis.ensembles``)."""
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    cols = list(a.select_dtypes("number").columns)
    na, nb = a[cols].isna().to_numpy(), b[cols].isna().to_numpy()
    np.testing.assert_array_equal(na, nb)
    diff = (a[cols] - b[cols]).abs() / b[cols].abs().clip(lower=1e-12)
    return diff.max(axis=0, skipna=True).fillna(0.0)


# -- 1, 3 and 2 (engine level): ledger, finiteness and the pool on every engine ----------------------------
#
# Each example runs the engine once, with its blocks traced, and checks every property on that run.


def check_traced_run(frame: pd.DataFrame, log: list[PoolMove], overrides: dict, seed: int) -> None:
    check_all(frame, overrides, seed)
    check_pool_moves(log, overrides["simulation.steps"])


@examples(BATCH_EXAMPLES)
@given(overrides=LARGE, seed=seeds)
def test_batch_ledger_finite_non_negative_and_pool(overrides, seed):
    frame, log = traced_aggregate(build(overrides), "batch", seed)
    check_traced_run(frame, log, overrides, seed)


@examples(HUGE_SUPPLY_EXAMPLES)
@given(overrides=HUGE_SUPPLY, seed=seeds)
def test_batch_ledger_conserved_at_float_resolution_for_huge_supplies(overrides, seed):
    frame = run(overrides, "batch", seed)
    check_conservation_at_float_resolution(frame)
    # at this scale an absolute 1e-9 is below one ulp of the token accounts: allow a few ulps
    tolerance = 64 * np.finfo(float).eps * frame["supply"].max()
    check_finite_and_non_negative(frame, overrides["simulation.steps"], negative_tolerance=tolerance)


@examples(CADCAD_EXAMPLES)
@given(overrides=LARGE, seed=seeds)
def test_cadcad_ledger_finite_non_negative_and_pool(overrides, seed):
    frame, log = traced_aggregate(build(overrides), "cadcad", seed)
    check_traced_run(frame, log, overrides, seed)


@examples(ABM_EXAMPLES)
@given(overrides=SMALL, seed=seeds)
def test_abm_ledger_finite_non_negative_and_pool(overrides, seed):
    frame, log = traced_abm(build(overrides), seed)
    check_traced_run(frame, log, overrides, seed)


@pytest.mark.parametrize("engine", engines.ENGINES)
def test_tracing_does_not_change_the_run(engine):
    scenario = build(ABM_ALL_IN_SPECULATORS)
    frame, _ = traced_abm(scenario, 3) if engine == "abm" else traced_aggregate(scenario, engine, 3)
    pd.testing.assert_frame_equal(frame, engines.run(scenario, engine, seed=3))


# -- pinned reproducers of what the properties found ---------------------------------------------------------
#
# Fixed (kept as regression tests):
# 1. Providers who sell their whole reward (sell_share 1, or opex above the reward's value) sell
#    sum_k active_k * (pool / sum_k active_k) tokens, which rounds above the pool they were paid, so the
#    provider inventory went a few ulps of the per-step reward pool negative (all three engines).
# 2. ABM: speculators' orders are capped by each agent's own cash, but the pooled ledger spent the sum of
#    the agents' cash, which rounds above ``speculator_usd``; the ledger went a few ulps negative.

FULL_REWARD_SALE = {
    "simulation.steps": 20, "simulation.cost_cohorts": 5, "providers.sell_share": 1.0,
    "emission.initial_tokens_per_year": 1e7 * 365 / 7, "token.initial_supply": 1e8,
}
ABM_ALL_IN_SPECULATORS = {
    "simulation.steps": 30, "simulation.potential_providers": 300, "simulation.potential_users": 1500,
    "simulation.speculators": 40, "providers.initial_active": 60, "users.initial_users": 100,
    "speculators.budget_usd": 1e5, "speculators.trade_half_life_days": 0.01, "speculators.noise_sigma": 2.0,
    "speculators.initial_shares": [0.0, 0.0, 1.0],
    "shocks": [{"type": "price_path", "start_day": 70, "path": [0.5, 2.0], "inventory_tokens": 1e5}],
}


@pytest.mark.parametrize("engine", engines.ENGINES)
def test_providers_selling_their_whole_reward_keep_a_non_negative_inventory(engine):
    check_ledger(run(FULL_REWARD_SALE, engine, seed=1))


def test_abm_speculators_spending_all_their_cash_keep_a_non_negative_balance():
    check_ledger(run(ABM_ALL_IN_SPECULATORS, "abm", seed=7))


# Fixed (were strict xfails): liquidity providers now aim at a share of the market cap of the floating supply,
# pool included, as at genesis; bme_price is NaN when a dust sale overflows the quotient.
# 3. LP_DRAIN: liquidity providers aim at a share of the market cap *outside* the pool
#    (``ledger.outside_holders_trade``: ``p * (floating_supply - x)``), while the genesis ratio is taken
#    *with* the pool (``ledger.genesis``: ``pool_usd / (price0 * floating)``). When every floating token sits
#    in the pool the target depth is 0, and with a half-life far below the step (``ema_weight`` rounds to
#    1) they withdraw the whole pool in one step: price 0/0, NaN from then on. Short of that, a withdrawal of
#    nearly the whole pool computes ``x - x * remove`` with cancellation, so the price moves by up to
#    eps / (1 - remove) (seen: 5e-8 with a one-day half-life at monthly steps, remove = 1 - 2^-30).

LP_DRAIN = {  # all tokens in the pool; outside holders value them below the price, so they never buy
    "simulation.steps": 10, "simulation.dt_days": 30.0, "simulation.speculators": 0, "vesting.allocations": [],
    "token.initial_supply": 5e6, "providers.sell_share": 1.0, "market.liquidity_half_life_days": 0.5,
    "market.factor_drift_per_year": -1.0, "market.factor_volatility_per_year": 0.0,
    "market.sentiment_volatility": 0.0,
}


# 4. BME_PRICE_OVERFLOW: ``models.output.record`` divides usage USD by the tokens providers sold; when they
#    sell a few 1e-309 tokens (a provider share of emission of 1e-312, no opex) the quotient overflows to inf.
#    Now NaN (undefined) rather than inf.

BME_PRICE_OVERFLOW = {"simulation.steps": 5, "emission.provider_share": 1e-312, "providers.opex_usd_per_year": 0.0}


def test_bme_price_is_finite_or_nan():
    frame = run(BME_PRICE_OVERFLOW, "batch", seed=1)
    check_finite_and_non_negative(frame, BME_PRICE_OVERFLOW["simulation.steps"])
    assert (frame["tokens_sold"].iloc[1:] > 0).all() and frame["bme_price"].iloc[1:].isna().all()


def test_liquidity_providers_never_empty_the_pool():
    frame = run(LP_DRAIN, "batch", seed=1)
    check_finite_and_non_negative(frame, LP_DRAIN["simulation.steps"])
    assert frame["amm_usd"].min() > 0.01 * frame["amm_usd"].iloc[0]


# -- 4: cadCAD == batch ---------------------------------------------------------------------------------------


@examples(AGREE_EXAMPLES)
@given(overrides=LARGE, seed=seeds, data=st.data())
def test_cadcad_equals_batch(overrides, seed, data):
    # now and then a shorter run than the scenario's horizon (``engines.run(..., steps=)``)
    steps = data.draw(st.one_of(st.none(), st.integers(1, overrides["simulation.steps"])), label="steps")
    scenario = build(overrides)
    cad = engines.run(scenario, "cadcad", seed=seed, steps=steps)
    bat = engines.run(scenario, "batch", seed=seed, steps=steps)
    assert len(bat) == (scenario.simulation.steps if steps is None else steps) + 1
    diffs = relative_differences(cad, bat)
    worst = diffs.sort_values(ascending=False).head(3)
    note(f"worst columns: {worst.to_dict()}")
    assert diffs.max() <= AGREE_RTOL, worst.to_dict()


# -- 2: constant product at the mechanism level -----------------------------------------------------------

reserves = log_uniform(1e-3, 1e12)
amounts = st.one_of(st.just(0.0), log_uniform(1e-6, 1e13))
fees = st.one_of(st.sampled_from([0.0, 0.1]), uniform(0.0, 0.1))
orders = st.one_of(st.just(0.0), amounts, amounts.map(lambda v: -v))


def trades(order_strategy, with_available=False):
    """Scalars or arrays (1-16 entries) of (x, y, amount, fee[, tokens_available])."""
    fields = [reserves, reserves, order_strategy, fees] + ([amounts] if with_available else [])
    row = st.tuples(*fields)
    scalar = row.map(lambda r: tuple(float(v) for v in r))
    array = st.lists(row, min_size=1, max_size=16).map(lambda rows: tuple(np.array(c) for c in zip(*rows, strict=True)))
    return st.one_of(scalar, array)


def assert_product_kept(x, y, x1, y1):
    k0, k1 = np.asarray(x) * np.asarray(y), np.asarray(x1) * np.asarray(y1)
    assert np.all(k1 >= k0 * (1 - K_RTOL)), float(np.min(k1 / k0 - 1))


def assert_all(condition, *context):
    assert np.all(condition), context


@examples(AMM_EXAMPLES)
@given(trades(amounts))
def test_amm_sell_keeps_product_and_pays_at_most_the_reserve(trade):
    x, y, dx, fee = trade
    out, x1, y1 = amm.sell_tokens(x, y, dx, fee)
    assert np.shape(out) == np.shape(x)
    assert_all(np.isfinite(out) & np.isfinite(x1) & np.isfinite(y1))
    assert_all(out >= 0, out)
    assert_all(out <= y, out, y)
    assert_all((x1 > 0) & (y1 > 0), x1, y1)
    assert_product_kept(x, y, x1, y1)
    assert_all(amm.price(x1, y1) <= amm.price(x, y) * (1 + K_RTOL))  # selling never raises the price


@examples(AMM_EXAMPLES)
@given(trades(amounts))
def test_amm_buy_keeps_product_and_pays_at_most_the_reserve(trade):
    x, y, dy, fee = trade
    out, x1, y1 = amm.buy_tokens(x, y, dy, fee)
    assert np.shape(out) == np.shape(x)
    assert_all(np.isfinite(out) & np.isfinite(x1) & np.isfinite(y1))
    assert_all(out >= 0, out)
    assert_all(out <= x, out, x)
    assert_all((x1 > 0) & (y1 > 0), x1, y1)
    assert_product_kept(x, y, x1, y1)
    assert_all(amm.price(x1, y1) >= amm.price(x, y) * (1 - K_RTOL))  # buying never lowers it


@examples(AMM_EXAMPLES)
@given(trades(orders, with_available=True))
def test_amm_signed_trade_keeps_product_and_respects_holdings(trade):
    x, y, order, fee, available = trade
    d_tok, d_usd, x1, y1 = amm.signed_trade(x, y, order, fee, available)
    assert np.shape(d_tok) == np.shape(x)
    assert_all(np.isfinite(d_tok) & np.isfinite(d_usd) & np.isfinite(x1) & np.isfinite(y1))
    assert_all((x1 > 0) & (y1 > 0), x1, y1)
    assert_product_kept(x, y, x1, y1)
    order = np.asarray(order)
    buy, sell = order > 0, order < 0
    # a buy pays exactly the order and receives tokens, never more than the pool held
    assert_all(np.where(buy, (d_usd == -order) & (d_tok >= 0) & (d_tok <= x), True), d_tok, d_usd)
    # a sell gives up at most the tokens available and receives USD, never more than the pool held
    assert_all(np.where(sell, (d_tok <= 0) & (-d_tok <= available) & (d_usd >= 0) & (d_usd <= y), True),
               d_tok, d_usd)
    assert_all(np.where(order == 0, (d_tok == 0) & (d_usd == 0), True), d_tok, d_usd)
    # the pool's books mirror the trader's
    assert_all(np.abs((x1 - x) + d_tok) <= 1e-9 * np.maximum(x, x1), x1 - x, d_tok)


@examples(AMM_EXAMPLES)
@given(trades(orders, with_available=True))
def test_amm_arrays_give_the_scalar_results(trade):
    x, y, order, fee, available = trade
    if np.ndim(x) == 0:
        x, y, order, fee, available = (np.array([v]) for v in (x, y, order, fee, available))
    vector = amm.signed_trade(x, y, order, fee, available)
    for i in range(len(x)):
        scalar = amm.signed_trade(float(x[i]), float(y[i]), float(order[i]), float(fee[i]), float(available[i]))
        for v, s in zip(vector, scalar, strict=True):
            assert v[i] == pytest.approx(float(s), rel=1e-12, abs=0.0)


@examples(AMM_EXAMPLES)
@given(trades(log_uniform(1e-3, 1e3), with_available=True), st.one_of(st.just(np.inf), amounts))
def test_amm_trade_toward_price_keeps_product_and_respects_holdings(trade, usd_available):
    x, y, rel, fee, tokens_available = trade
    p0 = amm.price(x, y)
    d_tok, d_usd, x1, y1 = amm.trade_toward_price(x, y, p0 * rel, fee, tokens_available, usd_available)
    assert_all(np.isfinite(d_tok) & np.isfinite(d_usd) & (x1 > 0) & (y1 > 0), d_tok, d_usd)
    assert_product_kept(x, y, x1, y1)
    assert_all(-d_tok <= np.asarray(tokens_available) * (1 + 1e-12), d_tok, tokens_available)
    assert_all(-d_usd <= usd_available * (1 + 1e-12), d_usd)
    # the price moves toward the target and never past it
    p1 = amm.price(x1, y1)
    moved, toward = np.log(p1 / p0), np.log(rel)
    assert_all(moved * toward >= -1e-9 * (1 + np.abs(toward)), moved, toward)
    assert_all(np.abs(moved) <= np.abs(toward) * (1 + 1e-9) + 1e-12, moved, toward)
