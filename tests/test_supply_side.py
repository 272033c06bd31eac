"""Economy v2, part 2: providers who look ahead, hardware that ships, stake that binds, coverage that matters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models import engines
from models.abm.model import DePINModel
from models.analysis import supply as sa
from models.analysis.ensembles import ensemble_mean, run_ensemble
from models.exogenous import run_seed_sequence
from models.mechanisms import coverage, emission, stake, supply_chain
from models.params import ParameterError, with_overrides

QUIET = {"market.factor_volatility_per_year": 0.0, "market.sentiment_volatility": 0.0,
         "speculators.noise_sigma": 0.0}


# -- forward-looking entry around a halving ------------------------------------------------------------


@pytest.fixture(scope="module")
def halving_runs(base_scenario):
    """The base emission with market noise off (so exits come from the halving, not from price swings)."""
    out = {}
    for anticipate in (True, False):
        sc = with_overrides(base_scenario, {**QUIET, "providers.anticipate_schedule": anticipate})
        # with the market noise off the aggregate run is the same for every seed: one is enough
        out[anticipate] = (sc, [engines.run(sc, "batch", seed=0)])
    return out


def test_a_halving_is_no_cliff(halving_runs):
    sc, runs = halving_runs[True]
    halvings = sa.halving_steps(sc)
    assert halvings == [104, 208]
    for run in runs:
        for h in halvings:
            assert sa.largest_exit_share(run, h) < 0.15, (h, sa.largest_exit_share(run, h))
        # the halvings do cost providers over the following half year: the measure is not trivially low
        assert run["exits"].iloc[209:235].sum() > 0.2 * run["providers"].iloc[208]


def test_orders_slow_before_the_halving_not_after(halving_runs):
    for anticipate, (_, runs) in halving_runs.items():
        for run in runs:
            for h in (104, 208):
                early, before, after = (sa.mean_orders(run, h - 30, h - 26), sa.mean_orders(run, h - 4, h),
                                        sa.mean_orders(run, h, h + 4))
                if anticipate:
                    assert before < 0.85 * early, (h, early, before)
                    assert after > 0.9 * before, (h, before, after)
                else:
                    # taking today's reward to last, orders fall only once the reward has halved
                    assert after < 0.7 * before, (h, before, after)


def test_expected_rate_ratio_sees_the_halving_coming():
    # 52 steps per halving period; a 26-step horizon starting 4 steps ahead
    ratio = emission.expected_rate_ratio(np.array(1), np.arange(0, 60), 4.0, 26.0, 52.0, 100.0)
    assert ratio[0] == pytest.approx(1.0)
    assert np.all(ratio[:23] == 1.0)  # the halving (step 52) is beyond step + 4 + 26
    assert np.all(np.diff(ratio[22:49]) < 0)  # then falls smoothly as it comes inside the horizon
    assert ratio[48] == pytest.approx(0.5)  # the whole horizon after the halving, against today's full rate
    assert ratio[53] == pytest.approx(1.0)  # after the halving the new rate lasts
    constant = emission.expected_rate_ratio(np.array(0), np.arange(10), 4.0, 26.0, 52.0, 100.0)
    np.testing.assert_allclose(constant, 1.0)


# -- the supply chain ----------------------------------------------------------------------------------

BOOM = {"type": "price_path", "start_day": 140, "path_interval_days": 28, "inventory_tokens": 1e7,
        "path": [1.0, 2.0, 3.0, 3.0, 2.0, 1.0, 0.6, 0.4, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]}


def test_the_realised_lead_time_grows_with_a_demand_surge(base_scenario):
    sc = with_overrides(base_scenario, {"simulation.steps": 80, "token.initial_supply": 3e7, "shocks": [BOOM],
                                        "providers.production_units_per_day": 0.4, "providers.lead_time_days": 14.0})
    model = DePINModel(sc, run_seed_sequence(3))
    for _ in range(80):
        model.step()
    lead = sa.realised_lead_times(model).set_index("step")["lead_time_days"]
    calm, surge = lead.loc[:20].mean(), lead.loc[35:60].max()
    assert calm < 25  # shipping (14 days) plus a short wait
    assert surge > 2 * calm, (calm, surge)
    batch = engines.run(sc, "batch", seed=3)
    # the quoted lead time (backlog over production, at order time) rises with the surge too
    assert batch["lead_time_days"].iloc[35:60].max() > 1.5 * batch["lead_time_days"].iloc[1:20].mean()
    # unlimited production: the lead time is the shipping delay whatever the orders
    free = engines.run(with_overrides(sc, {"providers.production_units_per_day": None}), "batch", seed=3)
    np.testing.assert_allclose(free["lead_time_days"].iloc[1:], 14.0)


def test_production_serves_the_backlog_at_its_rate():
    np.testing.assert_allclose(supply_chain.produced_units(np.array([0.0, 3.0, 50.0]), 7.0), [0.0, 3.0, 7.0])
    assert supply_chain.quoted_lead_time_days(np.array(70.0), np.array(2.0), 28.0) == pytest.approx(63.0)
    assert supply_chain.quoted_lead_time_days(np.array(70.0), np.array(np.inf), 28.0) == pytest.approx(28.0)


# -- stake and pledge ----------------------------------------------------------------------------------


def test_pledge_termination_fee_and_slashing_rules():
    # Filecoin: 20 days of reward plus 30% of circulating supply times the provider's share of capacity
    assert stake.pledge_tokens(2.0, 20.0, 1e6, 0.3, 10.0, 1000.0) == pytest.approx(40.0 + 3000.0)
    assert stake.stake_required(np.array(1), 50.0, 2.0, 20.0, 1e6, 0.3, 10.0, 1000.0) == pytest.approx(50.0)
    assert stake.stake_required(np.array(0), 50.0, 2.0, 20.0, 1e6, 0.3, 10.0, 1000.0) == pytest.approx(0.0)
    fee = stake.termination_fee_tokens(np.array([500.0, 500.0, 100.0]), 2.0, 90.0, np.array([10.0, 200.0, 10.0]),
                                       180.0)
    np.testing.assert_allclose(fee, [180.0, 0.0, 100.0])  # early, after the commitment, capped by the stake
    np.testing.assert_allclose(stake.slash_fraction(np.array([0.5, 0.95]), 0.9, 0.01), [0.01, 0.0])


@pytest.mark.parametrize("engine", ["batch", "abm"])
def test_a_crash_with_pledge_makes_fewer_exits(crash_scenario, engine):
    start = int(crash_scenario.shocks[0].start_day // crash_scenario.simulation.dt_days)
    pledge = {"stake.mode": "pledge", "stake.commitment_days": 540.0}
    seeds = range(8)
    shares = {}
    for name, over in (("none", {}), ("pledge", pledge)):
        sc = with_overrides(crash_scenario, {"simulation.steps": start + 30, **over})
        shares[name] = np.array([sa.exit_share_after(engines.run(sc, engine, seed=s), start, 26) for s in seeds])
    assert shares["pledge"].mean() < 0.8 * shares["none"].mean(), shares
    assert (shares["pledge"] < shares["none"]).sum() >= 6, shares
    assert shares["none"].mean() > 0.05  # the crash does make providers leave


def test_locked_tokens_leave_circulation_and_come_back_after_unbonding(crash_scenario):
    sc = with_overrides(crash_scenario, {"stake.mode": "fixed", "stake.tokens_per_provider": 2000.0,
                                         "stake.unbonding_days": 28.0, "stake.commitment_days": 0.0,
                                         "simulation.steps": 120})
    f = engines.run(sc, "batch", seed=1)
    assert f["locked"].iloc[0] == pytest.approx(2000.0 * sc.providers.initial_active)
    np.testing.assert_allclose(f["locked"], 2000.0 * f["providers"], rtol=1e-9)
    expected = f["supply"] - f["unvested"] - f["treasury"] - f["amm_tokens"] - f["locked"] - f["unbonding"]
    np.testing.assert_allclose(f["circulating"], expected, rtol=1e-9)
    assert f["unbonding"].max() > 0
    # no commitment, no fee: nothing is burned beyond the usage burn
    none = engines.run(with_overrides(sc, {"stake.mode": "none"}), "batch", seed=1)
    assert f["burned_total"].iloc[-1] == pytest.approx(none["burned_total"].iloc[-1], rel=0.5)


def test_a_genesis_pledge_larger_than_the_float_is_refused(base_scenario):
    with pytest.raises(ParameterError, match="stake"):
        with_overrides(base_scenario, {"stake.mode": "fixed", "stake.tokens_per_provider": 1e6})


# -- vintages: ABM and aggregate agree in a boom-bust with a 26-week lead time --------------------------


def test_abm_and_aggregate_agree_in_a_boom_bust_with_long_lead_times(base_scenario):
    # the tolerances of tests/test_mean_field.py (its docstring says why)
    WORST_STEP, MEAN_OVER_STEPS = {"providers": 0.20, "users": 0.10}, {"providers": 0.05, "users": 0.03}
    sc = with_overrides(base_scenario, {
        "simulation.steps": 130, "simulation.potential_providers": 4000, "simulation.potential_users": 20000,
        "simulation.speculators": 400, "providers.initial_active": 400, "users.initial_users": 200,
        "providers.opex_dispersion": 0.0, "simulation.cost_cohorts": 1, "users.wtp_dispersion": 0.0,
        "providers.patience_dispersion": 0.0, "providers.expectation_dispersion": 0.0,
        "speculators.noise_sigma": 0.05, "market.sentiment_volatility": 0.01,
        "market.factor_volatility_per_year": 0.05, "providers.lead_time_days": 182.0,
        "token.initial_supply": 3e7, "shocks": [BOOM]})
    cols = ["providers", "users"]
    seeds = range(30)
    abm = ensemble_mean(run_ensemble(sc, "abm", seeds), cols)
    agg = ensemble_mean(run_ensemble(sc, "batch", seeds), cols)
    rel = ((abm - agg).abs() / agg.abs()).iloc[1:]
    for col in cols:
        assert rel[col].max() < WORST_STEP[col], (col, rel[col].max())
        assert rel[col].mean() < MEAN_OVER_STEPS[col], (col, rel[col].mean())
    # a boom and a bust: hardware ordered in the boom arrives half a year later, then the network shrinks
    boom = agg["providers"].iloc[40:60].max()
    assert boom > 1.15 * agg["providers"].iloc[30]
    assert agg["providers"].iloc[60:90].min() < 0.7 * boom


# -- space ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("active", [50, 200, 600, 1500])
def test_abm_coverage_matches_the_mean_field(base_scenario, active):
    sc = with_overrides(base_scenario, {"space.enabled": True, "space.grid_cells": 200,
                                        "simulation.potential_providers": 2000, "providers.initial_active": active})
    shares = []
    for seed in range(3):
        model = DePINModel(sc, run_seed_sequence(seed))
        model.coverage.update(model.tables["providers"]["state_code"] == 2)
        shares.append(model.coverage.covered_share())
    mean_field = float(coverage.poisson_covered_share(active, sc.space.coverage_radius_km, sc.space.area_km2))
    assert np.mean(shares) == pytest.approx(mean_field, rel=0.05)


def test_space_on_serves_users_only_where_covered(base_scenario):
    sc = with_overrides(base_scenario, {"simulation.steps": 30, "space.enabled": True})
    off = with_overrides(sc, {"space.enabled": False})
    for engine in ("batch", "abm"):
        on_run, off_run = engines.run(sc, engine, seed=2), engines.run(off, engine, seed=2)
        assert (on_run["coverage"].iloc[1:] < 0.5).all() and (off_run["coverage"] == 1.0).all()
        assert on_run["served"].iloc[1:].sum() < 0.6 * off_run["served"].iloc[1:].sum()


def test_abm_rewards_follow_the_coverage_each_provider_adds(base_scenario):
    sc = with_overrides(base_scenario, {
        "simulation.steps": 5, "space.enabled": True, "providers.sell_share": 0.0,
        "providers.inventory_sale_rate_per_year": 0.0, "providers.opex_usd_per_year": 0.0,
        "providers.hardware_lifetime_years": 1e6})
    model = DePINModel(sc, run_seed_sequence(4))
    model.step()
    table = model.tables["providers"]
    rows = np.flatnonzero(table["state_code"] == 2)
    weights = model.coverage.overlap_weights(rows)
    assert weights.min() < 0.9 < weights.max()  # some overlap, some alone
    np.testing.assert_allclose(table["tokens"][rows] / table["tokens"][rows].sum(), weights / weights.sum(),
                               rtol=1e-9)


# -- makers' capacity, log-logistic entry, order cancellations (issue 10) ----------------------------------


def test_makers_capacity_follows_the_backlog_and_never_drops_below_its_floor():


    # 900 units waiting, target 90 days: desired 10 a day; a weight of 0.5 moves half way from the floor of 2
    assert supply_chain.adjust_capacity(2.0, 900.0, 2.0, 90.0, 0.5) == pytest.approx(6.0)
    assert supply_chain.adjust_capacity(6.0, 0.0, 2.0, 90.0, 0.5) == pytest.approx(4.0)  # back toward the floor
    assert supply_chain.adjust_capacity(2.0, 0.0, 2.0, 90.0, 1.0) == 2.0
    assert np.isinf(supply_chain.adjust_capacity(np.inf, 900.0, np.inf, 90.0, 0.5))  # unlimited stays unlimited


def test_log_logistic_entry_needs_a_margin_and_has_a_constant_elasticity():
    from models.mechanisms import providers

    margin = np.array([-100.0, 0.0, 5.0, 10.0, 100.0, 1000.0])  # USD/year; capex 500, threshold 5 years
    response = providers.entry_response(margin, 500.0, 5.0, 2.0, log_logistic=1)
    assert response[0] == 0.0 and response[1] == 0.0
    assert response[4] == pytest.approx(0.5)  # payback ratio 100 x 5 / 500 = 1
    # at small ratios the response goes as ratio^steepness: halving the margin quarters it
    assert response[2] / response[3] == pytest.approx(0.25, rel=0.05)
    logistic = providers.entry_response(margin, 500.0, 5.0, 2.0, log_logistic=0)
    assert logistic[1] > 0.1  # the logistic in r - 1 keeps a floor of entry at zero margin


@pytest.fixture(scope="module")
def falling_after_boom(base_scenario):
    """Base with makers' capacity and cancellations on, its price replayed: 10x in four months, then down 95%."""
    from models import replay

    scenario = with_overrides(base_scenario, {
        "simulation.start_date": "2021-01-01", "providers.production_units_per_day": 0.2,
        "providers.production_adjustment_days": 60.0, "providers.production_delivery_target_days": 30.0,
        "providers.entry_response": "log_logistic",
        "providers.order_cancellation_rate_per_year": 12.0, "providers.payback_threshold_years": 3.0})
    dates = pd.to_datetime(["2021-01-01", "2021-05-01", "2021-05-15", "2022-01-01"])
    prices = pd.Series([0.04, 0.4, 0.02, 0.02], index=dates)  # a boom, then a crash while orders wait
    return replay.replay_scenario(scenario, prices, end=dates[-1])


def test_orders_pile_up_in_the_boom_makers_scale_up_and_the_bust_cancels_the_backlog(falling_after_boom):
    frame = engines.run(falling_after_boom, "batch")
    boom, bust = frame[frame.step <= 17], frame[frame.step > 19]
    assert boom.order_backlog.max() > 20 and boom.production_capacity.max() > 0.4
    # orders are cancelled when entry stops paying: in the month after the crash several times more per week
    # than in the boom (entry never pays fully, so a few are cancelled all along)
    assert bust.cancelled.iloc[:4].mean() > 3 * boom.cancelled.mean() and bust.cancelled.sum() > 20
    assert bust.order_backlog.iloc[-1] < 0.1 * frame.order_backlog.max()
    assert bust.production_capacity.iloc[-1] < frame.production_capacity.max()
    cadcad = engines.run(falling_after_boom, "cadcad")
    for column in ("cancelled", "production_capacity", "order_backlog", "providers"):
        np.testing.assert_allclose(cadcad[column], frame[column], rtol=1e-9, atol=1e-9)
    without = engines.run(with_overrides(falling_after_boom, {"providers.order_cancellation_rate_per_year": 0.0}),
                          "batch")
    assert without.cancelled.sum() == 0 and without.providers.iloc[-1] > frame.providers.iloc[-1]


def test_the_abm_cancels_and_scales_up_like_the_aggregate(falling_after_boom):
    abm = engines.run(falling_after_boom, "abm")
    batch = engines.run(falling_after_boom, "batch")
    assert abm.cancelled.sum() > 0 and abm.production_capacity.max() > 0.4
    # same rules, individual draws: totals within a third of each other
    for column in ("cancelled", "arrivals"):
        assert abm[column].sum() == pytest.approx(batch[column].sum(), rel=0.35), column
