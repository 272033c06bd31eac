"""Seeds and pre-sampled exogenous inputs shared by every engine.

Randomness that is not an agent's own choice (the crypto-market factor, token sentiment, the
noise-trader signal, shock timing) is drawn once per (parameter point, replicate) into arrays indexed
by step. Every engine reads the same arrays, so engines differ only in how they aggregate agents,
never in the luck they drew; a shocked run and its unshocked twin with the same seed share every draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.mechanisms import market, timebase
from models.mechanisms.shocks import SCHEDULE_KEYS, jitter_steps, shock_schedule, start_step

SERIES_KEYS = ("sentiment", "noise_signal", "log_factor")


def run_seed_sequence(root_seed: int, point: int = 0, replicate: int = 0) -> np.random.SeedSequence:
    """Seed of one run: the child (point, replicate) of the root, whatever the execution order."""
    return np.random.SeedSequence(entropy=root_seed, spawn_key=(point, replicate))


def run_seed_int(seq: np.random.SeedSequence) -> int:
    """A 63-bit integer identifying a run's seed, for tables and manifests."""
    return int(seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


@dataclass(frozen=True)
class Exogenous:
    """Exogenous arrays of one run, each of length ``steps`` (value for the step from t to t+1)."""

    sentiment: np.ndarray
    noise_signal: np.ndarray
    log_factor: np.ndarray
    shock_starts: tuple[int, ...]
    schedule: dict

    def as_dict(self) -> dict[str, np.ndarray]:
        """Flat mapping of every per-step array."""
        return {"sentiment": self.sentiment, "noise_signal": self.noise_signal, "log_factor": self.log_factor,
                **self.schedule}


def _ou_path(innovations: np.ndarray, persistence: float) -> np.ndarray:
    out = np.empty(len(innovations))
    level = 0.0
    for t, e in enumerate(innovations):
        level = persistence * level + e
        out[t] = level
    return out


def sample_exogenous(scenario, seq: np.random.SeedSequence) -> Exogenous:
    """Draw the exogenous paths of one run from its seed sequence.

    Draw order is fixed (sentiment, noise, factor, then shock jitter), and each series takes the same
    number of draws whatever the parameters, so a shocked run and its twin share every path.
    """
    # child 0 of the run's sequence; built explicitly so the parent's spawn counter is never touched
    rng = np.random.default_rng(np.random.SeedSequence(seq.entropy, spawn_key=seq.spawn_key + (0,)))
    sim, mk = scenario.simulation, scenario.market
    steps, dt = sim.steps, sim.dt_days
    sentiment_draws = rng.standard_normal(steps)
    noise_signal = rng.standard_normal(steps)
    factor_draws = rng.standard_t(mk.factor_tail_df, steps)
    starts = tuple(
        start_step(s, dt) + (int(rng.integers(0, jitter_steps(s, dt) + 1)) if jitter_steps(s, dt) else 0)
        for s in scenario.shocks
    )
    schedule = shock_schedule(scenario.shocks, steps, starts, dt)
    persistence, innovation_std = timebase.ou_coefficients(mk.sentiment_half_life_days, mk.sentiment_volatility, dt)
    # start from the stationary distribution's centre: sentiment 0 at step 0 means price = valuation
    sentiment = _ou_path(sentiment_draws * innovation_std, persistence)
    increments = market.factor_increments(factor_draws, mk.factor_drift_per_year, mk.factor_volatility_per_year,
                                          mk.factor_tail_df, float(timebase.years(dt)))
    log_factor = np.cumsum(increments) + schedule["factor_shift"]
    return Exogenous(sentiment=sentiment, noise_signal=noise_signal, log_factor=log_factor,
                     shock_starts=starts, schedule=schedule)


def agent_rng(seq: np.random.SeedSequence) -> np.random.Generator:
    """Generator for an agent-based run's own draws, independent of the exogenous stream."""
    return np.random.default_rng(np.random.SeedSequence(seq.entropy, spawn_key=seq.spawn_key + (1,)))


def stack_exogenous(exos: list[Exogenous]) -> dict[str, np.ndarray]:
    """Stack several runs' arrays into shape (runs, steps) for the batched engine."""
    keys = (*SERIES_KEYS, *SCHEDULE_KEYS)
    return {k: np.stack([e.as_dict()[k] for e in exos]) for k in keys}
