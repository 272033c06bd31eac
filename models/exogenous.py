"""Seeds and pre-sampled exogenous inputs shared by every engine.

Randomness that is not an agent's own choice (market sentiment, the noise-trader signal, shock timing)
is drawn once per (parameter point, replicate) into arrays indexed by step. Every engine reads the same
arrays, so engines differ only in how they aggregate agents, never in the luck they drew.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.mechanisms.shocks import SCHEDULE_KEYS, shock_schedule


def run_seed_sequence(root_seed: int, point: int = 0, replicate: int = 0) -> np.random.SeedSequence:
    """Seed of one run: the child (point, replicate) of the root, whatever the execution order."""
    return np.random.SeedSequence(entropy=root_seed, spawn_key=(point, replicate))


def run_seed_int(seq: np.random.SeedSequence) -> int:
    """A 63-bit integer identifying a run's seed, for tables and manifests."""
    return int(seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


@dataclass(frozen=True)
class Exogenous:
    """Exogenous arrays of one run, each of length ``steps``."""

    sentiment: np.ndarray
    noise_signal: np.ndarray
    shock_starts: tuple[int, ...]
    schedule: dict

    def as_dict(self) -> dict[str, np.ndarray]:
        """Flat mapping of every per-step array."""
        return {"sentiment": self.sentiment, "noise_signal": self.noise_signal, **self.schedule}


def sample_exogenous(scenario, seq: np.random.SeedSequence) -> Exogenous:
    """Draw the exogenous paths of one run from its seed sequence."""
    # child 0 of the run's sequence; built explicitly so the parent's spawn counter is never touched
    rng = np.random.default_rng(np.random.SeedSequence(seq.entropy, spawn_key=seq.spawn_key + (0,)))
    steps = scenario.simulation.steps
    spec = scenario.speculators
    innovations = rng.standard_normal(steps) * spec.sentiment_sigma
    noise_signal = rng.standard_normal(steps)
    starts = tuple(
        int(s.start + (rng.integers(0, s.start_jitter_steps + 1) if s.start_jitter_steps else 0))
        for s in scenario.shocks
    )
    schedule = shock_schedule(scenario.shocks, steps, starts)
    sentiment = np.empty(steps)
    level = 0.0
    for t in range(steps):
        level = spec.sentiment_persistence * level + innovations[t]
        sentiment[t] = level
    sentiment = sentiment + schedule["sentiment_shift"]
    return Exogenous(sentiment=sentiment, noise_signal=noise_signal, shock_starts=starts, schedule=schedule)


def agent_rng(seq: np.random.SeedSequence) -> np.random.Generator:
    """Generator for an agent-based run's own draws, independent of the exogenous stream."""
    return np.random.default_rng(np.random.SeedSequence(seq.entropy, spawn_key=seq.spawn_key + (1,)))


def stack_exogenous(exos: list[Exogenous]) -> dict[str, np.ndarray]:
    """Stack several runs' arrays into shape (runs, steps) for the batched engine."""
    keys = ("sentiment", "noise_signal", *SCHEDULE_KEYS)
    return {k: np.stack([e.as_dict()[k] for e in exos]) for k in keys}
