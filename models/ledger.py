"""Token and USD accounts, and the market steps shared by every engine.

The state is a dict of numpy arrays with a leading run axis (shape ``(runs,)``; the ABM and cadCAD use
one run). Every token account has an owner with a behaviour (DESIGN.md):

=====================  ================================================================================
``amm_tokens``         the pool, owned by liquidity providers (outside holders) who follow market cap
``provider_tokens``    providers' inventories (per cost cohort in the aggregate engines, per agent in the
                       ABM): a share of rewards sold at once, a rate of the rest, sold or kept on exit
``speculator_tokens``  Brock-Hommes traders
``float_tokens``       the liquid float of outside holders: trade toward a valuation set by the market
                       factor and sentiment with USD from outside the model (the wider market's cash is
                       not a budget the model holds); also what leaving providers and vested holders keep
``treasury``           the protocol treasury, with a policy (hold, buyback and burn, add liquidity)
``unvested``           team and investor allocations before unlock
``seller_tokens``      forced sellers of ``price_crash`` shocks (a stated inventory)
``arbitrageur_tokens`` the arbitrageur of ``price_path`` shocks (a stated inventory; USD from outside)
``locked``             providers' stake or pledge while they serve (bought on arrival with outside USD;
                       outside circulating supply; a termination fee and slashing burn from it)
``unbonding``          stake of providers who left, returned to them after the unbonding period (they sell
                       ``exit_sale_share`` of it and keep the rest in the float)
=====================  ================================================================================

Their sum is ``supply`` at every step; ``minted_total - burned_total`` explains its change. USD held
in the model (pool, speculators, treasury) changes only by ``usd_in_total - usd_out_total``: users'
payments, arbitrage and outside holders' purchases and liquidity deposits come in; providers', vesting
sellers', forced sellers', arbitrage and outside holders' sale proceeds and liquidity withdrawals go out.

Each function returns a dict of the keys it changes and never mutates its input, so cadCAD policies and
the batched engine can both call it.
"""

from __future__ import annotations

import numpy as np

from models.mechanisms import amm, emission, market, payment, treasury, vesting

TOKEN_ACCOUNTS = (
    "amm_tokens", "provider_tokens", "speculator_tokens", "float_tokens", "treasury", "unvested", "seller_tokens",
    "arbitrageur_tokens", "locked", "unbonding",
)
USD_ACCOUNTS = ("amm_usd", "speculator_usd", "treasury_usd")


def genesis(P: dict, runs_shape: tuple) -> dict:
    """Token and USD accounts, pool and counters at step 0."""
    price0 = P["market.initial_price_usd"]
    pool_usd = P["market.liquidity_usd"]
    pool_tokens = pool_usd / price0
    unvested = P["vesting.tokens"].sum(axis=-1)
    n_spec = P["simulation.speculators"]
    spec_tokens = n_spec * P["speculators.initial_tokens"]
    sellers, arbs = P["shocks.seller_tokens"], P["shocks.arbitrageur_tokens"]
    float_tokens = P["token.initial_supply"] - pool_tokens - unvested - spec_tokens - sellers - arbs
    floating = P["token.initial_supply"] - unvested
    target_share = np.where(np.isnan(P["market.liquidity_target_share"]), pool_usd / (price0 * floating),
                            P["market.liquidity_target_share"])
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
        "treasury_usd": P["treasury.initial_usd"] + zeros,
        "speculator_tokens": spec_tokens + zeros,
        "speculator_usd": n_spec * P["speculators.budget_usd"] + zeros,
        "float_tokens": float_tokens + zeros,
        "unvested": unvested + zeros,
        "vest_scale": 1.0 + zeros,
        "seller_tokens": sellers + zeros,
        "arbitrageur_tokens": arbs + zeros,
        "usd_in_total": zeros.copy(),
        "usd_out_total": zeros.copy(),
        "genesis_market_cap": price0 * floating + zeros,
        "liquidity_share": target_share + zeros,
        "valuation": price0 + zeros,
        "flow_memory": zeros.copy(),
        "float_last_price": price0 + zeros,
        "market_factor": 1.0 + zeros,
        "sentiment": zeros.copy(),
        "baseline_cumulative": zeros.copy(),
        "baseline_minted": zeros.copy(),
        "path_anchor_price": price0 + zeros,
        "tokens_sold": zeros.copy(),
        "crash_target": zeros.copy(),
        "crash_achieved": zeros.copy(),
        "arbitrage_usd": zeros.copy(),
        "path_target_price": np.full(runs_shape, np.nan),
    }


TRADABLE_ACCOUNTS = ("provider_tokens", "speculator_tokens", "float_tokens", "seller_tokens", "arbitrageur_tokens")


def circulating(s: dict):
    """Tokens that can trade: supply less unvested, treasury, pool, locked and unbonding tokens.

    Summed over the holders' accounts rather than subtracted from supply, so it is never negative by
    rounding when nearly everything sits in the pool. Provider inventories may be per cohort.
    """
    return sum(total(s[k], s["float_tokens"]) for k in TRADABLE_ACCOUNTS)


def floating_supply(s: dict):
    """Tokens that are or can reach the market: circulating plus the pool (supply less unvested and treasury)."""
    return circulating(s) + s["amm_tokens"]


def total(value, like):
    """An account held per cohort or per conveyor slot, summed to one value per run (shape of ``like``)."""
    shape = np.shape(like)
    return np.asarray(value).reshape(shape + (-1,)).sum(axis=-1)


def lock_stake(s: dict, P: dict, tokens_wanted) -> tuple[dict, np.ndarray]:
    """Arriving providers buy their stake from the pool with USD from outside the model and lock it.

    They buy exactly ``tokens_wanted``, paying the slippage, but never more than half the pool's tokens in one
    step (then they lock what they got). Returns (changes, tokens_locked).
    """
    tokens = np.minimum(tokens_wanted, 0.5 * s["amm_tokens"])
    usd = amm.usd_to_buy(s["amm_tokens"], s["amm_usd"], tokens, P["market.fee"])
    bought, x, y = amm.buy_tokens(s["amm_tokens"], s["amm_usd"], usd, P["market.fee"])
    return {"amm_tokens": x, "amm_usd": y, "usd_in_total": s["usd_in_total"] + usd}, bought


def unbond(s: dict, P: dict, leaving_stake, unbonding_steps: int) -> dict:
    """Stake of leavers enters the unbonding queue; what finishes unbonding returns to its former owners.

    ``s["unbonding"]`` is a conveyor (runs, max(steps, 1)); with no unbonding period the stake returns at
    once. Former providers sell ``exit_sale_share`` of what returns and keep the rest in the float.
    """
    queue = s["unbonding"]
    if unbonding_steps > 0:
        released = queue[..., 0]
        queue = np.concatenate([queue[..., 1:], np.asarray(leaving_stake)[..., None]], axis=-1)
    else:
        released = leaving_stake
    sold = released * P["providers.exit_sale_share"]
    usd, x, y = amm.sell_tokens(s["amm_tokens"], s["amm_usd"], sold, P["market.fee"])
    return {"unbonding": queue, "float_tokens": s["float_tokens"] + released - sold, "amm_tokens": x, "amm_usd": y,
            "usd_out_total": s["usd_out_total"] + usd, "tokens_sold": s["tokens_sold"] + sold}


def burn(s: dict, tokens) -> dict:
    """Counters and supply after burning ``tokens`` (per run, or per cohort and summed).

    The caller takes them out of the account they came from (termination fees and slashing from ``locked``).
    """
    burned = total(tokens, s["supply"])
    return {"burned": s["burned"] + burned, "burned_total": s["burned_total"] + burned,
            "supply": s["supply"] - burned}


def sell_into_pool(s: dict, account: str, tokens, fee) -> tuple[dict, np.ndarray]:
    """Sell ``tokens`` from ``account`` into the pool. Returns (changes, usd_received)."""
    usd_out, x, y = amm.sell_tokens(s["amm_tokens"], s["amm_usd"], tokens, fee)
    return {"amm_tokens": x, "amm_usd": y, account: s[account] - tokens}, usd_out


def pay_for_usage(s: dict, P: dict, revenue_usd) -> tuple[dict, np.ndarray]:
    """Users' USD (from outside the model) buys tokens from the pool; burned (bme) or paid on (fee).

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
        "usd_in_total": s["usd_in_total"] + revenue_usd,
    }
    return changes, to_providers


def mint(s: dict, P: dict, step: int, capacity_per_day) -> tuple[dict, np.ndarray]:
    """Issue this step's tokens by the scenario's schedule, capped by max supply.

    Baseline minting counts capacity-years (capacity per day x step length in years) against a baseline
    in capacity units, as Filecoin counts byte-epochs of power; its simple part
    (``emission.baseline_simple_tokens``) decays with time alone.

    Returns:
        (changes, tokens_for_providers); the rest of the issuance goes to the treasury.
    """
    code = P["emission.schedule_code"]
    if _some_run(code == 3):  # baseline minting costs a log per step: only when a run uses it
        base_minted, base_cum, base_total = emission.baseline_step(
            step, capacity_per_day * P["step.dt_years"], s["baseline_cumulative"], s["baseline_minted"],
            P["emission.baseline_initial_capacity"] * P["step.dt_years"], P["step.baseline_growth"],
            P["emission.baseline_total_tokens"], P["step.decay_half_life"],
        )
        # Filecoin mints simple (time-based) and baseline (capacity-based) rewards side by side
        base_minted = base_minted + emission.exponential_decay(step, P["emission.baseline_simple_tokens"],
                                                               P["step.decay_half_life"])
        # runs on another schedule keep their (unused) baseline counters, whatever else the batch holds
        uses = code == 3
        base_cum = np.where(uses, base_cum, s["baseline_cumulative"])
        base_total = np.where(uses, base_total, s["baseline_minted"])
    else:
        base_minted, base_cum, base_total = 0.0, s["baseline_cumulative"], s["baseline_minted"]
    raw = np.select(
        [code == 0, code == 1, code == 2],
        [
            emission.constant(step, P["step.emission_tokens"]),
            emission.halving(step, P["step.emission_tokens"], P["step.halving_period"]),
            emission.exponential_decay(step, P["emission.decay_total_tokens"], P["step.decay_half_life"]),
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


def _some_run(mask) -> bool:
    """Whether any run needs a costly branch; a traced mask (``models.sd.compiled``) cannot tell, so it does."""
    try:
        return bool(np.any(mask))
    except TypeError:  # jax's ConcretizationTypeError is a TypeError
        return True


def vest_and_sell(s: dict, P: dict, step: int, unlock_fraction) -> dict:
    """Scheduled unlocks (scaled by earlier cliff shocks) plus a shock unlock.

    Holders sell their allocation's share of each unlock into the pool and take the USD away; they keep
    the rest as outside holders (it joins the float).
    """
    per_alloc = vesting.unlock_in_step(
        step, P["vesting.tokens"], P["step.vesting_cliff"], P["step.vesting_length"]
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
    usd, x, y = amm.sell_tokens(s["amm_tokens"], s["amm_usd"], to_sell, P["market.fee"])
    return {
        "unvested": s["unvested"] - unlocked,
        "vest_scale": s["vest_scale"] * (1.0 - unlock_fraction),
        "float_tokens": s["float_tokens"] + unlocked - to_sell,
        "amm_tokens": x, "amm_usd": y,
        "usd_out_total": s["usd_out_total"] + usd,
    }


def outside_holders_trade(s: dict, P: dict, exo_t: dict) -> dict:
    """The float trades toward its valuation; then liquidity providers move pool depth toward target.

    During a replayed price history (``target_price_usd`` set) the valuation is the series itself: the
    float is the rest of the market whose trades made that price, so it never trades against it.
    """
    p = amm.price(s["amm_tokens"], s["amm_usd"])
    memory = market.update_flow_memory(s["flow_memory"], p, s["float_last_price"],
                                       P["market.flow_information_share"], P["step.flow_memory_persistence"])
    value = market.outside_valuation(s["genesis_market_cap"], exo_t["log_factor"], exo_t["sentiment"], memory,
                                     floating_supply(s))
    # in a replayed history the series is the wider market's valuation: the float trades toward it
    replayed = exo_t["target_price_usd"]
    value = np.where(np.isnan(replayed), value, replayed)
    target = market.partial_adjustment_target(p, value, P["step.float_weight"])
    d_tok, d_usd, x, y = amm.trade_toward_price(s["amm_tokens"], s["amm_usd"], target, P["market.fee"],
                                                s["float_tokens"], np.inf)
    f_tok = s["float_tokens"] + d_tok
    p = amm.price(x, y)
    # market cap over the floating supply (pool included), as the genesis ratio is taken: the target depth
    # never reaches 0 while a token floats, so liquidity providers cannot empty the pool
    change = market.liquidity_change_usd(y, p * floating_supply(s), s["liquidity_share"],
                                         P["step.liquidity_weight"])
    # deposits at the pool ratio, limited by the float's tokens; withdrawn tokens return to the float
    add_tok = np.minimum(np.maximum(change, 0.0) / p, np.maximum(f_tok, 0.0))
    add_usd = add_tok * p
    remove = np.clip(-change / np.maximum(y, 1e-300), 0.0, 1.0)
    tok_out, usd_out = x * remove, y * remove
    return {
        "flow_memory": memory, "float_last_price": p,
        "valuation": value, "market_factor": np.exp(exo_t["log_factor"]), "sentiment": exo_t["sentiment"],
        # x (1 - remove), not x - x remove: no cancellation when nearly the whole pool is withdrawn
        "amm_tokens": x * (1.0 - remove) + add_tok, "amm_usd": y * (1.0 - remove) + add_usd,
        "float_tokens": f_tok - add_tok + tok_out,
        "usd_in_total": s["usd_in_total"] + np.maximum(-d_usd, 0.0) + add_usd,
        "usd_out_total": s["usd_out_total"] + np.maximum(d_usd, 0.0) + usd_out,
    }


def treasury_policy(s: dict, P: dict) -> dict:
    """Hold, buy back and burn, or add to liquidity a share of treasury holdings this step."""
    code = P["treasury.policy_code"]
    tokens, usd = treasury.spend_amounts(s["treasury"], s["treasury_usd"], P["step.treasury_spend"])
    burn = code == 1
    bought, x, y = amm.buy_tokens(s["amm_tokens"], s["amm_usd"], np.where(burn, usd, 0.0), P["market.fee"])
    pair_tok, pair_usd = treasury.liquidity_pair(tokens, usd, amm.price(x, y))
    add = code == 2
    pair_tok, pair_usd = np.where(add, pair_tok, 0.0), np.where(add, pair_usd, 0.0)
    burned = np.where(burn, tokens, 0.0) + bought
    spent_tokens = np.where(burn, tokens, 0.0) + pair_tok
    spent_usd = np.where(burn, usd, 0.0) + pair_usd
    return {
        "amm_tokens": x + pair_tok,
        "amm_usd": y + pair_usd,
        "treasury": s["treasury"] - spent_tokens,
        "treasury_usd": s["treasury_usd"] - spent_usd,
        "burned": s["burned"] + burned,
        "burned_total": s["burned_total"] + burned,
        "supply": s["supply"] - burned,
    }


def apply_market_shocks(s: dict, P: dict, exo_t: dict, prev_target_rel) -> dict:
    """Forced sale (price crash), replayed price path (arbitrageur) and liquidity drain for one step.

    Args:
        s: state.
        P: compiled parameters (the pool fee).
        exo_t: this step's schedule values (``crash_drop``, ``target_price_rel``, ``target_price_usd``,
            ``liquidity_removed``).
        prev_target_rel: the previous step's ``target_price_rel`` (nan outside a price path).
    """
    fee = P["market.fee"]
    x, y = s["amm_tokens"], s["amm_usd"]
    p0 = amm.price(x, y)
    drop = exo_t["crash_drop"]
    wanted = np.where(drop > 0, amm.tokens_for_price_drop(x, drop, fee), 0.0)
    sold = np.minimum(wanted, s["seller_tokens"])
    seller_usd, x, y = amm.sell_tokens(x, y, sold, fee)
    achieved = np.where(drop > 0, 1.0 - amm.price(x, y) / p0, 0.0)

    rel, usd = exo_t["target_price_rel"], exo_t["target_price_usd"]
    on_relative = ~np.isnan(rel)
    anchor = np.where(on_relative & np.isnan(prev_target_rel), amm.price(x, y), s["path_anchor_price"])
    target = np.where(on_relative, anchor * np.where(on_relative, rel, 1.0), amm.price(x, y))
    on_usd = ~np.isnan(usd)
    target = np.where(on_usd, usd, target)
    on_path = on_relative | on_usd
    # the arbitrageur sells from its inventory and buys with USD brought from outside the model
    # off the path the arbitrageur has nothing to do: no budget, so no rounding dust either
    d_tok, d_usd, x, y = amm.trade_to_price_exact(x, y, target, fee, np.where(on_path, s["arbitrageur_tokens"], 0.0),
                                                  np.where(on_path, np.inf, 0.0))
    arb_in = np.maximum(-d_usd, 0.0)
    arb_out = np.maximum(d_usd, 0.0)

    tokens_out, usd_out, x, y = amm.remove_liquidity(x, y, exo_t["liquidity_removed"])
    return {
        "amm_tokens": x, "amm_usd": y, "price": amm.price(x, y),
        "seller_tokens": s["seller_tokens"] - sold,
        "arbitrageur_tokens": s["arbitrageur_tokens"] + d_tok,
        "float_tokens": s["float_tokens"] + tokens_out,
        "usd_in_total": s["usd_in_total"] + arb_in,
        "usd_out_total": s["usd_out_total"] + seller_usd + arb_out + usd_out,
        "crash_target": drop, "crash_achieved": achieved,
        "arbitrage_usd": arb_in - arb_out,
        "path_target_price": np.where(on_path, target, np.nan),
        "path_anchor_price": anchor,
    }
