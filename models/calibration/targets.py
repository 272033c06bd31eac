"""What a calibration fits: an observed monthly series, the model quantity that corresponds to it, windows.

Each target says how a model run becomes the observed quantity (the observation model) because the data
rarely count exactly what the model counts: Helium's ``# hotspots`` is the monthly average of all
asserted hotspots, online or not, so its model counterpart is the hardware ever onboarded (providers at
genesis plus every arrival), not the providers active this week.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

TIB_PER_EIB = 2.0**20


@dataclass(frozen=True)
class Target:
    """An observed monthly series and how the model produces it.

    Attributes:
        name: label, e.g. ``helium_hotspots``.
        observed: monthly Series on month-start dates (the data, in ``unit``).
        unit: unit of the observed values.
        model_values: maps a replay's columns (``models.output`` names -> arrays of shape (runs, rows)) to
            the model's values at its rows (runs, rows), in ``unit``, before monthly averaging.
        description: the observation model in words, for tables and notebooks.
        price: loader of the price history replayed with this target.
        flow_weight: weight in the fit's distance of the log RMSE of monthly additions (3-month centred mean,
            ``models.calibration.metrics.monthly_additions``) beside that of the levels; the levels forgive a
            boom that comes months late, the additions do not (0 = levels only).
        flow_floor: additions below this (in ``unit`` per month) count as this much in the logs.
    """

    name: str
    observed: pd.Series
    unit: str
    model_values: Callable[[dict[str, np.ndarray]], np.ndarray]
    description: str
    price: Callable[[], pd.Series]
    flow_weight: float = 0.0
    flow_floor: float = 1.0

    def window(self, start, end) -> pd.Series:
        """Observed months from ``start`` to ``end`` (inclusive, month-start dates)."""
        return self.observed.loc[pd.Timestamp(start):pd.Timestamp(end)]


Columns = dict[str, np.ndarray]


def onboarded(columns: Columns) -> np.ndarray:
    """Hardware ever onboarded: providers at genesis plus the cumulative arrivals (count)."""
    return columns["providers"][:, :1] + np.cumsum(columns["arrivals"], axis=-1)


def active_providers(columns: Columns) -> np.ndarray:
    """Providers active at the end of each step (count)."""
    return columns["providers"]


def capacity_eib(unit_tib: float) -> Callable[[Columns], np.ndarray]:
    """Network capacity in EiB when one capacity unit is ``unit_tib`` TiB."""

    def values(columns: Columns) -> np.ndarray:
        return columns["capacity"] * unit_tib / TIB_PER_EIB

    return values


def monthly_weights(dates, months: pd.DatetimeIndex) -> np.ndarray:
    """Matrix (rows, months) that averages the model's rows within each calendar month of ``months``.

    A month with no row (shorter than a step) gets a zero column, which the caller must not fit.
    """
    row_month = pd.DatetimeIndex(dates).to_period("M")
    onehot = (np.asarray(row_month)[:, None] == np.asarray(pd.DatetimeIndex(months).to_period("M"))[None, :])
    counts = onehot.sum(axis=0)
    return onehot / np.maximum(counts, 1)


def helium_hotspots() -> Target:
    """Helium asserted hotspots (monthly average) against hardware ever onboarded, HNT price replayed."""
    from models import history

    data = history.helium_monthly().set_index("date")["hotspots"].astype(float)
    return Target("helium_hotspots", data, "hotspots", onboarded,
                  "asserted hotspots, online or not (data) = providers at genesis + cumulative arrivals (model)",
                  history.hnt_price_for_replay, flow_weight=0.5)


def filecoin_raw_power(unit_tib: float) -> Target:
    """Filecoin raw-byte power (monthly mean of daily values) against capacity, FIL price replayed."""
    from models import history

    daily = history.filecoin_power_daily().set_index("date")["raw_power_eib"].astype(float)
    data = daily.groupby(daily.index.to_period("M")).mean()
    data.index = data.index.to_timestamp()
    return Target("filecoin_raw_power", data, "EiB", capacity_eib(unit_tib),
                  "raw-byte power, monthly mean of daily values (data) = active capacity (model)",
                  history.fil_price_daily)


def hivemapper_contributors() -> Target:
    """Hivemapper map contributors per month (rounded estimates) against active providers."""
    from models import history

    frame = history.hivemapper_monthly().set_index("date")
    return Target("hivemapper_contributors", frame["map_contributors"].astype(float), "contributors",
                  active_providers, "map contributors in the month (data) = active providers (model)",
                  lambda: hivemapper_price(frame))


def hivemapper_price(frame: pd.DataFrame) -> pd.Series:
    """Monthly HONEY price dated mid-month (the source assumes 0.05 USD before 2023-01)."""
    price = frame["price_usd"].astype(float)
    price.index = pd.DatetimeIndex(price.index) + pd.Timedelta(days=14)
    start = pd.Series([price.iloc[0]], index=[pd.DatetimeIndex(frame.index)[0]])
    return pd.concat([start, price]).rename("price_usd").rename_axis("date")
