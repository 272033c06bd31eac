"""Users: a growing potential market, Bass adoption scaled by quality and price, churn, served demand."""

from __future__ import annotations

import numpy as np


def potential_market(step, max_users, initial_share, growth_per_year, dt_days):
    """Potential users at ``step``: grows geometrically from ``initial_share * max_users`` up to max."""
    years = np.asarray(step, dtype=float) * dt_days / 365.0
    return np.minimum(max_users, max_users * initial_share * (1.0 + growth_per_year) ** years)


def service_quality(capacity, demand_units):
    """Share of demand the network can serve, in [0, 1] (1 when there is no demand yet)."""
    demand = np.asarray(demand_units, dtype=float)
    return np.where(demand > 0, np.minimum(1.0, capacity / np.where(demand > 0, demand, 1.0)), 1.0)


def price_attractiveness(service_price_usd, alternative_price_usd, elasticity):
    """Adoption factor from price against the centralised alternative: min(1, (alt/net)^elasticity)."""
    net = np.maximum(service_price_usd, 1e-12)
    return np.minimum(1.0, (alternative_price_usd / net) ** elasticity)


def adoption_probability(adopters, market, innovation, imitation, quality, quality_elasticity,
                         attractiveness):
    """Per-step chance that one non-adopter in the market adopts (Bass p + q * share adopted)."""
    share = np.where(market > 0, adopters / np.maximum(market, 1e-12), 0.0)
    base = innovation + imitation * np.minimum(share, 1.0)
    return np.clip(base * quality**quality_elasticity * attractiveness, 0.0, 1.0)


def churn_probability(base_churn, quality_churn, quality, attractiveness):
    """Per-step chance an adopter leaves: a base rate, more when demand goes unmet or price is poor."""
    return np.clip(base_churn + quality_churn * (1.0 - quality) + base_churn * (1.0 - attractiveness), 0, 1)


def served_units(demand_units, capacity):
    """Served demand never exceeds capacity."""
    return np.minimum(demand_units, capacity)
