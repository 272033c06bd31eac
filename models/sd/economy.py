"""The aggregate economy as an ordered list of pure blocks, shared by the cadCAD and batched engines.

Providers are cost cohorts (equal-mass quantiles of the opex distribution), users a count, speculators
strategy shares of one pooled wealth. Each block takes ``(P, structure, state, exo_t, step)`` and
returns the dict of state keys it changes. The step order (DESIGN.md) is:

1. usage: users demand, are served up to capacity and pay; the pool is bought from, tokens burned
2. emission: the schedule mints; the provider share joins usage tokens in the reward pool
3. providers_earn: rewards split by capacity; providers sell a share (at least their opex)
4. providers_move: expectations adapt; new hardware is ordered, arrives after the lead time; exits
5. users_move: Bass adoption scaled by quality and price, churn
6. speculators: Brock-Hommes fitness, shares and orders, cleared as one net trade
7. vesting: unlocks and unlock sales
8. shocks: price crash, replayed price path, liquidity drain
"""

from __future__ import annotations

import numpy as np

from models import ledger
from models.mechanisms import amm, demand, providers, speculators

SPECULATOR_STRATEGIES = speculators.STRATEGIES


def initial_state(P: dict, structure) -> dict:
    """Aggregate state at step 0."""
    runs = P["market.initial_price_usd"].shape
    K, L = structure.cohorts, structure.lead_time
    s = ledger.genesis(P, runs)
    zeros = np.zeros(runs)
    s.update(
        {
            "active": np.repeat((P["providers.initial_active"] / K)[:, None], K, axis=1),
            "pending": np.zeros(runs + (K, max(L, 1))),
            "loss_streak": np.zeros(runs + (K,)),
            "expected_price": s["price"].copy(),
            "users": P["users.initial_users"] + zeros,
            "shares": P["speculators.initial_shares"].copy(),
            "signals": np.zeros(runs + (3,)),
            "fitness": np.zeros(runs + (3,)),
            "spec_last_price": s["price"].copy(),
            "reward_pool": zeros.copy(),
            "reward_per_provider": zeros.copy(),
            "margin": np.zeros(runs + (K,)),
            "potential_users": demand.potential_market(
                0, P["simulation.potential_users"], P["users.initial_market_share"],
                P["users.market_growth_per_year"], structure.dt_days,
            ),
            "demand": P["users.initial_users"] * P["users.usage_per_user"] + zeros,
            "capacity": P["providers.initial_active"] * P["providers.capacity_per_provider"] + zeros,
            "served": zeros.copy(),
            "quality": 1.0 + zeros,
            "revenue_usd": zeros.copy(),
            "fundamental_price": zeros.copy(),
        }
    )
    return s


def usage(P, structure, s, exo_t, step):
    """Users are served up to capacity and pay in USD, which buys tokens from the pool."""
    market = demand.potential_market(
        step, P["simulation.potential_users"], P["users.initial_market_share"],
        P["users.market_growth_per_year"], structure.dt_days,
    ) * exo_t["demand_multiplier"]
    users = np.minimum(s["users"], market)
    capacity = s["active"].sum(axis=-1) * P["providers.capacity_per_provider"]
    wanted = users * P["users.usage_per_user"]
    served = demand.served_units(wanted, capacity)
    revenue = served * P["payment.service_price_usd"]
    changes, to_providers = ledger.pay_for_usage(s, P, revenue)
    changes.update(
        {
            "users": users, "potential_users": market, "capacity": capacity, "demand": wanted,
            "served": served, "quality": demand.service_quality(capacity, wanted), "revenue_usd": revenue,
            "reward_pool": to_providers,
        }
    )
    return changes


def emit(P, structure, s, exo_t, step):
    """Mint by schedule; the provider share joins the reward pool."""
    changes, to_providers = ledger.mint(s, P, step, s["capacity"], structure.dt_days)
    changes["reward_pool"] = s["reward_pool"] + to_providers
    return changes


def providers_earn(P, structure, s, exo_t, step):
    """Rewards split by capacity; each cohort sells its share through the pool."""
    p = amm.price(s["amm_tokens"], s["amm_usd"])
    n_active = s["active"].sum(axis=-1)
    has_capacity = s["capacity"] > 0
    # with nobody to pay, the provider reward pool stays with the protocol
    reward = np.where(has_capacity, s["reward_pool"] / np.maximum(n_active, 1e-300), 0.0)
    opex = P["providers.opex_cohorts"] * exo_t["cost_multiplier"][..., None]
    margin = providers.operating_margin_usd(reward[..., None], p[..., None], opex)
    sold_each = providers.tokens_sold(reward[..., None], p[..., None], opex, P["providers.sell_share"][..., None])
    sold = (s["active"] * sold_each).sum(axis=-1)
    paid = np.where(has_capacity, s["reward_pool"], 0.0)
    s_paid = {**s, "provider_tokens": s["provider_tokens"] + paid,
              "treasury": s["treasury"] + s["reward_pool"] - paid}
    # a sum of per-cohort shares can round above what was paid: never sell more than is held
    sold = np.minimum(sold, s_paid["provider_tokens"])
    changes, _ = ledger.sell_into_pool(s_paid, "provider_tokens", sold, P["market.fee"])
    changes.update(
        {
            "treasury": s_paid["treasury"], "reward_per_provider": reward, "margin": margin,
            "loss_streak": providers.loss_streak(s["loss_streak"], margin),
        }
    )
    return changes


def providers_move(P, structure, s, exo_t, step):
    """Adaptive price expectations drive hardware orders; losses and ageing drive exits."""
    K, L = structure.cohorts, structure.lead_time
    p = amm.price(s["amm_tokens"], s["amm_usd"])
    expected = providers.update_expectation(s["expected_price"], p, P["providers.price_expectation_adaptation"])
    opex = P["providers.opex_cohorts"] * exo_t["cost_multiplier"][..., None]
    expected_margin = providers.operating_margin_usd(s["reward_per_provider"][..., None], expected[..., None], opex)
    pool = P["simulation.potential_providers"]
    pending_total = s["pending"].sum(axis=-1) if L > 0 else np.zeros_like(s["active"])
    engaged_share = (s["active"].sum(axis=-1) + pending_total.sum(axis=-1)) / pool
    rate = providers.entry_rate(
        expected_margin, P["providers.capex_usd"][..., None], P["providers.payback_threshold_steps"][..., None],
        P["providers.entry_steepness"][..., None], P["providers.entry_max_rate"][..., None],
        P["providers.word_of_mouth"][..., None], engaged_share[..., None],
    )
    remaining = np.maximum(pool[..., None] / K - s["active"] - pending_total, 0.0)
    entrants = rate * remaining
    leave = providers.exit_probability(
        s["loss_streak"], P["providers.exit_patience_steps"][..., None],
        P["providers.exit_rate_when_unprofitable"][..., None], P["providers.hardware_lifetime_steps"][..., None],
    )
    if L > 0:
        arrivals = s["pending"][..., 0]
        pending = np.concatenate([s["pending"][..., 1:], entrants[..., None]], axis=-1)
    else:
        arrivals, pending = entrants, s["pending"]
    active = s["active"] * (1.0 - leave) + arrivals
    return {"expected_price": expected, "pending": pending, "active": active}


def users_move(P, structure, s, exo_t, step):
    """Adoption by Bass diffusion scaled by service quality and price; churn."""
    attract = demand.price_attractiveness(
        P["payment.service_price_usd"], P["users.alternative_price_usd"], P["users.price_elasticity"]
    )
    adopt = demand.adoption_probability(
        s["users"], s["potential_users"], P["users.bass_innovation"], P["users.bass_imitation"], s["quality"],
        P["users.quality_elasticity"], attract,
    )
    churn = demand.churn_probability(P["users.base_churn"], P["users.quality_churn"], s["quality"], attract)
    users = s["users"] + adopt * np.maximum(s["potential_users"] - s["users"], 0.0) - churn * s["users"]
    return {"users": users}


def speculate(P, structure, s, exo_t, step):
    """Strategy fitness and shares (Brock-Hommes), then one net order through the pool."""
    p = amm.price(s["amm_tokens"], s["amm_usd"])
    realised = (p - s["spec_last_price"]) / s["spec_last_price"]
    fitness = P["speculators.fitness_memory"][..., None] * s["fitness"] + speculators.strategy_profits(
        s["signals"], realised
    )
    shares = speculators.switching_shares(fitness, P["speculators.intensity_of_choice"])
    fundamental = speculators.fundamental_price(
        s["revenue_usd"], ledger.circulating(s), P["speculators.revenue_multiple_years"], structure.steps_per_year
    )
    signals = speculators.strategy_signals(
        p, s["spec_last_price"], fundamental, exo_t["noise_signal"], exo_t["sentiment"],
        P["speculators.fundamentalist_strength"], P["speculators.trend_strength"],
        P["speculators.noise_sigma"], P["speculators.sentiment_strength"],
    )
    wealth = s["speculator_usd"] + s["speculator_tokens"] * p
    order = speculators.order_usd((shares * signals).sum(axis=-1), wealth, P["speculators.max_order_share"])
    order = np.minimum(order, s["speculator_usd"])
    d_tok, d_usd, x, y = amm.signed_trade(s["amm_tokens"], s["amm_usd"], order, P["market.fee"],
                                          s["speculator_tokens"])
    return {
        "fitness": fitness, "shares": shares, "signals": signals, "spec_last_price": p,
        "fundamental_price": fundamental, "amm_tokens": x, "amm_usd": y,
        "speculator_tokens": s["speculator_tokens"] + d_tok, "speculator_usd": s["speculator_usd"] + d_usd,
    }


def vest_and_sell(P, structure, s, exo_t, step):
    """Vesting unlocks; a share of each unlock is sold."""
    changes, to_sell = ledger.vest(s, P, step, exo_t["unlock_fraction"])
    sold, _ = ledger.sell_into_pool({**s, **changes}, "vested_holders", to_sell, P["market.fee"])
    changes.update(sold)
    return changes


def shocks(P, structure, s, exo_t, step):
    """Market shocks of this step (crash, price path, liquidity drain)."""
    return ledger.apply_market_shocks(s, exo_t, exo_t["prev_target_price_rel"])


BLOCKS = (
    ("usage", usage),
    ("emission", emit),
    ("providers_earn", providers_earn),
    ("providers_move", providers_move),
    ("users_move", users_move),
    ("speculators", speculate),
    ("vesting", vest_and_sell),
    ("shocks", shocks),
)


def exo_at(exo: dict, step: int) -> dict:
    """Exogenous values of one step (arrays over runs) from (runs, steps) arrays."""
    out = {k: v[:, step] for k, v in exo.items()}
    prev = exo["target_price_rel"][:, step - 1] if step > 0 else np.full(exo["target_price_rel"].shape[0], np.nan)
    out["prev_target_price_rel"] = prev
    return out
