"""The hardware supply chain: orders queue for production, then ship (Sterman 2000, ch. 17-18).

Orders join a first-come queue served at a production rate for the whole network; produced units ship
and arrive after a fixed shipping delay. So the realised lead time is the shipping delay plus the wait in
the queue, which grows with the backlog (Little's law: wait = backlog / production rate). Units are
hardware units (one per provider).
"""

from __future__ import annotations

import numpy as np


def produced_units(backlog_units, production_per_step):
    """Units leaving production this step: the whole backlog up to the production rate."""
    return np.minimum(backlog_units, production_per_step)


def adjust_capacity(capacity_units_per_day, backlog_units, floor_units_per_day, delivery_target_days, weight):
    """Makers' production capacity after one step of adjustment (Sterman 2000, ch. 17: capacity acquisition).

    Capacity moves a fraction ``weight`` (``1 - exp(-dt / adjustment time)``) toward the rate that would
    deliver the backlog within the target, never below the floor (the makers' base capacity); unlimited
    production (an infinite floor) stays unlimited.
    """
    floor = np.asarray(floor_units_per_day, dtype=float)
    finite = np.isfinite(floor)
    desired = np.maximum(np.asarray(backlog_units, dtype=float) / delivery_target_days, np.where(finite, floor, 0.0))
    current = np.where(finite, capacity_units_per_day, 0.0)
    return np.where(finite, np.maximum(current + weight * (desired - current), np.where(finite, floor, 0.0)), np.inf)


def quoted_lead_time_days(backlog_units, production_units_per_day, shipping_days):
    """Lead time an order placed now can expect: wait for the backlog ahead of it, then ship, days."""
    wait = np.where(np.isfinite(production_units_per_day),
                    backlog_units / np.where(np.isfinite(production_units_per_day), production_units_per_day, 1.0),
                    0.0)
    return wait + shipping_days
