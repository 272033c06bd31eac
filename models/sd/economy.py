"""The aggregate economy as an ordered list of pure blocks, shared by the cadCAD and batched engines.

Providers are types (cost x patience x expectation quantiles) in vintage slots (``models.sd.supply``),
users a count, speculators strategy shares of one pooled wealth. Each block takes
``(P, structure, state, exo_t, step)`` and returns the dict of state keys it changes; it reads only
per-step parameters (``P["step.*"]``, converted once in ``models.sd.compile``). The step order is:

1. usage: users demand, are served up to capacity and pay; the pool is bought from, tokens burned
2. emission: the schedule mints; the provider share joins usage tokens in the reward pool
3. providers_earn: rewards split by capacity into inventories; providers sell a share (at least opex)
4. providers_move: expectations adapt; orders queue for production and ship; arrivals lock their stake;
   leavers pay an early termination fee, unbond their stake and sell or keep their inventory
5. users_move: Bass adoption scaled by quality and price, churn
6. speculators: risk-adjusted Brock-Hommes fitness, shares, one net rebalancing trade
7. outside_holders: the float trades toward its valuation; liquidity providers follow market cap
8. treasury: the treasury policy
9. vesting: unlocks; holders sell a share and keep the rest
10. shocks: forced sale, replayed price path, liquidity drain
"""

from __future__ import annotations

import numpy as np

from models import ledger
from models.mechanisms import amm, coverage, demand, payment, speculators, timebase
from models.sd import supply

SPECULATOR_STRATEGIES = speculators.STRATEGIES


def initial_state(P: dict, structure) -> dict:
    """Aggregate state at step 0."""
    runs = P["market.initial_price_usd"].shape
    s = ledger.genesis(P, runs)
    zeros = np.zeros(runs)
    s.update(supply.initial_supply_state(P, structure, s))
    s.update(
        {
            "users": P["users.initial_users"] + zeros,
            "shares": P["speculators.initial_shares"].copy(),
            "signals": np.zeros(runs + (3,)),
            "fitness": np.zeros(runs + (3,)),
            "spec_last_price": s["price"].copy(),
            "trend_average": s["price"].copy(),
            "return_variance": zeros.copy(),
            "revenue_average": zeros.copy(),
            "revenue_growth": zeros.copy(),
            "reward_pool": zeros.copy(),
            "reward_per_provider": zeros.copy(),
            "potential_users": demand.potential_market(
                0, P["simulation.potential_users"], P["users.initial_market_share"],
                P["users.market_growth_per_year"], structure.dt_days,
            ),
            "demand": P["users.initial_users"] * P["users.usage_per_user"] + zeros,
            "capacity": P["providers.initial_active"] * P["providers.capacity_per_provider"] + zeros,
            "coverage": np.where(P["space.enabled"] > 0, coverage.poisson_covered_share(
                P["providers.initial_active"], P["space.coverage_radius_km"], P["space.area_km2"]), 1.0),
            "served": zeros.copy(),
            "quality": 1.0 + zeros,
            "revenue_usd": zeros.copy(),
            "fundamental_price": zeros.copy(),
        }
    )
    return s


def usage(P, structure, s, exo_t, step):
    """Users are served up to capacity (units per day) and pay in USD, which buys tokens from the pool."""
    market = demand.potential_market(
        step, P["simulation.potential_users"], P["users.initial_market_share"],
        P["users.market_growth_per_year"], structure.dt_days,
    ) * exo_t["demand_multiplier"]
    users = np.minimum(s["users"], market)
    n_active = s["active"].sum(axis=(-2, -1))
    capacity = n_active * P["providers.capacity_per_provider"]
    # mean field of users being served only where covered (ABM: users in covered cells)
    covered = np.where(P["space.enabled"] > 0, coverage.poisson_covered_share(
        n_active, P["space.coverage_radius_km"], P["space.area_km2"]), 1.0)
    wanted = users * P["users.usage_per_user"]
    served = demand.served_units(wanted * covered, capacity)
    revenue = payment.usage_revenue_usd(served * structure.dt_days, P["payment.service_price_usd"])
    changes, to_providers = ledger.pay_for_usage(s, P, revenue)
    changes.update(
        {
            "users": users, "potential_users": market, "capacity": capacity, "demand": wanted,
            "served": served, "quality": demand.service_quality(served, wanted), "revenue_usd": revenue,
            "reward_pool": to_providers, "coverage": covered,
        }
    )
    return changes


def emit(P, structure, s, exo_t, step):
    """Mint by schedule; the provider share joins the reward pool."""
    changes, to_providers = ledger.mint(s, P, step, s["capacity"])
    changes["reward_pool"] = s["reward_pool"] + to_providers
    changes["emission_reward"] = to_providers
    return changes


providers_earn = supply.providers_earn
providers_move = supply.providers_move


def users_move(P, structure, s, exo_t, step):
    """Adoption by Bass diffusion scaled by service quality and price; churn."""
    attract = demand.price_attractiveness(
        P["payment.service_price_usd"], P["users.alternative_price_usd"], P["users.price_elasticity"]
    )
    adopt = timebase.probability_per_step(demand.adoption_hazard(
        s["users"], s["potential_users"], P["users.bass_innovation_per_year"], P["users.bass_imitation_per_year"],
        s["quality"], P["users.quality_elasticity"], attract,
    ), structure.dt_days)
    churn = timebase.probability_per_step(demand.churn_hazard(
        P["users.base_churn_per_year"], P["users.quality_churn_per_year"], s["quality"], attract), structure.dt_days)
    users = s["users"] + adopt * np.maximum(s["potential_users"] - s["users"], 0.0) - churn * s["users"]
    return {"users": users}


def speculator_beliefs(P, structure, s, exo_t):
    """Risk-adjusted fitness, Brock-Hommes shares, fundamental value and this step's strategy signals."""
    p = amm.price(s["amm_tokens"], s["amm_usd"])
    dt_years = P["step.dt_years"]
    log_return = np.log(p / s["spec_last_price"])
    # measured variance plus the variance traders assume anyway: calm runs do not make fitness explode
    std = np.sqrt(s["return_variance"] + P["speculators.prior_volatility_per_year"] ** 2 * dt_years)
    profit = speculators.risk_adjusted_profit(speculators.target_token_share(s["signals"]), log_return, std,
                                              dt_years)
    fitness = s["fitness"] + P["step.fitness_weight"][..., None] * (profit - s["fitness"])
    variance = s["return_variance"] + P["step.volatility_weight"] * (log_return**2 - s["return_variance"])
    shares = speculators.switching_shares(fitness, P["speculators.intensity_of_choice"])
    annual = s["revenue_usd"] / dt_years
    w = P["step.growth_weight"]
    revenue = s["revenue_average"] + w * (annual - s["revenue_average"])
    both = (revenue > 0) & (s["revenue_average"] > 0)
    inst = np.where(both, np.log(np.where(both, revenue, 1.0) / np.where(both, s["revenue_average"], 1.0)), 0.0)
    growth = s["revenue_growth"] + w * (inst / dt_years - s["revenue_growth"])
    fundamental = speculators.fundamental_price(
        revenue, growth, ledger.floating_supply(s), P["speculators.discount_rate_per_year"],
        P["speculators.max_revenue_multiple"])
    signals = speculators.strategy_signals(
        p, fundamental, s["trend_average"], exo_t["noise_signal"], exo_t["sentiment"],
        P["speculators.fundamentalist_strength"], P["speculators.trend_strength"],
        P["speculators.noise_sigma"], P["speculators.sentiment_strength"],
    )
    return {
        "fitness": fitness, "shares": shares, "signals": signals, "spec_last_price": p,
        "trend_average": s["trend_average"] + P["step.trend_weight"] * (p - s["trend_average"]),
        "return_variance": variance, "revenue_average": revenue, "revenue_growth": growth,
        "fundamental_price": fundamental,
    }


def speculate(P, structure, s, exo_t, step):
    """Beliefs, then one net order that moves pooled holdings toward the share-weighted target."""
    beliefs = speculator_beliefs(P, structure, s, exo_t)
    p = beliefs["spec_last_price"]
    target = (beliefs["shares"] * speculators.target_token_share(beliefs["signals"])).sum(axis=-1)
    order = speculators.rebalance_order_usd(target, s["speculator_usd"], s["speculator_tokens"], p,
                                            P["step.trade_weight"])
    order = np.minimum(order, s["speculator_usd"])
    d_tok, d_usd, x, y = amm.signed_trade(s["amm_tokens"], s["amm_usd"], order, P["market.fee"],
                                          s["speculator_tokens"])
    return {
        **beliefs, "amm_tokens": x, "amm_usd": y,
        "speculator_tokens": s["speculator_tokens"] + d_tok, "speculator_usd": s["speculator_usd"] + d_usd,
    }


def outside_holders(P, structure, s, exo_t, step):
    """The float trades toward its valuation; liquidity providers move depth toward their target."""
    return ledger.outside_holders_trade(s, P, exo_t)


def treasury(P, structure, s, exo_t, step):
    """The treasury's policy for this step."""
    return ledger.treasury_policy(s, P)


def vest_and_sell(P, structure, s, exo_t, step):
    """Vesting unlocks; holders sell a share and keep the rest."""
    return ledger.vest_and_sell(s, P, step, exo_t["unlock_fraction"])


def shocks(P, structure, s, exo_t, step):
    """Market shocks of this step (forced sale, price path, liquidity drain)."""
    return ledger.apply_market_shocks(s, P, exo_t, exo_t["prev_target_price_rel"])


BLOCKS = (
    ("usage", usage),
    ("emission", emit),
    ("providers_earn", providers_earn),
    ("providers_move", providers_move),
    ("users_move", users_move),
    ("speculators", speculate),
    ("outside_holders", outside_holders),
    ("treasury", treasury),
    ("vesting", vest_and_sell),
    ("shocks", shocks),
)


def exo_at(exo: dict, step: int) -> dict:
    """Exogenous values of one step (arrays over runs) from (runs, steps) arrays."""
    out = {k: v[:, step] for k, v in exo.items()}
    prev = exo["target_price_rel"][:, step - 1] if step > 0 else np.full(exo["target_price_rel"].shape[0], np.nan)
    out["prev_target_price_rel"] = prev
    return out
