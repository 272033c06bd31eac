"""Property tests over random valid scenarios on every engine, and over the AMM mechanism.

Properties:
1. token conservation: supply == sum of the token accounts every step, and it changes by minted - burned;
2. the pool's constant product never falls on a swap (mechanism level: ``sell_tokens``, ``buy_tokens``,
   ``signed_trade``; engine level: every step without a liquidity drain, where the pool changes only by
   fee-charging swaps and fee-free arbitrage swaps);
3. no negative balances or counts, every numeric output finite;
4. cadCAD and the batched engine give the same numbers for the same scenario and seed.

Runs are reproducible: the ``ci`` profile (the default) is derandomized and does not shrink;
``HYPOTHESIS_PROFILE=shrink`` minimises a failing example of the same run, ``HYPOTHESIS_PROFILE=explore`` draws
fresh random examples; ``PROPERTY_EXAMPLES_SCALE`` multiplies every example count.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from ledger_checks import NON_NEGATIVE, check_ledger

from models import engines
from models.exogenous import run_seed_sequence, sample_exogenous
from models.ledger import TOKEN_ACCOUNTS
from models.mechanisms import amm
from models.params import load_scenario, with_overrides

# -- example counts (the lead quotes these) ---------------------------------------------------------------
_SCALE = float(os.environ.get("PROPERTY_EXAMPLES_SCALE", "1"))
AMM_EXAMPLES = int(400 * _SCALE)  # per AMM mechanism property
BATCH_EXAMPLES = int(150 * _SCALE)  # per property on the batched engine
CADCAD_EXAMPLES = int(60 * _SCALE)  # per property on the cadCAD engine
ABM_EXAMPLES = int(40 * _SCALE)  # per property on the Mesa engine
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


def examples(n: int) -> settings:
    return settings(PROFILE, max_examples=max(n, 1))


BASE = load_scenario(Path(__file__).resolve().parents[1] / "params" / "base.yaml")
SHOCK_TYPES = (
    "price_crash", "bear_market", "liquidity_drain", "unlock_cliff", "demand_drop", "cost_spike", "price_path",
)
FRACTION_SHOCKS = ("price_crash", "liquidity_drain", "unlock_cliff", "demand_drop")

# -- scenario strategy ------------------------------------------------------------------------------------


def uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def log_uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Spread over orders of magnitude: 10**u with u uniform in [log10 lo, log10 hi]."""
    return uniform(math.log10(lo), math.log10(hi)).map(lambda u: float(10.0**u))


def share() -> st.SearchStrategy[float]:
    """A fraction in [0, 1] that hits both ends now and then."""
    return st.one_of(st.sampled_from([0.0, 1.0]), uniform(0.0, 1.0))


@st.composite
def shock_events(draw, steps: int) -> dict:
    kind = draw(st.sampled_from(SHOCK_TYPES))
    start = draw(st.integers(0, steps - 1))
    event = {
        "type": kind,
        "start": start,
        "duration": draw(st.integers(1, 12)),
        # the latest possible start stays inside the horizon
        "start_jitter_steps": min(draw(st.sampled_from([0, 0, 0, 1, 3])), steps - 1 - start),
    }
    if kind in FRACTION_SHOCKS:
        event["size"] = draw(st.one_of(st.just(0.0), uniform(0.0, 0.99)))
    elif kind == "bear_market":
        event["size"] = draw(uniform(0.0, 3.0))
    elif kind == "cost_spike":
        event["size"] = draw(uniform(0.0, 5.0))
    else:  # price_path
        event["path"] = draw(st.lists(log_uniform(0.05, 5.0), min_size=1, max_size=16))
    return event


@st.composite
def scenario_overrides(draw, max_providers: int = 300, max_users: int = 1500, max_speculators: int = 40,
                       max_pool_tokens: float = 1e8) -> dict:
    """Dotted overrides of the base scenario that always pass validation (cross-field checks included).

    Token amounts stay below about 1e9 by default: ``check_ledger`` compares supply changes with an
    absolute tolerance of 1e-6 tokens, below the float resolution of larger supplies.
    """
    steps = draw(st.integers(10, 80))
    n_providers = draw(st.integers(1, max_providers))
    n_users = draw(st.integers(1, max_users))
    n_spec = draw(st.one_of(st.just(0), st.integers(0, max_speculators)))
    o: dict = {
        "simulation.steps": steps,
        "simulation.dt_days": draw(st.sampled_from([1.0, 7.0, 7.0, 14.0, 30.0])),
        "simulation.potential_providers": n_providers,
        "simulation.potential_users": n_users,
        "simulation.speculators": n_spec,
        "simulation.cost_cohorts": draw(st.integers(1, 6)),
        # emission
        "emission.schedule": draw(st.sampled_from(["constant", "halving", "exponential_decay", "baseline"])),
        "emission.initial_tokens_per_step": draw(st.one_of(st.just(0.0), log_uniform(1e2, 1e6))),
        "emission.halving_period_steps": draw(st.integers(1, 200)),
        "emission.half_life_years": draw(uniform(0.2, 20.0)),
        "emission.decay_total_tokens": draw(log_uniform(1e5, 3 * max_pool_tokens)),
        "emission.baseline_total_tokens": draw(log_uniform(1e5, 3 * max_pool_tokens)),
        "emission.baseline_initial_capacity": draw(log_uniform(1.0, 1e5)),
        "emission.baseline_growth_per_year": draw(uniform(0.0, 2.0)),
        "emission.provider_share": draw(share()),
        # payment
        "payment.mode": draw(st.sampled_from(["bme", "fee"])),
        "payment.service_price_usd": draw(uniform(0.0, 5.0)),
        "payment.burn_share": draw(share()),
        "payment.take_rate": draw(share()),
        # market
        "market.fee": draw(st.one_of(st.just(0.0), uniform(0.0, 0.1))),
        # providers
        "providers.initial_active": draw(st.integers(0, n_providers)),
        "providers.capex_usd": draw(uniform(0.0, 3000.0)),
        "providers.opex_usd_per_step": draw(uniform(0.0, 30.0)),
        "providers.opex_dispersion": draw(st.one_of(st.just(0.0), uniform(0.0, 3.0))),
        "providers.capacity_per_provider": draw(log_uniform(0.1, 100.0)),
        "providers.lead_time_steps": draw(st.integers(0, 12)),
        "providers.exit_patience_steps": draw(st.integers(1, 20)),
        "providers.exit_rate_when_unprofitable": draw(share()),
        "providers.hardware_lifetime_steps": draw(uniform(2.0, 1000.0)),
        "providers.sell_share": draw(share()),
        "providers.payback_threshold_steps": draw(uniform(1.0, 200.0)),
        "providers.entry_max_rate": draw(share()),
        "providers.entry_steepness": draw(uniform(0.1, 20.0)),
        "providers.word_of_mouth": draw(uniform(0.0, 5.0)),
        "providers.price_expectation_adaptation": draw(share()),
        # users
        "users.market_growth_per_year": draw(uniform(0.0, 3.0)),
        "users.bass_innovation": draw(uniform(0.0, 0.2)),
        "users.bass_imitation": draw(share()),
        "users.usage_per_user": draw(log_uniform(0.1, 30.0)),
        "users.quality_elasticity": draw(uniform(0.0, 3.0)),
        "users.alternative_price_usd": draw(log_uniform(0.05, 5.0)),
        "users.price_elasticity": draw(uniform(0.0, 5.0)),
        "users.wtp_dispersion": draw(st.one_of(st.just(0.0), uniform(0.0, 3.0))),
        "users.base_churn": draw(uniform(0.0, 0.2)),
        "users.quality_churn": draw(share()),
        # speculators
        "speculators.budget_usd": draw(uniform(0.0, 1e4)),
        "speculators.initial_tokens": draw(uniform(0.0, min(1e5, max_pool_tokens / max(max_speculators, 1)))),
        "speculators.max_order_share": draw(share()),
        "speculators.revenue_multiple_years": draw(uniform(0.0, 50.0)),
        "speculators.fundamentalist_strength": draw(uniform(0.0, 5.0)),
        "speculators.trend_strength": draw(uniform(0.0, 5.0)),
        "speculators.noise_sigma": draw(uniform(0.0, 2.0)),
        "speculators.intensity_of_choice": draw(uniform(0.0, 200.0)),
        "speculators.fitness_memory": draw(share()),
        "speculators.sentiment_strength": draw(uniform(0.0, 2.0)),
        "speculators.sentiment_persistence": draw(share()),
        "speculators.sentiment_sigma": draw(uniform(0.0, 0.5)),
    }
    liquidity = draw(log_uniform(1e3, 1e7))
    o["market.liquidity_usd"] = liquidity
    o["market.initial_price_usd"] = draw(log_uniform(max(1e-4, liquidity / max_pool_tokens), 1e2))
    market_share = draw(share())
    o["users.initial_market_share"] = market_share
    o["users.initial_users"] = draw(st.integers(0, math.floor(n_users * market_share)))
    weights = draw(st.tuples(*[st.sampled_from([0.0, 1.0, 2.0, 5.0])] * 3).filter(lambda w: sum(w) > 0))
    o["speculators.initial_shares"] = [w / sum(weights) for w in weights]
    # vesting on (1-2 allocations) or off
    allocations = []
    if draw(st.booleans()):
        for i in range(draw(st.integers(1, 2))):
            allocations.append(
                {
                    "name": f"alloc{i}",
                    "tokens": draw(st.one_of(st.just(0.0), log_uniform(1e3, min(5e6, max_pool_tokens)))),
                    "cliff_steps": draw(st.integers(0, steps + 10)),
                    "vesting_steps": draw(st.integers(1, 150)),
                    "sell_share": draw(share()),
                }
            )
    o["vesting.allocations"] = allocations
    o["shocks"] = draw(st.lists(shock_events(steps), min_size=0, max_size=3))
    # genesis: supply covers vesting + pool + speculators (the validator's sum, same order), plus a float
    vested = sum(a["tokens"] for a in allocations)
    pool_tokens = o["market.liquidity_usd"] / o["market.initial_price_usd"]
    spec_tokens = n_spec * o["speculators.initial_tokens"]
    held = vested + pool_tokens + spec_tokens
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

# columns that may legitimately be negative (a margin); everything else is a balance, count, price or share
SIGNED = {"mean_margin_usd"}


def check_finite_and_non_negative(frame: pd.DataFrame, steps: int, negative_tolerance: float = 1e-9) -> None:
    """Property 3; the default tolerance is ``check_ledger``'s (an absolute 1e-9)."""
    assert list(frame["step"]) == list(range(steps + 1))
    numeric = frame.select_dtypes("number")
    values = numeric.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    assert not bad.any(), f"non-finite values in {list(numeric.columns[bad.any(axis=0)])}"
    non_negative = [c for c in numeric.columns if c not in SIGNED]
    assert set(NON_NEGATIVE) <= set(non_negative)
    lows = numeric[non_negative].min()
    assert (lows >= -negative_tolerance).all(), lows[lows < -negative_tolerance].to_dict()
    assert (frame["price"] > 0).all() and (frame["amm_tokens"] > 0).all() and (frame["amm_usd"] > 0).all()
    for col in ("quality", "share_fundamentalist", "share_trend", "share_noise"):
        assert frame[col].max() <= 1 + 1e-9, (col, frame[col].max())
    shares = frame[["share_fundamentalist", "share_trend", "share_noise"]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0, rtol=1e-9)


def check_conservation_at_float_resolution(frame: pd.DataFrame) -> None:
    """Property 1 with a tolerance scaled to the supply (a few ulps), for supplies of any size."""
    tol = 64 * np.finfo(float).eps * frame[list(TOKEN_ACCOUNTS)].abs().sum(axis=1).max()
    for _, r in frame.groupby("run"):
        held = r[list(TOKEN_ACCOUNTS)].sum(axis=1).to_numpy()
        supply = r["supply"].to_numpy()
        assert np.abs(held - supply).max() <= tol, np.abs(held - supply).max() / tol
        flow = (r["minted"] - r["burned"]).to_numpy()[1:]
        assert np.abs(np.diff(supply) - flow).max(initial=0.0) <= tol, np.abs(np.diff(supply) - flow).max() / tol


def check_pool_product(frame: pd.DataFrame, scenario, seed: int) -> None:
    """Between rows t and t+1 the pool moves only by swaps unless step t drains liquidity."""
    exo = sample_exogenous(scenario, run_seed_sequence(seed))
    drained = exo.schedule["liquidity_removed"] > 0
    k = (frame["amm_tokens"] * frame["amm_usd"]).to_numpy()
    before, after = k[:-1], k[1:]
    swaps_only = ~drained[: len(before)]
    fell = swaps_only & (after < before * (1 - K_RTOL))
    assert not fell.any(), {
        int(t): float(after[t] / before[t] - 1) for t in np.flatnonzero(fell)[:5]
    }


def check_all(frame: pd.DataFrame, overrides: dict, seed: int) -> None:
    scenario = build(overrides)
    check_ledger(frame)
    check_finite_and_non_negative(frame, scenario.simulation.steps)
    check_pool_product(frame, scenario, seed)


def relative_differences(a: pd.DataFrame, b: pd.DataFrame) -> pd.Series:
    """Largest relative difference per numeric column (as ``models.analysis.ensembles``)."""
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    cols = list(a.select_dtypes("number").columns)
    na, nb = a[cols].isna().to_numpy(), b[cols].isna().to_numpy()
    np.testing.assert_array_equal(na, nb)
    diff = (a[cols] - b[cols]).abs() / b[cols].abs().clip(lower=1e-12)
    return diff.max(axis=0, skipna=True).fillna(0.0)


# -- 1, 3 and 2 (engine level): ledger, finiteness and the pool on every engine ----------------------------


@examples(BATCH_EXAMPLES)
@given(overrides=LARGE, seed=seeds)
def test_batch_ledger_conserved(overrides, seed):
    check_ledger(run(overrides, "batch", seed))


@examples(HUGE_SUPPLY_EXAMPLES)
@given(overrides=HUGE_SUPPLY, seed=seeds)
def test_batch_ledger_conserved_at_float_resolution_for_huge_supplies(overrides, seed):
    frame = run(overrides, "batch", seed)
    check_conservation_at_float_resolution(frame)
    # at this scale an absolute 1e-9 is below one ulp of the token accounts: allow a few ulps
    tolerance = 64 * np.finfo(float).eps * frame["supply"].max()
    check_finite_and_non_negative(frame, overrides["simulation.steps"], negative_tolerance=tolerance)


@examples(BATCH_EXAMPLES)
@given(overrides=LARGE, seed=seeds)
def test_batch_outputs_finite_and_non_negative(overrides, seed):
    check_finite_and_non_negative(run(overrides, "batch", seed), overrides["simulation.steps"])


@examples(BATCH_EXAMPLES)
@given(overrides=LARGE, seed=seeds)
def test_batch_pool_product_never_falls_on_swaps(overrides, seed):
    check_pool_product(run(overrides, "batch", seed), build(overrides), seed)


@examples(CADCAD_EXAMPLES)
@given(overrides=LARGE, seed=seeds)
def test_cadcad_ledger_finite_non_negative_and_pool(overrides, seed):
    check_all(run(overrides, "cadcad", seed), overrides, seed)


@examples(ABM_EXAMPLES)
@given(overrides=SMALL, seed=seeds)
def test_abm_ledger_conserved(overrides, seed):
    check_ledger(run(overrides, "abm", seed))


@examples(ABM_EXAMPLES)
@given(overrides=SMALL, seed=seeds)
def test_abm_outputs_finite_and_non_negative(overrides, seed):
    check_finite_and_non_negative(run(overrides, "abm", seed), overrides["simulation.steps"])


@examples(ABM_EXAMPLES)
@given(overrides=SMALL, seed=seeds)
def test_abm_pool_product_never_falls_on_swaps(overrides, seed):
    check_pool_product(run(overrides, "abm", seed), build(overrides), seed)


# -- pinned reproducers of what the properties found (each fails on the engines as of this writing) -------
#
# 1. Providers who sell their whole reward (sell_share 1, or opex above the reward's value) sell
#    sum_k active_k * (pool / sum_k active_k) tokens, which rounds above the pool they were paid, so the
#    provider inventory goes a few ulps of the per-step reward pool negative (all three engines).
# 2. ABM: speculators' orders are capped by each agent's own cash, but the pooled ledger spends the sum of
#    the agents' cash, which rounds above ``speculator_usd``; the ledger goes a few ulps negative.

FULL_REWARD_SALE = {
    "simulation.steps": 20, "simulation.cost_cohorts": 5, "providers.sell_share": 1.0,
    "emission.initial_tokens_per_step": 1e7, "token.initial_supply": 1e8,
}
ABM_ALL_IN_SPECULATORS = {
    "simulation.steps": 30, "simulation.potential_providers": 300, "simulation.potential_users": 1500,
    "simulation.speculators": 40, "providers.initial_active": 60, "users.initial_users": 100,
    "speculators.budget_usd": 1e5, "speculators.max_order_share": 1.0, "speculators.noise_sigma": 2.0,
    "speculators.initial_shares": [0.0, 0.0, 1.0],
}


@pytest.mark.parametrize("engine", engines.ENGINES)
def test_providers_selling_their_whole_reward_keep_a_non_negative_inventory(engine):
    check_ledger(run(FULL_REWARD_SALE, engine, seed=1))


def test_abm_speculators_spending_all_their_cash_keep_a_non_negative_balance():
    check_ledger(run(ABM_ALL_IN_SPECULATORS, "abm", seed=7))


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
