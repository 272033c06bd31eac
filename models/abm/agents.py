"""Mesa agents of the DePIN economy: hardware providers, paying users and speculators.

Every agent is a real ``mesa.Agent`` registered with its model. Its state sits in one row of a column
table the model owns (``model.tables[kind][column][row]``) and is read and written through attribute
descriptors, so ``provider.opex_usd_per_year`` or ``user.adopted = True`` work as on any agent while the model
can also take a decision for a whole population with one numpy call.

Each decision is written once, as a class method over rows (``Provider.entry_probabilities(model,
rows)``); the per-agent method (``provider.decide_entry()``) applies the same rule to its own row.
``Generator.random(n)`` yields the same numbers as ``n`` calls of ``Generator.random()``, so the model's
vectorised Bernoulli draws equal per-agent decisions taken in row order. The economic rules themselves
are the functions of ``models.mechanisms``; nothing here re-derives them.

For speed (issue 14) a rule whose per-agent inputs hold from step to step (a user's price factor or
churn chance, a provider's opex) is evaluated once for everyone and read by row
(``models.abm.space.derived``), and the model values a decision only for agents whose draw falls below
the highest chance anyone has (``entry_cap``, ``churn_cap``): the others cannot act. Elementwise numpy
gives each row the same number whichever rows it is evaluated with, so every draw and decision holds.
"""

from __future__ import annotations

import numpy as np

from models.abm.space import Column, TableAgent, cap, derived, derived_cap
from models.mechanisms import demand, providers, speculators, timebase
from models.sd import supply

POTENTIAL, PENDING, ACTIVE, EXITED = 0, 1, 2, 3
PROVIDER_STATES = ("potential", "pending", "active", "exited")


class Provider(TableAgent):
    """A hardware provider: its own costs, patience, price expectation, place, stake and lifecycle.

    States: potential, pending (ordered: waiting for production, then shipping), active, exited (may
    order again later). Each provider draws its opex, exit patience and expectation style (forward-looking
    with chance ``forward_looking_share``, else adaptive with its own half-life) from the distributions the
    aggregate engines hold as cohorts (``models.sd.compile.provider_types``).
    """

    kind = "providers"
    opex_usd_per_year = Column(invalidates=("opex",))
    capacity = Column()
    state_code = Column()
    arrival_step = Column()
    order_step = Column()
    produced = Column()
    loss_streak = Column()
    margin_usd = Column()
    margin_average = Column()
    tokens = Column()
    stake_tokens = Column()
    patience_days = Column()
    forward_looking = Column()
    expectation_weight = Column()
    expected_price = Column()

    @property
    def state(self) -> str:
        """Lifecycle state: potential, pending (ordered, not yet serving), active or exited."""
        return PROVIDER_STATES[int(self.state_code)]

    @staticmethod
    def initial_table(model, n: int) -> dict[str, np.ndarray]:
        """Columns at step 0: drawn costs, patience and expectation styles; the first ``initial_active`` serve."""
        pp, dt = model.scenario.providers, model.structure.dt_days
        state = np.full(n, POTENTIAL, dtype=np.int8)
        state[: pp.initial_active] = ACTIVE
        arrival = np.full(n, -1, dtype=np.int64)
        arrival[: pp.initial_active] = 0
        opex = pp.opex_usd_per_year * model.rng.lognormal(0.0, pp.opex_dispersion, n)
        patience = pp.exit_patience_days * model.rng.lognormal(0.0, pp.patience_dispersion, n)
        forward = model.rng.random(n) < pp.forward_looking_share
        half_life = pp.expectation_half_life_days * model.rng.lognormal(0.0, pp.expectation_dispersion, n)
        stake = np.zeros(n)
        stake[: pp.initial_active] = model.genesis_stake_each
        return {
            "opex_usd_per_year": opex,
            "capacity": np.full(n, pp.capacity_per_provider),
            "state_code": state,
            "arrival_step": arrival,
            "order_step": np.full(n, -1, dtype=np.int64),
            "produced": np.zeros(n, dtype=bool),
            "loss_streak": np.zeros(n),
            "margin_usd": np.zeros(n),
            "margin_average": np.zeros(n),
            "tokens": np.zeros(n),
            "stake_tokens": stake,
            "patience_days": patience,
            "forward_looking": forward,
            "expectation_weight": np.where(forward, 1.0, timebase.ema_weight(half_life, dt)),
            "expected_price": np.full(n, model.scenario.market.initial_price_usd),
        }

    @classmethod
    def current_opex(cls, model, rows) -> np.ndarray:
        """Opex of ``rows`` over this step, USD (cost shocks scale every provider alike)."""
        multiplier, dt = model.exo_t["cost_multiplier"][0], model.structure.dt_days

        def opex(rows):
            return timebase.amount_per_step(cls.table(model)["opex_usd_per_year"][rows] * multiplier, dt)

        return derived(model, "opex", (multiplier, dt), opex)[rows]

    @classmethod
    def entry_responses(cls, model, rows) -> np.ndarray:
        """How much entry pays each provider in ``rows``, 0 to 1, from its own expected margin.

        The rule of the aggregate engines (``models.sd.supply.entry_valuation``) with the provider's own
        expected price and opex: the reward it expects over the payback horizon under the emission schedule,
        shared with everyone active and on order, against hardware plus stake. It serves entry and
        cancellation, as in the aggregate (the two methods below take it as ``response`` if computed).
        """
        P, ctx = model.P, model.entry_context
        margin, capital, _, _ = supply.entry_valuation(
            P, model.structure, model.s, ctx["step"], cls.table(model)["expected_price"][rows],
            cls.current_opex(model, rows), ctx["active"], ctx["pipeline"], ctx["backlog"])
        return providers.entry_response(margin, capital, P["providers.payback_threshold_years"],
                                        P["providers.entry_steepness"], P["providers.entry_response_code"])

    @classmethod
    def entry_probabilities(cls, model, rows, response=None) -> np.ndarray:
        """Chance each provider in ``rows`` orders hardware this step (``models.mechanisms.providers.entry_hazard``)."""
        P = model.P
        response = cls.entry_responses(model, rows) if response is None else response
        hazard = providers.hazard_from_response(response, P["providers.entry_max_rate_per_year"],
                                                P["providers.word_of_mouth"], model.entry_context["engaged_share"])
        return timebase.probability_per_step(hazard, model.structure.dt_days)

    @classmethod
    def entry_cap(cls, model) -> float:
        """No provider's entry chance this step exceeds this (the chance at a response of 0 or of 1).

        The response lies in [0, 1] and the hazard is linear in it (``models.mechanisms.providers``).
        """
        return cap(cls.entry_probabilities(model, None, np.array([0.0, 1.0])))

    @classmethod
    def cancel_probabilities(cls, model, rows, response=None) -> np.ndarray:
        """Chance each order in ``rows`` (waiting for production) is cancelled this step.

        The aggregate's rule (``models.mechanisms.providers.cancellation_hazard``) on the provider's own
        valuation of entry today.
        """
        response = cls.entry_responses(model, rows) if response is None else response
        hazard = providers.cancellation_hazard(response, model.P["providers.order_cancellation_rate_per_year"])
        return timebase.probability_per_step(hazard, model.structure.dt_days)

    @classmethod
    def exit_probabilities(cls, model, rows, step: int):
        """Chance each provider in ``rows`` leaves, and the termination fee it would pay (tokens).

        Its own loss streak against its own patience, whether leaving pays (losses avoided, resale value,
        termination fee: ``models.sd.supply.exit_chances``), plus hardware failure.
        """
        table = cls.table(model)
        age = (step - table["arrival_step"][rows]) * model.structure.dt_days
        return supply.exit_chances(
            model.P, model.structure, model.s, model.price(), table["loss_streak"][rows],
            table["margin_average"][rows], age, table["patience_days"][rows], table["stake_tokens"][rows])

    @classmethod
    def sell_amounts(cls, model, rows, reward_tokens, price) -> np.ndarray:
        """Tokens each provider in ``rows`` sells from its inventory (which holds ``reward_tokens`` already)."""
        P = model.P
        return providers.tokens_sold(
            reward_tokens, cls.table(model)["tokens"][rows], price, cls.current_opex(model, rows),
            P["providers.sell_share"], P["step.inventory_sale"],
        )

    def decide_entry(self) -> bool:
        """Bernoulli entry draw for this provider."""
        return bool(self.rng.random() < self.entry_probabilities(self.model, self.row))

    def decide_exit(self, step: int) -> bool:
        """Bernoulli exit draw for this provider."""
        return bool(self.rng.random() < self.exit_probabilities(self.model, self.row, step)[0])

    def tokens_to_sell(self, reward_tokens: float, price: float) -> float:
        """Tokens this provider sells out of a reward at a price."""
        return float(self.sell_amounts(self.model, self.row, reward_tokens, price))


class User(TableAgent):
    """A potential user with its own alternative price and a place in the market's arrival order.

    User ``i`` (``arrival_rank``, initially its row) is in the market once the market holds more than
    ``i`` whole users. Adopters keep their place when the market shrinks: prospects are pushed out
    first, adopters only when there are more of them than the market holds, as ``min(users, market)``
    in the aggregate.
    """

    kind = "users"
    alternative_price_usd = Column(invalidates=("attractiveness", "churn"))
    adopted = Column()
    arrival_rank = Column()

    @staticmethod
    def initial_table(model, n: int) -> dict[str, np.ndarray]:
        """Columns at step 0: personal alternative prices; the first ``initial_users`` have adopted."""
        up = model.scenario.users
        adopted = np.zeros(n, dtype=bool)
        adopted[: up.initial_users] = True
        return {
            "alternative_price_usd": up.alternative_price_usd * model.rng.lognormal(0.0, up.wtp_dispersion, n),
            "adopted": adopted,
            "arrival_rank": np.arange(n),
        }

    @staticmethod
    def places(market) -> int:
        """Whole users a market of (possibly fractional) size ``market`` holds."""
        return int(np.floor(np.asarray(market).item()))

    @property
    def in_market(self) -> bool:
        """Whether this user has arrived in the (possibly shocked) potential market."""
        return self.arrival_rank < self.places(self.model.s["potential_users"])

    @classmethod
    def fit_market(cls, model, market) -> int:
        """Fit adopters into a market of size ``market``; returns the number of adopters.

        The latest-arriving adopters beyond the market's places leave; adopters still ranked outside
        the market take the places of the latest-arriving prospects inside it.
        """
        table = cls.table(model)
        adopted, rank = table["adopted"], table["arrival_rank"]
        places = cls.places(market)
        n_adopters = np.count_nonzero(adopted)
        if n_adopters <= places and not np.any(adopted & (rank >= places)):
            return n_adopters  # every adopter already holds a place: nothing moves
        adopters = np.flatnonzero(adopted)
        adopters = adopters[np.argsort(rank[adopters], kind="stable")]
        adopted[adopters[places:]] = False
        adopters = adopters[:places]
        outside = adopters[rank[adopters] >= places]
        if len(outside):
            prospects = np.flatnonzero(~adopted & (rank < places))
            latest = prospects[np.argsort(rank[prospects], kind="stable")[len(prospects) - len(outside):]]
            rank[outside], rank[latest] = rank[latest].copy(), rank[outside].copy()
        return len(adopters)

    @classmethod
    def prospects(cls, model) -> np.ndarray:
        """Rows of users in the market who have not adopted."""
        table = cls.table(model)
        return np.flatnonzero(~table["adopted"] & (table["arrival_rank"] < cls.places(model.s["potential_users"])))

    @classmethod
    def attractiveness(cls, model, rows) -> np.ndarray:
        """Price factor of each user: the network's price against the user's own alternative."""
        P = model.P
        price, elasticity = P["payment.service_price_usd"], P["users.price_elasticity"]

        def factor(rows):
            return demand.price_attractiveness(price, cls.table(model)["alternative_price_usd"][rows], elasticity)

        return derived(model, "attractiveness", (price, elasticity), factor)[rows]

    @classmethod
    def adoption_probabilities(cls, model, rows) -> np.ndarray:
        """Bass adoption chance this step of each user in ``rows`` given adopters, market, quality, own price."""
        P, s = model.P, model.s
        hazard = demand.adoption_hazard(
            s["users"], s["potential_users"], P["users.bass_innovation_per_year"], P["users.bass_imitation_per_year"],
            s["quality"], P["users.quality_elasticity"], cls.attractiveness(model, rows),
        )
        return timebase.probability_per_step(hazard, model.structure.dt_days)

    @classmethod
    def churn_probabilities(cls, model, rows) -> np.ndarray:
        """Churn chance this step of each user in ``rows`` given quality and own price factor.

        While quality holds from step to step (spare capacity: quality 1), the chances are the step before's.
        """
        key = base, by_quality, quality, dt, _, _ = cls._churn_inputs(model)

        def chance(rows):
            hazard = demand.churn_hazard(base, by_quality, quality, cls.attractiveness(model, rows))
            return timebase.probability_per_step(hazard, dt)

        return derived(model, "churn", key, chance, rows)

    @staticmethod
    def _churn_inputs(model) -> tuple:
        P = model.P
        return (P["users.base_churn_per_year"], P["users.quality_churn_per_year"], model.s["quality"],
                model.structure.dt_days, P["payment.service_price_usd"], P["users.price_elasticity"])

    @classmethod
    def churn_cap(cls, model) -> float:
        """No user's churn chance this step exceeds this: the largest of everyone's, once they are cached."""
        return derived_cap(model, "churn", cls._churn_inputs(model))

    def decide_adopt(self) -> bool:
        """Bernoulli adoption draw (only meaningful for a non-adopter in the market)."""
        return bool(self.rng.random() < self.adoption_probabilities(self.model, self.row))

    def decide_churn(self) -> bool:
        """Bernoulli churn draw (only meaningful for an adopter)."""
        return bool(self.rng.random() < self.churn_probabilities(self.model, self.row))


class Speculator(TableAgent):
    """A trader with its own cash and tokens who picks a strategy each step by Brock-Hommes shares."""

    kind = "speculators"
    budget_usd = Column()
    tokens = Column()
    strategy = Column()

    @property
    def strategy_name(self) -> str:
        """fundamentalist, trend or noise."""
        return speculators.STRATEGIES[int(self.strategy)]

    @staticmethod
    def initial_table(model, n: int) -> dict[str, np.ndarray]:
        """Log-normal cash and tokens (sigma 0.5), rescaled so totals equal the aggregate genesis."""
        sp = model.scenario.speculators

        def spread(mean: float) -> np.ndarray:
            draws = model.rng.lognormal(0.0, 0.5, n)
            return mean * draws / draws.mean() if n else draws

        budget, tokens = spread(sp.budget_usd), spread(sp.initial_tokens)
        return {
            "budget_usd": budget,
            "tokens": tokens,
            "strategy": Speculator.draw(model.rng, np.asarray(sp.initial_shares), n),
        }

    @staticmethod
    def draw(rng: np.random.Generator, shares: np.ndarray, n: int) -> np.ndarray:
        """Strategy index of ``n`` agents drawn independently from ``shares``."""
        idx = np.searchsorted(np.cumsum(shares), rng.random(n), side="right")
        return np.minimum(idx, len(shares) - 1).astype(np.int8)

    @classmethod
    def choose_strategies(cls, model, shares: np.ndarray) -> None:
        """Every speculator draws this step's strategy from the model's switching shares."""
        table = cls.table(model)
        table["strategy"] = cls.draw(model.rng, shares, len(table["strategy"]))

    @classmethod
    def desired_orders(cls, model, rows, signals: np.ndarray, price: float) -> np.ndarray:
        """Signed USD order of each speculator toward its strategy's target token share of its own wealth.

        Buys are capped by the agent's own cash, sells by the value of its own tokens.
        """
        table = cls.table(model)
        cash, tokens = table["budget_usd"][rows], table["tokens"][rows]
        target = speculators.target_token_share(signals)[table["strategy"][rows]]
        order = speculators.rebalance_order_usd(target, cash, tokens, price, model.P["step.trade_weight"][0])
        return np.clip(order, -tokens * price, cash)

    def desired_order(self, signals: np.ndarray, price: float) -> float:
        """Capped signed USD order of this speculator."""
        return float(self.desired_orders(self.model, self.row, signals, price))


def split_fills(orders: np.ndarray, tokens_delta: float, usd_delta: float, price: float):
    """Per-agent (tokens, usd) changes when signed USD ``orders`` clear as one net pool trade.

    The smaller side is crossed inside the batch at the pre-trade ``price``; the larger side shares the
    crossed flow plus the pool's fill of the net order (``tokens_delta``, ``usd_delta`` from
    ``amm.signed_trade``) pro rata to its orders, so the agents' changes sum to the pool trade.
    """
    buys, sells = np.maximum(orders, 0.0), np.maximum(-orders, 0.0)
    bought, sold = buys.sum(), sells.sum()
    if bought >= sold:
        w = buys / bought if bought > 0 else buys
        d_tok = -sells / price + w * (sold / price + tokens_delta)
        d_usd = sells - w * (sold - usd_delta)
    else:
        w = sells / sold
        d_tok = buys / price - w * (bought / price - tokens_delta)
        d_usd = -buys + w * (bought + usd_delta)
    return d_tok, d_usd

