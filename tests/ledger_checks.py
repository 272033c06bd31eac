"""Ledger invariants every engine's table must satisfy (shared by the engine tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models import ledger

ACCOUNTS = list(ledger.TOKEN_ACCOUNTS)
NON_NEGATIVE = [
    "price", "supply", "circulating", "unvested", "treasury", "minted", "burned", "providers",
    "pending_providers", "capacity", "users", "demand", "served", "revenue_usd", "amm_tokens", "amm_usd",
    "provider_tokens", "speculator_tokens", "speculator_usd", "vested_holders", "other_holders",
    "potential_users",
]


def check_ledger(frame: pd.DataFrame) -> None:
    """Supply equals the sum of the accounts and changes by minted - burned in every run; nothing goes
    negative; served never exceeds capacity and users never exceed the potential market."""
    for _, run in frame.groupby("run"):
        held = run[ACCOUNTS].sum(axis=1)
        np.testing.assert_allclose(held, run["supply"], rtol=1e-9)
        d_supply = run["supply"].diff().iloc[1:]
        np.testing.assert_allclose(d_supply, (run["minted"] - run["burned"]).iloc[1:], rtol=1e-9, atol=1e-6)
    assert (frame[NON_NEGATIVE] >= -1e-9).all().all(), frame[NON_NEGATIVE].min()[lambda s: s < 0]
    assert (frame["served"] <= frame["capacity"] + 1e-9).all()
    assert (frame["users"] <= frame["potential_users"] + 1e-9).all()
