"""Parameter blocks of the supply side: providers, their stake or pledge, and space (coverage).

Units are in every name or description; each default cites its source or says "assumption". Rates are per
year, durations in days; ``models.sd.compile.per_step`` converts them with ``simulation.dt_days``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool

from models.param_blocks import Frozen
from models.param_io import Float, NonNeg, Population, Share


class ProviderParams(Frozen):
    """Hardware providers: costs, capacity, entry, exit, supply chain and token inventory.

    Source for the defaults: Helium hotspot about $500 (capex); the rest are assumptions at toy scale.
    Patience, price-expectation style and opex differ per provider (drawn in the ABM, equal-mass quantile
    cohorts in the aggregate engines).
    """

    initial_active: Population = Field(100, ge=0, description="Providers active at step 0, count.")
    capex_usd: NonNeg = Field(500.0, description="Hardware cost per provider, USD (sunk once bought).")
    opex_usd_per_year: NonNeg = Field(
        150.0, description="Median operating cost per provider (power, backhaul), USD/year (assumption)."
    )
    opex_dispersion: NonNeg = Field(
        0.5, le=3, description="Log-normal sigma of opex across providers (0 = identical), dimensionless."
    )
    capacity_per_provider: Float = Field(
        20.0, gt=0, description="Service units one provider can serve per day, units/day (assumption)."
    )
    lead_time_days: NonNeg = Field(
        28.0, le=728, description="Shipping and installation delay after a unit leaves production, days (the "
        "shortest possible lead time; waiting in the production queue comes on top)."
    )
    production_units_per_day: Float | None = Field(
        None, gt=0, description="Units the hardware makers produce per day for the whole network; orders wait "
        "in a first-come queue, so the realised lead time grows with the backlog; None = unlimited, units/day "
        "(Helium 2021-22: makers quoted months of backlog; assumption)."
    )
    production_adjustment_days: Float | None = Field(
        None, gt=0, description="Time constant with which the hardware makers move production capacity toward the "
        "rate that would deliver the order backlog within production_delivery_target_days (never below "
        "production_units_per_day), days; None = capacity fixed (Sterman 2000, ch. 17: capacity acquisition as a "
        "first-order adjustment; Helium 2020-21: HIP-19 approved third-party makers one after another)."
    )
    order_cancellation_rate_per_year: NonNeg = Field(
        0.0, le=1e3, description="Hazard at which orders waiting for production are cancelled, scaled by how little "
        "entry pays today (1 - entry response, 0 to 1), 1/year; cancelled orders return to the pool of would-be "
        "providers (Sterman 2000, ch. 18: supply-line cancellations; Helium 2022: makers refunded undelivered "
        "hotspots; 0 = orders are never cancelled)."
    )
    production_delivery_target_days: Float = Field(
        90.0, gt=0, description="Backlog the makers size their capacity to clear, in days of production "
        "(assumption: a quarter)."
    )
    exit_patience_days: NonNeg = Field(
        35.0, description="Median days of continuous losses before a provider considers leaving, days."
    )
    patience_dispersion: NonNeg = Field(
        0.75, le=3, description="Log-normal sigma of exit patience across providers (0 = everyone the same), "
        "dimensionless (assumption: operators differ by a factor of about 2 either way)."
    )
    margin_half_life_days: Float = Field(
        30.0, gt=0, description="Half-life of the moving average of margin that providers judge losses on, days "
        "(operators look at about a month of earnings, not one day's; assumption)."
    )
    exit_rate_per_year: NonNeg = Field(
        5.0, le=1e4, description="Exit hazard of an out-of-patience provider, 1/year (5: ~9% a week, so about ten "
        "weeks on average to unplug and sell once patience has run out; assumption)."
    )
    exit_horizon_days: Float = Field(
        182.0, gt=0, description="Horizon over which a loss-making provider weighs the losses it avoids and the "
        "resale value it keeps by leaving now against the termination fee leaving costs, days (assumption)."
    )
    hardware_lifetime_years: Float = Field(
        5.0, gt=0, description="Mean hardware lifetime; failures are a constant hazard 1/lifetime, years."
    )
    resale_value_share: Share = Field(
        0.0, description="Share of capex a leaving provider recovers by selling new hardware second-hand; it "
        "halves every resale_half_life_days of age, fraction (assumption; 0 = no second-hand market)."
    )
    resale_half_life_days: Float = Field(
        365.0, gt=0, description="Age at which second-hand hardware has lost half its resale value, days "
        "(assumption)."
    )
    sell_share: Share = Field(
        0.25, description="Share of each token reward sold at once (at least enough to cover opex), fraction."
    )
    inventory_sale_rate_per_year: NonNeg = Field(
        1.0, le=1e4, description="Share of held inventory sold per year on top, 1/year (assumption)."
    )
    exit_sale_share: Share = Field(
        1.0, description="Share of its inventory (and of its returned stake) a leaving provider sells; it keeps "
        "the rest as an outside holder (joins the float), fraction (assumption)."
    )
    payback_threshold_years: Float = Field(
        1.0, gt=0, description="Payback period at which half the maximum entry rate is reached; also the horizon "
        "over which entrants average the reward they expect, years."
    )
    anticipate_schedule: StrictBool = Field(
        True, description="Entrants value the reward over the payback horizon under the scenario's own emission "
        "schedule (a public halving is anticipated); false = today's reward is taken to last."
    )
    entry_max_rate_per_year: NonNeg = Field(
        1.5, le=1e3, description="Largest entry hazard of the remaining pool, 1/year."
    )
    entry_steepness: Float = Field(4.0, gt=0, description="Slope of the logistic entry curve, dimensionless.")
    entry_response: Literal["logistic", "log_logistic"] = Field(
        "logistic", description="Shape of entry in the payback ratio r = margin x threshold / capital: `logistic` "
        "in r - 1 (some entry even at a loss), `log_logistic` in log r (no entry without a margin, elasticity "
        "entry_steepness around r = 1)."
    )
    word_of_mouth: NonNeg = Field(
        1.0, description="Entry boost per unit of active share of the pool (imitation), dimensionless."
    )
    expectation_half_life_days: Float = Field(
        45.0, gt=0, description="Median half-life of adaptive price expectations (lagged beliefs), days."
    )
    expectation_dispersion: NonNeg = Field(
        0.5, le=3, description="Log-normal sigma of the adaptive half-life across providers, dimensionless "
        "(assumption)."
    )
    forward_looking_share: Share = Field(
        0.3, description="Share of providers whose price expectation is forward-looking (today's market price, "
        "which the token market makes a martingale) rather than adaptive, fraction (assumption)."
    )


class StakeParams(Frozen):
    """Tokens a provider locks to serve: none, a fixed stake, or Filecoin's initial pledge.

    Sources: Filecoin spec, miner actor "Initial Pledge" (storage pledge of 20 days of the sector's expected
    block reward plus a consensus pledge of 30% of circulating supply times the sector's share of network
    power) and "Termination fee" (the expected reward of up to 90 days: 20 days plus half a day per day of
    age, capped at 140 days of age); Akash and other Cosmos chains unbond stake in 21 days. Entrants buy
    their stake on the market when their hardware arrives; it sits in the ``locked`` account (outside
    circulating supply) while they serve and in ``unbonding`` after they leave, then returns to them.
    """

    mode: Literal["none", "fixed", "pledge"] = Field("none", description="What a provider locks.")
    tokens_per_provider: NonNeg = Field(0.0, description="fixed: tokens each provider locks, tokens.")
    pledge_reward_days: NonNeg = Field(
        20.0, description="pledge: days of the provider's expected reward locked (Filecoin storage pledge: 20), days."
    )
    pledge_circulating_share: Share = Field(
        0.3, description="pledge: share of circulating supply locked in proportion to the provider's share of "
        "network capacity (Filecoin consensus pledge: 0.3), fraction."
    )
    commitment_days: NonNeg = Field(
        180.0, description="Days a provider commits to serve after arrival; leaving earlier costs the "
        "termination fee (Filecoin sectors: 180 to 540), days."
    )
    termination_fee_days: NonNeg = Field(
        90.0, description="Days of the provider's current reward burned from its stake when it leaves before "
        "the commitment ends (Filecoin: up to 90), days."
    )
    unbonding_days: NonNeg = Field(
        21.0, le=3650, description="Days between leaving and getting the rest of the stake back (Cosmos/Akash: "
        "21), days."
    )
    slash_rate_per_year: NonNeg = Field(
        0.0, le=1e3, description="Hazard per year at which locked stake is slashed (burned) while the network's "
        "service quality is below slash_quality_threshold, 1/year (0 = no slashing)."
    )
    slash_quality_threshold: Share = Field(
        0.9, description="Service quality (share of demand served) below which stake is slashed, fraction."
    )


class SpaceParams(Frozen):
    """Where providers and users are: coverage in space for the wireless and sensor sectors.

    The ABM places providers and users uniformly on a square torus divided into cells; a provider covers the
    cells whose centre is within ``coverage_radius_km``; rewards are split by the coverage each adds
    (overlapping coverage earns less, Helium HIP-15 / HIP-17 transmit scaling) and users are served only in
    covered cells. The aggregate engines use the mean field of the same rule, the Poisson covered share
    ``1 - exp(-n pi r^2 / area)`` (``models.mechanisms.coverage``). Storage, compute and AI switch it off.
    """

    enabled: StrictBool = Field(False, description="Coverage in space on (wireless, sensor) or off.")
    area_km2: Float = Field(
        2500.0, gt=0, description="Area the network and its users occupy, km^2 (assumption: a 50 km x 50 km city)."
    )
    coverage_radius_km: Float = Field(
        1.5, gt=0, description="Radius one provider covers, km (Helium LoRa hotspot in a city: 1-3 km)."
    )
    grid_cells: Population = Field(
        128, ge=4, le=2048, description="ABM: cells per side of the coverage grid (resolution), count."
    )
