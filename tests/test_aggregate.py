"""Aggregate engines: ledger invariants, the BME fixed point, determinism, the base flywheel and its crash."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ledger_checks import check_ledger

from models import engines
from models.exogenous import run_seed_sequence, sample_exogenous
from models.mechanisms import timebase
from models.params import with_overrides
from models.sd.batch import iter_batch, run_batch


@pytest.mark.parametrize("engine", ["batch", "cadcad"])
def test_token_conservation_and_no_negatives(small_scenario, engine):
    frame = engines.run(small_scenario, engine, seed=3)
    assert len(frame) == small_scenario.simulation.steps + 1
    check_ledger(frame)
    # the shocks really happened: the forced seller's sale shows at step 31, paid out of its own inventory
    assert frame.price.iloc[31] < 0.5 * frame.price.iloc[30]
    assert frame.crash_achieved.iloc[31] == pytest.approx(0.6, rel=1e-9)
    assert frame.seller_tokens.iloc[30] == 4e6 and 0 < frame.seller_tokens.iloc[31] < 4e6
    # the drain at step 40 hands 30% of the pool to outside holders
    assert frame.amm_tokens.iloc[41] < 0.8 * frame.amm_tokens.iloc[40]
    # the price path from step 65: the arbitrageur sells its tokens or buys with USD from outside
    on_path = frame.path_target_price.notna()
    assert on_path.sum() == 3 and frame.loc[on_path, "arbitrage_usd"].abs().min() > 0
    assert (frame.arbitrageur_tokens.iloc[:66] == 1e6).all() and frame.arbitrageur_tokens.iloc[-1] != 1e6


@pytest.mark.parametrize("mode", ["bme", "fee"])
@pytest.mark.parametrize("schedule", ["constant", "halving", "exponential_decay", "baseline"])
def test_every_schedule_and_payment_mode_conserves_tokens(base_scenario, schedule, mode):
    sc = with_overrides(
        base_scenario,
        {"simulation.steps": 120, "emission.schedule": schedule, "payment.mode": mode, "token.max_supply": 2.2e7},
    )
    frame = engines.run(sc, "batch", seed=1)
    check_ledger(frame)
    assert frame.supply.max() <= 2.2e7 * (1 + 1e-12) + frame.burned_total.max()
    assert frame.minted.iloc[1:].sum() > 0


@pytest.mark.parametrize("policy", ["hold", "buyback_burn", "add_liquidity"])
def test_treasury_policies_conserve_tokens_and_usd(base_scenario, policy):
    """The treasury receives 30% of emission and a fee take rate, holds USD from genesis, and spends it."""
    overrides = {"simulation.steps": 120, "payment.mode": "fee", "emission.provider_share": 0.7,
                 "treasury.initial_usd": 1e5, "treasury.spend_rate_per_year": 2.0}
    sc = with_overrides(base_scenario, {**overrides, "treasury.policy": policy})
    frame = engines.run(sc, "batch", seed=2)
    check_ledger(frame)
    hold = engines.run(with_overrides(sc, {"treasury.policy": "hold"}), "batch", seed=2)
    spend = timebase.probability_per_step(2.0, sc.simulation.dt_days)
    if policy == "hold":
        assert (frame.treasury_usd == 1e5).all() and (frame.burned_total == 0).all()
        assert (frame.treasury.diff().iloc[1:] >= 0).all() and frame.treasury.iloc[-1] > 0
    elif policy == "buyback_burn":
        # a share of USD buys tokens that are burned, and the same share of tokens held is burned
        np.testing.assert_allclose(frame.treasury_usd, 1e5 * (1 - spend) ** frame.step, rtol=1e-12)
        assert frame.burned_total.iloc[-1] > 0 and (frame.treasury <= hold.treasury + 1e-9).all()
    else:
        # tokens and USD go into the pool as a pair: nothing is burned, the treasury holds less of both
        assert (frame.burned_total == 0).all()
        assert frame.treasury_usd.iloc[-1] < 1e5 and frame.treasury.iloc[-1] < hold.treasury.iloc[-1]


def bme_scenario(base, usd_per_step: float, tokens_per_step: float, price0: float):
    """Constant usage U and emission M per weekly step, all rewards sold at once, fixed populations.

    No speculators, vesting, opex or fee; outside holders and liquidity providers have half-lives of
    1e15 days, so they stand still (each step they trade or move about 5e-15 of their gap).
    """
    users, dt = 1000, 7.0
    still = 1e15
    return with_overrides(
        base,
        {
            "simulation.steps": 400, "simulation.dt_days": dt, "simulation.speculators": 0,
            "simulation.potential_users": users, "simulation.cost_cohorts": 1,
            "users.initial_market_share": 1.0, "users.initial_users": users, "users.market_growth_per_year": 0.0,
            "users.bass_innovation_per_year": 0.0, "users.bass_imitation_per_year": 0.0,
            "users.base_churn_per_year": 0.0, "users.quality_churn_per_year": 0.0, "users.usage_per_user": 1.0,
            # 1 unit per user per day: users x dt units a step, paying U in all
            "payment.service_price_usd": usd_per_step / (users * dt), "payment.burn_share": 1.0,
            "emission.schedule": "constant", "emission.initial_tokens_per_year": tokens_per_step * 365.0 / dt,
            "emission.provider_share": 1.0,
            "providers.initial_active": 200, "providers.capacity_per_provider": 10.0,
            "providers.entry_max_rate_per_year": 0.0, "providers.exit_rate_per_year": 0.0,
            "providers.hardware_lifetime_years": 1e12, "providers.sell_share": 1.0,
            "providers.opex_usd_per_year": 0.0, "providers.opex_dispersion": 0.0,
            "market.fee": 0.0, "market.initial_price_usd": price0, "market.float_half_life_days": still,
            "market.liquidity_half_life_days": still, "market.factor_volatility_per_year": 0.0,
            "market.sentiment_volatility": 0.0, "vesting.allocations": [], "shocks": [],
        },
    )


@pytest.mark.parametrize("price0", [0.05, 2.0])
def test_bme_price_converges_to_usage_over_emission(base_scenario, price0):
    U, M = 5000.0, 20000.0
    sc = with_overrides(bme_scenario(base_scenario, U, M, price0), {"simulation.steps": 1500})
    frame = engines.run(sc, "batch", seed=0)
    assert frame.speculator_tokens.abs().max() == 0.0
    assert frame.minted.iloc[1:].to_numpy() == pytest.approx(M, rel=1e-12)
    assert frame.revenue_usd.iloc[1:].to_numpy() == pytest.approx(U, rel=1e-12)
    # the fixed point of one batch-cleared step (buy U of tokens, then sell M) is U/M (1 - M/x): the
    # continuous-time U/M, off by the step's own price impact M/x
    end = frame.iloc[-1]
    assert end.price == pytest.approx(U / M * (1 - M / end.amm_tokens), rel=1e-9)
    assert end.burned == pytest.approx(M, rel=1e-9)
    assert end.tokens_sold == pytest.approx(M, rel=1e-9) and end.bme_price == pytest.approx(U / M, rel=1e-9)


def test_bme_price_is_usage_over_emission_in_a_deep_pool(base_scenario):
    U, M = 5000.0, 20000.0
    sc = with_overrides(
        bme_scenario(base_scenario, U, M, 2.0),
        {"simulation.steps": 1500, "market.liquidity_usd": 2e6, "token.initial_supply": 1e9},
    )
    end = engines.run(sc, "batch", seed=0).iloc[-1]
    assert M / end.amm_tokens < 0.01
    assert end.price == pytest.approx(U / M, rel=0.01)


def test_same_seed_identical_different_seed_differs(base_scenario):
    sc = with_overrides(base_scenario, {"simulation.steps": 60})
    a, b = engines.run(sc, "batch", seed=11), engines.run(sc, "batch", seed=11)
    pd.testing.assert_frame_equal(a, b)
    c = engines.run(sc, "batch", seed=12)
    assert not np.allclose(a.price, c.price)


def test_batch_runs_match_single_runs(base_scenario, crash_scenario):
    """Stepping runs together gives each run exactly what it gets alone."""
    scs = [with_overrides(base_scenario, {"simulation.steps": 80}),
           with_overrides(crash_scenario, {"simulation.steps": 80})]
    exos = [sample_exogenous(s, run_seed_sequence(5, i)) for i, s in enumerate(scs)]
    together = run_batch(scs, exos)
    for i, (s, e) in enumerate(zip(scs, exos, strict=True)):
        alone = run_batch([s], [e])
        pd.testing.assert_frame_equal(
            together[together.run == i].drop(columns="run").reset_index(drop=True), alone.drop(columns="run")
        )


def test_chunked_batch_equals_one_batch(base_scenario, crash_scenario):
    """iter_batch's chunks (here 2 runs each, the last one short) concatenate to the one-batch frame, exactly."""
    scs = [with_overrides(s, {"simulation.steps": 70, "market.fee": 0.001 + 0.001 * i})
           for i, s in enumerate([base_scenario, crash_scenario] * 3 + [base_scenario])]
    exos = [sample_exogenous(s, run_seed_sequence(9, i)) for i, s in enumerate(scs)]
    ids = np.arange(100, 100 + len(scs))
    chunks = list(iter_batch(scs, exos, ids, chunk_runs=2))
    assert [len(c) // 71 for c in chunks] == [2, 2, 2, 1]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True),
                                  run_batch(scs, exos, ids), check_exact=True)
    with pytest.raises(ValueError, match="7 scenarios but 6 exogenous"):
        next(iter_batch(scs, exos[:6]))


SEEDS = range(8)


def _ensemble(scenario, seeds=SEEDS):
    exos = [sample_exogenous(scenario, run_seed_sequence(s)) for s in seeds]
    return run_batch([scenario] * len(exos), exos).set_index(["run", "step"])


def test_base_flywheel_grows_and_a_crash_with_thin_liquidity_dents_it(base_scenario, crash_scenario):
    """The real side of the base flywheel grows; the crash pulls providers well below its no-crash twin.

    In Economy v2 the token price follows outside holders' valuation, which moves with a driftless crypto
    market factor (volatility 0.8 a year), so price growth and provider counts differ a lot between seeds:
    growth is asserted for users in every seed and for providers in the ensemble. The crash is compared
    with its no-crash twin (same seeds, so the same market-factor paths): it costs providers in every seed.
    """
    base = _ensemble(base_scenario)
    at = lambda f, col, step: f[col].xs(step, level="step")  # noqa: E731
    # users grow in every seed over the first two years (adoption does not depend on the token price while
    # capacity is spare); providers in the median, and in most seeds
    assert (at(base, "users", 104) > 5.0 * at(base, "users", 0)).all()
    assert (at(base, "users", 104) > at(base, "users", 52)).all()
    assert (at(base, "users", 52) > at(base, "users", 0)).all()
    for step in (52, 104):
        grown = at(base, "providers", step) / at(base, "providers", 0)
        assert grown.median() > 1.15 and (grown > 1.0).mean() >= 0.75, (step, grown.round(2).tolist())
    assert (at(base, "capacity", 104) / at(base, "capacity", 0)).median() > 1.15
    # pool depth is what makes the crash bite; the crash scenario has a quarter of the base depth
    assert crash_scenario.market.liquidity_usd <= base_scenario.market.liquidity_usd / 4
    crash = _ensemble(crash_scenario)
    no_crash = _ensemble(with_overrides(crash_scenario, {"shocks": []}))
    start = int(crash_scenario.shocks[0].start_day // crash_scenario.simulation.dt_days)  # step 65
    # the forced sale achieved its 80% drop in every seed (the other trades of the step move the price too)
    np.testing.assert_allclose(at(crash, "crash_achieved", start + 1), 0.8, rtol=1e-9)
    drop = 1 - at(crash, "price", start + 1) / at(crash, "price", start)
    assert (drop > 0.6).all(), drop.round(3).tolist()
    # within half a year providers fall below the twin in every seed, by at least 15% in half of them; since
    # Economy v2 part 2 out-of-patience providers leave at 5/year (was 15) with spread patience, so the dent
    # is shallower (measured: 0.74-0.91 of the twin over these 8 seeds)
    window = slice(start + 1, start + 26)
    ratio = (crash["providers"] / no_crash["providers"]).loc[(slice(None), window)].groupby("run").min()
    assert (ratio < 0.95).all() and (ratio < 0.85).mean() >= 0.5, ratio.round(3).tolist()
    # before the crash the twins are the same run
    pre = (slice(None), slice(0, start))
    pd.testing.assert_series_equal(crash["providers"].loc[pre], no_crash["providers"].loc[pre])
