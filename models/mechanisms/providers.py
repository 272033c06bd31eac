"""Provider unit economics: margins, logistic entry, exit on sustained losses, token inventory and sales.

Entry and exit are hazards per year turned into per-step chances by ``timebase``; every amount here is
per step unless its name says otherwise.
"""

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


def update_expectation(expected, observed, weight):
    """Adaptive (lagged) expectation: moves a fraction ``weight`` toward the observed value."""
    return expected + weight * (observed - expected)


def operating_margin_usd(reward_tokens, token_price, opex_usd):
    """USD margin of one provider for one step: reward value minus operating cost (capex is sunk)."""
    return reward_tokens * token_price - opex_usd


def entry_hazard(expected_margin_usd_per_year, capex_usd, payback_threshold_years, steepness, max_rate_per_year,
                 word_of_mouth, active_share):
    """Entry hazard per year of a provider in the remaining pool (Sterman 2000, ch. 8: logistic adoption).

    Logistic in ``margin * threshold / capex - 1``: zero when payback equals the threshold, so half the
    maximum rate; word of mouth scales it up with the share of the pool already engaged (Bass 1969).
    """
    score = expected_margin_usd_per_year * payback_threshold_years / np.maximum(capex_usd, 1e-12) - 1.0
    return np.maximum(max_rate_per_year * expit(steepness * score) * (1.0 + word_of_mouth * active_share), 0.0)


def margin_average(previous_average, margin_usd, dt_days, weight):
    """Moving average of the margin per day, USD/day: what a provider judges its losses on."""
    return previous_average + weight * (np.asarray(margin_usd) / dt_days - previous_average)


def loss_streak(previous_streak, average_margin, dt_days):
    """Days the average margin has been negative: grows by one step on a loss, reset to 0 on a profit."""
    return np.where(np.asarray(average_margin) < 0, previous_streak + dt_days, 0.0)


def exit_probability(streak_days, patience_days, voluntary_exit_probability, failure_probability):
    """Per-step chance to leave: voluntary once the loss streak reaches patience, plus hardware failure."""
    voluntary = np.where(np.asarray(streak_days) >= patience_days, voluntary_exit_probability, 0.0)
    return 1.0 - (1.0 - voluntary) * (1.0 - failure_probability)


def tokens_sold(reward_tokens, inventory_tokens, token_price, opex_usd, sell_share, inventory_sale_fraction):
    """Tokens a provider sells this step out of its inventory (which already holds this step's reward).

    A share of the new reward at once, plus a fraction of what it held before; at least enough to pay
    opex, at most everything it holds.
    """
    cover_opex = opex_usd / np.maximum(token_price, 1e-12)
    held_before = np.maximum(inventory_tokens - reward_tokens, 0.0)
    wanted = np.maximum(sell_share * reward_tokens + inventory_sale_fraction * held_before, cover_opex)
    return np.minimum(wanted, np.maximum(inventory_tokens, 0.0))
