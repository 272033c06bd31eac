"""Mechanisms against known values and invariants; each accepts scalars and arrays alike."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.mechanisms import amm, demand, emission, payment, providers, shocks, speculators, vesting

reserve = st.floats(1e2, 1e9)
amount = st.floats(1e-3, 1e8)
fees = st.floats(0.0, 0.05)


@given(reserve, reserve, amount, fees)
def test_amm_sell_matches_constant_product_formula(x, y, dx, fee):
    g = 1 - fee
    out, x1, y1 = amm.sell_tokens(x, y, dx, fee)
    assert out == pytest.approx(y * g * dx / (x + g * dx), rel=1e-12)
    assert x1 == x + dx and out + y1 == pytest.approx(y, rel=1e-12)
    assert x1 * y1 >= x * y * (1 - 1e-12)  # the fee stays in the pool
    assert amm.price(x1, y1) < amm.price(x, y)


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
    t_out, u_out, x2, y2 = amm.remove_liquidity(1000.0, 4000.0, 0.25)
    assert (t_out, u_out, x2, y2) == (250.0, 1000.0, 750.0, 3000.0)


def test_amm_accepts_arrays_like_scalars():
    xs, ys, dxs = np.array([1e3, 2e3]), np.array([5e3, 1e3]), np.array([10.0, 20.0])
    out, _, _ = amm.sell_tokens(xs, ys, dxs, 0.003)
    assert out.shape == (2,)
    assert out[1] == amm.sell_tokens(2e3, 1e3, 20.0, 0.003)[0]


def test_signed_trade_caps_sells_by_holdings():
    d_tok, d_usd, x, y = amm.signed_trade(1e4, 1e4, -5e3, 0.0, 100.0)
    assert d_tok == -100.0 and d_usd > 0 and x == 1e4 + 100.0


def test_halving_halves_each_period():
    steps = np.arange(0, 520)
    m = emission.halving(steps, 1000.0, 104)
    for k in range(5):
        assert np.all(m[k * 104:(k + 1) * 104] == 1000.0 * 0.5**k)


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
    burned, treasury, prov = payment.settle_usage(np.array([100.0, 100.0]), np.array([True, False]), 0.8, 0.1)
    assert burned.tolist() == [80.0, 0.0]
    assert treasury.tolist() == [0.0, 10.0]
    assert prov.tolist() == [20.0, 90.0]


def test_provider_economics():
    assert providers.operating_margin_usd(10.0, 2.0, 5.0) == 15.0
    assert providers.payback_steps(500.0, 10.0) == 50.0 and np.isinf(providers.payback_steps(500.0, -1.0))
    # at payback == threshold the entry rate is half the maximum (no word of mouth)
    rate = providers.entry_rate(500.0 / 52, 500.0, 52.0, 4.0, 0.1, 0.0, 0.0)
    assert rate == pytest.approx(0.05)
    assert providers.entry_rate(100.0, 500.0, 52.0, 4.0, 0.1, 0.0, 0.0) > rate
    assert providers.loss_streak(np.array([3, 3]), np.array([-1.0, 1.0])).tolist() == [4, 0]
    p = providers.exit_probability(np.array([0, 5]), 5, 0.25, 100.0)
    assert p.tolist() == pytest.approx([0.01, 1 - 0.75 * 0.99])
    # sells at least enough to cover opex, never more than the reward
    assert providers.tokens_sold(100.0, 0.5, 10.0, 0.1) == 20.0
    assert providers.tokens_sold(100.0, 0.01, 10.0, 0.1) == 100.0


def test_cost_quantiles_are_median_centred():
    q = providers.cost_quantiles(np.array([5.0]), np.array([0.5]), 5)
    assert q.shape == (1, 5) and q[0, 2] == pytest.approx(5.0) and np.all(np.diff(q) > 0)
    assert np.all(providers.cost_quantiles(np.array([5.0]), np.array([0.0]), 3) == 5.0)


def test_demand_rules():
    assert demand.potential_market(52, 1000, 0.5, 1.0, 7) == pytest.approx(1000 * 0.5 * 2 ** (52 * 7 / 365))
    assert demand.potential_market(10_000, 1000, 0.5, 1.0, 7) == 1000
    assert demand.service_quality(50.0, 100.0) == 0.5 and demand.service_quality(50.0, 0.0) == 1.0
    assert demand.price_attractiveness(1.0, 2.0, 2.0) == 1.0
    assert demand.price_attractiveness(2.0, 1.0, 2.0) == 0.25
    p = demand.adoption_probability(10.0, 100.0, 0.01, 0.1, 1.0, 1.0, 1.0)
    assert p == pytest.approx(0.02)
    assert demand.adoption_probability(10.0, 100.0, 0.01, 0.1, 0.5, 1.0, 1.0) == pytest.approx(0.01)
    assert demand.served_units(np.array([5.0, 20.0]), 10.0).tolist() == [5.0, 10.0]


def test_brock_hommes_switching():
    shares = speculators.switching_shares(np.array([0.0, 0.0, 0.0]), 5.0)
    assert shares == pytest.approx([1 / 3] * 3)
    shares = speculators.switching_shares(np.array([[0.1, 0.0, 0.0]]), np.array([10.0]))
    assert shares[0, 0] == pytest.approx(np.e / (np.e + 2))
    # huge fitness does not overflow
    assert np.isfinite(speculators.switching_shares(np.array([1e6, 0.0, 0.0]), 1e3)).all()
    sig = speculators.strategy_signals(1.0, 1.0, 2.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0)
    assert sig[0] > 0 and sig[1] == 0 and sig[2] == 0


def test_vesting_cliff_then_linear():
    steps = np.arange(0, 200)
    u = vesting.unlocked_to_date(steps, 1000.0, 52, 100)
    assert np.all(u[:52] == 0) and u[102] == pytest.approx(500.0) and u[152] == 1000.0 and u[199] == 1000.0
    per_step = vesting.unlock_in_step(steps, 1000.0, 52, 100)
    assert per_step.sum() == pytest.approx(1000.0)


def test_shock_schedule():
    class S:  # a ShockEvent-like record
        def __init__(self, type, size=0.5, duration=1, path=()):
            self.type, self.size, self.duration, self.path = type, size, duration, path

    sched = shocks.shock_schedule(
        [S("price_crash", 0.75, 2), S("cost_spike", 1.0, 3), S("price_path", path=(0.5, 0.25))], 10, [2, 5, 8]
    )
    assert sched["crash_drop"][2] == pytest.approx(0.5) and sched["crash_drop"][3] == pytest.approx(0.5)
    assert (1 - sched["crash_drop"][2]) * (1 - sched["crash_drop"][3]) == pytest.approx(0.25)
    assert sched["cost_multiplier"].tolist() == [1, 1, 1, 1, 1, 2, 2, 2, 1, 1]
    assert np.isnan(sched["target_price_rel"][7]) and sched["target_price_rel"][9] == 0.25
