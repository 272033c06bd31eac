"""Speculators: fundamentalist, trend and noise strategies with Brock-Hommes (1998) switching.

Each strategy turns a signal in [-1, 1] into a target share of wealth held in tokens,
``(1 + signal) / 2``; traders close a fraction of the gap to that target each step (a half-life in
days), so trading per day does not depend on the step length. Fitness is the strategy's
risk-adjusted return (an annualised Sharpe ratio of its position, Brock and Hommes 1998 use
risk-adjusted profits of mean-variance traders), so the intensity of choice acts at values of order 1.
"""

from __future__ import annotations

import numpy as np

FUNDAMENTALIST, TREND, NOISE = 0, 1, 2
STRATEGIES = ("fundamentalist", "trend", "noise")


def gordon_multiple(growth_per_year, discount_rate_per_year, max_multiple):
    """Value per unit of annual revenue, ``(1 + g) / (r - g)`` (Gordon 1959), capped at ``max_multiple``."""
    g = np.asarray(growth_per_year, dtype=float)
    gap = discount_rate_per_year - g
    safe = np.where(gap > 0, gap, 1.0)
    return np.where(gap > 0, np.clip((1.0 + g) / safe, 0.0, max_multiple), max_multiple)


def fundamental_price(annual_revenue_usd, growth_per_year, floating_supply, discount_rate_per_year,
                      max_multiple):
    """Value per token of the usage revenue stream and its growth, over the floating supply."""
    multiple = gordon_multiple(growth_per_year, discount_rate_per_year, max_multiple)
    return multiple * np.maximum(annual_revenue_usd, 0.0) / np.maximum(floating_supply, 1e-12)


def strategy_signals(price, fundamental, trend_average, noise_draw, sentiment, fundamentalist_strength,
                     trend_strength, noise_sigma, sentiment_strength):
    """Signal of each strategy in [-1, 1], stacked on the last axis (f, t, n).

    Fundamentalists buy below value and sell above (in log terms); trend followers buy when the price
    is above its moving average; noise traders follow their draw. Sentiment pushes all three alike.
    """
    p = np.maximum(np.asarray(price, dtype=float), 1e-300)
    mispricing = np.log(np.maximum(fundamental, 1e-300) / p)
    trend = np.log(p / np.maximum(trend_average, 1e-300))
    signals = np.stack(
        [
            np.tanh(fundamentalist_strength * mispricing),
            np.tanh(trend_strength * trend),
            np.tanh(noise_sigma * np.asarray(noise_draw, dtype=float)) * np.ones_like(p),
        ],
        axis=-1,
    )
    return np.clip(signals + (sentiment_strength * np.asarray(sentiment))[..., None], -1.0, 1.0)


def target_token_share(signals):
    """Share of wealth a strategy wants in tokens: 0 (all cash) to 1 (all tokens)."""
    return 0.5 * (1.0 + np.asarray(signals))


def risk_adjusted_profit(previous_targets, log_return, return_std_per_step, dt_years):
    """Annualised Sharpe ratio of each strategy's position over the last step."""
    scale = np.asarray(return_std_per_step) * np.sqrt(dt_years)
    return previous_targets * (np.asarray(log_return) / scale)[..., None]


def switching_shares(fitness, intensity_of_choice):
    """Brock-Hommes discrete choice: shares proportional to exp(beta * fitness) (stable softmax)."""
    z = np.asarray(intensity_of_choice)[..., None] * fitness if np.ndim(intensity_of_choice) else (
        intensity_of_choice * fitness)
    z = z - np.max(z, axis=-1, keepdims=True)
    w = np.exp(z)
    return w / np.sum(w, axis=-1, keepdims=True)


def rebalance_order_usd(target_share, cash_usd, tokens, price, weight):
    """Signed USD order that closes ``weight`` of the gap between held and target token share."""
    wealth = cash_usd + tokens * price
    return weight * (target_share * wealth - tokens * price)
