"""Ledger invariants every engine's table must satisfy (shared by the engine tests).

Tokens: the accounts of ``ledger.TOKEN_ACCOUNTS`` (pool, provider inventories, speculators, the outside
float, treasury, unvested allocations, forced sellers, the arbitrageur) add up to ``supply`` at every
step, and supply changes by ``minted - burned``. USD: what the model holds (``ledger.USD_ACCOUNTS``: pool,
speculators, treasury) changes by exactly what came in from outside less what went out
(``usd_in_total - usd_out_total``: users' payments, arbitrage and outside holders' purchases and liquidity
deposits in; providers', vesting sellers', forced sellers', arbitrage and outside holders' sale proceeds and
liquidity withdrawals out). No balance, count or cumulative flow is ever negative.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models import ledger

ACCOUNTS = list(ledger.TOKEN_ACCOUNTS)
USD_ACCOUNTS = list(ledger.USD_ACCOUNTS)
NON_NEGATIVE = [
    # prices and token balances
    "price", "supply", "circulating", "floating_supply", "unvested", "treasury", "amm_tokens", "provider_tokens",
    "speculator_tokens", "float_tokens", "seller_tokens", "arbitrageur_tokens",
    # USD balances and cumulative USD flows across the model's boundary
    "amm_usd", "speculator_usd", "treasury_usd", "usd_in_total", "usd_out_total",
    # flows of one step and running totals
    "minted", "burned", "minted_total", "burned_total", "tokens_sold", "revenue_usd", "emission_usd", "burn_usd",
    "reward_per_provider_usd",
    # populations and service
    "providers", "pending_providers", "capacity", "users", "potential_users", "demand", "served", "quality",
    # beliefs and the market
    "expected_price", "fundamental_price", "valuation", "market_factor", "crash_target", "crash_achieved",
]
RTOL = 1e-9


def check_usd(run: pd.DataFrame) -> None:
    """USD held in the model changes by the net USD that crossed its boundary (one run)."""
    held = run[USD_ACCOUNTS].sum(axis=1).to_numpy()
    net_in = (run["usd_in_total"] - run["usd_out_total"]).to_numpy()
    # relative to the USD in play: the largest holding or boundary total of the run
    scale = max(np.abs(held).max(), run["usd_in_total"].max(), run["usd_out_total"].max(), 1.0)
    np.testing.assert_allclose(held - held[0], net_in - net_in[0], rtol=0.0, atol=RTOL * scale)


def check_ledger(frame: pd.DataFrame) -> None:
    """Token and USD conservation in every run; nothing negative; served within capacity, users within
    the potential market."""
    for _, run in frame.groupby("run"):
        held = run[ACCOUNTS].sum(axis=1)
        np.testing.assert_allclose(held, run["supply"], rtol=RTOL)
        d_supply = run["supply"].diff().iloc[1:]
        np.testing.assert_allclose(d_supply, (run["minted"] - run["burned"]).iloc[1:], rtol=RTOL, atol=1e-6)
        np.testing.assert_allclose(run["supply"] - run["supply"].iloc[0], run["minted_total"] - run["burned_total"],
                                   rtol=RTOL, atol=1e-6)
        check_usd(run)
    lows = frame[NON_NEGATIVE].min()
    assert (lows >= -1e-9).all(), lows[lows < -1e-9].to_dict()
    assert (frame["served"] <= frame["capacity"] + 1e-9).all()
    assert (frame["users"] <= frame["potential_users"] + 1e-9).all()
