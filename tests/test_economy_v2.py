"""Economy v2: step-length independence, owned accounts and USD balance, paid-for shocks, BME price,
price anchoring and the stylised facts of token prices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models import engines, ledger
from models.analysis import stylised
from models.analysis.impulse import impulse_response
from models.history import fil_price_daily, hnt_price_daily
from models.mechanisms import amm, providers
from models.params import ParameterError, load_scenario, scenario_from_dict, with_overrides

ROOT = Path(__file__).resolve().parents[1]
BASE = load_scenario(ROOT / "params" / "base.yaml")
QUIET = {"market.factor_volatility_per_year": 0.0, "market.sentiment_volatility": 0.0,
         "speculators.noise_sigma": 0.0}


def test_daily_and_weekly_steps_tell_the_same_story():
    weekly = with_overrides(BASE, QUIET)
    daily = with_overrides(BASE, {**QUIET, "simulation.dt_days": 1.0, "simulation.steps": 1820})
    fw, fd = engines.run(weekly, "batch", seed=3), engines.run(daily, "batch", seed=3)
    for year in range(1, 6):
        w, d = fw.iloc[52 * year], fd.iloc[364 * year]
        assert w["step"] * 7 == d["step"] == 364 * year
        for col in ("providers", "users", "price"):
            assert d[col] == pytest.approx(w[col], rel=0.05), (year, col, w[col], d[col])


def test_minted_by_any_date_does_not_depend_on_the_step_length():
    weekly = with_overrides(BASE, QUIET)
    daily = with_overrides(BASE, {**QUIET, "simulation.dt_days": 1.0, "simulation.steps": 1820})
    fw, fd = engines.run(weekly, "batch", seed=1), engines.run(daily, "batch", seed=1)
    # the halving falls on day 730, inside weekly step 104: its tokens are split, not shifted
    np.testing.assert_allclose(fw["minted_total"].iloc[[52, 104, 105, 156, 260]].to_numpy(),
                               fd["minted_total"].iloc[[364, 728, 735, 1092, 1820]].to_numpy(), rtol=1e-9)


EVERY_ACCOUNT = {
    "name": "every_account",
    "simulation": {"steps": 80, "potential_providers": 120, "potential_users": 400, "speculators": 20},
    "token": {"initial_supply": 20e6},
    "treasury": {"policy": "buyback_burn", "spend_rate_per_year": 2.0, "initial_usd": 20000},
    "payment": {"mode": "fee", "take_rate": 0.1},
    "providers": {"exit_sale_share": 0.5, "sell_share": 0.1},
    "stake": {"mode": "pledge", "unbonding_days": 28, "commitment_days": 364, "slash_rate_per_year": 2.0},
    "shocks": [
        {"type": "price_crash", "start_day": 140, "size": 0.5, "actor": "fund", "inventory_tokens": 3e6},
        {"type": "price_path", "start_day": 280, "path": [0.6, 1.5, 1.0], "inventory_tokens": 3e6},
        {"type": "liquidity_drain", "start_day": 350, "size": 0.4},
        {"type": "unlock_cliff", "start_day": 420, "size": 0.3},
        {"type": "bear_market", "start_day": 200, "size": 0.4, "duration_days": 56},
    ],
}


@pytest.mark.parametrize("engine", ["abm", "cadcad", "batch"])
@pytest.mark.parametrize("policy", ["buyback_burn", "add_liquidity"])
def test_every_token_account_sums_to_supply_and_usd_balances(engine, policy):
    sc = with_overrides(scenario_from_dict(EVERY_ACCOUNT), {"treasury.policy": policy})
    frame = engines.run(sc, engine, seed=5)
    held = frame[list(ledger.TOKEN_ACCOUNTS)].sum(axis=1)
    np.testing.assert_allclose(held, frame["supply"], rtol=1e-9)
    np.testing.assert_allclose(frame["supply"].diff().iloc[1:], (frame["minted"] - frame["burned"]).iloc[1:],
                               rtol=1e-9, atol=1e-6)
    usd = frame[list(ledger.USD_ACCOUNTS)].sum(axis=1)
    boundary = frame["usd_in_total"] - frame["usd_out_total"]
    np.testing.assert_allclose(usd - usd.iloc[0], boundary, rtol=1e-9, atol=1e-6 * usd.iloc[0])
    for account in (*ledger.TOKEN_ACCOUNTS, *ledger.USD_ACCOUNTS):
        assert frame[account].min() >= -1e-6 * frame["supply"].max(), account
    # every account was used: each one holds tokens at some step, and boundary USD flowed both ways
    for account in ledger.TOKEN_ACCOUNTS:
        assert frame[account].max() > 0, account
    assert frame["usd_in_total"].iloc[-1] > 0 and frame["usd_out_total"].iloc[-1] > 0
    # circulating = what can trade: neither unvested, treasury, pool nor providers' locked or unbonding stake
    expected = (frame["supply"] - frame["unvested"] - frame["treasury"] - frame["amm_tokens"] - frame["locked"]
                - frame["unbonding"])
    np.testing.assert_allclose(frame["circulating"], expected, rtol=1e-9)


def test_treasury_policies_do_what_they_say():
    sc = with_overrides(scenario_from_dict(EVERY_ACCOUNT), {"shocks": []})
    frames = {p: engines.run(with_overrides(sc, {"treasury.policy": p}), "batch", seed=2)
              for p in ("hold", "buyback_burn", "add_liquidity")}
    hold, burn, pool = frames["hold"], frames["buyback_burn"], frames["add_liquidity"]
    assert hold["treasury_usd"].iloc[-1] == pytest.approx(20000)
    # spending 2/year of a steady inflow keeps about half a year of it: far below what holding piles up
    assert burn["treasury"].iloc[-1] < 0.4 * hold["treasury"].iloc[-1]
    assert burn["burned_total"].iloc[-1] > hold["burned_total"].iloc[-1] + 0.5 * hold["treasury"].iloc[-1]
    # protocol-owned liquidity: tokens paired with USD at the pool price, both leave the treasury
    assert pool["treasury_usd"].iloc[-1] < hold["treasury_usd"].iloc[-1] - 1000
    assert pool["treasury"].iloc[-1] < 0.4 * hold["treasury"].iloc[-1]
    assert pool["burned_total"].iloc[-1] == pytest.approx(hold["burned_total"].iloc[-1], rel=0.2)


def test_crash_larger_than_its_seller_can_deliver_is_refused_naming_the_shock():
    data = {"name": "short", "shocks": [{"type": "demand_drop", "start_day": 10, "size": 0.2},
                                        {"type": "price_crash", "start_day": 100, "size": 0.8,
                                         "inventory_tokens": 1e6}]}
    with pytest.raises(ParameterError, match=r"shocks\.1\.inventory_tokens: price_crash of size 0\.8"):
        scenario_from_dict(data)


def test_crash_that_falls_short_at_run_time_records_what_it_achieved_and_warns():
    from models.runs import compute

    genesis_pool = BASE.market.liquidity_usd / BASE.market.initial_price_usd
    needed = float(amm.tokens_for_price_drop(genesis_pool, 0.6, BASE.market.fee))
    # enough against the genesis pool, but liquidity providers deepen the pool before the crash
    sc = with_overrides(BASE, {"simulation.steps": 40, "market.liquidity_target_share": 1.0,
                               "market.liquidity_half_life_days": 7.0,
                               "shocks": [{"type": "price_crash", "start_day": 140, "size": 0.6,
                                           "inventory_tokens": needed * 1.01}]})
    frame, results, _ = compute(sc, "batch")
    (outcome,) = results["shocks"]
    assert outcome["target"] == 0.6
    assert 0.05 < outcome["achieved"] < 0.55
    assert results["shock_achieved"] == pytest.approx(outcome["achieved"])
    assert results["shock_warnings"] == 1
    assert "achieved a drop of" in results["warnings"][0] and "shocks.0" in results["warnings"][0]
    assert frame["seller_tokens"].iloc[-1] == pytest.approx(0.0, abs=1e-6)
    # a crash its seller can afford reaches its size exactly, without a warning
    rich = with_overrides(sc, {"shocks.0.inventory_tokens": needed * 3})
    _, results, _ = compute(rich, "batch")
    assert results["shocks"][0]["achieved"] == pytest.approx(0.6, abs=1e-9)
    assert results["warnings"] == []


@pytest.mark.parametrize("sell_share", [0.25, 1.0])
def test_bme_price_is_usage_over_tokens_sold_not_over_tokens_minted(sell_share):
    """Isolated burn-and-mint loop: users' USD buys and burns, providers sell from their inventory.

    The pool converges to a price where USD in equals the value of tokens sold: U / sold, biased by the
    buy-then-sell clearing of one step by exactly 1 / (1 + U / y) (bounded by U / y).
    """
    x, y, fee = 1e6, 40_000.0, 0.0
    usage_usd, minted = 400.0, 20_000.0
    inventory, opex = 0.0, 0.0
    prices, bme = [], []
    for _ in range(3000):
        _, x, y = amm.buy_tokens(x, y, usage_usd, fee)  # bought tokens are burned
        inventory += minted
        sold = float(providers.tokens_sold(minted, inventory, y / x, opex, sell_share, 0.02))
        inventory -= sold
        _, x, y = amm.sell_tokens(x, y, sold, fee)
        prices.append(y / x)
        bme.append(usage_usd / sold)
    early = 20
    if sell_share < 1:
        # holding part of the reward: fewer tokens sold than minted, so the BME price is above U / minted
        assert bme[early] > 1.2 * usage_usd / minted
    else:
        assert bme[early] == pytest.approx(usage_usd / minted, rel=1e-12)
    # at the fixed point the pool price equals bme / (1 + U / y), within a bias of at most U / y
    p, b = prices[-1], bme[-1]
    assert p == pytest.approx(b / (1.0 + usage_usd / y), rel=1e-6)
    assert abs(p / b - 1.0) <= usage_usd / y


@pytest.mark.parametrize("sell_share", [0.25, 1.0])
def test_engines_record_bme_price_as_usage_usd_over_tokens_sold(sell_share):
    sc = with_overrides(BASE, {"simulation.steps": 60, "providers.sell_share": sell_share})
    frame = engines.run(sc, "batch", seed=4)
    rows = frame[frame["tokens_sold"] > 0]
    np.testing.assert_allclose(rows["bme_price"], rows["revenue_usd"] / rows["tokens_sold"], rtol=1e-12)
    assert frame.loc[frame["tokens_sold"] == 0, "bme_price"].isna().all()
    if sell_share < 1:
        minted_to_providers = frame["minted"] * BASE.emission.provider_share
        assert (rows["tokens_sold"] < minted_to_providers[rows.index]).mean() > 0.5


def test_a_one_off_price_move_does_not_shift_the_price_level_for_good():
    moves = {"-50%": 0.5, "+100%": 2.0}
    _, summary = impulse_response(BASE, moves, start_day=455, seeds=range(6), inventory_tokens=5e6)
    summary = summary.set_index("move")
    assert summary.loc["-50%", "price_impact"] == pytest.approx(0.5, rel=0.02)
    assert summary.loc["+100%", "price_impact"] == pytest.approx(2.0, rel=0.02)
    for move in moves:
        assert np.isfinite(summary.loc[move, "half_life_days"])
        assert summary.loc[move, "half_life_days"] < 365
        assert summary.loc[move, "price_ratio_1y"] == pytest.approx(1.0, abs=0.15)


def test_base_price_has_the_stylised_facts_of_depin_tokens():
    returns = []
    for seed in range(6):
        frame = engines.run(BASE, "batch", seed=seed)
        returns.append(stylised.weekly_log_returns_from_steps(frame["price"].to_numpy(), BASE.simulation.dt_days))
    model = stylised.pooled_facts(returns)
    hnt = stylised.stylised_facts(stylised.weekly_log_returns_from_daily(hnt_price_daily()))
    fil = stylised.stylised_facts(stylised.weekly_log_returns_from_daily(fil_price_daily()))
    assert hnt["annual_volatility"] / 1.5 <= model["annual_volatility"] <= 1.5 * hnt["annual_volatility"]
    assert abs(model["lag1_autocorrelation"]) < 0.25
    assert model["excess_kurtosis"] > 0
    assert fil["annual_volatility"] > 0.5  # the reference data are token-like too
    assert all(stylised.check_bounds(model, hnt).values())


def test_intensity_of_choice_moves_strategy_shares_at_plausible_values():
    spread = {}
    for beta in (0.0, 2.0):
        frame = engines.run(with_overrides(BASE, {"speculators.intensity_of_choice": beta}), "batch", seed=1)
        spread[beta] = float(frame[["share_fundamentalist", "share_trend", "share_noise"]].std().mean())
    assert spread[0.0] < 0.01  # no switching: shares stay where they start
    assert spread[2.0] > 0.1  # risk-adjusted fitness of order 1: beta 2 moves shares by tenths
