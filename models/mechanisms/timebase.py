"""Step-length conversions: the one place where rates per year and durations in days meet ``dt_days``.

A scenario states every rate per year (or per day) and every duration in days or years. The compiled
parameters of every engine are per step, built from these functions only, so a weekly and a daily
run of one scenario describe the same economy.
"""

from __future__ import annotations

import numpy as np

DAYS_PER_YEAR = 365.0


def years(dt_days):
    """Length of one step in years."""
    return np.asarray(dt_days, dtype=float) / DAYS_PER_YEAR


def amount_per_step(per_year, dt_days):
    """A flow given per year as the amount of one step."""
    return np.asarray(per_year, dtype=float) * years(dt_days)


def probability_per_step(hazard_per_year, dt_days):
    """Chance of an event within one step for a constant hazard per year: ``1 - exp(-h dt)``."""
    return -np.expm1(-np.asarray(hazard_per_year, dtype=float) * years(dt_days))


def ema_weight(half_life_days, dt_days):
    """Weight on the newest value of an exponential moving average with a half-life in days."""
    return -np.expm1(-np.log(2.0) * np.asarray(dt_days, dtype=float) / np.asarray(half_life_days, dtype=float))


def steps_in(days, dt_days):
    """A duration in days as a (fractional) number of steps."""
    return np.asarray(days, dtype=float) / np.asarray(dt_days, dtype=float)


def whole_steps(days, dt_days) -> int:
    """A duration in days as a whole number of steps (rounded to the nearest step)."""
    return int(round(float(days) / float(dt_days)))


def ou_coefficients(half_life_days, stationary_std, dt_days):
    """Exact discretisation of an Ornstein-Uhlenbeck process: (persistence a, innovation std).

    ``x[t+1] = a x[t] + s e``, ``a = 2^(-dt / half_life)``, ``s = std sqrt(1 - a^2)``, so the stationary
    std and the decay per day do not depend on the step length.
    """
    a = np.exp(-np.log(2.0) * float(dt_days) / float(half_life_days))
    return a, float(stationary_std) * np.sqrt(1.0 - a * a)
