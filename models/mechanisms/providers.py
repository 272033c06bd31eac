"""Provider unit economics: margins, logistic entry, exit on sustained losses, token inventory and sales.

Entry and exit are hazards per year turned into per-step chances by ``timebase``; every amount here is
per step unless its name says otherwise.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from scipy.stats import norm


def lognormal_quantiles(median, dispersion, cohorts):
    """Mid-quantiles of ``cohorts`` equal-mass cohorts of a log-normal distribution (opex, patience, ...).

    The aggregate engines stand for heterogeneity with these; the ABM draws individual values from the
    same distribution (``median * lognormal(0, dispersion)``).
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
                 word_of_mouth, active_share, log_logistic=0):
    """Entry hazard per year of a provider in the remaining pool (Sterman 2000, ch. 8: logistic adoption).

    The payback ratio ``r = margin * threshold / capex`` is 1 when payback equals the threshold, where entry
    runs at half the maximum rate. ``log_logistic`` 0: logistic in ``r - 1`` (a floor of entry even at a
    loss); 1: logistic in ``log r``, i.e. ``r^s / (1 + r^s)``, no entry without a margin and a constant
    elasticity ``s`` of entry to payback at low ratios (Sterman 2000, ch. 14: investment responds to expected
    profitability through a table function that is zero without profit). Word of mouth scales it up with
    the share of the pool already engaged (Bass 1969).
    """
    response = entry_response(expected_margin_usd_per_year, capex_usd, payback_threshold_years, steepness,
                              log_logistic)
    return hazard_from_response(response, max_rate_per_year, word_of_mouth, active_share)


def hazard_from_response(response, max_rate_per_year, word_of_mouth, active_share):
    """Entry hazard per year from :func:`entry_response`: the maximum rate, scaled by word of mouth (Bass 1969)."""
    return np.maximum(max_rate_per_year * response * (1.0 + word_of_mouth * active_share), 0.0)


def entry_response(expected_margin_usd_per_year, capex_usd, payback_threshold_years, steepness, log_logistic=0):
    """How much entry pays, from 0 to 1: the shape of :func:`entry_hazard` without its rate and word of mouth."""
    ratio = expected_margin_usd_per_year * payback_threshold_years / np.maximum(capex_usd, 1e-12)
    positive = ratio > 0
    log_ratio = np.log(np.where(positive, ratio, 1.0))
    return np.where(np.asarray(log_logistic) > 0, np.where(positive, expit(steepness * log_ratio), 0.0),
                    expit(steepness * (ratio - 1.0)))


def cancellation_hazard(response, cancellation_rate_per_year):
    """Hazard per year at which an order still waiting for production is cancelled (Sterman 2000, ch. 18).

    Orders in the supply line are cancelled when what they were placed for no longer holds: at the full
    rate when entry would not pay at all today (``response`` 0), not at all when it pays fully (1).
    """
    return np.asarray(cancellation_rate_per_year) * (1.0 - np.asarray(response))


def margin_average(previous_average, margin_usd, dt_days, weight):
    """Moving average of the margin per day, USD/day: what a provider judges its losses on."""
    return previous_average + weight * (np.asarray(margin_usd) / dt_days - previous_average)


def loss_streak(previous_streak, average_margin, dt_days):
    """Days the average margin has been negative: grows by one step on a loss, reset to 0 on a profit."""
    return np.where(np.asarray(average_margin) < 0, previous_streak + dt_days, 0.0)


def expected_reward_per_provider(usage_reward_tokens, emission_reward_tokens, schedule_ratio, active, pipeline):
    """Tokens per step one more provider expects once its hardware serves (Sterman 2000 ch. 17: supply lines).

    The usage part of today's reward pool is taken to last; the emission part is scaled by the schedule's
    mean issuance over the entrant's horizon relative to today's (``emission.expected_rate_ratio``); the
    pool is shared with everyone active, everything already on order and the entrant itself, so hardware
    in the pipeline dilutes the reward an order expects (ignoring the supply line is what makes booms
    overshoot).
    """
    pool = usage_reward_tokens + emission_reward_tokens * schedule_ratio
    return pool / (np.asarray(active, dtype=float) + pipeline + 1.0)


def entry_capital_usd(capex_usd, stake_tokens, expected_price):
    """Capital an entrant puts up: hardware plus the stake or pledge it must buy and lock, USD.

    The stake is returned on exit, but it is capital at risk while locked, so payback is judged on both.
    """
    return capex_usd + stake_tokens * expected_price


def resale_value_usd(capex_usd, resale_share, age_days, half_life_days):
    """Second-hand value of hardware of a given age: a share of capex halving every half-life, USD."""
    return capex_usd * resale_share * 0.5 ** (np.asarray(age_days, dtype=float) / half_life_days)


def exit_gain_usd(margin_average_per_day, horizon_days, resale_now_usd, resale_later_usd, termination_fee_usd):
    """What a provider gains by leaving now rather than after ``horizon_days``, USD (Dixit 1989, exit).

    Leaving avoids the expected losses of the horizon (the moving-average margin carried forward) and sells
    the hardware before it loses more value; it costs the termination fee burned from an early stake. The
    stake itself comes back either way. For a provider still under commitment the horizon is what remains
    of it (after that it could leave without a fee), so a fee deters those close to the end.
    """
    return (-np.asarray(margin_average_per_day) * horizon_days + (resale_now_usd - resale_later_usd)
            - termination_fee_usd)


def exit_probability(streak_days, patience_days, voluntary_exit_probability, failure_probability, gain_usd=np.inf):
    """Per-step chance to leave: voluntary once the loss streak reaches patience and leaving pays, plus failure.

    ``gain_usd`` is :func:`exit_gain_usd` (default: leaving always pays); with no fee and no resale it is
    positive whenever the provider is losing money, so only patience decides.
    """
    out_of_patience = (np.asarray(streak_days) >= patience_days) & (np.asarray(gain_usd) > 0)
    voluntary = np.where(out_of_patience & (np.asarray(streak_days) > 0), voluntary_exit_probability, 0.0)
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
