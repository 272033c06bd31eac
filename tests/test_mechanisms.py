"""Mechanisms against known values and invariants; each accepts scalars and arrays alike."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.mechanisms import (
    amm,
    demand,
    emission,
    market,
    payment,
    providers,
    shocks,
    speculators,
    timebase,
    treasury,
    vesting,
)
from models.params import ShockEvent

reserve = st.floats(1e2, 1e9)
amount = st.floats(1e-3, 1e8)
fees = st.floats(0.0, 0.05)
drops = st.floats(1e-6, 0.99)
hazards = st.floats(0.0, 500.0)
half_lives = st.floats(0.1, 1000.0)

# -- timebase: one conversion from rates per year and durations in days to steps ---------------------------


@given(hazards)
def test_hazard_over_seven_daily_steps_equals_one_weekly_step(h):
    daily = timebase.probability_per_step(h, 1.0)
    weekly = timebase.probability_per_step(h, 7.0)
    assert 0.0 <= daily <= weekly <= 1.0
    assert 1.0 - (1.0 - daily) ** 7 == pytest.approx(weekly, rel=1e-9, abs=1e-15)


@given(half_lives)
def test_ema_weight_over_seven_daily_steps_equals_one_weekly_step(half_life):
    daily, weekly = timebase.ema_weight(half_life, 1.0), timebase.ema_weight(half_life, 7.0)
    assert 0.0 < daily <= weekly < 1.0 or weekly == 1.0
    assert (1.0 - daily) ** 7 == pytest.approx(1.0 - weekly, rel=1e-9, abs=1e-15)
    # after one half-life the gap is halved
    assert timebase.ema_weight(7.0, 7.0) == pytest.approx(0.5)


@given(half_lives, st.floats(0.0, 3.0))
def test_ou_coefficients_keep_the_stationary_std_at_any_step_length(half_life, std):
    a1, s1 = timebase.ou_coefficients(half_life, std, 1.0)
    a7, s7 = timebase.ou_coefficients(half_life, std, 7.0)
    for a, s in ((a1, s1), (a7, s7)):
        assert 0.0 <= a < 1.0
        if a < 1.0 - 1e-12:  # stationary variance s^2 / (1 - a^2)
            assert s * s / (1.0 - a * a) == pytest.approx(std * std, rel=1e-9, abs=1e-15)
    # seven daily steps are one weekly step: same decay and the same variance of the summed innovations
    assert a1**7 == pytest.approx(a7, rel=1e-9, abs=1e-300)
    assert s1 * s1 * sum(a1 ** (2 * k) for k in range(7)) == pytest.approx(s7 * s7, rel=1e-9, abs=1e-15)


def test_amounts_and_durations():
    assert timebase.years(73.0) == pytest.approx(0.2)
    assert timebase.amount_per_step(365.0, 7.0) == pytest.approx(7.0)
    assert sum(timebase.amount_per_step(1000.0, 1.0) for _ in range(365)) == pytest.approx(1000.0)
    assert timebase.steps_in(728.0, 7.0) == 104.0 and timebase.steps_in(10.0, 4.0) == 2.5
    assert timebase.whole_steps(28.0, 7.0) == 4 and timebase.whole_steps(10.0, 7.0) == 1
    assert timebase.whole_steps(3.0, 7.0) == 0


# -- AMM ---------------------------------------------------------------------------------------------------


@given(reserve, reserve, amount, fees)
def test_amm_sell_matches_constant_product_formula(x, y, dx, fee):
    g = 1 - fee
    out, x1, y1 = amm.sell_tokens(x, y, dx, fee)
    assert out == pytest.approx(y * g * dx / (x + g * dx), rel=1e-12)
    assert x1 == x + dx and out + y1 == pytest.approx(y, rel=1e-12)
    assert x1 * y1 >= x * y * (1 - 1e-12)  # the fee stays in the pool
    assert amm.price(x1, y1) < amm.price(x, y)
    assert amm.price(x1, y1) / amm.price(x, y) == pytest.approx(amm.price_ratio_after_sale(x, dx, fee), rel=1e-9)


@given(reserve, reserve, amount, fees)
def test_amm_buy_raises_price_and_keeps_k(x, y, dy, fee):
    out, x1, y1 = amm.buy_tokens(x, y, dy, fee)
    assert 0 < out < x
    assert out == pytest.approx(x * (1 - fee) * dy / (y + (1 - fee) * dy), rel=1e-12)
    assert out + x1 == pytest.approx(x, rel=1e-12)
    assert x1 * y1 >= x * y * (1 - 1e-12)
    assert amm.price(x1, y1) > amm.price(x, y)


def test_amm_known_numbers_and_price_targeting():
    out, _, _ = amm.sell_tokens(1000.0, 1000.0, 100.0, 0.0)
    assert out == pytest.approx(1000 * 100 / 1100)
    tokens_in, x, y = amm.move_to_price(1000.0, 4000.0, 4.0 * 0.2)
    assert y / x == pytest.approx(0.8) and x * y == pytest.approx(4e6)
    assert tokens_in == pytest.approx(1000 * (1 / np.sqrt(0.2) - 1))
    assert amm.tokens_to_reach_price(1000.0, 4000.0, 0.8) == pytest.approx(tokens_in)
    t_out, u_out, x2, y2 = amm.remove_liquidity(1000.0, 4000.0, 0.25)
    assert (t_out, u_out, x2, y2) == (250.0, 1000.0, 750.0, 3000.0)
    t_in, x3, y3 = amm.add_liquidity(1000.0, 4000.0, 400.0)
    assert (t_in, x3, y3) == (100.0, 1100.0, 4400.0)  # at the pool ratio: the price does not move


def test_amm_accepts_arrays_like_scalars():
    xs, ys, dxs = np.array([1e3, 2e3]), np.array([5e3, 1e3]), np.array([10.0, 20.0])
    out, _, _ = amm.sell_tokens(xs, ys, dxs, 0.003)
    assert out.shape == (2,)
    assert out[1] == amm.sell_tokens(2e3, 1e3, 20.0, 0.003)[0]
    assert amm.tokens_for_price_drop(xs, np.array([0.1, 0.5]), 0.003).shape == (2,)


def test_signed_trade_caps_sells_by_holdings():
    d_tok, d_usd, x, y = amm.signed_trade(1e4, 1e4, -5e3, 0.0, 100.0)
    assert d_tok == -100.0 and d_usd > 0 and x == 1e4 + 100.0


@given(reserve, reserve, drops, fees)
def test_selling_tokens_for_price_drop_gives_exactly_that_drop(x, y, drop, fee):
    dx = amm.tokens_for_price_drop(x, drop, fee)
    assert dx > 0
    _, x1, y1 = amm.sell_tokens(x, y, dx, fee)
    assert amm.price(x1, y1) / amm.price(x, y) == pytest.approx(1.0 - drop, rel=1e-9)
    assert amm.price_ratio_after_sale(x, dx, fee) == pytest.approx(1.0 - drop, rel=1e-9)
    # the fee makes the seller sell more than a fee-free sale to the same price would
    assert dx >= amm.tokens_to_reach_price(x, y, amm.price(x, y) * (1.0 - drop)) * (1 - 1e-9)


def test_tokens_for_price_drop_known_numbers():
    # fee-free: (x / (x + dx))^2 = 1 - drop, so dx = x (1 / sqrt(1 - drop) - 1)
    assert amm.tokens_for_price_drop(1e6, 0.75, 0.0) == pytest.approx(1e6)
    assert amm.tokens_for_price_drop(1e6, 0.0, 0.003) == 0.0
    assert amm.tokens_for_price_drop(1e6, 0.5, 0.003) > amm.tokens_for_price_drop(1e6, 0.5, 0.0)


@given(reserve, reserve, st.floats(0.01, 100.0))
def test_trade_toward_price_reaches_the_target_fee_free_when_unconstrained(x, y, rel):
    target = amm.price(x, y) * rel
    d_tok, d_usd, x1, y1 = amm.trade_toward_price(x, y, target, 0.0, np.inf, np.inf)
    assert amm.price(x1, y1) == pytest.approx(target, rel=1e-9)
    assert x1 * y1 == pytest.approx(x * y, rel=1e-9)
    # the trader's books mirror the pool's; it buys toward a higher price and sells toward a lower one
    assert x1 - x == pytest.approx(-d_tok, rel=1e-9, abs=1e-9 * x)
    assert y1 - y == pytest.approx(-d_usd, rel=1e-9, abs=1e-9 * y)
    assert (d_tok >= 0) == (rel >= 1) or rel == pytest.approx(1.0)


@given(reserve, reserve, st.floats(0.01, 100.0), st.floats(1e-6, 0.1))
def test_trade_toward_price_with_a_fee_stops_short_of_the_target(x, y, rel, fee):
    p0 = amm.price(x, y)
    target = p0 * rel
    _, _, x1, y1 = amm.trade_toward_price(x, y, target, fee, np.inf, np.inf)
    p1 = amm.price(x1, y1)
    lo, hi = min(p0, target), max(p0, target)
    assert lo * (1 - 1e-9) <= p1 <= hi * (1 + 1e-9)
    assert x1 * y1 >= x * y * (1 - 1e-12)


@given(reserve, reserve, st.floats(0.01, 100.0), fees, st.floats(0.0, 1e9), st.floats(0.0, 1e9))
def test_trade_toward_price_respects_token_and_usd_caps(x, y, rel, fee, tokens, usd):
    target = amm.price(x, y) * rel
    d_tok, d_usd, x1, y1 = amm.trade_toward_price(x, y, target, fee, tokens, usd)
    assert -d_tok <= tokens * (1 + 1e-12)  # never sells more tokens than it holds
    assert -d_usd <= usd * (1 + 1e-12)  # never spends more USD than it holds
    assert x1 > 0 and y1 > 0 and x1 * y1 >= x * y * (1 - 1e-12)
    wanted = amm.tokens_to_reach_price(x, y, target)
    if wanted > 0:  # selling: the smaller of what it wants and what it holds
        assert -d_tok == pytest.approx(min(wanted, tokens), rel=1e-12)
    else:  # buying: the fee-free USD that reaches the target, or all its USD
        assert -d_usd == pytest.approx(min(np.sqrt(x * y * target) - y, usd), rel=1e-9, abs=1e-9 * y)


def test_trade_toward_price_known_caps():
    # the pool is at 1.0; reaching 0.25 needs 1000 tokens sold (fee-free), the trader holds 100
    d_tok, d_usd, x, y = amm.trade_toward_price(1000.0, 1000.0, 0.25, 0.0, 100.0, 0.0)
    assert d_tok == -100.0 and d_usd == pytest.approx(1000 * 100 / 1100) and x == 1100.0
    # reaching 4.0 needs 1000 USD (fee-free); the trader has 250
    d_tok, d_usd, x, y = amm.trade_toward_price(1000.0, 1000.0, 4.0, 0.0, 0.0, 250.0)
    assert d_usd == -250.0 and y == 1250.0 and d_tok == pytest.approx(200.0)
    # nothing to trade with: nothing happens
    assert amm.trade_toward_price(1000.0, 1000.0, 4.0, 0.003, 1e9, 0.0)[:2] == (0.0, 0.0)


# -- emission, payment, vesting -----------------------------------------------------------------------------


def test_halving_halves_each_period():
    steps = np.arange(0, 520)
    m = emission.halving(steps, 1000.0, 104)
    for k in range(5):
        np.testing.assert_allclose(m[k * 104:(k + 1) * 104], 1000.0 * 0.5**k, rtol=1e-12)


def test_halving_is_integrated_over_the_step():
    # a halving inside a step splits it: step 10 of a 10.25-step period mints 0.25 at the full rate
    m = emission.halving(np.arange(12), 100.0, 10.25)
    assert m[9] == pytest.approx(100.0) and m[10] == pytest.approx(25.0 + 0.75 * 50.0) and m[11] == 50.0
    # the total over many periods is 2 x rate x period
    assert emission.halving(np.arange(100_000), 100.0, 10.25).sum() == pytest.approx(2 * 100.0 * 10.25, rel=1e-9)


@given(st.floats(1.0, 1e8), st.floats(0.05, 10.0))
def test_halving_mints_the_same_by_any_date_daily_or_weekly(tokens_per_year, period_years):
    def minted(dt_days, steps):
        per_step = timebase.amount_per_step(tokens_per_year, dt_days)
        period = period_years * timebase.DAYS_PER_YEAR / dt_days
        return np.cumsum(emission.halving(np.arange(steps), per_step, period))

    daily, weekly = minted(1.0, 7 * 300), minted(7.0, 300)
    np.testing.assert_allclose(daily[6::7], weekly, rtol=1e-9)


def test_exponential_decay_sums_to_total_and_halves_each_half_life():
    steps = np.arange(0, 100_000)
    m = emission.exponential_decay(steps, 330e6, 312.0)
    assert m.sum() == pytest.approx(330e6, rel=1e-9)
    assert m[312] / m[0] == pytest.approx(0.5, rel=1e-12)


def _baseline_run(capacity, steps=104, b0=100.0):
    g = np.log(2) / 52
    cum, minted = 0.0, 0.0
    for t in range(steps):
        _, cum, minted = emission.baseline_step(t, capacity(t), cum, minted, b0, g, 770e6, 312.0)
    return cum, minted


def test_baseline_minting_tracks_effective_network_time():
    g, b0 = np.log(2) / 52, 100.0
    # the integral of b from 0 to theta is the cumulative capped capacity
    theta = emission.effective_network_time(b0 * (np.exp(g * 30.0) - 1) / g, b0, g)
    assert theta == pytest.approx(30.0, rel=1e-12)
    # a network exactly at the baseline reaches theta within one step of real time (left sums)
    cum, minted = _baseline_run(lambda t: b0 * np.exp(g * t))
    assert 103.0 < emission.effective_network_time(cum, b0, g) <= 104.0
    # capacity above the baseline earns nothing extra (capped); below it mints less
    _, minted_above = _baseline_run(lambda t: 10 * b0 * np.exp(g * t))
    _, minted_below = _baseline_run(lambda t: 0.5 * b0 * np.exp(g * t))
    assert minted_above == minted and minted_below < minted
    assert minted == pytest.approx(emission.baseline_minted_to_date(emission.effective_network_time(cum, b0, g),
                                                                     770e6, 312.0))


def test_max_supply_cap():
    assert emission.cap_to_max_supply(100.0, 950.0, 1000.0) == 50.0
    assert emission.cap_to_max_supply(100.0, 1000.0, 1000.0) == 0.0


def test_payment_modes_split_tokens():
    burned, treasury_tokens, prov = payment.settle_usage(np.array([100.0, 100.0]), np.array([True, False]), 0.8, 0.1)
    assert burned.tolist() == [80.0, 0.0]
    assert treasury_tokens.tolist() == [0.0, 10.0]
    assert prov.tolist() == [20.0, 90.0]


def test_vesting_cliff_then_linear():
    steps = np.arange(0, 200)
    u = vesting.unlocked_to_date(steps, 1000.0, 52, 100)
    assert np.all(u[:52] == 0) and u[102] == pytest.approx(500.0) and u[152] == 1000.0 and u[199] == 1000.0
    per_step = vesting.unlock_in_step(steps, 1000.0, 52, 100)
    assert per_step.sum() == pytest.approx(1000.0)
    # fractional cliffs and lengths (days that are not whole steps) unlock the same total
    assert vesting.unlock_in_step(steps, 1000.0, 52.3, 104.1).sum() == pytest.approx(1000.0)


# -- providers ---------------------------------------------------------------------------------------------


def test_provider_economics():
    assert providers.operating_margin_usd(10.0, 2.0, 5.0) == 15.0
    # at payback == threshold the entry hazard is half the maximum (no word of mouth), per year
    hazard = providers.entry_hazard(500.0, 500.0, 1.0, 4.0, 1.5, 0.0, 0.0)
    assert hazard == pytest.approx(0.75)
    assert providers.entry_hazard(1000.0, 500.0, 1.0, 4.0, 1.5, 0.0, 0.0) > hazard
    assert providers.entry_hazard(500.0, 500.0, 1.0, 4.0, 1.5, 1.0, 0.5) == pytest.approx(0.75 * 1.5)
    assert providers.entry_hazard(-1e6, 500.0, 1.0, 4.0, 1.5, 0.0, 0.0) == pytest.approx(0.0, abs=1e-12)
    # the loss streak counts days of a negative average margin
    assert providers.loss_streak(np.array([21.0, 21.0]), np.array([-1.0, 1.0]), 7.0).tolist() == [28.0, 0.0]
    assert providers.loss_streak(np.array([3.0]), np.array([-1.0]), 1.0).tolist() == [4.0]
    # voluntary exit once the streak reaches patience, hardware failure always
    p = providers.exit_probability(np.array([0.0, 34.0, 35.0]), 35.0, 0.25, 0.01)
    assert p.tolist() == pytest.approx([0.01, 0.01, 1 - 0.75 * 0.99])


def test_margin_average_is_per_day():
    # a step's margin of 70 USD over 7 days is 10 USD a day
    assert providers.margin_average(0.0, 70.0, 7.0, 1.0) == pytest.approx(10.0)
    assert providers.margin_average(4.0, 70.0, 7.0, 0.5) == pytest.approx(7.0)
    # the same daily margin held for a week reads the same daily or weekly
    w1, w7 = timebase.ema_weight(30.0, 1.0), timebase.ema_weight(30.0, 7.0)
    daily = 0.0
    for _ in range(7):
        daily = providers.margin_average(daily, 10.0, 1.0, w1)
    assert daily == pytest.approx(providers.margin_average(0.0, 70.0, 7.0, w7), rel=1e-12)


def test_provider_token_sales():
    # a share of the new reward; at least enough to cover opex; never more than the inventory
    assert providers.tokens_sold(100.0, 100.0, 1.0, 0.0, 0.25, 0.0) == 25.0
    assert providers.tokens_sold(100.0, 100.0, 0.5, 10.0, 0.1, 0.0) == 20.0
    assert providers.tokens_sold(100.0, 100.0, 0.01, 10.0, 0.1, 0.0) == 100.0
    # plus a fraction of what was held before this step's reward
    assert providers.tokens_sold(100.0, 300.0, 1.0, 0.0, 0.25, 0.1) == pytest.approx(25.0 + 20.0)
    # opex is paid out of the inventory when the reward is too small
    assert providers.tokens_sold(10.0, 1000.0, 1.0, 50.0, 0.1, 0.0) == 50.0
    assert providers.tokens_sold(0.0, 0.0, 1.0, 50.0, 0.1, 0.5) == 0.0
    sold = providers.tokens_sold(np.array([1.0, 5.0]), np.array([2.0, 5.0]), 1.0, 100.0, 0.5, 1.0)
    assert sold.tolist() == [2.0, 5.0]


def test_lognormal_quantiles_are_median_centred():
    q = providers.lognormal_quantiles(np.array([5.0]), np.array([0.5]), 5)
    assert q.shape == (1, 5) and q[0, 2] == pytest.approx(5.0) and np.all(np.diff(q) > 0)
    assert np.all(providers.lognormal_quantiles(np.array([5.0]), np.array([0.0]), 3) == 5.0)


# -- users -------------------------------------------------------------------------------------------------


def test_demand_rules():
    assert demand.potential_market(52, 1000, 0.5, 1.0, 7) == pytest.approx(1000 * 0.5 * 2 ** (52 * 7 / 365))
    assert demand.potential_market(10_000, 1000, 0.5, 1.0, 7) == 1000
    assert demand.potential_market(364, 1000, 0.5, 1.0, 1) == demand.potential_market(52, 1000, 0.5, 1.0, 7)
    assert demand.service_quality(50.0, 100.0) == 0.5 and demand.service_quality(50.0, 0.0) == 1.0
    assert demand.price_attractiveness(1.0, 2.0, 2.0) == 1.0
    assert demand.price_attractiveness(2.0, 1.0, 2.0) == 0.25
    assert demand.served_units(np.array([5.0, 20.0]), 10.0).tolist() == [5.0, 10.0]


def test_adoption_and_churn_are_hazards_per_year():
    # Bass: p + q x share adopted, per year, scaled by quality and price; not capped at 1
    assert demand.adoption_hazard(10.0, 100.0, 0.5, 4.0, 1.0, 1.0, 1.0) == pytest.approx(0.9)
    assert demand.adoption_hazard(10.0, 100.0, 0.5, 4.0, 0.5, 1.0, 1.0) == pytest.approx(0.45)
    assert demand.adoption_hazard(10.0, 100.0, 0.5, 4.0, 1.0, 1.0, 0.25) == pytest.approx(0.225)
    assert demand.adoption_hazard(100.0, 100.0, 5.0, 40.0, 1.0, 1.0, 1.0) == pytest.approx(45.0)
    assert demand.adoption_hazard(10.0, 0.0, 0.5, 4.0, 1.0, 1.0, 1.0) == pytest.approx(0.5)
    # churn: base, plus unmet demand, plus a poor price
    assert demand.churn_hazard(0.25, 10.0, 1.0, 1.0) == pytest.approx(0.25)
    assert demand.churn_hazard(0.25, 10.0, 0.8, 1.0) == pytest.approx(2.25)
    assert demand.churn_hazard(0.25, 10.0, 0.8, 0.5) == pytest.approx(2.375)
    # a hazard of 45 a year is a sure thing within a year, ~58% within a week
    assert timebase.probability_per_step(45.0, 7.0) == pytest.approx(1 - np.exp(-45 * 7 / 365))


# -- the market around the pool ----------------------------------------------------------------------------


def test_partial_adjustment_target():
    assert market.partial_adjustment_target(2.0, 8.0, 0.0) == 2.0
    assert market.partial_adjustment_target(2.0, 8.0, 1.0) == pytest.approx(8.0)
    assert market.partial_adjustment_target(2.0, 8.0, 0.5) == pytest.approx(4.0)  # half the log gap
    assert market.partial_adjustment_target(8.0, 2.0, 0.5) == pytest.approx(4.0)
    # seven daily steps toward a fixed valuation close the same log gap as one weekly step
    w1, w7 = timebase.ema_weight(2.0, 1.0), timebase.ema_weight(2.0, 7.0)
    p = 1.0
    for _ in range(7):
        p = market.partial_adjustment_target(p, 3.0, w1)
    assert p == pytest.approx(market.partial_adjustment_target(1.0, 3.0, w7), rel=1e-12)


def test_outside_valuation_flow_memory_and_liquidity_target():
    # genesis market cap over the floating supply, moved by factor, sentiment and remembered flows
    assert market.outside_valuation(1e6, 0.0, 0.0, 0.0, 2e7) == pytest.approx(0.05)
    assert market.outside_valuation(1e6, np.log(2.0), 0.0, 0.0, 2e7) == pytest.approx(0.1)
    assert market.outside_valuation(1e6, 0.1, -0.3, 0.2, 1e7) == pytest.approx(0.1)
    assert market.outside_valuation(1e6, 0.0, 0.0, 0.0, 4e7) == pytest.approx(0.025)  # minting dilutes
    # the float keeps the information share of the log price impact since it last traded
    memory = market.update_flow_memory(0.1, 2.0, 1.0, 0.5, 0.9)
    assert memory == pytest.approx(0.09 + 0.5 * np.log(2.0))
    assert market.update_flow_memory(0.1, 1.0, 1.0, 0.5, 1.0) == pytest.approx(0.1)
    # liquidity providers close a share of the gap to their target depth
    assert market.liquidity_change_usd(100.0, 1e4, 0.02, 0.5) == pytest.approx(50.0)
    assert market.liquidity_change_usd(300.0, 1e4, 0.02, 0.5) == pytest.approx(-50.0)


def test_factor_increments_have_the_stated_drift_and_volatility():
    dt = 7 / 365
    assert market.factor_increments(0.0, 0.2, 0.8, 4.0, dt) == pytest.approx(0.2 * dt)
    # Student-t(df) draws have variance df / (df - 2); the scaling brings the increments to vol^2 dt
    for df in (3.0, 4.0, 30.0):
        scaled = market.factor_increments(1.0, 0.0, 0.8, df, dt) ** 2 * df / (df - 2)
        assert scaled == pytest.approx(0.8**2 * dt)


# -- treasury ----------------------------------------------------------------------------------------------


def test_treasury_spend_and_liquidity_pair():
    assert treasury.spend_amounts(1000.0, 200.0, 0.1) == (100.0, 20.0)
    # the largest pair at the pool price: limited by tokens, or by USD
    assert treasury.liquidity_pair(100.0, 1000.0, 2.0) == (100.0, 200.0)
    tok, usd = treasury.liquidity_pair(1000.0, 100.0, 2.0)
    assert (tok, usd) == (50.0, 100.0)
    tok, usd = treasury.liquidity_pair(np.array([100.0, 1000.0, 0.0]), np.array([1000.0, 100.0, 5.0]), 2.0)
    np.testing.assert_allclose(usd[:2] / tok[:2], [2.0, 2.0])
    assert tok[2] == 0.0 and usd[2] == 0.0  # no tokens: nothing to pair the USD with


# -- speculators -------------------------------------------------------------------------------------------


def test_brock_hommes_switching():
    shares = speculators.switching_shares(np.array([0.0, 0.0, 0.0]), 5.0)
    assert shares == pytest.approx([1 / 3] * 3)
    shares = speculators.switching_shares(np.array([[0.1, 0.0, 0.0]]), np.array([10.0]))
    assert shares[0, 0] == pytest.approx(np.e / (np.e + 2))
    # huge fitness does not overflow
    assert np.isfinite(speculators.switching_shares(np.array([1e6, 0.0, 0.0]), 1e3)).all()


def test_strategy_signals_and_target_shares():
    # below value: fundamentalists buy; at the trend average: trend followers neutral; no noise draw
    sig = speculators.strategy_signals(1.0, 2.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0)
    assert sig[0] == pytest.approx(np.tanh(np.log(2.0))) and sig[1] == 0 and sig[2] == 0
    # above the moving average: trend followers buy; sentiment pushes all three and signals stay in [-1, 1]
    sig = speculators.strategy_signals(2.0, 2.0, 1.0, 5.0, 0.0, 1.0, 3.0, 1.0, 0.0)
    assert sig[0] == pytest.approx(0.0) and sig[1] == pytest.approx(np.tanh(3 * np.log(2.0))) and sig[2] > 0.99
    sig = speculators.strategy_signals(1.0, 1.0, 1.0, 0.0, 10.0, 1.0, 1.0, 1.0, 0.5)
    assert sig.tolist() == [1.0, 1.0, 1.0]
    assert speculators.target_token_share(np.array([-1.0, 0.0, 1.0])).tolist() == [0.0, 0.5, 1.0]


def test_risk_adjusted_profit_is_an_annualised_sharpe_ratio():
    dt = 7 / 365
    targets = np.array([1.0, 0.5, 0.0])
    profit = speculators.risk_adjusted_profit(targets, 0.02, 0.04, dt)
    np.testing.assert_allclose(profit, targets * 0.02 / (0.04 * np.sqrt(dt)))
    assert profit[2] == 0.0  # all cash earns nothing


def test_gordon_multiple():
    assert speculators.gordon_multiple(0.1, 0.4, 50.0) == pytest.approx(1.1 / 0.3)
    assert speculators.gordon_multiple(0.0, 0.4, 50.0) == pytest.approx(2.5)
    assert speculators.gordon_multiple(-0.5, 0.4, 50.0) == pytest.approx(0.5 / 0.9)
    # capped near and beyond the discount rate (growth forever at or above it has no finite value)
    assert speculators.gordon_multiple(0.39, 0.4, 50.0) == 50.0
    assert speculators.gordon_multiple(0.4, 0.4, 50.0) == 50.0
    assert speculators.gordon_multiple(3.0, 0.4, 50.0) == 50.0
    assert speculators.gordon_multiple(-2.0, 0.4, 50.0) == 0.0  # shrinking away: worth nothing
    g = np.array([-0.5, 0.1, 0.5])
    np.testing.assert_allclose(speculators.gordon_multiple(g, 0.4, 50.0), [0.5 / 0.9, 1.1 / 0.3, 50.0])
    # the fundamental price spreads the revenue's value over the floating supply
    assert speculators.fundamental_price(3e4, 0.1, 1e6, 0.4, 50.0) == pytest.approx(1.1 / 0.3 * 3e4 / 1e6)
    assert speculators.fundamental_price(-5.0, 0.1, 1e6, 0.4, 50.0) == 0.0


def test_rebalance_order_usd():
    # 1000 USD and 1000 tokens at 1.0: wealth 2000, held share 0.5
    assert speculators.rebalance_order_usd(0.5, 1000.0, 1000.0, 1.0, 0.3) == 0.0
    assert speculators.rebalance_order_usd(1.0, 1000.0, 1000.0, 1.0, 1.0) == 1000.0  # buy with all the cash
    assert speculators.rebalance_order_usd(0.0, 1000.0, 1000.0, 1.0, 1.0) == -1000.0  # sell every token
    assert speculators.rebalance_order_usd(0.75, 1000.0, 1000.0, 1.0, 0.5) == 250.0
    # filled at a constant price, the gap to the target shrinks by (1 - weight) a step: seven daily steps
    # close as much of it as one weekly step with the same half-life
    w1, w7 = timebase.ema_weight(3.0, 1.0), timebase.ema_weight(3.0, 7.0)

    def token_share(weight, steps, price=2.0, cash=1000.0, tokens=100.0, target=0.9):
        for _ in range(steps):
            order = speculators.rebalance_order_usd(target, cash, tokens, price, weight)
            cash, tokens = cash - order, tokens + order / price
        return tokens * price / (cash + tokens * price)

    assert token_share(w1, 7) == pytest.approx(token_share(w7, 1), rel=1e-12)
    assert token_share(1.0, 1) == pytest.approx(0.9)


# -- shocks ------------------------------------------------------------------------------------------------


def test_shock_schedule():
    crash = ShockEvent(type="price_crash", start_day=14, size=0.75, duration_days=14, inventory_tokens=1.0)
    spike = ShockEvent(type="cost_spike", start_day=35, size=1.0, duration_days=21)
    path = ShockEvent(type="price_path", start_day=56, path=(0.5, 0.25), path_interval_days=7)
    drain = ShockEvent(type="liquidity_drain", start_day=21, size=0.3)
    sched = shocks.shock_schedule([crash, spike, path, drain], 10, [2, 5, 8, 3], 7.0)
    assert sched["crash_drop"][2] == pytest.approx(0.5) and sched["crash_drop"][3] == pytest.approx(0.5)
    assert (1 - sched["crash_drop"][2]) * (1 - sched["crash_drop"][3]) == pytest.approx(0.25)
    assert sched["cost_multiplier"].tolist() == [1, 1, 1, 1, 1, 2, 2, 2, 1, 1]
    assert np.isnan(sched["target_price_rel"][7]) and sched["target_price_rel"][9] == 0.25
    np.testing.assert_allclose(sched["liquidity_removed"], [0, 0, 0, 0.3, 0, 0, 0, 0, 0, 0])
    # durations in days become whole steps (at least one); starts in days round down to their step
    assert shocks.duration_steps(crash, 7.0) == 2 and shocks.duration_steps(crash, 1.0) == 14
    assert shocks.duration_steps(drain, 30.0) == 1
    assert shocks.start_step(crash, 7.0) == 2 and shocks.start_step(crash, 30.0) == 0


def test_path_values_interpolate_in_days():
    path = ShockEvent(type="price_path", start_day=0, path=(1.0, 0.5, 0.8), path_interval_days=14)
    np.testing.assert_allclose(shocks.path_values(path, 10, 7.0), [1.0, 0.75, 0.5, 0.65, 0.8])
    daily = shocks.path_values(path, 100, 1.0)
    assert len(daily) == 29 and daily[7] == pytest.approx(0.75) and daily[21] == pytest.approx(0.65)
    np.testing.assert_allclose(daily[::7], shocks.path_values(path, 10, 7.0))
    # steps longer than the knot interval sample the path; the horizon cuts it short
    np.testing.assert_allclose(shocks.path_values(path, 10, 30.0), [1.0])
    np.testing.assert_allclose(shocks.path_values(path, 2, 7.0), [1.0, 0.75])
    sched = shocks.shock_schedule([path], 8, [4], 7.0)["target_price_rel"]
    assert np.isnan(sched[:4]).all() and sched[4:].tolist() == [1.0, 0.75, 0.5, 0.65]


def test_bear_market_factor_shift_ramps_down_and_stays():
    bear = ShockEvent(type="bear_market", start_day=7, size=0.5, duration_days=28)
    weekly = shocks.shock_schedule([bear], 10, [1], 7.0)["factor_shift"]
    full = np.log(0.5)
    np.testing.assert_allclose(weekly, [0.0, full / 4, full / 2, 3 * full / 4, full, full, full, full, full, full])
    # daily steps ramp along the same line: the same shift on the same day
    daily = shocks.shock_schedule([bear], 70, [7], 1.0)["factor_shift"]
    assert (daily[:7] == 0).all() and daily[-1] == pytest.approx(full)
    assert np.all(np.diff(daily) <= 1e-15)
    np.testing.assert_allclose(daily[7 + 6::7][:9], weekly[1:], rtol=1e-12)
    # two bear markets compound in logs
    both = shocks.shock_schedule([bear, bear], 10, [1, 1], 7.0)["factor_shift"]
    np.testing.assert_allclose(both, 2 * weekly)


def test_a_reverting_bear_market_climbs_back_over_another_duration_after_its_hold():
    bear = ShockEvent(type="bear_market", start_day=7, size=0.5, duration_days=28, revert_after_days=14)
    shift = shocks.shock_schedule([bear], 14, [1], 7.0)["factor_shift"]
    full = np.log(0.5)
    # down over 4 steps, held 2 steps, back up over 4 steps, then on the twin's path again
    np.testing.assert_allclose(shift, [0.0, full / 4, full / 2, 3 * full / 4, full, full, full, 3 * full / 4,
                                       full / 2, full / 4, 0.0, 0.0, 0.0, 0.0], atol=1e-15)
    with pytest.raises(ValueError, match="only a bear_market reverts"):
        ShockEvent(type="demand_drop", start_day=7, size=0.5, revert_after_days=14)
