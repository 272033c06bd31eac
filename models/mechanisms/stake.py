"""Stake and pledge: what providers lock to serve, the fee for leaving early, slashing.

Sources: Filecoin spec, miner actor, "Initial Pledge" (storage pledge: 20 days of the sector's expected
block reward; consensus pledge: 30% of circulating supply times the sector's share of network power) and
"Termination fee" (up to 90 days of expected reward); Cosmos SDK staking (Akash) for unbonding. Amounts
are tokens per provider unless the name says otherwise.
"""

from __future__ import annotations

import numpy as np

STAKE_CODES = {"none": 0, "fixed": 1, "pledge": 2}


def pledge_tokens(reward_per_day, reward_days, circulating, circulating_share, provider_capacity, network_capacity):
    """Filecoin-style initial pledge of one provider: storage pledge plus consensus pledge, tokens."""
    share_of_network = provider_capacity / np.maximum(network_capacity, provider_capacity)
    return reward_days * np.maximum(reward_per_day, 0.0) + circulating_share * circulating * share_of_network


def stake_required(mode_code, fixed_tokens, reward_per_day, reward_days, circulating, circulating_share,
                   provider_capacity, network_capacity):
    """Tokens one provider must lock under the scenario's mode (0 none, 1 fixed, 2 pledge)."""
    pledge = pledge_tokens(reward_per_day, reward_days, circulating, circulating_share, provider_capacity,
                           network_capacity)
    return np.select([mode_code == 1, mode_code == 2], [fixed_tokens + 0.0 * pledge, pledge], default=0.0 * pledge)


def termination_fee_tokens(stake_each, reward_per_day, fee_days, age_days, commitment_days):
    """Tokens burned from the stake of a provider leaving before its commitment ends (never above the stake)."""
    early = np.asarray(age_days, dtype=float) < commitment_days
    return np.where(early, np.minimum(fee_days * np.maximum(reward_per_day, 0.0), stake_each), 0.0)


def slash_fraction(quality, threshold, slash_probability_per_step):
    """Share of locked stake burned this step: the per-step slash while service quality is below threshold."""
    return np.where(np.asarray(quality) < threshold, slash_probability_per_step, 0.0)
