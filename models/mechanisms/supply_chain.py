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


def quoted_lead_time_days(backlog_units, production_units_per_day, shipping_days):
    """Lead time an order placed now can expect: wait for the backlog ahead of it, then ship, days."""
    wait = np.where(np.isfinite(production_units_per_day),
                    backlog_units / np.where(np.isfinite(production_units_per_day), production_units_per_day, 1.0),
                    0.0)
    return wait + shipping_days
