"""Scenario parameters: a pydantic schema with units and sources, and YAML loading with clear errors.

Every block of the economy in DESIGN.md is a frozen pydantic model. Unknown keys, wrong types,
out-of-range values, non-finite numbers (``inf``, ``nan``, also as strings) and booleans given for
numbers are rejected with the file, the dotted field path and what is allowed, on one line (see
:mod:`models.param_io`). Defaults describe a plausible generic DePIN (a wireless network in the style
of Helium, at toy scale).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from models.param_io import (
    ABM_BYTES_PER_AGENT,
    MAX_ABM_AGENTS,
    MAX_POPULATION,
    SAFE_NAME_PATTERN,
    SAFE_NAME_RULE,
    Float,
    Int,
    NonNeg,
    ParameterError,
    Population,
    SafeName,
    Seed,
    Share,
    field_error,
    format_validation_error,
    one_line,
    read_yaml,
)

__all__ = [
    "ABM_BYTES_PER_AGENT", "MAX_ABM_AGENTS", "MAX_POPULATION", "SAFE_NAME_PATTERN", "SAFE_NAME_RULE", "Float", "Frozen",
    "Int", "NonNeg", "ParameterError", "Population", "SafeName", "Scenario", "Seed", "Share", "abm_agents",
    "check_engine_limits", "field_error", "format_validation_error", "load_scenario", "read_yaml",
    "scenario_from_dict", "with_overrides",
]


class Frozen(BaseModel):
    """Base for every parameter block: unknown keys and inf/nan rejected, immutable after load."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)


class SimulationParams(Frozen):
    """Time grid, seed and population sizes."""

    steps: Int = Field(260, ge=1, le=5200, description="Horizon in steps (260 weekly steps = 5 years).")
    dt_days: Float = Field(7.0, gt=0, description="Days per step (7 = weekly).")
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


class TokenParams(Frozen):
    """Genesis supply and where it sits."""

    initial_supply: NonNeg = Field(
        20e6, description="Tokens in existence at step 0 (pool, speculators, vesting), tokens."
    )
    max_supply: Float | None = Field(
        None, gt=0, description="Hard cap on total minted supply, tokens; None = uncapped (Helium: 223 M)."
    )


class EmissionParams(Frozen):
    """Token issuance schedule. Sources: Helium HIP-20 (halving), Filecoin reward actor (decay, baseline)."""

    schedule: Literal["constant", "halving", "exponential_decay", "baseline"] = Field(
        "halving", description="Issuance rule."
    )
    initial_tokens_per_step: NonNeg = Field(
        20e3, description="Tokens minted in the first step (Helium, at its scale: 5 M HNT/month ~ 1.15 M/week)."
    )
    halving_period_steps: Int = Field(104, ge=1, description="Steps between halvings (Helium: 2 years).")
    half_life_years: Float = Field(6.0, gt=0, description="Exponential decay half-life, years (Filecoin: 6).")
    decay_total_tokens: NonNeg = Field(
        330e6, description="Total tokens the exponential schedule mints at t=inf (Filecoin simple: 330 M)."
    )
    baseline_total_tokens: NonNeg = Field(
        770e6, description="Baseline minting total at t=inf, tokens (Filecoin: 770 M FIL)."
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
    service_price_usd: NonNeg = Field(0.8, description="USD a user pays per service unit.")
    burn_share: Share = Field(
        1.0, description="bme: share of tokens bought with usage USD that is burned; the rest paid to providers."
    )
    take_rate: Share = Field(0.1, description="fee: share of usage tokens sent to the treasury, fraction.")


class MarketParams(Frozen):
    """Constant-product AMM token/USD through which every flow trades."""

    initial_price_usd: Float = Field(0.04, gt=0, description="Token price at step 0, USD/token.")
    liquidity_usd: Float = Field(
        200e3, gt=0, description="USD side of the pool at step 0 (depth), USD; the token side is set by price."
    )
    fee: Float = Field(0.003, ge=0, lt=1, description="Swap fee, fraction of input (Uniswap v2: 0.003).")


class ProviderParams(Frozen):
    """Hardware providers: costs, capacity, entry and exit. Source: Helium hotspot ~ $500 (2021)."""

    initial_active: Population = Field(100, ge=0, description="Providers active at step 0, count.")
    capex_usd: NonNeg = Field(500.0, description="Hardware cost per provider, USD (sunk once bought).")
    opex_usd_per_step: NonNeg = Field(6.0, description="Median operating cost per provider, USD/step.")
    opex_dispersion: NonNeg = Field(
        0.5, le=3, description="Log-normal sigma of opex across providers (0 = identical), dimensionless."
    )
    capacity_per_provider: Float = Field(10.0, gt=0, description="Service units one provider serves per step.")
    lead_time_steps: Int = Field(4, ge=0, le=104, description="Hardware shipping delay before serving, steps.")
    exit_patience_steps: Int = Field(
        5, ge=1, description="Consecutive negative-margin steps before a provider considers leaving, steps."
    )
    exit_rate_when_unprofitable: Share = Field(
        0.25, description="Per-step chance an out-of-patience provider leaves, fraction/step."
    )
    hardware_lifetime_steps: Float = Field(
        260.0, gt=1, description="Mean hardware lifetime; failures are a constant hazard 1/lifetime, steps."
    )
    sell_share: Share = Field(
        0.25, description="Share of token rewards sold at once (at least enough to cover opex), fraction."
    )
    payback_threshold_steps: Float = Field(
        52.0, gt=0, description="Payback period at which half the maximum entry rate is reached, steps."
    )
    entry_max_rate: Share = Field(0.03, description="Largest share of remaining pool entering per step.")
    entry_steepness: Float = Field(4.0, gt=0, description="Slope of the logistic entry curve, dimensionless.")
    word_of_mouth: NonNeg = Field(
        1.0, description="Entry boost per unit of active share of the pool (imitation), dimensionless."
    )
    price_expectation_adaptation: Share = Field(
        0.1, description="Adaptive expectation weight on the latest price (lagged beliefs), fraction/step."
    )


class UserParams(Frozen):
    """Paying users: Bass diffusion scaled by quality and price. Source: AWS S3 ~ $23.5/TiB-month anchor."""

    initial_users: Population = Field(50, ge=0, description="Users at step 0, count.")
    initial_market_share: Share = Field(
        0.3, description="Share of potential_users in the market at step 0; the rest arrive by growth."
    )
    market_growth_per_year: NonNeg = Field(0.5, description="Growth of the potential market, fraction/year.")
    bass_innovation: Share = Field(0.01, description="Bass p: spontaneous adoption, fraction/step.")
    bass_imitation: Share = Field(0.08, description="Bass q: adoption by imitation, fraction/step.")
    usage_per_user: Float = Field(2.0, gt=0, description="Service units one user demands per step.")
    quality_elasticity: NonNeg = Field(1.0, description="Exponent on service quality in adoption.")
    alternative_price_usd: Float = Field(
        1.3, gt=0, description="Centralised alternative's price per service unit, USD (S3 for storage)."
    )
    price_elasticity: NonNeg = Field(2.0, description="Exponent on alternative/network price in adoption.")
    wtp_dispersion: NonNeg = Field(
        0.0, le=3, description="ABM: log-normal sigma of each user's alternative price (0 = identical)."
    )
    base_churn: Share = Field(0.005, description="Users leaving per step whatever happens, fraction/step.")
    quality_churn: Share = Field(0.2, description="Extra churn per unit of unmet demand, fraction/step.")


class SpeculatorParams(Frozen):
    """Heterogeneous traders with Brock-Hommes (1998) strategy switching."""

    budget_usd: NonNeg = Field(250.0, description="Mean USD cash per speculator at step 0, USD.")
    initial_tokens: NonNeg = Field(2500.0, description="Mean tokens per speculator at step 0, tokens.")
    max_order_share: Share = Field(
        0.02, description="Largest share of a speculator's wealth traded in one step, fraction."
    )
    revenue_multiple_years: NonNeg = Field(
        20.0, description="Fundamental value = this many years of usage revenue per circulating token."
    )
    fundamentalist_strength: NonNeg = Field(1.0, description="Order per unit relative mispricing.")
    trend_strength: NonNeg = Field(2.0, description="Order per unit of last step's relative price change.")
    noise_sigma: NonNeg = Field(0.3, description="Std of noise-trader order signal, dimensionless.")
    intensity_of_choice: NonNeg = Field(
        20.0, description="Brock-Hommes beta: switching sharpness per unit of strategy fitness."
    )
    fitness_memory: Share = Field(0.8, description="Weight on past fitness when updating strategy fitness.")
    sentiment_strength: NonNeg = Field(0.5, description="Order added per unit of market sentiment.")
    sentiment_persistence: Share = Field(0.95, description="AR(1) coefficient of market sentiment.")
    sentiment_sigma: NonNeg = Field(0.05, description="Std of sentiment innovations per step.")
    initial_shares: tuple[Share, Share, Share] = Field(
        (0.4, 0.3, 0.3), description="Initial (fundamentalist, trend, noise) shares; must sum to 1."
    )

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> SpeculatorParams:
        if abs(sum(self.initial_shares) - 1.0) > 1e-9:
            raise field_error("initial_shares", f"the three shares must sum to 1, got {sum(self.initial_shares):.6g}")
        return self


class VestingAllocation(Frozen):
    """One team or investor allocation with a cliff and linear unlock."""

    name: str = Field("team", description="Label.")
    tokens: NonNeg = Field(0.0, description="Tokens in the allocation (part of initial_supply).")
    cliff_steps: Int = Field(52, ge=0, description="Steps before anything unlocks.")
    vesting_steps: Int = Field(104, ge=1, description="Steps from the cliff to fully unlocked.")
    sell_share: Share = Field(0.5, description="Share of each unlock sold on the market at once.")


class VestingParams(Frozen):
    """All locked allocations."""

    allocations: tuple[VestingAllocation, ...] = Field(
        (
            VestingAllocation(name="team", tokens=1.5e6, cliff_steps=52, vesting_steps=156, sell_share=0.3),
            VestingAllocation(name="investors", tokens=2e6, cliff_steps=52, vesting_steps=104, sell_share=0.5),
        ),
        description="Allocations with cliff and linear unlock.",
    )


ShockType = Literal[
    "price_crash", "bear_market", "liquidity_drain", "unlock_cliff", "demand_drop", "cost_spike", "price_path"
]


class ShockEvent(Frozen):
    """One exogenous event."""

    type: ShockType = Field(description="Kind of event.")
    start: Int = Field(ge=0, description="Step the event starts.")
    size: Float = Field(
        0.5,
        ge=0,
        description=(
            "price_crash/liquidity_drain/demand_drop/unlock_cliff: fraction removed or unlocked (<1); "
            "bear_market: sentiment shift during the event; cost_spike: relative opex increase."
        ),
    )
    duration: Int = Field(1, ge=1, description="Steps the event lasts.")
    start_jitter_steps: Int = Field(0, ge=0, description="Start drawn uniformly in [start, start+jitter].")
    path: tuple[Float, ...] = Field(
        (), description="price_path: price relative to the price at start, one value per step."
    )

    @model_validator(mode="after")
    def _check(self) -> ShockEvent:
        if self.type in ("price_crash", "liquidity_drain", "demand_drop", "unlock_cliff") and self.size >= 1:
            raise field_error("size", f"for {self.type} the size is a fraction removed, got {self.size:g} "
                                      "(allowed: >= 0 and < 1)")
        if self.type == "price_path" and not self.path:
            raise field_error("path", "price_path needs a non-empty path of prices relative to the start price")
        if self.type == "price_path" and min(self.path) <= 0:
            raise field_error("path", f"relative prices must be positive, got {min(self.path):g} (allowed: > 0)")
        return self


class RegimeParams(Frozen):
    """Thresholds that classify a run (DESIGN.md, Regimes)."""

    collapse_level: Share = Field(0.5, description="Below this share of the pre-shock level = fallen.")
    recovery_level: Float = Field(0.8, gt=0, description="Ending at or above this share = recovered.")
    growth_level: Float = Field(1.1, gt=0, description="Ending above this share without falling = growth.")
    recovery_window_steps: Int = Field(26, ge=1, description="No rise over this window = not recovering.")
    reference_step: Int = Field(52, ge=0, description="Pre-shock reference step when there is no shock.")


class Scenario(Frozen):
    """A complete DePIN economy."""

    name: SafeName = Field("base", description=f"Scenario label, used in result paths: {SAFE_NAME_RULE}.")
    sector: str = Field("wireless", description="DePIN sector (wireless, storage, compute, ...).")
    simulation: SimulationParams = SimulationParams()
    token: TokenParams = TokenParams()
    emission: EmissionParams = EmissionParams()
    payment: PaymentParams = PaymentParams()
    market: MarketParams = MarketParams()
    providers: ProviderParams = ProviderParams()
    users: UserParams = UserParams()
    speculators: SpeculatorParams = SpeculatorParams()
    vesting: VestingParams = VestingParams()
    shocks: tuple[ShockEvent, ...] = Field((), description="Exogenous events.")
    regimes: RegimeParams = RegimeParams()

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        problems = [*self._shock_problems(), *self._stock_problems()]
        if problems:
            raise field_error(*problems[0]) if len(problems) == 1 else PydanticCustomError(
                "cross_field", "{problem}", {"field": "", "problem": "; ".join(f"{f}: {m}" for f, m in problems)})
        return self

    def _shock_problems(self) -> list[tuple[str, str]]:
        steps, found = self.simulation.steps, []
        for i, shock in enumerate(self.shocks):
            if shock.start >= steps:
                found.append((f"shocks.{i}.start", f"step {shock.start} is beyond the horizon of {steps} steps "
                              f"(allowed: 0 to {steps - 1}, simulation.steps - 1)"))
            elif shock.start + shock.start_jitter_steps >= steps:
                found.append((f"shocks.{i}.start_jitter_steps",
                              f"the shock may start as late as step {shock.start + shock.start_jitter_steps}, beyond "
                              f"the horizon of {steps} steps, so in some replicates it never happens (allowed: "
                              f"start + start_jitter_steps <= {steps - 1}, i.e. jitter <= {steps - 1 - shock.start})"))
        return found

    def _stock_problems(self) -> list[tuple[str, str]]:
        found = []
        vested = sum(a.tokens for a in self.vesting.allocations)
        pool_tokens = self.market.liquidity_usd / self.market.initial_price_usd
        spec_tokens = self.simulation.speculators * self.speculators.initial_tokens
        if vested + pool_tokens + spec_tokens > self.token.initial_supply:
            found.append(("token.initial_supply", f"{self.token.initial_supply:,.0f} tokens is smaller than vesting + "
                          f"pool + speculator tokens (allowed: >= {vested + pool_tokens + spec_tokens:,.0f})"))
        market0 = self.simulation.potential_users * self.users.initial_market_share
        if self.users.initial_users > market0:
            found.append(("users.initial_users", f"{self.users.initial_users} exceeds the potential market at step 0 "
                          f"(allowed: <= potential_users x initial_market_share = {market0:.6g})"))
        if self.providers.initial_active > self.simulation.potential_providers:
            found.append(("providers.initial_active", f"{self.providers.initial_active} exceeds the pool of "
                          f"potential providers (allowed: <= simulation.potential_providers = "
                          f"{self.simulation.potential_providers})"))
        return found


def scenario_from_dict(data: dict[str, Any], source: str = "<dict>") -> Scenario:
    """Validate a mapping into a frozen Scenario.

    Args:
        data: the parameter blocks.
        source: named at the start of an error message (usually the file).

    Raises:
        ParameterError: one line, ``source: field.path: problem (allowed: ...)``.
    """
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ParameterError(format_validation_error(source, exc, Scenario)) from exc


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario YAML file (see :func:`models.param_io.read_yaml` for what is refused)."""
    return scenario_from_dict(read_yaml(path), str(path))


def _step_into(node: Any, key: str, done: str, dotted: str) -> Any:
    """The child ``key`` of ``node`` on the way along ``dotted`` (``done`` is the part already walked)."""
    where = done or "the scenario"
    if isinstance(node, list):
        if not key.isdigit() or int(key) >= len(node):
            raise ParameterError(f"<overrides>: {dotted}: unknown parameter path ({where} is a list of "
                                 f"{len(node)} entries, indexed 0 to {len(node) - 1})")
        return node
    if isinstance(node, dict):
        if key not in node:
            raise ParameterError(f"<overrides>: {dotted}: unknown parameter path (no {key!r} in {where}; "
                                 f"allowed: {', '.join(node)})")
        return node
    raise ParameterError(f"<overrides>: {dotted}: unknown parameter path ({where} is a value, not a block)")


def with_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """Return a new validated scenario with dotted-path overrides (``providers.capex_usd: 800``).

    Raises:
        ParameterError: ``<overrides>: path: problem`` for an unknown path or an invalid result.
    """
    data = scenario.model_dump(mode="json")
    for dotted, value in overrides.items():
        node, keys = data, str(dotted).split(".")
        for depth, key in enumerate(keys):
            node = _step_into(node, key, ".".join(keys[:depth]), dotted)
            index = int(key) if isinstance(node, list) else key
            if depth == len(keys) - 1:
                node[index] = value
            else:
                node = node[index]
    return scenario_from_dict(data, "<overrides>")


def abm_agents(scenario: Scenario) -> int:
    """Agents the ABM creates: one per potential provider, potential user and speculator."""
    sim = scenario.simulation
    return sim.potential_providers + sim.potential_users + sim.speculators


def check_engine_limits(scenario: Scenario, engine: str, source: str, force: bool = False) -> None:
    """Refuse an ABM run too large for memory unless forced.

    Args:
        scenario: a validated scenario.
        engine: ``abm``, ``cadcad`` or ``batch`` (only ``abm`` has a limit; aggregate engines hold counts).
        source: the file named in the message.
        force: skip the check (``--force``).

    Raises:
        ParameterError: the agent count exceeds ``MAX_ABM_AGENTS``; names the largest population field.
    """
    total = abm_agents(scenario)
    if engine != "abm" or force or total <= MAX_ABM_AGENTS:
        return
    sim = scenario.simulation
    counts = {"potential_users": sim.potential_users, "potential_providers": sim.potential_providers,
              "speculators": sim.speculators}
    field = max(counts, key=counts.get)
    gb = total * ABM_BYTES_PER_AGENT / 1e9
    raise ParameterError(one_line(
        f"{source}: simulation.{field}: the abm engine creates one agent per potential user/provider/speculator; "
        f"{total:,} agents exceed the limit of {MAX_ABM_AGENTS:,} (about {gb:,.1f} GB of memory at "
        f"~{ABM_BYTES_PER_AGENT} bytes per agent); use --engine batch or cadcad, or --force"))
