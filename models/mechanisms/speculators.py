"""Speculators: fundamentalist, trend-following and noise strategies with Brock-Hommes switching."""

from __future__ import annotations

import numpy as np

FUNDAMENTALIST, TREND, NOISE = 0, 1, 2
STRATEGIES = ("fundamentalist", "trend", "noise")


def fundamental_price(revenue_usd_per_step, circulating, multiple_years, steps_per_year):
    """Value per token from usage: ``multiple_years`` of annualised revenue over circulating supply."""
    return multiple_years * revenue_usd_per_step * steps_per_year / np.maximum(circulating, 1e-12)


def strategy_signals(price, previous_price, fundamental, noise_draw, sentiment, fundamentalist_strength,
                     trend_strength, noise_sigma, sentiment_strength):
    """Desired order of each strategy as a signed share of wealth, stacked on the last axis (f, t, n).

    Fundamentalists buy below value and sell above; trend followers chase the last return; noise
    traders follow their draw. Market sentiment pushes all three the same way.
    """
    rel_mispricing = (fundamental - price) / np.maximum(price, 1e-12)
    last_return = (price - previous_price) / np.maximum(previous_price, 1e-12)
    signals = np.stack(
        [
            fundamentalist_strength * np.tanh(rel_mispricing),
            trend_strength * np.tanh(last_return),
            noise_sigma * np.asarray(noise_draw, dtype=float) * np.ones_like(np.asarray(price, dtype=float)),
        ],
        axis=-1,
    )
    return np.clip(signals + (sentiment_strength * np.asarray(sentiment))[..., None], -1.0, 1.0)


def strategy_profits(previous_signals, realised_return):
    """Profit of each strategy over the last step: its signed position times the price return."""
    return previous_signals * np.asarray(realised_return)[..., None]


def switching_shares(fitness, intensity_of_choice):
    """Brock-Hommes discrete choice: shares proportional to exp(beta * fitness) (stable softmax)."""
    z = intensity_of_choice[..., None] * fitness if np.ndim(intensity_of_choice) else intensity_of_choice * fitness
    z = z - np.max(z, axis=-1, keepdims=True)
    w = np.exp(z)
    return w / np.sum(w, axis=-1, keepdims=True)


def order_usd(signal, wealth_usd, max_order_share):
    """Signed USD order for a signal in [-1, 1] and a wealth."""
    return signal * max_order_share * wealth_usd
