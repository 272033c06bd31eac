"""Scenario parameters: a pydantic schema with units and sources, and YAML loading with clear errors.

Every block of the economy in DESIGN.md is a frozen pydantic model. Unknown keys, wrong types,
out-of-range values, non-finite numbers (``inf``, ``nan``, also as strings) and booleans given for
numbers are rejected with the file, the dotted field path and what is allowed, on one line (see
:mod:`models.param_io`). Defaults describe a plausible generic DePIN (a wireless network in the style
of Helium, at toy scale).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from models.mechanisms.amm import price_ratio_after_sale, tokens_for_price_drop
from models.param_blocks import (
    EmissionParams,
    Frozen,
    MarketParams,
    PaymentParams,
    RegimeParams,
    ShockEvent,
    SimulationParams,
    SpeculatorParams,
    TokenParams,
    TreasuryParams,
    UserParams,
    VestingAllocation,
    VestingParams,
)
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
from models.param_providers import ProviderParams, SpaceParams, StakeParams

__all__ = [
    "ABM_BYTES_PER_AGENT", "MAX_ABM_AGENTS", "MAX_POPULATION", "SAFE_NAME_PATTERN", "SAFE_NAME_RULE", "Float", "Frozen",
    "Int", "NonNeg", "ParameterError", "Population", "SafeName", "Scenario", "Seed", "Share", "ShockEvent",
    "VestingAllocation", "abm_agents",
    "check_engine_limits", "field_error", "format_validation_error", "load_scenario", "read_yaml",
    "scenario_from_dict", "with_overrides",
]


class Scenario(Frozen):
    """A complete DePIN economy."""

    name: SafeName = Field("base", description=f"Scenario label, used in result paths: {SAFE_NAME_RULE}.")
    sector: str = Field("wireless", description="DePIN sector (wireless, storage, compute, ...).")
    simulation: SimulationParams = SimulationParams()
    token: TokenParams = TokenParams()
    emission: EmissionParams = EmissionParams()
    payment: PaymentParams = PaymentParams()
    market: MarketParams = MarketParams()
    treasury: TreasuryParams = TreasuryParams()
    providers: ProviderParams = ProviderParams()
    stake: StakeParams = StakeParams()
    space: SpaceParams = SpaceParams()
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

    @property
    def horizon_days(self) -> float:
        """Days covered by the run: steps x dt_days."""
        return self.simulation.steps * self.simulation.dt_days

    def _shock_problems(self) -> list[tuple[str, str]]:
        horizon, found = self.horizon_days, []
        for i, shock in enumerate(self.shocks):
            if shock.start_day >= horizon:
                found.append((f"shocks.{i}.start_day", f"day {shock.start_day:g} is beyond the horizon of "
                              f"{horizon:g} days (allowed: 0 to below steps x dt_days = {horizon:g})"))
            elif shock.start_day + shock.start_jitter_days >= horizon:
                latest = shock.start_day + shock.start_jitter_days
                found.append((f"shocks.{i}.start_jitter_days",
                              f"the shock may start as late as day {latest:g}, beyond the horizon of {horizon:g} "
                              "days, so in some replicates it never happens (allowed: start_day + "
                              f"start_jitter_days < {horizon:g}, i.e. jitter < {horizon - shock.start_day:g})"))
            elif shock.type == "price_crash":
                found.extend(self._crash_problem(i, shock))
        return found

    def _crash_problem(self, i: int, shock: ShockEvent) -> list[tuple[str, str]]:
        """A forced sale that cannot reach its size even against the genesis pool is an error.

        The pool's token side when the crash comes is not known in advance; liquidity providers keep
        pool depth near a share of market capitalisation, so in tokens it stays near its genesis
        level. A shortfall found only at run time is a warning in the run's summary.
        """
        pool_tokens = self.market.liquidity_usd / self.market.initial_price_usd
        needed = float(tokens_for_price_drop(pool_tokens, shock.size, self.market.fee))
        if shock.inventory_tokens + 1e-9 * needed < needed:
            achievable = 1.0 - float(price_ratio_after_sale(pool_tokens, shock.inventory_tokens, self.market.fee))
            return [(f"shocks.{i}.inventory_tokens",
                     f"price_crash of size {shock.size:g} by {shock.actor_name!r} needs about {needed:,.0f} tokens "
                     f"sold into the genesis pool of {pool_tokens:,.0f} tokens, but the seller holds "
                     f"{shock.inventory_tokens:,.0f}, enough for a drop of {achievable:.3g} (allowed: "
                     f"inventory_tokens >= {needed:,.0f}, or a smaller size)")]
        return []

    def _genesis_stake(self) -> float:
        """Tokens the initial providers lock at step 0 (as ``models.sd.supply.genesis_stake_each`` computes it)."""
        n0, st = self.providers.initial_active, self.stake
        if st.mode == "fixed":
            return n0 * st.tokens_per_provider
        if st.mode == "pledge" and n0:
            reward_day = self.emission.initial_tokens_per_year * self.emission.provider_share / 365.0
            circulating0 = self.token.initial_supply - self.market.liquidity_usd / self.market.initial_price_usd - sum(
                a.tokens for a in self.vesting.allocations)
            return st.pledge_reward_days * reward_day + st.pledge_circulating_share * circulating0
        return 0.0

    def _stock_problems(self) -> list[tuple[str, str]]:
        found = []
        vested = sum(a.tokens for a in self.vesting.allocations)
        pool_tokens = self.market.liquidity_usd / self.market.initial_price_usd
        spec_tokens = self.simulation.speculators * self.speculators.initial_tokens
        actors = sum(s.inventory_tokens for s in self.shocks)
        held = vested + pool_tokens + spec_tokens + actors
        if held > self.token.initial_supply:
            found.append(("token.initial_supply", f"{self.token.initial_supply:,.0f} tokens is smaller than vesting + "
                          f"pool + speculator + shock-actor tokens (allowed: >= {held:,.0f})"))
        locked0 = self._genesis_stake()
        float0 = self.token.initial_supply - held
        if locked0 > 0 and held <= self.token.initial_supply and locked0 > float0:
            found.append((f"stake.{'tokens_per_provider' if self.stake.mode == 'fixed' else 'mode'}",
                          f"the {self.providers.initial_active} initial providers lock {locked0:,.0f} tokens at "
                          f"genesis, more than the {float0:,.0f} tokens of the outside float they buy them from "
                          f"(allowed: a stake or pledge of at most {float0:,.0f} tokens in all)"))
        market0 = self.simulation.potential_users * self.users.initial_market_share
        if self.users.initial_users > market0:
            found.append(("users.initial_users", f"{self.users.initial_users} exceeds the potential market at step 0 "
                          f"(allowed: <= potential_users x initial_market_share = {market0:.6g})"))
        if self.providers.initial_active > self.simulation.potential_providers:
            found.append(("providers.initial_active", f"{self.providers.initial_active} exceeds the pool of "
                          f"potential providers (allowed: <= simulation.potential_providers = "
                          f"{self.simulation.potential_providers})"))
        lead_steps = round(self.providers.lead_time_days / self.simulation.dt_days)
        if lead_steps > 5200:
            found.append(("providers.lead_time_days", f"{lead_steps} steps of shipping at dt_days "
                          f"{self.simulation.dt_days:g} (allowed: at most 5200 steps)"))
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
