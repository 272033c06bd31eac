"""Mesa engine: ``DePINModel`` steps the economy of ``models.sd.economy`` with individual agents.

The model runs the same blocks in the same order as the aggregate engines (``economy.BLOCKS``), on
the same token ledger (``models.ledger``, arrays of shape ``(1,)``) and the same pre-sampled exogenous
paths. Blocks with no agent-level content (emission, vesting, market shocks) and the speculators'
strategy beliefs are the aggregate blocks themselves; usage, provider earnings and moves, user moves
and speculator orders are taken agent by agent (vectorised over each population's column table).
Every flow of one kind is summed and cleared as one pool trade, as the aggregate engines do.
"""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd

from models import ledger
from models.abm.agents import ACTIVE, EXITED, PENDING, POTENTIAL, Provider, Speculator, User, split_fills
from models.abm.space import CoverageSpace
from models.exogenous import agent_rng, sample_exogenous, stack_exogenous
from models.mechanisms import amm, demand, payment, stake, supply_chain
from models.mechanisms import providers as provider_rules
from models.output import record, to_frame
from models.sd import economy
from models.sd.compile import compile_params

# keys of the aggregate state that the ABM holds on its agents instead
AGGREGATE_ONLY = ("active", "pending", "backlog", "loss_streak", "margin_average", "margin", "provider_tokens",
                  "age_days", "locked", "expected_price")


def _one(value) -> np.ndarray:
    """A scalar as a state array over one run."""
    return np.full(1, value, dtype=float)


class DePINModel(mesa.Model):
    """One run of the DePIN economy with Provider, User and Speculator agents.

    Attributes:
        scenario: the validated scenario.
        structure, P: compiled parameters (``models.sd.compile``), one run.
        exo: exogenous arrays of shape (1, steps), identical to the aggregate engines' for this seed.
        s: ledger and market state (arrays of shape (1,)), keys as in ``economy.initial_state``.
        tables: per agent type, the column arrays behind the agents' attributes.
        rows: recorded ``models.output.record`` rows, step 0 first.
    """

    def __init__(self, scenario, seq: np.random.SeedSequence):
        """Build agents and ledger for ``scenario``; ``seq`` is the run's seed sequence."""
        # agents draw from their own child of the run's seed, independent of the exogenous stream
        super().__init__(rng=int(agent_rng(seq).integers(2**63 - 1)))
        self.scenario = scenario
        self.structure, self.P = compile_params([scenario])
        self.exogenous = sample_exogenous(scenario, seq)
        self.exo = stack_exogenous([self.exogenous])
        self.exo_t = economy.exo_at(self.exo, 0)
        genesis = economy.initial_state(self.P, self.structure)
        # the aggregate genesis spreads the initial providers' stake over types; per provider it is one value
        self.genesis_stake_each = float(genesis["locked"].sum() / max(scenario.providers.initial_active, 1))
        self.s = {k: v for k, v in genesis.items() if k not in AGGREGATE_ONLY}
        self.s["provider_tokens"] = np.zeros(1)
        self.mean_margin = 0.0
        self.production_credit = 0.0
        self.entry_context: dict = {}
        self.lead_time_log: list[tuple[int, int, float]] = []  # (step, arrivals, mean realised lead time, days)
        self.tables: dict[str, dict[str, np.ndarray]] = {}
        sim = scenario.simulation
        self.providers = Provider.populate(self, Provider.initial_table(self, sim.potential_providers))
        self.users = User.populate(self, User.initial_table(self, sim.potential_users))
        self.speculators = Speculator.populate(self, Speculator.initial_table(self, sim.speculators))
        self.s["locked"] = _one(self.tables["providers"]["stake_tokens"].sum())
        self.s["mean_expected_price"] = _one(self.tables["providers"]["expected_price"].mean())
        # placed after every other draw, so switching space on leaves the non-spatial draws unchanged
        self.coverage = CoverageSpace(self, scenario.space) if scenario.space.enabled else None
        # the ABM runs the aggregate economy's blocks by name, so the step order cannot drift
        self.blocks = tuple((name, getattr(self, f"_{name}")) for name, _ in economy.BLOCKS)
        self.rows = [self.record_row(0)]

    # -- helpers read by the agents ---------------------------------------------------------------

    def price(self) -> float:
        """Current pool price, USD/token."""
        return float(amm.price(self.s["amm_tokens"], self.s["amm_usd"])[0])

    # -- the step ---------------------------------------------------------------------------------

    def step(self) -> None:
        """Advance one step through every block, then record the row."""
        t = self.steps - 1  # Mesa counts steps from 1 and increments before calling step
        self.exo_t = economy.exo_at(self.exo, t)
        for _, block in self.blocks:
            block(t)
        self.rows.append(self.record_row(t + 1))

    def _usage(self, t: int) -> None:
        """Adopters in the market demand service, served up to active capacity; USD buys tokens."""
        P, s = self.P, self.s
        market = demand.potential_market(
            t, P["simulation.potential_users"], P["users.initial_market_share"],
            P["users.market_growth_per_year"], self.structure.dt_days,
        ) * self.exo_t["demand_multiplier"]
        users = _one(User.fit_market(self, market))
        table = self.tables["providers"]
        active = table["state_code"] == ACTIVE
        capacity = _one(table["capacity"][active].sum())
        wanted = users * P["users.usage_per_user"]
        covered, area_share = 1.0, 1.0
        if self.coverage is not None:
            self.coverage.update(active)
            adopters = np.flatnonzero(self.tables["users"]["adopted"])
            covered = self.coverage.covered_users(adopters).mean() if len(adopters) else 0.0
            area_share = self.coverage.covered_share()
        served = demand.served_units(wanted * covered, capacity)
        revenue = payment.usage_revenue_usd(served * self.structure.dt_days, P["payment.service_price_usd"])
        changes, to_providers = ledger.pay_for_usage(s, P, revenue)
        changes.update(
            {
                "users": users, "potential_users": market, "capacity": capacity, "demand": wanted,
                "served": served, "quality": demand.service_quality(served, wanted), "revenue_usd": revenue,
                "reward_pool": to_providers, "coverage": _one(area_share),
            }
        )
        s.update(changes)

    def _emission(self, t: int) -> None:
        """Mint by schedule (the aggregate block: no agent content)."""
        self.s.update(economy.emit(self.P, self.structure, self.s, self.exo_t, t))

    def _providers_earn(self, t: int) -> None:
        """Rewards split by capacity into each provider's inventory; each decides its sale; one trade."""
        P, s = self.P, self.s
        table = self.tables["providers"]
        rows = np.flatnonzero(table["state_code"] == ACTIVE)
        p = self.price()
        pool, total_capacity = s["reward_pool"][0], s["capacity"][0]
        has_capacity = total_capacity > 0
        # rewards by capacity, scaled by the coverage each adds where space is on (overlap earns less)
        weight = table["capacity"][rows] * (self.coverage.overlap_weights(rows) if self.coverage else 1.0)
        # with nobody to pay, the provider reward pool stays with the protocol
        reward = pool * weight / weight.sum() if has_capacity else np.zeros(len(rows))
        margin = provider_rules.operating_margin_usd(reward, p, Provider.current_opex(self, rows))
        table["tokens"][rows] += reward
        sold = Provider.sell_amounts(self, rows, reward, p)
        table["tokens"][rows] = np.maximum(table["tokens"][rows] - sold, 0.0)
        usd, x, y = amm.sell_tokens(s["amm_tokens"], s["amm_usd"], _one(sold.sum()), P["market.fee"])
        table["margin_usd"][rows] = margin
        dt = self.structure.dt_days
        average = provider_rules.margin_average(table["margin_average"][rows], margin, dt, P["step.margin_weight"][0])
        table["margin_average"][rows] = average
        table["loss_streak"][rows] = provider_rules.loss_streak(table["loss_streak"][rows], average, dt)
        self.mean_margin = float(margin.mean()) if len(rows) else 0.0
        s.update({
            "amm_tokens": x, "amm_usd": y, "provider_tokens": _one(table["tokens"].sum()),
            "treasury": s["treasury"] + (0.0 if has_capacity else pool),
            "usd_out_total": s["usd_out_total"] + usd, "tokens_sold": _one(sold.sum()),
            "reward_per_provider": _one(pool / len(rows) if has_capacity else 0.0),
        })

    def _providers_move(self, t: int) -> None:
        """Expectations adapt; idle providers order, orders queue for production and ship; active ones may exit.

        The rules are the aggregate's (``models.sd.supply``) taken per agent: the first-come production
        queue serves whole units at the production rate; arrivals buy and lock their stake; leavers pay the
        termination fee if early and unbond the rest of their stake. Exited providers rejoin the idle pool
        (they may buy new hardware later), as the aggregate's remaining pool counts everyone neither active
        nor pending. A leaver sells ``exit_sale_share`` of its inventory and keeps the rest in the float.
        """
        P, s, dt, L = self.P, self.s, self.structure.dt_days, self.structure.lead_time
        table = self.tables["providers"]
        # the last closing price, as in the aggregate engines (models.sd.supply.providers_move)
        table["expected_price"] = provider_rules.update_expectation(table["expected_price"], float(s["price"][0]),
                                                                     table["expectation_weight"])
        state = table["state_code"]
        idle = np.flatnonzero((state == POTENTIAL) | (state == EXITED))
        active = np.flatnonzero(state == ACTIVE)
        pending = state == PENDING
        n_pending, backlog = np.count_nonzero(pending), np.count_nonzero(pending & ~table["produced"])
        self.entry_context = {
            "step": t, "active": _one(len(active)), "pipeline": _one(n_pending), "backlog": _one(backlog),
            "engaged_share": (len(active) + n_pending) / len(state),
        }
        lead_days = supply_chain.quoted_lead_time_days(_one(backlog), s["production_capacity"],
                                                       P["providers.lead_time_days"])
        queued = np.flatnonzero(pending & ~table["produced"])
        # only providers whose draw falls below the highest entry chance need their valuation
        draws = self.rng.random(len(idle))
        maybe = np.flatnonzero(draws < Provider.entry_cap(self))
        response = Provider.entry_responses(self, np.concatenate([idle[maybe], queued]))
        chance = Provider.entry_probabilities(self, idle[maybe], response[:len(maybe)])
        enter = idle[maybe[draws[maybe] < chance]]
        cancel = queued[self.rng.random(len(queued)) < Provider.cancel_probabilities(self, queued,
                                                                                      response[len(maybe):])]
        leave_p, fee_each = Provider.exit_probabilities(self, active, t)
        leaving = self.rng.random(len(active)) < leave_p
        leave, fee_each = active[leaving], fee_each[leaving]
        state[leave] = EXITED
        state[cancel] = POTENTIAL  # a cancelled order: back among the would-be providers
        state[enter] = PENDING
        table["order_step"][enter], table["produced"][enter] = t, False
        queued = np.count_nonzero((state == PENDING) & ~table["produced"])
        s["production_capacity"] = supply_chain.adjust_capacity(
            s["production_capacity"], _one(queued), P["providers.production_units_per_day"],
            P["providers.production_delivery_target_days"], P["step.production_adjustment"])
        self._produce(t, L)
        arriving = np.flatnonzero((state == PENDING) & table["produced"] & (table["arrival_step"] <= t))
        state[arriving] = ACTIVE
        if len(arriving):
            lead = (t - table["order_step"][arriving]) * dt
            self.lead_time_log.append((t, len(arriving), float(lead.mean())))
        table["arrival_step"][arriving] = t
        table["loss_streak"][arriving] = 0
        table["margin_average"][arriving] = 0.0
        # leavers: inventory sold or kept, early termination fee burned, the rest of the stake unbonds
        leaving_tokens = table["tokens"][leave]
        exit_sold = float((leaving_tokens * P["providers.exit_sale_share"][0]).sum())
        kept = float(leaving_tokens.sum()) - exit_sold
        table["tokens"][leave] = 0.0
        fees = np.minimum(fee_each, table["stake_tokens"][leave])
        to_unbond = float((table["stake_tokens"][leave] - fees).sum())
        table["stake_tokens"][leave] = 0.0
        staying = state == ACTIVE
        staying[arriving] = False
        staying = np.flatnonzero(staying)
        slashed = table["stake_tokens"][staying] * stake.slash_fraction(
            s["quality"][0], P["stake.slash_quality_threshold"][0], P["step.slash"][0])
        table["stake_tokens"][staying] -= slashed
        s.update(ledger.burn(s, _one(fees.sum() + slashed.sum())))
        usd, x, y = amm.sell_tokens(s["amm_tokens"], s["amm_usd"], _one(exit_sold), P["market.fee"])
        s.update({
            "amm_tokens": x, "amm_usd": y, "usd_out_total": s["usd_out_total"] + usd,
            "float_tokens": s["float_tokens"] + kept, "tokens_sold": s["tokens_sold"] + exit_sold,
        })
        s.update(ledger.unbond(s, P, _one(to_unbond), self.structure.unbonding))
        # arrivals buy their stake at today's pledge
        cap, inventory = P["providers.capacity_per_provider"], _one(table["tokens"].sum())
        each = stake.stake_required(
            P["stake.mode_code"], P["stake.tokens_per_provider"], s["reward_per_provider"] / dt,
            P["stake.pledge_reward_days"], ledger.circulating({**s, "provider_tokens": inventory}),
            P["stake.pledge_circulating_share"], cap, np.count_nonzero(state == ACTIVE) * cap)
        changes, bought = ledger.lock_stake(s, P, each * len(arriving))
        s.update(changes)
        if len(arriving):
            table["stake_tokens"][arriving] = bought[0] / len(arriving)
        s.update({
            "provider_tokens": inventory, "locked": _one(table["stake_tokens"].sum()),
            "mean_expected_price": _one(table["expected_price"].mean()), "orders": _one(len(enter)),
            "arrivals": _one(len(arriving)), "exits": _one(len(leave)), "lead_time_days": lead_days,
            "cancelled": _one(len(cancel)),
        })

    def _produce(self, t: int, lead_steps: int) -> None:
        """First come, first served: the oldest orders leave production, whole units at the production rate."""
        table = self.tables["providers"]
        queue = np.flatnonzero((table["state_code"] == PENDING) & ~table["produced"])
        queue = queue[np.argsort(table["order_step"][queue], kind="stable")]
        rate = float(self.s["production_capacity"][0]) * self.structure.dt_days
        if np.isfinite(rate):
            self.production_credit += rate
            k = min(int(np.floor(self.production_credit + 1e-9)), len(queue))
            self.production_credit -= k
            if k == len(queue):  # capacity nobody used is lost, as in the aggregate (up to a fraction of a unit)
                self.production_credit = min(self.production_credit, 1.0)
        else:
            k = len(queue)
        made = queue[:k]
        table["produced"][made] = True
        table["arrival_step"][made] = t + lead_steps

    def _users_move(self, t: int) -> None:
        """Non-adopters in the market adopt (Bass, quality, own price); adopters churn."""
        adopted = self.tables["users"]["adopted"]
        prospects = User.prospects(self)
        current = np.flatnonzero(adopted)
        join = prospects[self.rng.random(len(prospects)) < User.adoption_probabilities(self, prospects)]
        draws = self.rng.random(len(current))
        maybe = np.flatnonzero(draws < User.churn_cap(self))  # the others' draws exceed every churn chance
        leave = current[maybe[draws[maybe] < User.churn_probabilities(self, current[maybe])]]
        adopted[join] = True
        adopted[leave] = False
        self.s["users"] = _one(np.count_nonzero(adopted))

    def _speculators(self, t: int) -> None:
        """Beliefs as in the aggregate; each agent rebalances toward its drawn strategy; one net trade."""
        P, s = self.P, self.s
        # fitness, shares, signals and fundamental value are the aggregate's own beliefs, updated as there
        beliefs = economy.speculator_beliefs(P, self.structure, s, self.exo_t)
        p = self.price()
        Speculator.choose_strategies(self, beliefs["shares"][0])
        table = self.tables["speculators"]
        orders = Speculator.desired_orders(self, slice(None), beliefs["signals"][0], p)
        # as in the aggregate: the pooled buy can round above the pooled cash, so cap it there
        net_order = np.minimum(_one(orders.sum()), s["speculator_usd"])
        d_tok, d_usd, x, y = amm.signed_trade(
            s["amm_tokens"], s["amm_usd"], net_order, P["market.fee"], s["speculator_tokens"]
        )
        tok_each, usd_each = split_fills(orders, d_tok[0], d_usd[0], p)
        # clip float dust when an agent sells its whole holding
        table["tokens"] = np.maximum(table["tokens"] + tok_each, 0.0)
        table["budget_usd"] = np.maximum(table["budget_usd"] + usd_each, 0.0)
        s.update(beliefs)
        s.update(
            {
                "amm_tokens": x, "amm_usd": y, "speculator_tokens": s["speculator_tokens"] + d_tok,
                "speculator_usd": s["speculator_usd"] + d_usd,
            }
        )

    def _outside_holders(self, t: int) -> None:
        """The float and liquidity providers (the aggregate block: one pooled outside holder)."""
        self.s.update(economy.outside_holders(self.P, self.structure, self.s, self.exo_t, t))

    def _treasury(self, t: int) -> None:
        """The treasury policy (the aggregate block)."""
        self.s.update(economy.treasury(self.P, self.structure, self.s, self.exo_t, t))

    def _vesting(self, t: int) -> None:
        """Unlocks and unlock sales (the aggregate block: no agent content)."""
        self.s.update(economy.vest_and_sell(self.P, self.structure, self.s, self.exo_t, t))

    def _shocks(self, t: int) -> None:
        """Forced sale, replayed price path, liquidity drain (the aggregate block)."""
        self.s.update(economy.shocks(self.P, self.structure, self.s, self.exo_t, t))

    # -- recording --------------------------------------------------------------------------------

    def strategy_fractions(self) -> np.ndarray:
        """Share of speculators following each strategy this step (the model's shares if none)."""
        strategy = self.tables["speculators"]["strategy"]
        if len(strategy) == 0:
            return self.s["shares"][0]
        return np.bincount(strategy, minlength=3) / len(strategy)

    def record_row(self, step: int) -> dict:
        """The ``models.output`` row of the current state, with provider and speculator counts."""
        state = self.tables["providers"]["state_code"]
        produced = self.tables["providers"]["produced"]
        agent_view = {
            "active": np.array([[np.count_nonzero(state == ACTIVE)]], dtype=float),
            "margin": np.array([[self.mean_margin]]),
            "pending": np.array([[np.count_nonzero((state == PENDING) & produced)]], dtype=float),
            "backlog": np.array([[np.count_nonzero((state == PENDING) & ~produced)]], dtype=float),
            "shares": self.strategy_fractions()[None, :],
        }
        return record({**self.s, **agent_view}, step)


def run_abm(scenario, seq: np.random.SeedSequence, steps: int | None = None) -> pd.DataFrame:
    """Run the agent-based engine once.

    Args:
        scenario: validated ``models.params.Scenario``.
        seq: the run's seed sequence (``models.exogenous.run_seed_sequence``).
        steps: horizon override (at most the scenario's).

    Returns:
        Tidy frame of ``models.output``: steps 0..steps, ``run`` 0.
    """
    model = DePINModel(scenario, seq)
    horizon = scenario.simulation.steps if steps is None else min(int(steps), scenario.simulation.steps)
    for _ in range(horizon):
        model.step()
    return to_frame(model.rows)
