"""Turn validated scenarios into the arrays the aggregate engines (and the ABM) step.

``Structure`` holds what must be shared by every run stepped together (horizon, cohorts, lead time,
number of vesting allocations, step length); ``P`` maps dotted parameter paths to arrays with one
value per run. :func:`per_step` is the one place where rates per year and durations in days become
per-step quantities (``P["step.*"]``); the economy reads only those.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.mechanisms import timebase
from models.mechanisms.providers import lognormal_quantiles
from models.mechanisms.stake import STAKE_CODES

SCHEDULE_CODES = {"constant": 0, "halving": 1, "exponential_decay": 2, "baseline": 3}
TREASURY_CODES = {"hold": 0, "buyback_burn": 1, "add_liquidity": 2}
ENTRY_RESPONSE_CODES = {"logistic": 0, "log_logistic": 1}


@dataclass(frozen=True)
class Structure:
    """Shape of the state shared by all runs in a batch."""

    steps: int
    cohorts: int
    lead_time: int
    allocations: int
    dt_days: float
    patience_cohorts: int = 1
    expectation_cohorts: int = 1
    vintages: int = 0
    vintage_steps: int = 1
    unbonding: int = 0

    @property
    def types(self) -> int:
        """Provider types: cost x patience x (adaptive expectation cohorts + one forward-looking)."""
        return self.cohorts * self.patience_cohorts * (self.expectation_cohorts + 1)

    @property
    def slots(self) -> int:
        """Vintage slots per type: the mature cohort (index 0) and the young vintages (1 = youngest)."""
        return self.vintages + 1

    @property
    def steps_per_year(self) -> float:
        """Steps in a 365-day year."""
        return timebase.DAYS_PER_YEAR / self.dt_days

    @property
    def dt_years(self) -> float:
        """Length of one step in years."""
        return self.dt_days / timebase.DAYS_PER_YEAR


def structure_of(scenario) -> Structure:
    """The structural key of one scenario (runs with equal keys can be batched)."""
    sim = scenario.simulation
    return Structure(
        steps=sim.steps,
        cohorts=sim.cost_cohorts,
        lead_time=timebase.whole_steps(scenario.providers.lead_time_days, sim.dt_days),
        allocations=len(scenario.vesting.allocations),
        dt_days=sim.dt_days,
        patience_cohorts=sim.patience_cohorts,
        expectation_cohorts=sim.expectation_cohorts,
        vintages=sim.vintages,
        vintage_steps=max(1, timebase.whole_steps(sim.vintage_days, sim.dt_days)),
        unbonding=timebase.whole_steps(scenario.stake.unbonding_days, sim.dt_days),
    )


def _flatten(prefix: str, block, out: dict) -> None:
    for name, value in block:
        if isinstance(value, bool) or isinstance(value, str) or value is None:
            continue
        if isinstance(value, (int, float)):
            out[f"{prefix}{name}"] = float(value)


BLOCKS = ("simulation", "token", "emission", "payment", "market", "treasury", "providers", "users", "speculators",
          "stake", "space")


def _row(sc) -> dict:
    row: dict = {}
    for block_name in BLOCKS:
        _flatten(f"{block_name}.", getattr(sc, block_name), row)
    row["token.max_supply"] = np.inf if sc.token.max_supply is None else float(sc.token.max_supply)
    row["emission.schedule_code"] = SCHEDULE_CODES[sc.emission.schedule]
    row["treasury.policy_code"] = TREASURY_CODES[sc.treasury.policy]
    row["payment.is_bme"] = sc.payment.mode == "bme"
    row["stake.mode_code"] = STAKE_CODES[sc.stake.mode]
    row["space.enabled"] = float(sc.space.enabled)
    row["providers.anticipate_schedule"] = float(sc.providers.anticipate_schedule)
    production = sc.providers.production_units_per_day
    row["providers.production_units_per_day"] = np.inf if production is None else float(production)
    adjustment = sc.providers.production_adjustment_days
    row["providers.production_adjustment_days"] = np.inf if adjustment is None else float(adjustment)
    row["providers.entry_response_code"] = ENTRY_RESPONSE_CODES[sc.providers.entry_response]
    row["market.liquidity_target_share"] = np.nan if sc.market.liquidity_target_share is None else float(
        sc.market.liquidity_target_share)
    row["speculators.initial_shares"] = np.asarray(sc.speculators.initial_shares, dtype=float)
    allocs = sc.vesting.allocations
    row["vesting.tokens"] = np.array([a.tokens for a in allocs], dtype=float)
    row["vesting.cliff_days"] = np.array([a.cliff_days for a in allocs], dtype=float)
    row["vesting.vesting_days"] = np.array([a.vesting_days for a in allocs], dtype=float)
    row["vesting.sell_share"] = np.array([a.sell_share for a in allocs], dtype=float)
    sellers = [s.inventory_tokens for s in sc.shocks if s.type == "price_crash"]
    arbitrageurs = [s.inventory_tokens for s in sc.shocks if s.type == "price_path"]
    row["shocks.seller_tokens"] = float(sum(sellers))
    row["shocks.arbitrageur_tokens"] = float(sum(arbitrageurs))
    return row


def per_step(P: dict, dt_days: float) -> dict:
    """Per-step quantities from rates per year and durations in days: the only step-length conversion."""
    dt = dt_days
    prob, ema, amount, steps = (timebase.probability_per_step, timebase.ema_weight, timebase.amount_per_step,
                                timebase.steps_in)
    spy = timebase.DAYS_PER_YEAR / dt
    return {
        "step.dt_years": np.full_like(P["simulation.dt_days"], float(timebase.years(dt))),
        "step.emission_tokens": amount(P["emission.initial_tokens_per_year"], dt),
        "step.halving_period": P["emission.halving_period_years"] * spy,
        "step.decay_half_life": P["emission.half_life_years"] * spy,
        "step.baseline_growth": P["emission.baseline_growth_per_year"] / spy,
        "step.liquidity_weight": ema(P["market.liquidity_half_life_days"], dt),
        "step.float_weight": ema(P["market.float_half_life_days"], dt),
        "step.flow_memory_persistence": 1.0 - ema(P["market.flow_memory_half_life_days"], dt),
        "step.treasury_spend": prob(P["treasury.spend_rate_per_year"], dt),
        "step.opex_types": amount(P["types.opex_per_year"], dt),
        "types.expectation_weight": np.where(P["types.forward"] > 0, 1.0,
                                             ema(P["types.expectation_half_life_days"], dt)),
        "step.production_adjustment": -np.expm1(-dt / P["providers.production_adjustment_days"]),
        "step.payback_horizon": P["providers.payback_threshold_years"] * spy,
        "step.slash": prob(P["stake.slash_rate_per_year"], dt),
        "step.capacity_per_provider": P["providers.capacity_per_provider"] * dt,
        "step.voluntary_exit": prob(P["providers.exit_rate_per_year"], dt),
        "step.hardware_failure": prob(1.0 / P["providers.hardware_lifetime_years"], dt),
        "step.inventory_sale": prob(P["providers.inventory_sale_rate_per_year"], dt),
        "step.margin_weight": ema(P["providers.margin_half_life_days"], dt),
        "step.expectation_weight": ema(P["providers.expectation_half_life_days"], dt),
        "step.usage_per_user": P["users.usage_per_user"] * dt,
        "step.trade_weight": ema(P["speculators.trade_half_life_days"], dt),
        "step.growth_weight": ema(P["speculators.growth_half_life_days"], dt),
        "step.trend_weight": ema(P["speculators.trend_half_life_days"], dt),
        "step.fitness_weight": ema(P["speculators.fitness_half_life_days"], dt),
        "step.volatility_weight": ema(P["speculators.volatility_half_life_days"], dt),
        "step.vesting_cliff": steps(P["vesting.cliff_days"], dt),
        "step.vesting_length": steps(P["vesting.vesting_days"], dt),
    }


def provider_types(P: dict, structure: Structure) -> dict:
    """Per-type arrays (runs, types) of the provider distributions the ABM draws from.

    Types are the product of equal-mass cost quantiles, equal-mass patience quantiles and expectation
    classes (``expectation_cohorts`` adaptive half-life quantiles sharing ``1 - forward_looking_share``, one
    forward-looking class holding ``forward_looking_share``), flattened in that order.
    """
    K, Kp, Ke = structure.cohorts, structure.patience_cohorts, structure.expectation_cohorts
    runs = P["providers.opex_usd_per_year"].shape[0]
    shape = (runs, K, Kp, Ke + 1)
    opex = lognormal_quantiles(P["providers.opex_usd_per_year"], P["providers.opex_dispersion"], K)
    patience = lognormal_quantiles(P["providers.exit_patience_days"], P["providers.patience_dispersion"], Kp)
    half_life = lognormal_quantiles(P["providers.expectation_half_life_days"], P["providers.expectation_dispersion"],
                                    Ke)
    # the forward-looking class carries a placeholder half-life; its expectation weight is 1 (today's price)
    half_life = np.concatenate([half_life, half_life[:, -1:]], axis=-1)
    forward = np.zeros(Ke + 1)
    forward[-1] = 1.0
    f = P["providers.forward_looking_share"][:, None]
    style_mass = np.where(forward[None, :] > 0, f, (1.0 - f) / Ke)
    mass = (style_mass[:, None, None, :] / (K * Kp)) * np.ones(shape)
    return {
        "types.opex_per_year": np.broadcast_to(opex[:, :, None, None], shape).reshape(runs, -1),
        "types.patience_days": np.broadcast_to(patience[:, None, :, None], shape).reshape(runs, -1),
        "types.expectation_half_life_days": np.broadcast_to(half_life[:, None, None, :], shape).reshape(runs, -1),
        "types.forward": np.broadcast_to(forward[None, None, None, :], shape).reshape(runs, -1),
        "types.mass": mass.reshape(runs, -1),
    }


def compile_params(scenarios) -> tuple[Structure, dict[str, np.ndarray]]:
    """Stack scenarios into per-run parameter arrays (plus their per-step conversions).

    Raises:
        ValueError: when the scenarios do not share one structure.
    """
    structures = {structure_of(s) for s in scenarios}
    if len(structures) != 1:
        raise ValueError(f"scenarios in one batch must share a structure, got {sorted(map(str, structures))}")
    (structure,) = structures
    rows = [_row(sc) for sc in scenarios]
    P = {k: np.stack([np.asarray(r[k]) for r in rows]) for k in rows[0]}
    P.update(provider_types(P, structure))
    P.update(per_step(P, structure.dt_days))
    return structure, P
