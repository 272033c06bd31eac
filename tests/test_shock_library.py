"""The shock library, shock by shock and engine by engine: each shock moves what it should, and only that.

Every shocked run is compared with its unshocked twin (``models.analysis.impulse.twin_of``: same scenario,
same seed, so the same exogenous paths; trading actors keep their inventories but never act). Row ``t + 1``
of a frame is the state after step ``t``, so a shock starting at step ``s`` first shows in row ``s + 1``
(its *effect row*). For every shock type and engine the tests check:

1. rows ``0 .. s`` equal the twin's in every output column (to 1e-12 relative);
2. in the effect row(s) the targeted quantity moves exactly as the shock's parameters state, derived from
   the shock's size and the twin's row (never a hard-coded model output);
3. in the effect row the quantities the shock cannot reach yet, given the block order of the step
   (``models.sd.economy.BLOCKS``: usage, emission, providers earn, providers move, users move, speculators,
   outside holders, treasury, vesting, shocks; the ABM runs the same blocks in the same order), equal the
   twin's.

A scenario with several shocks checks that each acts at its own start against the run without it, and that
the run equals the run with only its earlier shocks up to each later shock's start.
"""

from __future__ import annotations

import numpy as np
import pytest

from models import engines
from models.analysis.impulse import twin_of, with_shocks
from models.analysis.shocks import shock_outcomes
from models.exogenous import run_seed_sequence, sample_exogenous
from models.mechanisms import amm, timebase
from models.mechanisms.shocks import SCHEDULE_KEYS, duration_steps, empty_schedule, path_values, shock_schedule
from models.output import COLUMNS
from models.param_blocks import ShockEvent
from models.params import with_overrides

WEEK = 7.0
SEED = 11
START = 20  # start step of every single-shock case (start_day = START weeks)
REL = 1e-12  # "identical": equal to this relative tolerance (zeros and NaNs must match exactly)
EXACT = 1e-9  # an effect derived from the parameters, up to the rounding of a few float operations
ENGINE_NAMES = ("batch", "cadcad", "abm")

# small populations and a short horizon keep the ABM fast; the team's cliff falls inside the horizon, so
# scheduled unlocks are running when the unlock cliff strikes
SMALL = {
    "simulation.steps": 40, "simulation.potential_providers": 300, "simulation.potential_users": 1500,
    "simulation.speculators": 40, "providers.initial_active": 60, "users.initial_users": 100,
    "users.wtp_dispersion": 0.4, "vesting.allocations.0.cliff_days": 10 * WEEK,
}

# one case per shock type (and a crash spread over three steps); start_day is added per case
CASES = {
    # 6 M tokens: the seller can push the pool (about 6 M tokens deep at step 20) down 50% and more
    "price_crash": {"type": "price_crash", "size": 0.5, "inventory_tokens": 6e6},
    "price_crash_spread": {"type": "price_crash", "size": 0.5, "duration_days": 3 * WEEK, "inventory_tokens": 6e6},
    "bear_market": {"type": "bear_market", "size": 0.4, "duration_days": 4 * WEEK},
    "liquidity_drain": {"type": "liquidity_drain", "size": 0.3},
    "unlock_cliff": {"type": "unlock_cliff", "size": 0.5},
    "demand_drop": {"type": "demand_drop", "size": 0.5, "duration_days": 4 * WEEK},
    "cost_spike": {"type": "cost_spike", "size": 1.0, "duration_days": 4 * WEEK},
    # up 40%, then down to 80% of the start (the arbitrageur sells from its inventory), then 110%;
    "price_path": {"type": "price_path", "path": [1.4, 0.8, 1.1], "path_interval_days": WEEK,
                   "duration_days": 3 * WEEK, "inventory_tokens": 2e6},
}
# the cost spike's effect on the mean margin is exact only when every provider has the same opex (then the
# margin shift does not depend on which providers are active)
EXTRA = {"cost_spike": {"providers.opex_dispersion": 0.0}}


# -- helpers --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(base_scenario):
    return with_overrides(base_scenario, SMALL)


def case_scenario(small, name: str):
    shock = {**CASES[name], "start_day": START * WEEK}
    return with_overrides(small, {**EXTRA.get(name, {}), "shocks": [shock]})


_FRAMES: dict = {}


def run(scenario, engine: str):
    """The engine's frame of ``scenario`` at SEED (cached per process: twins are shared between cases)."""
    key = (engine, scenario.model_dump_json())
    if key not in _FRAMES:
        frame = engines.run(scenario, engine, seed=SEED)
        assert list(frame["step"]) == list(range(scenario.simulation.steps + 1))
        _FRAMES[key] = frame
    return _FRAMES[key]


def starts_of(scenario) -> tuple[int, ...]:
    return sample_exogenous(scenario, run_seed_sequence(SEED)).shock_starts


def col(frame, name):
    return frame[name].to_numpy(dtype=float)


def assert_same(x, ref, rows, columns, what: str) -> None:
    """Every column in ``columns`` equal in ``rows`` (to REL, NaN where NaN, zeros exactly)."""
    bad = {}
    for c in columns:
        a, b = col(x, c)[rows], col(ref, c)[rows]
        if not np.allclose(a, b, rtol=REL, atol=0.0, equal_nan=True):
            with np.errstate(divide="ignore", invalid="ignore"):
                bad[c] = float(np.nanmax(np.abs(a - b) / np.abs(b)))
    assert not bad, f"{what}: columns differ from the reference (max relative difference): {bad}"


def close(actual, expected, what: str, rtol: float = EXACT) -> None:
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0.0, err_msg=what)


def relabelled(shock) -> tuple[str, ...]:
    """Columns the twin books differently: its inert stand-in for an arbitrageur is a forced seller."""
    return ("seller_tokens", "arbitrageur_tokens") if shock.type == "price_path" and shock.inventory_tokens else ()


# -- what each shock may move in its first effect row ---------------------------------------------------------

# columns valued at the end-of-step price in models.output.record: they follow any price move
PRICE_DERIVED = {"price", "reward_per_provider_usd", "emission_usd", "burn_usd"}

# Shocks acting in a late block move only what that block and the blocks after it write: every column written
# by an earlier block is untouched in the effect row.
MOVED = {
    # block 10 (shocks), last of the step: the seller sells into the pool; its tokens were circulating, the pool's
    # are not (the floating supply, pool included, is unchanged)
    "price_crash": PRICE_DERIVED | {"amm_tokens", "amm_usd", "seller_tokens", "circulating", "usd_out_total",
                                    "crash_target", "crash_achieved"},
    # block 10: the arbitrageur trades with the pool (USD from outside the model in, sale proceeds out)
    "price_path": PRICE_DERIVED | {"amm_tokens", "amm_usd", "arbitrageur_tokens", "circulating", "usd_in_total",
                                   "usd_out_total", "arbitrage_usd", "path_target_price"},
    # block 10: both reserves shrink alike, so even the price stays; withdrawn tokens join the float
    "liquidity_drain": {"amm_tokens", "amm_usd", "float_tokens", "circulating", "usd_out_total"},
    # block 9 (vesting): unlocked tokens leave unvested (into the floating supply); the sold share goes into the
    # pool at once and its USD leaves. Nothing trades after vesting except the shocks block (idle here).
    "unlock_cliff": PRICE_DERIVED | {"unvested", "float_tokens", "amm_tokens", "amm_usd", "usd_out_total",
                                     "circulating", "floating_supply"},
    # block 7 (outside holders): the factor moves the valuation, the float trades with the pool and liquidity
    # providers re-target; the treasury holds and vesting sells fixed token amounts into the moved pool
    "bear_market": PRICE_DERIVED | {"market_factor", "valuation", "amm_tokens", "amm_usd", "float_tokens",
                                    "circulating", "usd_in_total", "usd_out_total"},
}

# Shocks acting in the first blocks reach most of the economy within the step; these are what they cannot reach.
UNTOUCHED = {
    # block 1 (usage) scales the potential market. Emission (block 2) mints by step and by the capacity of the
    # providers active at the start of the step; coverage is theirs too; vesting runs by the calendar; the market
    # factor and sentiment are exogenous; expectations adapt to the last closing price (row s), not to the pool in
    # mid-step; arrivals were ordered a lead time ago. With burn-and-mint at a full burn, usage pays the
    # providers nothing in tokens, so neither the treasury nor the entry valuation (usage reward = 0, valued at
    # the expected price) sees the lost demand: orders are unchanged too.
    "demand_drop": ("minted", "minted_total", "capacity", "coverage", "unvested", "treasury", "market_factor",
                    "sentiment", "expected_price", "orders", "arrivals"),
    # blocks 3-4 (providers earn and move) see the higher opex. Usage and emission (blocks 1-2) come first;
    # users move (block 5) on the adopters, market and quality of usage alone; with no stake the only burn of the
    # step is the usage burn (exits burn no fee, the treasury holds), so supply is unchanged; providers' sales and
    # exit sales only move tokens between inventories, pool and float, all inside the floating supply, and the
    # speculators' fundamental value reads that supply and usage revenue; expectations adapt to the last close;
    # arrivals were ordered a lead time ago.
    "cost_spike": ("minted", "minted_total", "burned", "burned_total", "supply", "capacity", "coverage", "users",
                   "potential_users", "demand", "served", "quality", "revenue_usd", "unvested", "treasury",
                   "market_factor", "sentiment", "expected_price", "arrivals", "floating_supply",
                   "fundamental_price"),
}


def untouched_columns(shock) -> tuple[str, ...]:
    if shock.type in MOVED:
        return tuple(c for c in COLUMNS if c not in MOVED[shock.type] and c not in relabelled(shock))
    return UNTOUCHED[shock.type]


def check_preconditions(scenario, shock) -> None:
    """The mechanism arguments above hold for this scenario (so a changed base file fails loudly, not silently)."""
    assert not scenario.space.enabled
    if shock.type == "demand_drop":
        assert scenario.payment.mode == "bme" and scenario.payment.burn_share == 1.0
        assert timebase.whole_steps(scenario.providers.lead_time_days, scenario.simulation.dt_days) >= 1
    if shock.type == "cost_spike":
        assert scenario.stake.mode == "none" and scenario.treasury.policy == "hold"
        assert scenario.providers.opex_dispersion == 0.0
        assert timebase.whole_steps(scenario.providers.lead_time_days, scenario.simulation.dt_days) >= 1
    if shock.type == "bear_market":
        assert scenario.treasury.policy == "hold"


# -- the direct effect of each shock type ---------------------------------------------------------------------


def effect_crash(x, ref, scenario, shock, start, engine, index):
    e, d = start + 1, duration_steps(shock, scenario.simulation.dt_days)
    per_step = 1.0 - (1.0 - shock.size) ** (1.0 / d)
    # the sale comes last in the step, so before it the pool is the twin's pool at the end of the step
    close(col(x, "price")[e] / col(ref, "price")[e], 1.0 - per_step, "crash: price relative to the twin")
    sold = col(x, "amm_tokens")[e] - col(ref, "amm_tokens")[e]
    close(sold, amm.tokens_for_price_drop(col(ref, "amm_tokens")[e], per_step, scenario.market.fee),
          "crash: tokens the seller needed for the drop")
    close(col(ref, "seller_tokens")[e] - col(x, "seller_tokens")[e], sold, "crash: tokens left the seller")
    usd = col(ref, "amm_usd")[e] - col(x, "amm_usd")[e]
    assert usd > 0
    close(col(x, "usd_out_total")[e] - col(ref, "usd_out_total")[e], usd, "crash: the seller took the USD out")
    # each step of the window aims for and achieves the same drop; none outside it
    window = slice(e, e + d)
    close(col(x, "crash_target")[window], np.full(d, per_step), "crash: target per step")
    close(col(x, "crash_achieved")[window], np.full(d, per_step), "crash: achieved per step")
    outside = np.r_[np.arange(e), np.arange(e + d, len(x))]
    assert (col(x, "crash_achieved")[outside] == 0).all() and (col(x, "crash_target")[outside] == 0).all()
    record = shock_outcomes(x, scenario, starts_of(scenario))[index]
    assert record["warning"] is None and record["start_step"] == start
    close(record["achieved"], shock.size, "crash: shock_outcomes achieved size")


def effect_path(x, ref, scenario, shock, start, engine, index):
    e, dt = start + 1, scenario.simulation.dt_days
    values = path_values(shock, scenario.simulation.steps - start, dt)
    n = len(values)
    assert n == len(shock.path)
    # the path's anchor is the price when it starts: the twin's end-of-step price (the arbitrageur trades last)
    anchor = col(ref, "price")[e]
    window = slice(e, e + n)
    close(col(x, "path_target_price")[window], anchor * values, "path: target = anchor x path")
    close(col(x, "price")[window], col(x, "path_target_price")[window], "path: price held on the path")
    outside = np.r_[np.arange(e), np.arange(e + n, len(x))]
    assert np.isnan(col(x, "path_target_price")[outside]).all()
    assert (col(x, "arbitrage_usd")[outside] == 0).all()
    # first step: a rise, bought from the pool with USD from outside
    assert shock.path[0] > 1 and col(x, "arbitrage_usd")[e] > 0
    close(col(x, "usd_in_total")[e] - col(ref, "usd_in_total")[e], col(x, "arbitrage_usd")[e], "path: USD in")
    bought = col(x, "arbitrageur_tokens")[e] - shock.inventory_tokens
    close(col(ref, "amm_tokens")[e] - col(x, "amm_tokens")[e], bought, "path: tokens out of the pool")
    # second step: a fall of over 40% in one step, which the arbitrageur sells from its inventory
    assert shock.path[1] < shock.path[0]
    assert col(x, "arbitrage_usd")[e + 1] < 0 and col(x, "arbitrageur_tokens")[e + 1] < col(x, "arbitrageur_tokens")[e]
    record = shock_outcomes(x, scenario, starts_of(scenario))[index]
    assert record["warning"] is None and record["max_log_miss"] < EXACT


def effect_drain(x, ref, scenario, shock, start, engine, index):
    e = start + 1
    for reserve in ("amm_tokens", "amm_usd"):
        close(col(x, reserve)[e], (1.0 - shock.size) * col(ref, reserve)[e], f"drain: {reserve} x (1 - size)")
    close(col(x, "price")[e], col(ref, "price")[e], "drain: price unchanged", rtol=REL)
    close(col(x, "float_tokens")[e] - col(ref, "float_tokens")[e], shock.size * col(ref, "amm_tokens")[e],
          "drain: withdrawn tokens join the float")
    close(col(x, "usd_out_total")[e] - col(ref, "usd_out_total")[e], shock.size * col(ref, "amm_usd")[e],
          "drain: withdrawn USD leaves")


def effect_unlock(x, ref, scenario, shock, start, engine, index):
    e = start + 1
    before, after = col(ref, "unvested")[start], col(ref, "unvested")[e]
    assert 0 < after < before, "scheduled unlocks run in the shock's step (the case is meant to cover them)"
    # size x what is still unvested after this step's scheduled unlock; later scheduled unlocks shrink alike,
    # so the shocked run keeps (1 - size) of the twin's unvested tokens for the rest of the horizon
    rows = slice(e, None)
    np.testing.assert_allclose(col(x, "unvested")[rows], (1.0 - shock.size) * col(ref, "unvested")[rows],
                               rtol=EXACT, atol=EXACT * before, err_msg="unlock: unvested x (1 - size)")
    unlocked = shock.size * after
    close(col(x, "floating_supply")[e] - col(ref, "floating_supply")[e], unlocked, "unlock: tokens reach the market")
    allocations = scenario.vesting.allocations
    sell_share = sum(a.tokens * a.sell_share for a in allocations) / sum(a.tokens for a in allocations)
    close(col(x, "amm_tokens")[e] - col(ref, "amm_tokens")[e], unlocked * sell_share,
          "unlock: the holders' sold share goes into the pool")
    close(col(x, "float_tokens")[e] - col(ref, "float_tokens")[e], unlocked * (1.0 - sell_share),
          "unlock: the kept share joins the float")


def effect_bear(x, ref, scenario, shock, start, engine, index):
    d = duration_steps(shock, scenario.simulation.dt_days)
    k = np.arange(1, len(x) - start)
    # row start + k: the factor has fallen by k / d of the total (in logs), then stays down
    log_ratio = np.log(col(x, "market_factor")[start + 1:] / col(ref, "market_factor")[start + 1:])
    np.testing.assert_allclose(log_ratio, np.log1p(-shock.size) * np.minimum(k / d, 1.0), rtol=0, atol=1e-12,
                               err_msg="bear: market factor relative to the twin")
    e = start + 1
    close(col(x, "valuation")[e] / col(ref, "valuation")[e], (1.0 - shock.size) ** (1.0 / d),
          "bear: outside valuation follows the factor")


def effect_demand(x, ref, scenario, shock, start, engine, index):
    d = duration_steps(shock, scenario.simulation.dt_days)
    e = start + 1
    window = slice(e, e + d)
    close(col(x, "potential_users")[window], (1.0 - shock.size) * col(ref, "potential_users")[window],
          "demand: potential market x (1 - size)")
    # the potential market is a function of time alone: it is back to the twin's after the window
    assert_same(x, ref, slice(e + d, None), ["potential_users"], "demand: after the window")
    market = col(x, "potential_users")[e]
    # adopters at the start of the step beyond the smaller market leave (the ABM holds whole users)
    places = np.floor(market) if engine == "abm" else market
    users = min(col(ref, "users")[start], places)
    assert users < col(ref, "users")[start], "the case is meant to make the market bind"
    close(col(x, "demand")[e], users * scenario.users.usage_per_user, "demand: wanted units of the remaining users")
    assert col(x, "demand")[e] < col(ref, "demand")[e]
    close(col(x, "served")[e], min(col(x, "demand")[e], col(x, "capacity")[e]), "demand: served up to capacity")
    close(col(x, "revenue_usd")[e], col(x, "served")[e] * scenario.simulation.dt_days
          * scenario.payment.service_price_usd, "demand: revenue of what was served")


def effect_cost(x, ref, scenario, shock, start, engine, index):
    e = start + 1
    # every provider's opex rises by size x opex; reward and price are the twin's when the margin is taken
    opex = float(timebase.amount_per_step(scenario.providers.opex_usd_per_year, scenario.simulation.dt_days))
    close(col(x, "mean_margin_usd")[e] - col(ref, "mean_margin_usd")[e], -shock.size * opex,
          "cost: the mean margin falls by size x opex")


EFFECTS = {
    "price_crash": effect_crash, "price_path": effect_path, "liquidity_drain": effect_drain,
    "unlock_cliff": effect_unlock, "bear_market": effect_bear, "demand_drop": effect_demand,
    "cost_spike": effect_cost,
}


def check_shock(x, ref, scenario, index: int, engine: str) -> None:
    """Shock ``index`` of ``scenario`` against ``ref``, a run identical to ``x`` until that shock starts."""
    shock = scenario.shocks[index]
    start = starts_of(scenario)[index]
    assert start == int(np.floor(shock.start_day / scenario.simulation.dt_days + 1e-9))
    check_preconditions(scenario, shock)
    # 1. identical before the effect row
    moved_accounts = relabelled(shock)
    rows = slice(0, start + 1)
    assert_same(x, ref, rows, [c for c in COLUMNS if c not in moved_accounts], f"{shock.type} before its start")
    if moved_accounts:
        # the twin holds the arbitrageur's inventory as an inert forced seller's: same tokens, other column
        for a, b in ((x, "arbitrageur_tokens"), (ref, "seller_tokens")):
            assert (col(a, b)[rows] == shock.inventory_tokens).all()
        for a, b in ((x, "seller_tokens"), (ref, "arbitrageur_tokens")):
            assert (col(a, b)[rows] == 0).all()
    # 2. the targeted quantity moves as stated
    EFFECTS[shock.type](x, ref, scenario, shock, start, engine, index)
    # 3. and nothing it cannot reach yet
    assert_same(x, ref, [start + 1], untouched_columns(shock), f"{shock.type} in its first effect row")


# -- tests ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINE_NAMES)
@pytest.mark.parametrize("name", list(CASES))
def test_shock_moves_what_it_should_and_only_that(small, name, engine):
    scenario = case_scenario(small, name)
    twin = twin_of(scenario)
    check_shock(run(scenario, engine), run(twin, engine), scenario, 0, engine)


@pytest.mark.parametrize("name", list(CASES))
def test_schedule_and_exogenous_paths_of_each_shock(small, name):
    """The per-step schedule asks for the stated size over the stated window, and only the shock differs."""
    scenario = case_scenario(small, name)
    (shock,) = scenario.shocks
    steps, dt = scenario.simulation.steps, scenario.simulation.dt_days
    d = duration_steps(shock, dt)
    sched, empty = shock_schedule([shock], steps, [START], dt), empty_schedule(steps)
    expected = {k: v.copy() for k, v in empty.items()}
    window = slice(START, START + d)
    if shock.type == "price_crash":
        expected["crash_drop"][window] = 1.0 - (1.0 - shock.size) ** (1.0 / d)
    elif shock.type == "liquidity_drain":
        expected["liquidity_removed"][START] = shock.size
    elif shock.type == "unlock_cliff":
        expected["unlock_fraction"][START] = shock.size
    elif shock.type == "demand_drop":
        expected["demand_multiplier"][window] = 1.0 - shock.size
    elif shock.type == "cost_spike":
        expected["cost_multiplier"][window] = 1.0 + shock.size
    elif shock.type == "bear_market":
        expected["factor_shift"][START:] = np.log1p(-shock.size) * np.minimum(np.arange(1, steps - START + 1) / d, 1)
    elif shock.type == "price_path":
        expected["target_price_rel"][START:START + len(shock.path)] = shock.path
    assert set(sched) == set(SCHEDULE_KEYS)
    for key in SCHEDULE_KEYS:
        np.testing.assert_allclose(sched[key], expected[key], rtol=1e-15, atol=0, err_msg=key)
    # common random numbers: the twin draws the same paths; only a bear market shifts the factor (by its schedule)
    shocked, twin = (sample_exogenous(s, run_seed_sequence(SEED)) for s in (scenario, twin_of(scenario)))
    assert shocked.shock_starts == (START,)
    np.testing.assert_array_equal(shocked.sentiment, twin.sentiment)
    np.testing.assert_array_equal(shocked.noise_signal, twin.noise_signal)
    np.testing.assert_allclose(shocked.log_factor - twin.log_factor, expected["factor_shift"], rtol=0, atol=1e-12)


# three shocks at days that are not whole weeks (start step = floor(day / dt_days))
MULTI = [
    {"type": "demand_drop", "start_day": 10 * WEEK + 3, "size": 0.7, "duration_days": 6 * WEEK},
    {"type": "cost_spike", "start_day": 18 * WEEK + 5, "size": 1.0, "duration_days": 4 * WEEK},
    {"type": "liquidity_drain", "start_day": 26 * WEEK + 1, "size": 0.3},
]


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_several_shocks_each_act_at_their_own_start(small, engine):
    scenario = with_overrides(small, {**EXTRA["cost_spike"], "shocks": MULTI})
    starts = starts_of(scenario)
    assert starts == (10, 18, 26)
    # stage k: the scenario with its first k shocks (stage 0 is the twin: no shock acts)
    stages = [with_shocks(scenario, [ShockEvent(**s) for s in MULTI[:k]]) for k in range(len(MULTI))]
    assert twin_of(scenario).shocks == stages[0].shocks == ()
    full = run(scenario, engine)
    frames = [run(s, engine) for s in stages]
    # up to the second shock's start the run is the single demand_drop run; up to the third, the run with two
    assert_same(full, frames[1], slice(0, starts[1] + 1), COLUMNS, "several shocks vs demand_drop alone")
    assert_same(full, frames[2], slice(0, starts[2] + 1), COLUMNS, "several shocks vs the first two")
    # and the first shock's own effect does not depend on the later ones
    check_shock(full, frames[0], scenario, 0, engine)
    # each later shock moves what it should at its own start, against the run without it
    for k in (1, 2):
        check_shock(full, frames[k], scenario, k, engine)
        # the later shock made a difference from its effect row on
        assert not np.allclose(col(full, "amm_tokens")[starts[k] + 1:], col(frames[k], "amm_tokens")[starts[k] + 1:],
                               rtol=1e-6)


def test_a_path_its_arbitrageur_cannot_hold_is_reported_whatever_duration_days_says(small):
    """Was missed: shock_outcomes read only duration_days (default one step) of a path the engines follow whole."""
    shock = {"type": "price_path", "start_day": START * WEEK, "path": [1.0, 0.3, 0.2, 0.2],
             "path_interval_days": WEEK, "inventory_tokens": 5e5}
    scenario = with_overrides(small, {"shocks": [shock]})
    frame = engines.run(scenario, "batch", seed=3)
    (outcome,) = shock_outcomes(frame, scenario, (START,))
    held = frame.set_index("step").loc[START + 1:START + 4]
    worst = float(np.abs(np.log(held["price"] / held["path_target_price"])).max())
    assert worst > 0.1  # the inventory runs out after the first step of the path
    assert outcome["max_log_miss"] == pytest.approx(worst)
    assert outcome["warning"] is not None and "missed its path" in outcome["warning"]
