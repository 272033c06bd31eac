"""The token market around the pool: outside holders' valuation, liquidity providers, the market factor.

- The crypto-market factor is a random walk in logs with drift and Student-t innovations scaled to the
  stated volatility (fat tails, Cont 2001); the draws are made once per run in ``models.exogenous``.
- Outside holders (the liquid float) value the token at a market capitalisation that moves with the
  market factor and token sentiment, spread over the floating supply, so minting dilutes and burning
  concentrates it. They trade a fraction of the log gap between price and value each step.
- Liquidity providers move the pool's USD depth toward a share of market capitalisation with a lag
  (deposits and withdrawals at the pool ratio do not move the price).
"""

from __future__ import annotations

import numpy as np


def factor_increments(draws, drift_per_year, volatility_per_year, tail_df, dt_years):
    """Log increments of the market factor from standard Student-t ``draws`` (scaled to unit variance)."""
    scale = np.sqrt((tail_df - 2.0) / tail_df)
    return drift_per_year * dt_years + volatility_per_year * np.sqrt(dt_years) * scale * np.asarray(draws)


def outside_valuation(genesis_market_cap_usd, log_factor, sentiment, flow_memory, floating_supply):
    """USD per token outside holders think fair.

    The genesis market cap moved by the market factor, sentiment and the news they read in past flows,
    spread over the floating supply.
    """
    return genesis_market_cap_usd * np.exp(log_factor + sentiment + flow_memory) / np.maximum(floating_supply, 1e-12)


def update_flow_memory(flow_memory, price, price_after_last_float_trade, information_share, persistence):
    """Decay the remembered news; add the kept share of the log price impact of flows since the float traded.

    Kyle (1985): the part of price impact that order flow leaves permanently.
    """
    impact = np.log(np.asarray(price, dtype=float) / np.asarray(price_after_last_float_trade, dtype=float))
    return persistence * flow_memory + information_share * impact


def partial_adjustment_target(price, valuation, weight):
    """Price the float trades toward this step: a fraction ``weight`` of the log gap closed."""
    p = np.asarray(price, dtype=float)
    return p * (np.maximum(valuation, 1e-300) / p) ** weight


def liquidity_change_usd(pool_usd, market_cap_usd, target_share, weight):
    """USD that liquidity providers add (>0) or withdraw (<0) this step toward their target depth."""
    return weight * (target_share * market_cap_usd - pool_usd)
