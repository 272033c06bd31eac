"""Provider unit economics: margins, payback, logistic entry, exit on sustained losses, token sales."""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from scipy.stats import norm


def cost_quantiles(median, dispersion, cohorts):
    """Opex of ``cohorts`` equal-mass cohorts of a log-normal cost distribution (mid-quantiles).

    The aggregate engines stand for cost heterogeneity with these; the ABM draws individual costs
    from the same distribution.
    """
    q = (np.arange(cohorts) + 0.5) / cohorts
    return np.asarray(median, dtype=float)[..., None] * np.exp(
        np.asarray(dispersion, dtype=float)[..., None] * norm.ppf(q)
    )


def update_expectation(expected, observed, adaptation):
    """Adaptive (lagged) expectation: moves a fraction ``adaptation`` toward the observed value."""
    return expected + adaptation * (observed - expected)


def operating_margin_usd(reward_tokens, token_price, opex_usd):
    """USD margin of one provider for one step: reward value minus operating cost (capex is sunk)."""
    return reward_tokens * token_price - opex_usd


def payback_steps(capex_usd, margin_usd):
    """Steps to recover capex at a margin (inf when the margin is not positive)."""
    margin = np.asarray(margin_usd, dtype=float)
    safe = np.where(margin > 0, margin, 1.0)
    return np.where(margin > 0, capex_usd / safe, np.inf)


def entry_rate(expected_margin_usd, capex_usd, payback_threshold_steps, steepness, max_rate,
               word_of_mouth, active_share):
    """Per-step share of the remaining pool that buys hardware.

    Logistic in ``margin * threshold / capex - 1``: zero when payback equals the threshold, so half the
    maximum rate; word of mouth scales it up with the share of the pool already active.
    """
    score = expected_margin_usd * payback_threshold_steps / np.maximum(capex_usd, 1e-12) - 1.0
    rate = max_rate * expit(steepness * score) * (1.0 + word_of_mouth * active_share)
    return np.clip(rate, 0.0, 1.0)


def loss_streak(previous_streak, margin_usd):
    """Consecutive negative-margin steps: +1 on a loss, reset to 0 on a profit."""
    return np.where(np.asarray(margin_usd) < 0, previous_streak + 1, 0)


def exit_probability(streak, patience_steps, exit_rate_when_unprofitable, hardware_lifetime_steps):
    """Per-step chance to leave: voluntary once the loss streak reaches patience, plus hardware failure."""
    voluntary = np.where(np.asarray(streak) >= patience_steps, exit_rate_when_unprofitable, 0.0)
    failure = 1.0 / hardware_lifetime_steps
    return 1.0 - (1.0 - voluntary) * (1.0 - failure)


def tokens_sold(reward_tokens, token_price, opex_usd, sell_share):
    """Tokens a provider sells this step: a share of rewards, at least enough to pay opex, at most the reward."""
    cover_opex = opex_usd / np.maximum(token_price, 1e-12)
    wanted = np.maximum(sell_share * reward_tokens, cover_opex)
    return np.minimum(wanted, reward_tokens)
