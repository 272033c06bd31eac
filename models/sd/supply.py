"""The supply side of the aggregate economy: provider types, vintages, the supply chain, stake and exit.

Providers are held per type (cost x patience x expectation style, ``models.sd.compile.provider_types``)
and per vintage slot: slot 0 is the mature cohort, slots 1..V are young vintages (1 = youngest). Arrivals
of one ``vintage_steps`` window join the youngest vintage with no loss streak, no margin history and age
0, so new hardware never inherits an old cohort's losses; every window the vintages age by one slot and
the oldest merges into the mature cohort (mass-weighted means of its streak, margin average and age;
by then the margin averages have converged, so for a patience shorter than the merge age the merge
changes no exit decision). Orders wait in a production queue per type, then ship through a conveyor
of ``lead_time`` steps (``models.mechanisms.supply_chain``). Arrivals buy and lock their stake; leavers
pay the termination fee if early and unbond the rest (``models.mechanisms.stake``).

Every rule is a function of ``models.mechanisms``; the ABM calls the same ones per agent.
"""

from __future__ import annotations

import numpy as np

from models import ledger
from models.mechanisms import amm, emission, providers, stake, supply_chain, timebase

SLOT_MEANS = ("loss_streak", "margin_average", "age_days")  # per-provider values: merged mass-weighted
SLOT_TOTALS = ("provider_tokens", "locked")  # per-slot totals: merged by summing


def type_opex(P, exo_t):
    """Opex of one provider of each type this step, USD (cost shocks scale every type alike)."""
    return P["step.opex_types"] * exo_t["cost_multiplier"][..., None]


def genesis_stake_each(P: dict, structure, s: dict):
    """Tokens each initial provider has locked at step 0 (its pledge at the genesis reward and supply)."""
    n0 = P["providers.initial_active"]
    reward_day = P["step.emission_tokens"] * P["emission.provider_share"] / np.maximum(n0, 1.0) / structure.dt_days
    circulating = ledger.circulating({**s, "provider_tokens": np.zeros(np.shape(n0))})
    return stake.stake_required(
        P["stake.mode_code"], P["stake.tokens_per_provider"], reward_day, P["stake.pledge_reward_days"],
        circulating, P["stake.pledge_circulating_share"], P["providers.capacity_per_provider"],
        n0 * P["providers.capacity_per_provider"])


def initial_supply_state(P: dict, structure, s: dict) -> dict:
    """Provider state at step 0: the initial providers spread over types by mass, mature, with their stake.

    The initial providers' stake is locked out of the outside float at genesis (they bought it before).
    """
    runs = P["market.initial_price_usd"].shape
    T, S, L = structure.types, structure.slots, structure.lead_time
    active = np.zeros(runs + (T, S))
    active[..., 0] = P["providers.initial_active"][..., None] * P["types.mass"]
    each = genesis_stake_each(P, structure, s)
    locked = active * each[..., None, None]
    zeros = np.zeros(runs)
    return {
        "active": active,
        "backlog": np.zeros(runs + (T,)),
        "pending": np.zeros(runs + (T, max(L, 1))),
        "loss_streak": np.zeros(runs + (T, S)),
        "margin_average": np.zeros(runs + (T, S)),
        "age_days": np.zeros(runs + (T, S)),
        "provider_tokens": np.zeros(runs + (T, S)),
        "margin": np.zeros(runs + (T, S)),
        "locked": locked,
        "float_tokens": s["float_tokens"] - locked.sum(axis=(-2, -1)),
        "unbonding": np.zeros(runs + (max(structure.unbonding, 1),)),
        "expected_price": np.repeat(s["price"][..., None], T, axis=-1),
        "mean_expected_price": s["price"].copy(),
        "emission_reward": zeros.copy(), "orders": zeros.copy(), "arrivals": zeros.copy(), "exits": zeros.copy(),
        "cancelled": zeros.copy(),
        "lead_time_days": P["providers.lead_time_days"] + zeros,
        "production_capacity": P["providers.production_units_per_day"] + zeros,
    }


def merge_mean(mass_a, value_a, mass_b, value_b):
    """Mass-weighted mean of a per-provider value when two groups merge (``value_a`` when both are empty).

    Written as ``value_a`` plus ``value_b``'s weighted pull, so two groups with equal values keep that value
    exactly: a merged loss streak of 35 days stays 35 (not 34.99999999999999) against a patience of 35.
    """
    both = mass_a + mass_b
    return np.where(both > 0, value_a + mass_b / np.where(both > 0, both, 1.0) * (value_b - value_a), value_a)


def with_slot(x, j: int, value):
    """``x`` with slot ``j`` of its last axis replaced by ``value`` (a new array; inputs are never mutated)."""
    if hasattr(x, "at"):  # an immutable (JAX) array in the compiled backend
        return x.at[..., j].set(value)
    out = x.copy()
    out[..., j] = value
    return out


def age_vintages(s: dict, structure, step) -> dict:
    """At the start of each vintage window the young vintages age one slot; the oldest joins the mature cohort.

    ``step`` is a whole number, or a traced scalar in a compiled backend (``models.sd.compiled``): then the
    window test cannot branch, and the aged and unaged slots are selected elementwise.
    """
    V = structure.vintages
    slots = {k: s[k] for k in ("active", *SLOT_MEANS, *SLOT_TOTALS)}
    if V == 0:
        return slots
    due = (step > 0) & (step % structure.vintage_steps == 0)
    known = isinstance(due, (bool, np.bool_))
    if known and not due:
        return slots
    a = slots["active"]
    out = {}
    for key in SLOT_MEANS:
        x = slots[key]
        mature = merge_mean(a[..., 0], x[..., 0], a[..., V], x[..., V])
        out[key] = np.concatenate([mature[..., None], np.zeros_like(x[..., :1]), x[..., 1:V]], axis=-1)
    for key in ("active", *SLOT_TOTALS):
        x = slots[key]
        mature = x[..., 0] + x[..., V]
        out[key] = np.concatenate([mature[..., None], np.zeros_like(x[..., :1]), x[..., 1:V]], axis=-1)
    return out if known else {k: np.where(due, out[k], slots[k]) for k in slots}


def providers_earn(P, structure, s, exo_t, step):
    """Rewards split equally over active providers into slot inventories; each slot sells through the pool."""
    p = amm.price(s["amm_tokens"], s["amm_usd"])
    active = s["active"]
    n_active = active.sum(axis=(-2, -1))
    has_capacity = s["capacity"] > 0
    # with nobody to pay, the provider reward pool stays with the protocol
    reward = np.where(has_capacity, s["reward_pool"] / np.maximum(n_active, 1e-300), 0.0)
    r, price = reward[..., None, None], p[..., None, None]
    opex = type_opex(P, exo_t)[..., None]
    margin = providers.operating_margin_usd(r, price, opex)
    inventory = s["provider_tokens"] + active * r
    per_provider = np.where(active > 0, inventory / np.maximum(active, 1e-300), 0.0)
    sold_each = providers.tokens_sold(r, per_provider, price, opex, P["providers.sell_share"][..., None, None],
                                      P["step.inventory_sale"][..., None, None])
    # a product of per-provider amounts can round above the slot's holding: never sell more than is held
    sold = np.minimum(active * sold_each, inventory)
    usd, x, y = amm.sell_tokens(s["amm_tokens"], s["amm_usd"], sold.sum(axis=(-2, -1)), P["market.fee"])
    average = providers.margin_average(s["margin_average"], margin, structure.dt_days,
                                       P["step.margin_weight"][..., None, None])
    return {
        "amm_tokens": x, "amm_usd": y, "provider_tokens": inventory - sold,
        "treasury": s["treasury"] + np.where(has_capacity, 0.0, s["reward_pool"]),
        "usd_out_total": s["usd_out_total"] + usd, "tokens_sold": sold.sum(axis=(-2, -1)),
        "reward_per_provider": reward, "margin": margin,
        "margin_average": average, "loss_streak": providers.loss_streak(s["loss_streak"], average, structure.dt_days),
    }


def entry_valuation(P, structure, s, step, expected_price, opex, n_active, pipeline, backlog):
    """Expected margin per year and capital of one more provider of each type; the quoted lead time.

    Shared by the aggregate and the agent engine (which passes per-agent prices and opex).

    Returns:
        (margin_usd_per_year, capital_usd, lead_time_days, stake_tokens)
    """
    dt = structure.dt_days
    lead_days = supply_chain.quoted_lead_time_days(backlog, s["production_capacity"], P["providers.lead_time_days"])
    ratio = emission.expected_rate_ratio(
        P["emission.schedule_code"], step, lead_days / dt, P["step.payback_horizon"], P["step.halving_period"],
        P["step.decay_half_life"])
    ratio = np.where(P["providers.anticipate_schedule"] > 0, ratio, 1.0)
    reward = providers.expected_reward_per_provider(
        s["reward_pool"] - s["emission_reward"], s["emission_reward"], ratio, n_active, pipeline)
    cap = P["providers.capacity_per_provider"]
    stake_tokens = stake.stake_required(
        P["stake.mode_code"], P["stake.tokens_per_provider"], reward / dt, P["stake.pledge_reward_days"],
        ledger.circulating(s), P["stake.pledge_circulating_share"], cap, (n_active + pipeline + 1.0) * cap)
    margin = providers.operating_margin_usd(_col(reward, expected_price), expected_price, opex) / _col(
        P["step.dt_years"], expected_price)
    capital = providers.entry_capital_usd(_col(P["providers.capex_usd"], expected_price),
                                          _col(stake_tokens, expected_price), expected_price)
    return margin, capital, lead_days, stake_tokens


def _col(per_run, like):
    """A per-run array shaped to broadcast against ``like`` (runs, ...)."""
    per_run = np.asarray(per_run)
    return per_run.reshape(per_run.shape + (1,) * (np.ndim(like) - per_run.ndim))


def exit_chances(P, structure, s, p, streak, margin_average, age_days, patience_days, stake_each):
    """Per-step chance of leaving and the termination fee (tokens each) of providers with these states."""
    reward_day = s["reward_per_provider"] / structure.dt_days
    fee = stake.termination_fee_tokens(stake_each, _col(reward_day, stake_each), _col(P["stake.termination_fee_days"],
                                       stake_each), age_days, _col(P["stake.commitment_days"], stake_each))
    capex, share, half_life = (_col(P[k], age_days) for k in ("providers.capex_usd", "providers.resale_value_share",
                                                               "providers.resale_half_life_days"))
    # a committed provider compares leaving now (and paying the fee) with serving out its commitment
    commitment = _col(P["stake.commitment_days"], age_days)
    horizon = np.where((stake_each > 0) & (age_days < commitment), commitment - age_days,
                       _col(P["providers.exit_horizon_days"], age_days))
    gain = providers.exit_gain_usd(
        margin_average, horizon, providers.resale_value_usd(capex, share, age_days, half_life),
        providers.resale_value_usd(capex, share, age_days + horizon, half_life), fee * _col(p, fee))
    leave = providers.exit_probability(streak, patience_days, _col(P["step.voluntary_exit"], streak),
                                       _col(P["step.hardware_failure"], streak), gain)
    return leave, fee


def providers_move(P, structure, s, exo_t, step):
    """Expectations adapt; orders queue for production and ship; losses, fees and ageing decide exits.

    Leavers take their slot's average inventory and stake: they sell ``exit_sale_share`` of the inventory
    and keep the rest as outside holders; the termination fee is burned and the rest of the stake unbonds.
    Arrivals buy and lock their stake and join the youngest vintage.
    """
    L, dt = structure.lead_time, structure.dt_days
    slots = age_vintages(s, structure, step)
    active = slots["active"]
    p = amm.price(s["amm_tokens"], s["amm_usd"])
    # expectations follow the market's last closing price, not the pool's price in the middle of this step
    # (usage buys and providers' sales move the pool before the rest of the market has traded)
    expected = providers.update_expectation(s["expected_price"], s["price"][..., None], P["types.expectation_weight"])
    n_active = active.sum(axis=(-2, -1))
    pending = s["pending"] if L > 0 else np.zeros_like(s["pending"])
    pipeline_by_type = s["backlog"] + pending.sum(axis=-1)
    pipeline = pipeline_by_type.sum(axis=-1)
    margin, capital, lead_days, _ = entry_valuation(P, structure, s, step, expected, type_opex(P, exo_t), n_active,
                                                    pipeline, s["backlog"].sum(axis=-1))
    pool = P["simulation.potential_providers"]
    # one valuation serves entry (the hazard) and the backlog (cancellations)
    response = providers.entry_response(
        margin, capital, _col(P["providers.payback_threshold_years"], margin),
        _col(P["providers.entry_steepness"], margin), _col(P["providers.entry_response_code"], margin))
    hazard = providers.hazard_from_response(
        response, _col(P["providers.entry_max_rate_per_year"], margin), _col(P["providers.word_of_mouth"], margin),
        _col((n_active + pipeline) / pool, margin))
    cancelled = s["backlog"] * timebase.probability_per_step(
        providers.cancellation_hazard(response, _col(P["providers.order_cancellation_rate_per_year"], margin)), dt)
    # cancelled orders rejoin the pool from the next step (the ABM's cancelled providers are not idle this step)
    remaining = np.maximum(pool[..., None] * P["types.mass"] - active.sum(axis=-1) - pipeline_by_type, 0.0)
    orders = timebase.probability_per_step(hazard, dt) * remaining
    backlog = s["backlog"] - cancelled + orders
    queued = backlog.sum(axis=-1)
    capacity = supply_chain.adjust_capacity(
        s["production_capacity"], queued, P["providers.production_units_per_day"],
        P["providers.production_delivery_target_days"], P["step.production_adjustment"])
    made = supply_chain.produced_units(queued, capacity * dt)
    produced = backlog * np.where(queued > 0, made / np.where(queued > 0, queued, 1.0), 0.0)[..., None]
    backlog = backlog - produced
    if L > 0:
        arrivals, pending = pending[..., 0], np.concatenate([pending[..., 1:], produced[..., None]], axis=-1)
    else:
        arrivals = produced
    # exits, before this step's arrivals
    stake_each = np.where(active > 0, slots["locked"] / np.maximum(active, 1e-300), 0.0)
    patience = P["types.patience_days"][..., None]
    leave, fee_each = exit_chances(P, structure, s, p, slots["loss_streak"], slots["margin_average"],
                                   slots["age_days"], patience, stake_each)
    leavers = active * leave
    leaving_locked = slots["locked"] * leave
    fees = np.minimum(leavers * fee_each, leaving_locked)
    staying_locked = slots["locked"] - leaving_locked
    slashed = staying_locked * _col(stake.slash_fraction(s["quality"], P["stake.slash_quality_threshold"],
                                                         P["step.slash"]), staying_locked)
    locked = staying_locked - slashed
    changes = ledger.burn(s, fees + slashed)
    leaving_tokens = slots["provider_tokens"] * leave
    exit_sold = (leaving_tokens * P["providers.exit_sale_share"][..., None, None]).sum(axis=(-2, -1))
    kept = leaving_tokens.sum(axis=(-2, -1)) - exit_sold
    usd, x, y = amm.sell_tokens(s["amm_tokens"], s["amm_usd"], exit_sold, P["market.fee"])
    s2 = {**s, **changes, "amm_tokens": x, "amm_usd": y, "usd_out_total": s["usd_out_total"] + usd,
          "float_tokens": s["float_tokens"] + kept, "tokens_sold": s["tokens_sold"] + exit_sold}
    s2.update(ledger.unbond(s2, P, (leaving_locked - fees).sum(axis=(-2, -1)), structure.unbonding))
    # arrivals buy their stake at today's pledge and join the youngest vintage
    new_total = n_active - leavers.sum(axis=(-2, -1)) + arrivals.sum(axis=-1)
    cap = P["providers.capacity_per_provider"]
    each = stake.stake_required(
        P["stake.mode_code"], P["stake.tokens_per_provider"], s["reward_per_provider"] / dt,
        P["stake.pledge_reward_days"], ledger.circulating(s2), P["stake.pledge_circulating_share"], cap,
        new_total * cap)
    wanted = arrivals * each[..., None]
    bought_changes, bought = ledger.lock_stake(s2, P, wanted.sum(axis=-1))
    s2.update(bought_changes)
    total_wanted = wanted.sum(axis=-1)
    got = wanted * np.where(total_wanted > 0, bought / np.where(total_wanted > 0, total_wanted, 1.0), 0.0)[..., None]
    j = 1 if structure.vintages > 0 else 0
    stay = active - leavers
    new_slots = {"active": with_slot(stay, j, stay[..., j] + arrivals),
                 "locked": with_slot(locked, j, locked[..., j] + got),
                 "provider_tokens": slots["provider_tokens"] - leaving_tokens}
    for key in SLOT_MEANS:
        new_slots[key] = with_slot(slots[key], j, merge_mean(stay[..., j], slots[key][..., j], arrivals, 0.0))
    new_slots["age_days"] = new_slots["age_days"] + dt
    return {
        **s2, **new_slots, "expected_price": expected, "mean_expected_price": (P["types.mass"] * expected).sum(axis=-1),
        "backlog": backlog, "pending": pending,
        "orders": orders.sum(axis=-1), "arrivals": arrivals.sum(axis=-1), "exits": leavers.sum(axis=(-2, -1)),
        "cancelled": cancelled.sum(axis=-1),
        "lead_time_days": lead_days, "production_capacity": capacity,
    }
