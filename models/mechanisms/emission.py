"""Token issuance schedules: constant, halving (Helium), exponential decay and baseline (Filecoin)."""

from __future__ import annotations

import numpy as np

STEPS_PER_YEAR_DAYS = 365.0


def constant(step, tokens_per_step):
    """The same issuance every step."""
    return np.asarray(tokens_per_step, dtype=float) * np.ones_like(np.asarray(step, dtype=float))


def halving_minted_to_date(t, initial_tokens_per_step, halving_period_steps):
    """Cumulative issuance after ``t`` (fractional) steps when the rate halves every period."""
    t = np.asarray(t, dtype=float)
    k = np.floor(t / halving_period_steps)
    completed = 2.0 * initial_tokens_per_step * halving_period_steps * (1.0 - 0.5**k)
    return completed + initial_tokens_per_step * 0.5**k * (t - k * halving_period_steps)


def halving(step, initial_tokens_per_step, halving_period_steps):
    """Issuance during step ``step`` when the rate halves every ``halving_period_steps`` (Helium HIP-20).

    The integral of the rate over the step, so a halving that falls inside a step splits it and daily
    and weekly runs mint the same by any date.
    """
    t = np.asarray(step, dtype=float)
    return (halving_minted_to_date(t + 1.0, initial_tokens_per_step, halving_period_steps)
            - halving_minted_to_date(t, initial_tokens_per_step, halving_period_steps))


def exponential_decay(step, total_tokens, half_life_steps):
    """Filecoin simple minting: cumulative M(t) = total (1 - e^{-lambda t}); returns M(t+1) - M(t)."""
    lam = np.log(2.0) / half_life_steps
    t = np.asarray(step, dtype=float)
    return total_tokens * (np.exp(-lam * t) - np.exp(-lam * (t + 1.0)))


def baseline_function(step, initial_capacity, growth_per_step):
    """Baseline capacity b(t) = b0 e^{g t}."""
    return initial_capacity * np.exp(growth_per_step * np.asarray(step, dtype=float))


def effective_network_time(cumulative_capped_capacity, initial_capacity, growth_per_step):
    """Theta such that the integral of b from 0 to theta equals cumulative capped capacity.

    With b(t) = b0 e^{g t}: theta = ln(1 + g R / b0) / g (and R / b0 when g = 0).
    """
    r = np.asarray(cumulative_capped_capacity, dtype=float)
    g = np.asarray(growth_per_step, dtype=float)
    safe_g = np.where(g > 0, g, 1.0)
    return np.where(g > 0, np.log1p(safe_g * r / initial_capacity) / safe_g, r / initial_capacity)


def baseline_minted_to_date(theta, total_tokens, half_life_steps):
    """Filecoin baseline minting: cumulative total (1 - e^{-lambda theta})."""
    lam = np.log(2.0) / half_life_steps
    return total_tokens * -np.expm1(-lam * np.asarray(theta, dtype=float))


def baseline_step(step, capacity, cumulative_capped, minted_to_date, initial_capacity, growth_per_step,
                  total_tokens, half_life_steps):
    """One step of baseline minting.

    Capacity counts only up to the baseline (capped), so minting speeds up only while the network
    keeps pace with a baseline that grows exponentially.

    Returns:
        (tokens_minted_this_step, new_cumulative_capped, new_minted_to_date).
    """
    capped = np.minimum(capacity, baseline_function(step, initial_capacity, growth_per_step))
    new_cum = cumulative_capped + capped
    theta = effective_network_time(new_cum, initial_capacity, growth_per_step)
    new_minted = baseline_minted_to_date(theta, total_tokens, half_life_steps)
    return new_minted - minted_to_date, new_cum, new_minted


def cap_to_max_supply(minted, minted_to_date, max_supply_minting_room):
    """Limit issuance so that cumulative issuance never exceeds the room left under a hard cap."""
    return np.clip(np.minimum(minted, max_supply_minting_room - minted_to_date), 0.0, None)


def _cumulative(code, t, halving_period_steps, decay_half_life_steps):
    """Issuance to (fractional) step ``t`` of a unit-rate schedule: what the schedule's shape implies."""
    t = np.asarray(t, dtype=float)
    lam = np.log(2.0) / decay_half_life_steps
    return np.select(
        [code == 1, (code == 2) | (code == 3)],
        [halving_minted_to_date(t, 1.0, halving_period_steps), -np.expm1(-lam * t) / lam],
        default=t,
    )


def expected_rate_ratio(code, step, start_steps, horizon_steps, halving_period_steps, decay_half_life_steps):
    """Mean issuance over ``[step + start, step + start + horizon]`` relative to the issuance of ``step``.

    What an entrant who knows the public schedule expects of emission once its hardware serves: a halving
    inside the horizon lowers it smoothly before the halving happens, so orders slow ahead of it (Helium
    HIP-20 halvings were announced years ahead). Baseline minting (code 3) is taken at the pace of its
    exponential decay, as when capacity keeps up with the baseline (Filecoin spec, reward actor);
    constant issuance (code 0) gives 1.

    Args:
        code: schedule code (0 constant, 1 halving, 2 exponential decay, 3 baseline) per run.
        step: current step.
        start_steps: steps until the entrant's hardware would serve (realised lead time).
        horizon_steps: steps over which the entrant averages (payback horizon).
        halving_period_steps: steps between halvings.
        decay_half_life_steps: half-life of exponential and baseline minting, steps.
    """
    def cumulative(t):
        return _cumulative(code, t, halving_period_steps, decay_half_life_steps)

    start = step + np.asarray(start_steps, dtype=float)
    now = cumulative(step + 1.0) - cumulative(step)
    ahead = (cumulative(start + horizon_steps) - cumulative(start)) / np.maximum(horizon_steps, 1e-12)
    return np.where(now > 0, ahead / np.where(now > 0, now, 1.0), 1.0)
