"""Mesa engine: real agents, determinism, token conservation, agent books matching the ledger."""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd
import pytest
from ledger_checks import check_ledger

from models import engines
from models.abm.agents import ACTIVE, EXITED, PENDING, POTENTIAL, Provider, Speculator, User, split_fills
from models.abm.model import DePINModel, run_abm
from models.exogenous import run_seed_sequence, sample_exogenous
from models.mechanisms import amm
from models.params import with_overrides
from models.sd import economy

WEEK = 7
SHOCKS = [
    {"type": "demand_drop", "start_day": 12 * WEEK, "size": 0.5, "duration_days": 6 * WEEK},
    # a 60% drop needs about 2.9 M tokens sold into the genesis pool of 5 M tokens
    {"type": "price_crash", "start_day": 20 * WEEK, "size": 0.6, "inventory_tokens": 4e6},
    {"type": "cost_spike", "start_day": 22 * WEEK, "size": 1.0, "duration_days": 5 * WEEK},
    {"type": "liquidity_drain", "start_day": 25 * WEEK, "size": 0.3},
    {"type": "unlock_cliff", "start_day": 30 * WEEK, "size": 0.5},
    {"type": "bear_market", "start_day": 32 * WEEK, "size": 0.5, "duration_days": 4 * WEEK},
    {"type": "price_path", "start_day": 36 * WEEK, "path": [0.9, 0.8, 0.85], "inventory_tokens": 1e6},
]


@pytest.fixture(scope="module")
def tiny(base_scenario):
    """Small populations and a short horizon with every kind of shock inside it."""
    return with_overrides(
        base_scenario,
        {
            "simulation.steps": 50, "simulation.potential_providers": 300, "simulation.potential_users": 1500,
            "simulation.speculators": 40, "providers.initial_active": 60, "users.initial_users": 100,
            "users.wtp_dispersion": 0.4, "vesting.allocations.0.cliff_days": 10 * WEEK, "shocks": SHOCKS,
        },
    )



def run_model(scenario, seed=0, steps=None):
    model = DePINModel(scenario, run_seed_sequence(seed))
    for _ in range(scenario.simulation.steps if steps is None else steps):
        model.step()
    return model


def test_same_seed_same_frame_and_different_seeds_differ(tiny):
    a = engines.run(tiny, "abm", seed=5)
    b = engines.run(tiny, "abm", seed=5)
    pd.testing.assert_frame_equal(a, b)
    c = engines.run(tiny, "abm", seed=6)
    assert not np.allclose(a["providers"], c["providers"]) or not np.allclose(a["users"], c["users"])
    assert list(a["step"]) == list(range(tiny.simulation.steps + 1))
    assert (a["run"] == 0).all()


@pytest.mark.parametrize("mode", ["bme", "fee"])
def test_token_conservation_and_no_negatives(tiny, mode):
    frame = engines.run(with_overrides(tiny, {"payment.mode": mode}), "abm", seed=1)
    check_ledger(frame)
    # the shocks happened: the crash shows at step 21, the demand drop caps the market at step 13
    assert frame.price.iloc[21] < 0.6 * frame.price.iloc[20]
    assert frame.crash_achieved.iloc[21] == pytest.approx(0.6, rel=1e-9)
    assert frame.potential_users.iloc[13] < 0.6 * frame.potential_users.iloc[12]


def test_every_emission_schedule_conserves_tokens(tiny):
    for schedule in ("constant", "exponential_decay", "baseline"):
        sc = with_overrides(tiny, {"emission.schedule": schedule, "token.max_supply": 2.05e7, "shocks": []})
        check_ledger(run_abm(sc, run_seed_sequence(2)))


def test_agents_are_mesa_agents_holding_their_state(tiny):
    model = DePINModel(tiny, run_seed_sequence(0))
    assert isinstance(model, mesa.Model)
    for cls in (Provider, User, Speculator):
        assert issubclass(cls, mesa.Agent)
    sim = tiny.simulation
    assert len(model.agents_by_type[Provider]) == sim.potential_providers
    assert len(model.agents_by_type[User]) == sim.potential_users
    assert len(model.agents_by_type[Speculator]) == sim.speculators
    states = [p.state for p in model.agents_by_type[Provider]]
    assert states.count("active") == tiny.providers.initial_active
    assert sum(u.adopted for u in model.agents_by_type[User]) == tiny.users.initial_users
    # attributes read and write the agent's own row
    user = model.users[7]
    user.adopted = False
    assert not model.tables["users"]["adopted"][7]
    assert {p.opex_usd_per_year for p in model.providers[:20]} != {tiny.providers.opex_usd_per_year}


def test_speculator_genesis_totals_match_aggregate(tiny):
    model = DePINModel(tiny, run_seed_sequence(0))
    n = tiny.simulation.speculators
    spec = model.tables["speculators"]
    np.testing.assert_allclose(spec["budget_usd"].sum(), n * tiny.speculators.budget_usd, rtol=1e-12)
    np.testing.assert_allclose(spec["tokens"].sum(), n * tiny.speculators.initial_tokens, rtol=1e-12)
    assert spec["tokens"].std() > 0


def test_step_zero_equals_aggregate_genesis(tiny):
    abm = engines.run(tiny, "abm", seed=3)
    batch = engines.run(tiny, "batch", seed=3)
    cols = [c for c in abm.columns if not c.startswith("share_")]
    pd.testing.assert_series_equal(abm.loc[0, cols], batch.loc[0, cols], check_names=False)


def test_agent_books_match_ledger(tiny):
    model = run_model(tiny, seed=4, steps=40)
    s = model.s
    spec = model.tables["speculators"]
    np.testing.assert_allclose(spec["tokens"].sum(), s["speculator_tokens"][0], rtol=1e-9)
    np.testing.assert_allclose(spec["budget_usd"].sum(), s["speculator_usd"][0], rtol=1e-9)
    np.testing.assert_allclose(model.tables["providers"]["tokens"].sum(), s["provider_tokens"][0], rtol=1e-9)
    state = model.tables["providers"]["state_code"]
    assert model.rows[-1]["providers"][0] == np.count_nonzero(state == ACTIVE)
    assert model.rows[-1]["pending_providers"][0] == np.count_nonzero(state == PENDING)
    assert s["users"][0] == model.tables["users"]["adopted"].sum()


def test_block_order_follows_the_aggregate_economy(tiny):
    model = DePINModel(tiny, run_seed_sequence(0))
    assert [name for name, _ in model.blocks] == [name for name, _ in economy.BLOCKS]


def test_exogenous_inputs_are_the_aggregate_ones(tiny):
    seq = run_seed_sequence(9, 1, 2)
    model = DePINModel(tiny, seq)
    expected = sample_exogenous(tiny, seq).as_dict()
    for key, values in expected.items():
        np.testing.assert_array_equal(model.exo[key][0], values)


def test_per_agent_decisions_equal_vectorised_draws(tiny):
    model = run_model(tiny, seed=0, steps=10)
    table = model.tables["providers"]
    idle = np.flatnonzero(table["state_code"] == POTENTIAL)[:50]
    state = model.rng.bit_generator.state
    vectorised = model.rng.random(len(idle)) < Provider.entry_probabilities(model, idle)
    model.rng.bit_generator.state = state
    one_by_one = np.array([model.providers[i].decide_entry() for i in idle])
    np.testing.assert_array_equal(vectorised, one_by_one)
    users = np.flatnonzero(model.tables["users"]["adopted"])[:50]
    model.rng.bit_generator.state = state
    churn = model.rng.random(len(users)) < User.churn_probabilities(model, users)
    model.rng.bit_generator.state = state
    np.testing.assert_array_equal(churn, [model.users[i].decide_churn() for i in users])
    signals = np.array([0.5, -0.3, 0.1])
    orders = Speculator.desired_orders(model, slice(None), signals, model.price())
    assert orders[3] == pytest.approx(model.speculators[3].desired_order(signals, model.price()))


def test_split_fills_sum_to_the_pool_trade():
    x, y, price = 1e6, 1e5, 0.1
    for orders in (np.array([5.0, -2.0, 0.0, 3.0, -1.5]), np.array([5.0, -2.0, 0.0, 3.0, -7.5])):
        d_tok, d_usd, _, _ = amm.signed_trade(x, y, orders.sum(), 0.003, 1e9)
        tok, usd = split_fills(orders, float(d_tok), float(d_usd), price)
        assert tok.sum() == pytest.approx(float(d_tok))
        assert usd.sum() == pytest.approx(float(d_usd))
        # the side crossed inside the batch trades at the pre-trade price
        minority = orders < 0 if orders.sum() > 0 else orders > 0
        np.testing.assert_allclose(usd[minority], -orders[minority])
        np.testing.assert_allclose(tok[minority], orders[minority] / price)
    tok, usd = split_fills(np.zeros(3), 0.0, 0.0, price)
    assert not tok.any() and not usd.any()


def test_shrinking_market_keeps_adopters_first(tiny):
    model = DePINModel(tiny, run_seed_sequence(0))
    adopted = model.tables["users"]["adopted"]
    adopted[:] = False
    adopted[[1, 50, 400, 420]] = True
    assert User.fit_market(model, 3.5) == 3  # the latest arrival (420) leaves
    assert adopted.sum() == 3 and not adopted[420]
    rank = model.tables["users"]["arrival_rank"]
    assert (rank[adopted] < 3).all()  # 50 and 400 took the places of prospects 0 and 2
    assert rank[0] == 50 and rank[2] == 400
    assert sorted(rank) == list(range(len(rank)))
    model.s["potential_users"] = np.array([3.5])
    assert len(User.prospects(model)) == 0
    assert User.fit_market(model, 10.0) == 3
    model.s["potential_users"] = np.array([10.0])
    assert len(User.prospects(model)) == 7


def test_steps_override_and_no_speculators(tiny):
    sc = with_overrides(tiny, {"simulation.speculators": 0, "shocks": []})
    frame = run_abm(sc, run_seed_sequence(1), steps=12)
    assert len(frame) == 13
    check_ledger(frame)
    assert (frame["speculator_tokens"] == 0).all()


def test_leaving_providers_sell_a_share_of_their_own_inventory_and_keep_the_rest(tiny):
    """Each agent holds its own inventory; a leaver sells ``exit_sale_share`` of it, the rest joins the float."""
    sc = with_overrides(tiny, {"providers.exit_sale_share": 0.25, "providers.opex_usd_per_year": 2000.0,
                               "providers.exit_patience_days": 7.0, "providers.sell_share": 0.0, "shocks": []})
    model = DePINModel(sc, run_seed_sequence(3))
    table = model.tables["providers"]
    leavers = 0
    for t in range(20):
        model.exo_t = economy.exo_at(model.exo, t)
        for name, block in model.blocks:
            state, tokens = table["state_code"].copy(), table["tokens"].copy()
            float_before, sold_before = model.s["float_tokens"][0], model.s["tokens_sold"][0]
            block(t)
            if name != "providers_move":
                continue
            left = (state == ACTIVE) & (table["state_code"] == EXITED)
            held = tokens[left].sum()
            assert (table["tokens"][left] == 0).all()
            assert model.s["float_tokens"][0] - float_before == pytest.approx(0.75 * held, rel=1e-9, abs=1e-9)
            assert model.s["tokens_sold"][0] - sold_before == pytest.approx(0.25 * held, rel=1e-9, abs=1e-9)
            np.testing.assert_allclose(table["tokens"].sum(), model.s["provider_tokens"][0], rtol=1e-12)
            leavers += np.count_nonzero(left & (tokens > 0))
    assert leavers > 0
