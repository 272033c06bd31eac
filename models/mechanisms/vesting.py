"""Team and investor vesting: a cliff, then linear unlock."""

from __future__ import annotations

import numpy as np


def unlocked_to_date(step, tokens, cliff_steps, vesting_steps):
    """Cumulative unlocked tokens after ``step`` steps: nothing before the cliff, then linear."""
    elapsed = np.asarray(step, dtype=float) - cliff_steps
    return tokens * np.clip(elapsed / vesting_steps, 0.0, 1.0) * (elapsed >= 0)


def unlock_in_step(step, tokens, cliff_steps, vesting_steps):
    """Tokens that unlock during step ``step`` (from ``step`` to ``step + 1``)."""
    return unlocked_to_date(np.asarray(step) + 1, tokens, cliff_steps, vesting_steps) - unlocked_to_date(
        step, tokens, cliff_steps, vesting_steps
    )
