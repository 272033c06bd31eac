"""Users: a growing potential market, Bass (1969) adoption scaled by quality and price, churn, service.

Adoption and churn are hazards per year; the engines turn them into per-step chances with
``timebase.probability_per_step``. Capacity and demand are in service units per day.
"""

from __future__ import annotations

import numpy as np


def potential_market(step, max_users, initial_share, growth_per_year, dt_days):
    """Potential users at ``step``: grows geometrically from ``initial_share * max_users`` up to max."""
    years = np.asarray(step, dtype=float) * dt_days / 365.0
    return np.minimum(max_users, max_users * initial_share * (1.0 + growth_per_year) ** years)


def service_quality(capacity, demand_units):
    """Share of demand the network can serve, in [0, 1] (1 when there is no demand yet)."""
    demand = np.asarray(demand_units, dtype=float)
    ok = demand > 0
    return np.where(ok, np.minimum(1.0, np.asarray(capacity, dtype=float) / np.where(ok, demand, 1.0)), 1.0)


def price_attractiveness(service_price_usd, alternative_price_usd, elasticity):
    """Adoption factor from price against the centralised alternative: min(1, (alt/net)^elasticity)."""
    net = np.maximum(service_price_usd, 1e-12)
    ratio = np.minimum(alternative_price_usd / net, 1.0)  # capped first: no overflow for cheap networks
    return ratio**elasticity


def adoption_hazard(adopters, market, innovation_per_year, imitation_per_year, quality, quality_elasticity,
                    attractiveness):
    """Adoption hazard per year of one non-adopter in the market: (Bass p + q x share adopted) x factors."""
    share = np.where(market > 0, adopters / np.maximum(market, 1e-12), 0.0)
    base = innovation_per_year + imitation_per_year * np.minimum(share, 1.0)
    return np.maximum(base * quality**quality_elasticity * attractiveness, 0.0)


def churn_hazard(base_churn_per_year, quality_churn_per_year, quality, attractiveness):
    """Churn hazard per year of an adopter: a base rate, more when demand goes unmet or price is poor."""
    return np.maximum(
        base_churn_per_year + quality_churn_per_year * (1.0 - quality) + base_churn_per_year * (1.0 - attractiveness),
        0.0,
    )


def served_units(demand_units, capacity):
    """Served demand never exceeds capacity."""
    return np.minimum(demand_units, capacity)
