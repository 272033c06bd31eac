"""An explorer of one sector under one shock, always beside its unshocked twin (notebooks/10_explore.ipynb).

A :class:`Choice` names what the controls set: the sector (``params/sectors/<sector>.yaml``), the shock (a
forced sale ``price_crash``, a ``bear_market`` of the crypto-market factor, or none), its size and day, and
five levers of the protocol: pool depth (``market.liquidity_target_share``), payment (``payment.mode`` and the
burn share of burn-and-mint, as ``params/sweeps/sensitivity.yaml`` sets them), the emission schedule and the
pledge. :func:`scenario_for` turns a choice into a validated shocked scenario and its twin (the same scenario
and seed without the shock, ``models.analysis.impulse.twin_of``) through the project's own override and shock
helpers (``models.params.with_overrides``, ``models.analysis.loop.standard_crash``); :func:`run_pair` steps
both in one batch-engine call (``models.analysis.twin_runs.run_pairs``) and returns one tidy frame;
:func:`judge` classifies the shocked run against its twin (``models.analysis.twins.summarise_pair``);
:func:`draw` draws them (``models.analysis.explore_figures``); :func:`explorer` is the ipywidgets UI that
re-runs and redraws on every control change.

A control left at the sector's own value (:func:`sector_defaults`) is not overridden, so the default choice is
the sector exactly as its file describes it.
"""

from __future__ import annotations

import collections
import functools
import math
import time
from dataclasses import dataclass, replace

import pandas as pd

from models.analysis.loop import SHOCKED, TWIN, Twins, effect_step, standard_bear_market, standard_crash

SECTORS = ("storage", "compute", "wireless", "ai", "sensor")
SHOCKS = ("price_crash", "bear_market", "none")
SCHEDULES = ("constant", "halving", "exponential_decay", "baseline")  # models.param_blocks.EmissionParams.schedule
PAYMENTS = ("bme", "fee")  # models.param_blocks.PaymentParams.mode
BEAR_DURATION_DAYS = 182.0  # the bear market's fall lasts half a year (models.analysis.loop.standard_bear_market)
CRASH_MARGIN = 3.0  # the forced seller holds 3 x the tokens the crash needs (models.analysis.loop.standard_crash)
CACHE_SIZE = 64  # distinct runs kept in memory, about 0.3 MB each at 260 steps (assumption: a session's worth)
_CACHE: collections.OrderedDict = collections.OrderedDict()
TOLERANCE = 1e-6  # a control within this of the sector's own value leaves the sector's value (assumption)


@dataclass(frozen=True)
class Choice:
    """What the explorer's controls set; None keeps the sector file's own value.

    Attributes:
        sector: one of ``SECTORS`` (``params/sectors/<sector>.yaml``).
        shock: ``price_crash`` (a forced sale by a named seller), ``bear_market`` (the crypto-market factor
            falls over ``BEAR_DURATION_DAYS`` and stays down) or ``none`` (DESIGN.md, Shocks).
        size: price drop the seller aims for, or fall of the market factor, fraction (< 1; models.param_blocks;
            default 0.7, the bear market of ``models.analysis.loop.standard_bear_market``).
        start_day: day the shock starts, days after the sector's ``simulation.start_date`` (assumption: 91, a
            quarter in, as notebooks/04_sectors.ipynb).
        liquidity: ``market.liquidity_target_share``, pool USD depth as a share of market capitalisation.
        payment: ``payment.mode``, ``bme`` (burn-and-mint) or ``fee``.
        burn_share: ``payment.burn_share`` of burn-and-mint, fraction (used when the payment is ``bme``).
        schedule: ``emission.schedule``; another schedule than the sector's keeps the issuance rate at step 0
            (:func:`schedule_overrides`).
        pledge_days: days of expected reward each provider locks (``stake.pledge_reward_days``, Filecoin: 20).
        steps: horizon, steps of ``simulation.dt_days`` (weekly in every sector file).
        seed: root seed (``simulation.seed``).
    """

    sector: str = "wireless"
    shock: str = "bear_market"
    size: float = 0.7
    start_day: float = 91.0
    liquidity: float | None = None
    payment: str | None = None
    burn_share: float | None = None
    schedule: str | None = None
    pledge_days: float | None = None
    steps: int = 260
    seed: int | None = None


@functools.lru_cache(maxsize=len(SECTORS))
def sector_scenario(sector: str):
    """The validated sector scenario of ``params/sectors/<sector>.yaml``."""
    from models.analysis.flagship import sector_path
    from models.params import load_scenario

    if sector not in SECTORS:
        raise ValueError(f"sector {sector!r} is not one of {', '.join(SECTORS)}")
    return load_scenario(sector_path(sector))


def genesis_liquidity_share(scenario) -> float:
    """The pool depth target a scenario without ``liquidity_target_share`` uses: genesis pool over floating cap.

    As ``models.ledger.genesis``: ``liquidity_usd / (initial_price_usd x (initial_supply - unvested))``.
    """
    unvested = sum(a.tokens for a in scenario.vesting.allocations)
    market = scenario.market
    return market.liquidity_usd / (market.initial_price_usd * (scenario.token.initial_supply - unvested))


def sector_defaults(sector: str) -> dict:
    """The values the controls show for a sector: its file's own (``Choice`` field names)."""
    sc = sector_scenario(sector)
    target = sc.market.liquidity_target_share
    return {"liquidity": genesis_liquidity_share(sc) if target is None else float(target),
            "payment": sc.payment.mode, "burn_share": float(sc.payment.burn_share),
            "schedule": sc.emission.schedule,
            "pledge_days": float(sc.stake.pledge_reward_days) if sc.stake.mode == "pledge" else 0.0,
            "steps": int(sc.simulation.steps), "seed": int(sc.simulation.seed)}


def schedule_overrides(scenario, schedule: str) -> dict:
    """Overrides that switch the emission schedule and keep the sector's issuance rate at step 0.

    The rate at step 0 is ``emission.initial_tokens_per_year`` (every sector file states it so; storage's
    comment: the baseline rate at step 0). Exponential decay mints ``rate x half_life / ln 2`` in all; baseline
    minting gets a baseline that starts at the network's capacity at step 0 (initial providers x capacity each),
    so a network on the baseline mints at the same rate; constant and halving take the rate itself (assumption:
    a schedule changes the shape of issuance, not its start).
    """
    em = scenario.emission
    if schedule == em.schedule:
        return {}
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule {schedule!r} is not one of {', '.join(SCHEDULES)}")
    rate = em.initial_tokens_per_year
    total = rate * em.half_life_years / math.log(2.0)
    out = {"emission.schedule": schedule}
    if schedule == "exponential_decay":
        out["emission.decay_total_tokens"] = total
    elif schedule == "baseline":
        capacity0 = max(scenario.providers.initial_active, 1) * scenario.providers.capacity_per_provider
        out.update({"emission.baseline_total_tokens": total, "emission.baseline_simple_tokens": 0.0,
                    "emission.baseline_initial_capacity": capacity0})
    return out


def _differs(value, own) -> bool:
    if value is None:
        return False
    if isinstance(value, str) or isinstance(own, str):
        return value != own
    return abs(float(value) - float(own)) > TOLERANCE


def overrides_for(choice: Choice) -> dict:
    """Dotted overrides (``models.params.with_overrides``) of the sector file that a choice asks for."""
    sc, own = sector_scenario(choice.sector), sector_defaults(choice.sector)
    out: dict = {"simulation.steps": int(choice.steps)}
    if choice.seed is not None and int(choice.seed) != own["seed"]:
        out["simulation.seed"] = int(choice.seed)
    if _differs(choice.liquidity, own["liquidity"]):
        out["market.liquidity_target_share"] = float(choice.liquidity)
    payment = choice.payment if choice.payment is not None else own["payment"]
    if payment != own["payment"]:
        out["payment.mode"] = payment
    if payment == "bme" and _differs(choice.burn_share, own["burn_share"]):
        out["payment.burn_share"] = float(choice.burn_share)
    if choice.schedule is not None:
        out.update(schedule_overrides(sc, choice.schedule))
    if _differs(choice.pledge_days, own["pledge_days"]):
        days = float(choice.pledge_days)
        if sc.stake.mode == "pledge":
            out["stake.pledge_reward_days"] = days
        elif days > 0:
            # a sector without a pledge gets the reward part of Filecoin's pledge only (assumption: the
            # consensus pledge, a share of circulating supply, is particular to Filecoin)
            out.update({"stake.mode": "pledge", "stake.pledge_reward_days": days,
                        "stake.pledge_circulating_share": 0.0})
    return out


@functools.lru_cache(maxsize=64)
def scenario_for(choice: Choice) -> Twins:
    """The validated shocked scenario of a choice and its twin (the same scenario and seed without the shock).

    Raises:
        models.params.ParameterError: the overrides make an invalid scenario (one line naming the field).
        ValueError: the sector cannot fund the forced sale (``models.analysis.loop.standard_crash``).
    """
    from pydantic import ValidationError

    from models.param_blocks import ShockEvent
    from models.params import ParameterError, format_validation_error, with_overrides

    if choice.shock not in SHOCKS:
        raise ValueError(f"shock {choice.shock!r} is not one of {', '.join(SHOCKS)}")
    base = with_overrides(sector_scenario(choice.sector), overrides_for(choice))
    name = f"explore_{choice.sector}"
    base = with_overrides(base, {"name": name, "shocks": []})
    try:
        if choice.shock == "price_crash":
            return standard_crash(base, choice.start_day, choice.size, margin=CRASH_MARGIN)
        if choice.shock == "bear_market":
            return standard_bear_market(base, choice.start_day, choice.size, BEAR_DURATION_DAYS)
    except ValidationError as exc:  # the shock event itself (models.param_blocks.ShockEvent)
        raise ParameterError(format_validation_error(f"<{choice.shock}>", exc, ShockEvent)) from exc
    return Twins(base, base)


def _key(choice: Choice) -> tuple:
    """What decides a run: the sector, the shock and the overrides (controls at the sector's values drop out)."""
    shock = (choice.shock,) if choice.shock == "none" else (choice.shock, float(choice.size), float(choice.start_day))
    return (choice.sector, *shock, tuple(sorted(overrides_for(choice).items())))


def _run(choice: Choice) -> pd.DataFrame:
    """The cached pair of a choice (the last ``CACHE_SIZE`` distinct runs are kept)."""
    key = _key(choice)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    frame = _compute(choice)
    _CACHE[key] = frame
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return frame


def _compute(choice: Choice) -> pd.DataFrame:
    from models.analysis.twin_runs import run_pairs
    from models.replay import with_dates

    twins = scenario_for(choice)
    pair = run_pairs([twins.shocked], [(0, 0)], engine="batch")[0]
    sc = twins.shocked
    frames = []
    for variant, frame in ((SHOCKED, pair.frame), (TWIN, pair.twin)):
        part = with_dates(frame, sc) if sc.simulation.start_date else frame.copy()
        part.insert(0, "variant", variant)
        part.insert(int(part.columns.get_loc("step")) + 1, "day", part["step"] * sc.simulation.dt_days)
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def run_pair(choice: Choice) -> pd.DataFrame:
    """Run the choice's shocked scenario and its twin on the batch engine, in one call.

    Both draw from ``run_seed_sequence(seed, 0, 0)``, so they share every exogenous path (common random
    numbers); without a shock the run is its own twin. Results are cached per choice.

    Returns:
        Tidy frame: ``variant`` (``shocked`` / ``twin``), ``step``, ``day``, ``date`` (from the sector's
        ``start_date``) and every column of ``models.output``, one row per variant and step.
    """
    return _run(choice).copy()


def judge(frame: pd.DataFrame, choice: Choice) -> dict:
    """The shocked run's regime against its twin (DESIGN.md, Regimes) and the step the shock first shows.

    Returns:
        ``models.analysis.twins.summarise_pair``'s metrics (``regime``, ``final_ratio``, ``trough``,
        ``regime_price`` ... against the twin, ``regime_absolute`` ... against the pre-shock level), plus
        ``effect_step`` (first row the shock shows in) and ``shock`` (False for ``none``).
    """
    from models.analysis.regimes import pre_shock_step
    from models.analysis.twins import summarise_pair

    shocked_sc = scenario_for(choice).shocked
    shocked = frame[frame["variant"] == SHOCKED].reset_index(drop=True)
    twin = frame[frame["variant"] == TWIN].reset_index(drop=True)
    has_shock = bool(shocked_sc.shocks)
    start = pre_shock_step(shocked_sc)
    out = summarise_pair(shocked, twin, shocked_sc, start)
    out.update(shock=has_shock, effect_step=effect_step(shocked_sc) if has_shock else None)
    return out


def describe(choice: Choice) -> str:
    """The choice in words: the shock and every lever that differs from the sector file."""
    if choice.shock == "price_crash":
        text = f"{choice.size:.0%} forced-sale crash on day {choice.start_day:g}"
    elif choice.shock == "bear_market":
        text = f"bear market (market factor -{choice.size:.0%} over {BEAR_DURATION_DAYS:g} days) from day " \
               f"{choice.start_day:g}"
    else:
        text = "no shock"
    own = sector_defaults(choice.sector)
    levers = []
    if _differs(choice.liquidity, own["liquidity"]):
        levers.append(f"pool target {choice.liquidity:.0%} of market cap")
    payment = choice.payment or own["payment"]
    burn = own["burn_share"] if choice.burn_share is None else choice.burn_share
    if payment != own["payment"] or (payment == "bme" and _differs(burn, own["burn_share"])):
        levers.append("fee payment" if payment == "fee" else f"burn-and-mint, {burn:.0%} burned")
    if choice.schedule is not None and choice.schedule != own["schedule"]:
        levers.append(f"{choice.schedule.replace('_', ' ')} emission")
    if _differs(choice.pledge_days, own["pledge_days"]):
        levers.append(f"pledge of {choice.pledge_days:g} days of reward")
    return text + (f"; {', '.join(levers)}" if levers else "")


def compare_sectors(choice: Choice, sectors=SECTORS) -> pd.DataFrame:
    """The same shock (and levers) in every sector: one row per sector with the regime against the twin.

    Levers equal to the chosen sector's own values stay at each sector's own value. Shows a tqdm progress bar.

    Returns:
        ``sector, regime, providers_final_ratio, price_final_ratio, users_final_ratio, seconds`` (or
        ``error`` when the sector cannot take the shock, e.g. cannot fund the forced sale).
    """
    from tqdm.auto import tqdm

    own = sector_defaults(choice.sector)
    rows = []
    for sector in tqdm(list(sectors), desc="sectors", leave=False):
        levers = {k: (None if not _differs(getattr(choice, k), own[k]) else getattr(choice, k))
                  for k in ("liquidity", "payment", "burn_share", "schedule", "pledge_days")}
        one = replace(choice, sector=sector, seed=None, **levers)
        t0 = time.perf_counter()
        try:
            verdict = judge(run_pair(one), one)
        except ValueError as exc:
            rows.append({"sector": sector, "error": str(exc)})
            continue
        rows.append({"sector": sector, "regime": verdict["regime"], "providers_final_ratio": verdict["final_ratio"],
                     "price_final_ratio": verdict["final_ratio_price"],
                     "users_final_ratio": verdict["final_ratio_users"], "seconds": time.perf_counter() - t0})
    return pd.DataFrame(rows)


def static_figure(choice: Choice):
    """Run, judge and draw one choice (for the static page); returns ``(figure, frame, verdict)``."""
    frame = run_pair(choice)
    verdict = judge(frame, choice)
    return draw(frame, choice, verdict), frame, verdict


def clear_cache() -> None:
    """Forget cached runs (so a benchmark times cold re-runs)."""
    _CACHE.clear()
    scenario_for.cache_clear()


def draw(frame: pd.DataFrame, choice: Choice, verdict: dict | None = None, text: str | None = None, fig=None):
    """The shocked run against its twin (``models.analysis.explore_figures.draw``); returns the figure.

    ``text`` (the choice in words) defaults to :func:`describe` of the choice; ``fig``, a figure drawn before,
    is updated in place.
    """
    from models.analysis.explore_figures import draw as draw_pair

    return draw_pair(frame, choice, verdict, describe(choice) if text is None else text, fig=fig)


def explorer(choice: Choice | None = None, steps: int | None = None):
    """The ipywidgets UI (``models.analysis.explore_figures.Explorer``) at ``choice``, drawn once.

    Args:
        choice: the first choice shown (default :class:`Choice`: wireless, a bear market of 70% from day 91).
        steps: horizon in steps (default: the choice's).
    """
    from models.analysis.explore_figures import Explorer

    return Explorer(choice or Choice(), steps)
