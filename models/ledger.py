"""Token ledger and market steps shared by every engine.

The state is a dict of numpy arrays with a leading run axis (shape ``(runs,)``; the ABM and cadCAD use
one run). Token accounts: ``amm_tokens``, ``provider_tokens``, ``speculator_tokens``, ``treasury``,
``unvested``, ``vested_holders``, ``other_holders``; their sum is ``supply`` at every step. Each function
here returns a dict of the keys it changes and never mutates its input, so cadCAD policies and the
batched engine can both call it.
"""

from __future__ import annotations

import numpy as np

from models.mechanisms import amm, emission, payment, vesting

TOKEN_ACCOUNTS = (
    "amm_tokens", "provider_tokens", "speculator_tokens", "treasury", "unvested", "vested_holders",
    "other_holders",
)


def genesis(P: dict, runs_shape: tuple) -> dict:
    """Token accounts, pool and counters at step 0."""
    price0 = P["market.initial_price_usd"]
    pool_usd = P["market.liquidity_usd"]
    pool_tokens = pool_usd / price0
    unvested = P["vesting.tokens"].sum(axis=-1)
    n_spec = P["simulation.speculators"]
    spec_tokens = n_spec * P["speculators.initial_tokens"]
    zeros = np.zeros(runs_shape)
    return {
        "amm_tokens": pool_tokens + zeros,
        "amm_usd": pool_usd + zeros,
        "price": price0 + zeros,
        "supply": P["token.initial_supply"] + zeros,
        "minted": zeros.copy(),
        "burned": zeros.copy(),
        "minted_total": zeros.copy(),
        "burned_total": zeros.copy(),
        "treasury": zeros.copy(),
        "provider_tokens": zeros.copy(),
        "speculator_tokens": spec_tokens + zeros,
        "speculator_usd": n_spec * P["speculators.budget_usd"] + zeros,
        "unvested": unvested + zeros,
        "vest_scale": 1.0 + zeros,
        "vested_holders": zeros.copy(),
        "other_holders": P["token.initial_supply"] - pool_tokens - unvested - spec_tokens + zeros,
        "baseline_cumulative": zeros.copy(),
        "baseline_minted": zeros.copy(),
        "path_anchor_price": price0 + zeros,
    }


def circulating(s: dict):
    """Tokens free to trade: supply less unvested allocations and the protocol treasury."""
    return s["supply"] - s["unvested"] - s["treasury"]


def sell_into_pool(s: dict, account: str, tokens, fee) -> tuple[dict, np.ndarray]:
    """Sell ``tokens`` from ``account`` into the pool. Returns (changes, usd_received)."""
    usd_out, x, y = amm.sell_tokens(s["amm_tokens"], s["amm_usd"], tokens, fee)
    return {"amm_tokens": x, "amm_usd": y, account: s[account] - tokens}, usd_out


def pay_for_usage(s: dict, P: dict, revenue_usd) -> tuple[dict, np.ndarray]:
    """Users' USD buys tokens from the pool; they are burned (bme) or paid on (fee).

    Returns:
        (changes, tokens_for_providers).
    """
    bought, x, y = amm.buy_tokens(s["amm_tokens"], s["amm_usd"], revenue_usd, P["market.fee"])
    burned, to_treasury, to_providers = payment.settle_usage(
        bought, P["payment.is_bme"], P["payment.burn_share"], P["payment.take_rate"]
    )
    changes = {
        "amm_tokens": x,
        "amm_usd": y,
        "burned": burned,
        "burned_total": s["burned_total"] + burned,
        "supply": s["supply"] - burned,
        "treasury": s["treasury"] + to_treasury,
    }
    return changes, to_providers


def mint(s: dict, P: dict, step: int, capacity, dt_days: float) -> tuple[dict, np.ndarray]:
    """Issue this step's tokens by the scenario's schedule, capped by max supply.

    Returns:
        (changes, tokens_for_providers); the rest of the issuance goes to the treasury.
    """
    steps_per_year = 365.0 / dt_days
    code = P["emission.schedule_code"]
    half_life_steps = P["emission.half_life_years"] * steps_per_year
    growth_per_step = P["emission.baseline_growth_per_year"] / steps_per_year
    base_minted, base_cum, base_total = emission.baseline_step(
        step, capacity, s["baseline_cumulative"], s["baseline_minted"], P["emission.baseline_initial_capacity"],
        growth_per_step, P["emission.baseline_total_tokens"], half_life_steps,
    )
    raw = np.select(
        [code == 0, code == 1, code == 2],
        [
            emission.constant(step, P["emission.initial_tokens_per_step"]),
            emission.halving(step, P["emission.initial_tokens_per_step"], P["emission.halving_period_steps"]),
            emission.exponential_decay(step, P["emission.decay_total_tokens"], half_life_steps),
        ],
        default=base_minted,
    )
    minted = emission.cap_to_max_supply(raw, s["minted_total"], P["token.max_supply"] - P["token.initial_supply"])
    to_providers = minted * P["emission.provider_share"]
    changes = {
        "minted": minted,
        "minted_total": s["minted_total"] + minted,
        "supply": s["supply"] + minted,
        "treasury": s["treasury"] + minted - to_providers,
        "baseline_cumulative": base_cum,
        "baseline_minted": base_total,
    }
    return changes, to_providers


def vest(s: dict, P: dict, step: int, unlock_fraction) -> tuple[dict, np.ndarray]:
    """Scheduled unlocks (scaled by earlier cliff shocks) plus a shock unlock; a share is sold.

    Returns:
        (changes, tokens_to_sell) -- the caller sells them through ``sell_into_pool``.
    """
    per_alloc = vesting.unlock_in_step(
        step, P["vesting.tokens"], P["vesting.cliff_steps"], P["vesting.vesting_steps"]
    ) * s["vest_scale"][..., None]
    scheduled = per_alloc.sum(axis=-1)
    scheduled_sell = (per_alloc * P["vesting.sell_share"]).sum(axis=-1)
    remaining = np.maximum(s["unvested"] - scheduled, 0.0)
    shock_unlock = remaining * unlock_fraction
    total_tokens = P["vesting.tokens"].sum(axis=-1)
    weighted_sell = (P["vesting.tokens"] * P["vesting.sell_share"]).sum(axis=-1)
    mean_sell = np.where(total_tokens > 0, weighted_sell / np.maximum(total_tokens, 1e-12), 0.0)
    unlocked = np.minimum(scheduled + shock_unlock, s["unvested"])
    to_sell = np.minimum(scheduled_sell + shock_unlock * mean_sell, unlocked)
    changes = {
        "unvested": s["unvested"] - unlocked,
        "vest_scale": s["vest_scale"] * (1.0 - unlock_fraction),
        "vested_holders": s["vested_holders"] + unlocked,
    }
    return changes, to_sell


def _arbitrage_to(s: dict, target_price, active) -> dict:
    """Fee-free trade by outside holders that moves the pool to ``target_price`` where ``active``."""
    x, y = s["amm_tokens"], s["amm_usd"]
    safe_target = np.where(active, target_price, amm.price(x, y))
    tokens_in = np.minimum(amm.tokens_to_reach_price(x, y, safe_target), s["other_holders"])
    tokens_in = np.where(active, tokens_in, 0.0)
    new_x = x + tokens_in
    return {"amm_tokens": new_x, "amm_usd": x * y / new_x, "other_holders": s["other_holders"] - tokens_in}


def apply_market_shocks(s: dict, exo_t: dict, prev_target_rel) -> dict:
    """Price crash (forced sale), replayed price path and liquidity drain for one step.

    Args:
        s: state.
        exo_t: this step's schedule values (``crash_drop``, ``target_price_rel``, ``liquidity_removed``).
        prev_target_rel: the previous step's ``target_price_rel`` (nan outside a price path).
    """
    s = dict(s)
    changes: dict = {}
    drop = exo_t["crash_drop"]
    crash = _arbitrage_to(s, amm.price(s["amm_tokens"], s["amm_usd"]) * (1.0 - drop), drop > 0)
    s.update(crash)
    changes.update(crash)
    rel = exo_t["target_price_rel"]
    on_path = ~np.isnan(rel)
    anchor = np.where(on_path & np.isnan(prev_target_rel), amm.price(s["amm_tokens"], s["amm_usd"]),
                      s["path_anchor_price"])
    path = _arbitrage_to(s, anchor * np.where(on_path, rel, 1.0), on_path)
    s.update(path)
    changes.update(path)
    changes["path_anchor_price"] = anchor
    tokens_out, _, x, y = amm.remove_liquidity(s["amm_tokens"], s["amm_usd"], exo_t["liquidity_removed"])
    changes.update({"amm_tokens": x, "amm_usd": y, "other_holders": s["other_holders"] + tokens_out})
    changes["price"] = amm.price(x, y)
    return changes
