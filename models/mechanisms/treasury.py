"""Treasury policy: hold, buy back and burn, or add to liquidity.

A share of holdings is deployed per year (``spend_rate_per_year``, converted per step by ``timebase``).
Buyback-and-burn follows the design of protocol buybacks such as Helium's HIP-51 net emissions and
Render's burn of USD-priced jobs (RNP-001): USD buys tokens on the market and they are burned; a
treasury that holds tokens burns the same share of them. ``add_liquidity`` pairs treasury tokens with
treasury USD at the pool price (protocol-owned liquidity).
"""

from __future__ import annotations

import numpy as np

POLICIES = ("hold", "buyback_burn", "add_liquidity")


def spend_amounts(treasury_tokens, treasury_usd, spend_fraction):
    """Tokens and USD deployed this step."""
    return treasury_tokens * spend_fraction, treasury_usd * spend_fraction


def liquidity_pair(tokens, usd, price):
    """Largest (tokens, usd) pair at the pool price that both budgets allow."""
    tokens_matched = np.minimum(tokens, usd / np.maximum(price, 1e-300))
    return tokens_matched, tokens_matched * price
