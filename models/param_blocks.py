"""The parameter blocks of a scenario: units in every name or description, a source or "assumption".

Time never enters as "per step": rates are per year (or per day where the unit says so), durations are
in days or years, and :mod:`models.timebase` converts them with ``simulation.dt_days`` in one place, so
the same scenario at daily and weekly steps tells the same story. Defaults describe a generic early
wireless DePIN in the style of Helium, at toy scale.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.param_io import Float, Int, NonNeg, Population, Seed, Share, field_error


class Frozen(BaseModel):
    """Base for every parameter block: unknown keys and inf/nan rejected, immutable after load."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)


class SimulationParams(Frozen):
    """Time grid, seed and population sizes."""

    steps: Int = Field(260, ge=1, le=20000, description="Horizon in steps (260 weekly steps = 5 years).")
    dt_days: Float = Field(7.0, gt=0, le=365, description="Days per step (7 = weekly, 1 = daily).")
    start_date: dt.date | None = Field(None, description="Calendar date of step 0 (ISO date); None = undated.")
    seed: Seed = Field(42, description="Root seed for numpy.random.SeedSequence.")
    potential_providers: Population = Field(
        1000, ge=1, description="Size of the pool of possible providers (agents in the ABM), count."
    )
    potential_users: Population = Field(
        5000, ge=1, description="Largest potential user market over the horizon (agents in the ABM), count."
    )
    speculators: Population = Field(200, ge=0, description="Number of speculator agents (ABM), count.")
    cost_cohorts: Int = Field(
        5, ge=1, le=50, description="Aggregate engines: opex quantile cohorts that stand for cost heterogeneity."
    )
    patience_cohorts: Int = Field(
        5, ge=1, le=20, description="Aggregate engines: exit-patience quantile cohorts within each cost cohort."
    )
    expectation_cohorts: Int = Field(
        1, ge=1, le=20, description="Aggregate engines: adaptive expectation half-life quantile cohorts (one more "
        "cohort holds the forward-looking providers)."
    )
    vintage_days: Float = Field(
        28.0, gt=0, le=3650, description="Aggregate engines: arrivals within this many days share a vintage, "
        "which keeps its own loss streak, margin average and age until it merges into the mature cohort, days."
    )
    vintages: Int = Field(
        7, ge=0, le=200, description="Aggregate engines: young vintages kept apart before merging (merge age = "
        "vintages x vintage_days; 0 = arrivals merge at once), count."
    )


class TokenParams(Frozen):
    """Genesis supply and its cap."""

    initial_supply: NonNeg = Field(
        20e6, description="Tokens in existence at step 0 (pool, speculators, vesting, shock actors, float), tokens."
    )
    max_supply: Float | None = Field(
        None, gt=0, description="Hard cap on total minted supply, tokens; None = uncapped (Helium: 223 M)."
    )


class EmissionParams(Frozen):
    """Token issuance schedule. Sources: Helium HIP-20 (halving), Filecoin reward actor (decay, baseline)."""

    schedule: Literal["constant", "halving", "exponential_decay", "baseline"] = Field(
        "halving", description="Issuance rule."
    )
    initial_tokens_per_year: NonNeg = Field(
        1.0428571e6, description="Issuance rate at step 0, tokens/year (Helium at launch: 60 M HNT/year; "
        "toy scale here, assumption)."
    )
    halving_period_years: Float = Field(2.0, gt=0, description="Years between halvings (Helium HIP-20: 2).")
    half_life_years: Float = Field(6.0, gt=0, description="Exponential decay half-life, years (Filecoin: 6).")
    decay_total_tokens: NonNeg = Field(
        330e6, description="Total tokens the exponential schedule mints at t=inf (Filecoin simple: 330 M)."
    )
    baseline_total_tokens: NonNeg = Field(
        770e6, description="Baseline minting total at t=inf, tokens (Filecoin: 770 M FIL)."
    )
    baseline_simple_tokens: NonNeg = Field(
        0.0, description="baseline: simple minting minted alongside the baseline part, total tokens at t=inf, "
        "decaying with half_life_years (Filecoin reward actor: 330 M FIL simple + 770 M baseline; 0 = baseline "
        "only)."
    )
    baseline_initial_capacity: Float = Field(
        500.0, gt=0, description="Baseline capacity b0 at step 0, capacity units (Filecoin: 2.5057 EiB)."
    )
    baseline_growth_per_year: Float = Field(
        0.6931471805599453, ge=0, description="Baseline growth rate g, 1/year (Filecoin: ln 2, doubling)."
    )
    provider_share: Share = Field(
        0.9, description="Share of emission paid to providers; the rest goes to the treasury, fraction."
    )


class PaymentParams(Frozen):
    """How users pay. Sources: Helium data credits (bme), Akash take rate (fee)."""

    mode: Literal["bme", "fee"] = Field("bme", description="bme: burn-and-mint; fee: tokens to providers.")
    service_price_usd: NonNeg = Field(0.1, description="USD a user pays per service unit (assumption).")
    burn_share: Share = Field(
        1.0, description="bme: share of tokens bought with usage USD that is burned; the rest paid to providers."
    )
    take_rate: Share = Field(0.1, description="fee: share of usage tokens sent to the treasury, fraction.")


class MarketParams(Frozen):
    """The token market: a constant-product pool, its liquidity providers, the outside float, a crypto factor.

    Sources: Uniswap v2 whitepaper (pool, fee); the market factor's Student-t innovations follow the
    fat tails of crypto returns (Cont 2001, stylised facts); the outside float values the token at a
    market capitalisation that moves with the market factor and sentiment (assumption, documented in
    DESIGN.md). Default volatilities are calibrated so the base reproduces the shipped HNT and FIL
    weekly-return facts (benchmarks/stylised_facts.py).
    """

    initial_price_usd: Float = Field(0.04, gt=0, description="Token price at step 0, USD/token.")
    liquidity_usd: Float = Field(
        200e3, gt=0, description="USD side of the pool at step 0 (depth), USD; the token side is set by price."
    )
    fee: Float = Field(0.003, ge=0, lt=1, description="Swap fee, fraction of input (Uniswap v2: 0.003).")
    liquidity_target_share: Share | None = Field(
        None, description="Pool USD depth that liquidity providers aim for, as a share of market capitalisation; "
        "None = the genesis ratio, fraction."
    )
    liquidity_half_life_days: Float = Field(
        30.0, gt=0, description="Half-life of the gap between pool depth and its target, days (assumption)."
    )
    float_half_life_days: Float = Field(
        2.0, gt=0, description="Half-life of the gap between price and the outside holders' valuation, days "
        "(how fast the float trades; assumption, calibrated to the low autocorrelation of weekly returns)."
    )
    flow_information_share: Share = Field(
        0.5, description="Share of the price impact of other traders' net flows that outside holders take as "
        "news and keep in their valuation (Kyle 1985: order flow moves prices permanently because it may be "
        "informed); the rest they trade away, fraction (assumption)."
    )
    flow_memory_half_life_days: Float = Field(
        90.0, gt=0, description="Half-life over which outside holders forget the news in past flows, days "
        "(assumption)."
    )
    factor_drift_per_year: Float = Field(
        0.0, ge=-5, le=5, description="Drift of the log crypto-market factor, 1/year (assumption: none)."
    )
    factor_volatility_per_year: NonNeg = Field(
        0.8, le=5, description="Volatility of the log crypto-market factor, 1/sqrt(year) (BTC 2020-2023: ~0.6-0.8)."
    )
    factor_tail_df: Float = Field(
        3.0, gt=2, le=1000, description="Degrees of freedom of the factor's Student-t innovations (fat tails; "
        "large = normal), dimensionless."
    )
    sentiment_volatility: NonNeg = Field(
        0.35, le=5, description="Stationary std of token-specific sentiment (log valuation deviation), "
        "dimensionless (calibrated)."
    )
    sentiment_half_life_days: Float = Field(
        60.0, gt=0, description="Half-life of sentiment's mean reversion (Ornstein-Uhlenbeck), days (calibrated)."
    )


class TreasuryParams(Frozen):
    """The protocol treasury: what it receives (emission share, fee take rate) and what it does with it."""

    policy: Literal["hold", "buyback_burn", "add_liquidity"] = Field(
        "hold", description="hold: keep everything; buyback_burn: burn tokens and buy and burn with USD; "
        "add_liquidity: pair tokens with USD and deposit them in the pool."
    )
    spend_rate_per_year: NonNeg = Field(
        0.5, le=365, description="Share of treasury holdings deployed per year by the policy, 1/year (assumption)."
    )
    initial_usd: NonNeg = Field(0.0, description="USD the treasury holds at step 0 (e.g. raised funds), USD.")


class UserParams(Frozen):
    """Paying users: Bass (1969) diffusion scaled by quality and price. Source: AWS S3 ~$23.5/TiB-month."""

    initial_users: Population = Field(50, ge=0, description="Users at step 0, count.")
    initial_market_share: Share = Field(
        0.3, description="Share of potential_users in the market at step 0; the rest arrive by growth."
    )
    market_growth_per_year: NonNeg = Field(0.5, description="Growth of the potential market, fraction/year.")
    bass_innovation_per_year: NonNeg = Field(0.5, le=1e3, description="Bass p: spontaneous adoption, 1/year.")
    bass_imitation_per_year: NonNeg = Field(4.0, le=1e3, description="Bass q: adoption by imitation, 1/year.")
    usage_per_user: Float = Field(
        0.05, gt=0, description="Service units one user demands per day, units/day (assumption)."
    )
    quality_elasticity: NonNeg = Field(1.0, description="Exponent on service quality in adoption.")
    alternative_price_usd: Float = Field(
        0.3, gt=0, description="Centralised alternative's price per service unit, USD (S3 for storage; "
        "assumption for the generic base)."
    )
    price_elasticity: NonNeg = Field(2.0, description="Exponent on alternative/network price in adoption.")
    wtp_dispersion: NonNeg = Field(
        0.0, le=3, description="ABM: log-normal sigma of each user's alternative price (0 = identical)."
    )
    base_churn_per_year: NonNeg = Field(0.25, le=1e3, description="Users leaving whatever happens, 1/year.")
    quality_churn_per_year: NonNeg = Field(
        10.0, le=1e3, description="Extra churn hazard per unit of unmet demand, 1/year."
    )


class SpeculatorParams(Frozen):
    """Traders with Brock-Hommes (1998) strategy switching on risk-adjusted fitness.

    Each strategy sets a target share of wealth in tokens in [0, 1] from a signal in [-1, 1]; traders
    move toward it with a half-life, so trading is the same per day at any step length.
    """

    budget_usd: NonNeg = Field(250.0, description="Mean USD cash per speculator at step 0, USD.")
    initial_tokens: NonNeg = Field(2500.0, description="Mean tokens per speculator at step 0, tokens.")
    trade_half_life_days: Float = Field(
        3.0, gt=0, description="Half-life of the gap between held and target token share, days (assumption)."
    )
    discount_rate_per_year: Float = Field(
        0.4, gt=0, le=10, description="Fundamentalists' required return (Gordon growth model), 1/year (assumption)."
    )
    max_revenue_multiple: Float = Field(
        50.0, gt=0, description="Cap on the value-to-annual-revenue multiple fundamentalists pay, years."
    )
    growth_half_life_days: Float = Field(
        90.0, gt=0, description="Smoothing half-life of usage revenue and its growth rate, days."
    )
    fundamentalist_strength: NonNeg = Field(2.0, description="Signal per unit of log mispricing.")
    trend_strength: NonNeg = Field(3.0, description="Signal per unit of log price above its moving average.")
    trend_half_life_days: Float = Field(14.0, gt=0, description="Half-life of the trend's moving average, days.")
    noise_sigma: NonNeg = Field(0.5, description="Std of the noise traders' signal, dimensionless.")
    intensity_of_choice: NonNeg = Field(
        2.0, description="Brock-Hommes beta: switching sharpness per unit of risk-adjusted fitness."
    )
    fitness_half_life_days: Float = Field(30.0, gt=0, description="Half-life of strategy fitness memory, days.")
    volatility_half_life_days: Float = Field(
        30.0, gt=0, description="Half-life of the return-variance estimate that risk-adjusts fitness, days."
    )
    prior_volatility_per_year: Float = Field(
        0.5, gt=0, le=10, description="Volatility traders assume on top of what they measure when they "
        "risk-adjust fitness, 1/sqrt(year) (a token is never riskless to them; assumption)."
    )
    sentiment_strength: NonNeg = Field(0.5, description="Signal added per unit of market sentiment.")
    initial_shares: tuple[Share, Share, Share] = Field(
        (0.4, 0.3, 0.3), description="Initial (fundamentalist, trend, noise) shares; must sum to 1."
    )

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> SpeculatorParams:
        if abs(sum(self.initial_shares) - 1.0) > 1e-9:
            raise field_error("initial_shares", f"the three shares must sum to 1, got {sum(self.initial_shares):.6g}")
        return self


class VestingAllocation(Frozen):
    """One team or investor allocation with a cliff and linear unlock; its holders sell a share of unlocks."""

    name: str = Field("team", description="Label.")
    tokens: NonNeg = Field(0.0, description="Tokens in the allocation (part of initial_supply).")
    cliff_days: NonNeg = Field(364.0, description="Days before anything unlocks.")
    vesting_days: Float = Field(728.0, gt=0, description="Days from the cliff to fully unlocked.")
    sell_share: Share = Field(
        0.5, description="Share of each unlock sold on the market at once; the rest joins the float, fraction."
    )


class VestingParams(Frozen):
    """All locked allocations."""

    allocations: tuple[VestingAllocation, ...] = Field(
        (
            VestingAllocation(name="team", tokens=1.5e6, cliff_days=364, vesting_days=1092, sell_share=0.3),
            VestingAllocation(name="investors", tokens=2e6, cliff_days=364, vesting_days=728, sell_share=0.5),
        ),
        description="Allocations with cliff and linear unlock.",
    )


ShockType = Literal[
    "price_crash", "bear_market", "liquidity_drain", "unlock_cliff", "demand_drop", "cost_spike", "price_path"
]
TRADING_SHOCKS = ("price_crash", "price_path")


class ShockEvent(Frozen):
    """One event. Shocks that move the price name who trades and with what inventory."""

    type: ShockType = Field(description="Kind of event.")
    start_day: NonNeg = Field(description="Day the event starts (step = floor(day / dt_days)).")
    size: Float = Field(
        0.5,
        ge=0,
        description=(
            "price_crash: price drop the forced seller aims for; liquidity_drain: share of the pool withdrawn; "
            "demand_drop: share of the market lost; unlock_cliff: share of unvested tokens unlocked (all < 1); "
            "bear_market: fall of the market factor over the duration (< 1); cost_spike: relative opex increase."
        ),
    )
    duration_days: Float = Field(7.0, gt=0, description="Days the event lasts (at least one step).")
    start_jitter_days: NonNeg = Field(0.0, description="Start drawn uniformly in [start, start + jitter], days.")
    actor: str = Field("", description="Who trades (price_crash: the forced seller; price_path: the arbitrageur).")
    inventory_tokens: NonNeg = Field(
        0.0, description="price_crash / price_path: tokens the actor holds at step 0 (part of initial_supply)."
    )
    path: tuple[Float, ...] = Field(
        (), description="price_path: price relative to the price at start, one value per path_interval_days."
    )
    path_interval_days: Float = Field(7.0, gt=0, description="price_path: days between path values.")
    revert_after_days: NonNeg | None = Field(
        None, description="bear_market: days after the fall is complete at which the market factor starts to climb "
        "back; it regains the whole fall, evenly in logs, over another duration_days (None = never: the factor is a "
        "random walk and keeps the shift). Used to ask whether the network returns when the price does."
    )
    path_unit: Literal["relative", "usd"] = Field(
        "relative", description="price_path: `relative` = path values multiply the pool price when the path "
        "starts; `usd` = path values are target prices in USD/token (a replayed history, `depin replay`)."
    )

    @model_validator(mode="after")
    def _check(self) -> ShockEvent:
        fractions = ("price_crash", "liquidity_drain", "demand_drop", "unlock_cliff", "bear_market")
        if self.type in fractions and self.size >= 1:
            raise field_error("size", f"for {self.type} the size is a fraction removed, got {self.size:g} "
                                      "(allowed: >= 0 and < 1)")
        if self.type == "price_path" and not self.path:
            raise field_error("path", "price_path needs a non-empty path of prices relative to the start price")
        if self.type == "price_path" and min(self.path) <= 0:
            raise field_error("path", f"path prices must be positive, got {min(self.path):g} (allowed: > 0)")
        if self.revert_after_days is not None and self.type != "bear_market":
            raise field_error("revert_after_days", f"only a bear_market reverts, not {self.type} (allowed: leave it "
                              "out)")
        if self.type not in TRADING_SHOCKS and self.inventory_tokens > 0:
            raise field_error("inventory_tokens", f"{self.type} has no trading actor (allowed: 0; only "
                              "price_crash and price_path trade)")
        return self

    @property
    def actor_name(self) -> str:
        """The named trading actor (a default per type when not given)."""
        return self.actor or {"price_crash": "forced_seller", "price_path": "arbitrageur"}.get(self.type, "")


class RegimeParams(Frozen):
    """Thresholds that classify a run (DESIGN.md, Regimes)."""

    collapse_level: Share = Field(0.5, description="Below this share of the reference level = fallen.")
    recovery_level: Float = Field(0.8, gt=0, description="Ending at or above this share = recovered.")
    growth_level: Float = Field(1.1, gt=0, description="Ending above this share without falling = growth.")
    recovery_window_days: Float = Field(182.0, gt=0, description="No rise over this window = not recovering, days.")
    recovery_min_rise: NonNeg = Field(
        0.05, description="Rise of the level over the recovery window, as a share of the reference level, that counts "
        "as recovering: a network at 15% of its reference that gains 1.5 points in half a year, or one at 0.1% that "
        "doubles, is not recovering, fraction (assumption: at 5 points a half-year, 5 years back from 0 to 50%)."
    )
    reference_day: NonNeg = Field(364.0, description="Pre-shock reference day when there is no shock, days.")
