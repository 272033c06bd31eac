"""Measures that compare a network's history with the model's: onboarding peaks, lags, halving notches.

The same rule is applied to the data and to the model, so the comparison is like for like.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SMOOTHING_MONTHS = 3  # centred rolling mean of monthly additions: the shipped counts are monthly averages


def monthly_additions(counts: pd.Series, smoothing: int = SMOOTHING_MONTHS) -> pd.Series:
    """Month-on-month increase of a monthly count, smoothed by a centred rolling mean of ``smoothing`` months."""
    added = counts.astype(float).diff()
    return added.rolling(smoothing, center=True, min_periods=1).mean() if smoothing > 1 else added


def peak_month(series: pd.Series, start=None, end=None) -> pd.Timestamp:
    """Month of the largest value of ``series`` between ``start`` and ``end`` (inclusive)."""
    window = series.loc[pd.Timestamp(start) if start else None:pd.Timestamp(end) if end else None].dropna()
    if window.empty:
        raise ValueError("no values in the window")
    return pd.Timestamp(window.idxmax())


def months_apart(earlier: pd.Timestamp, later: pd.Timestamp) -> int:
    """Whole calendar months from ``earlier`` to ``later`` (negative when ``later`` comes first)."""
    return (later.year - earlier.year) * 12 + (later.month - earlier.month)


def price_onboarding_lag(price_monthly: pd.Series, counts_monthly: pd.Series, start=None, end=None) -> dict:
    """Months from the price peak to the peak of (smoothed) monthly onboarding, within a window.

    Returns:
        ``{"price_peak": Timestamp, "onboarding_peak": Timestamp, "lag_months": int}``.
    """
    price_peak = peak_month(price_monthly, start, end)
    onboarding_peak = peak_month(monthly_additions(counts_monthly), start, end)
    return {"price_peak": price_peak, "onboarding_peak": onboarding_peak,
            "lag_months": months_apart(price_peak, onboarding_peak)}


def halving_notch(counts_monthly: pd.Series, halving: pd.Timestamp) -> float:
    """Dip of unsmoothed monthly additions at a halving (1 = no change; well below 1 = a notch).

    The lower of the halving month's and the next month's additions over the additions of the month before.
    """
    added = monthly_additions(counts_monthly, smoothing=1)
    month = pd.Timestamp(halving).to_period("M").to_timestamp()
    before = added.loc[month - pd.offsets.MonthBegin(1)]
    after = min(added.loc[month], added.loc[month + pd.offsets.MonthBegin(1)])
    return float(after / before) if before > 0 else float("nan")


def monthly_mean_price(prices: pd.Series) -> pd.Series:
    """Calendar-month mean of a price series, on month-start dates."""
    out = prices.groupby(prices.index.to_period("M")).mean()
    out.index = out.index.to_timestamp()
    return out


def turning_point(series: pd.Series, start=None, end=None) -> pd.Timestamp:
    """Month where a monthly series peaks before turning down (its maximum within the window)."""
    return peak_month(series, start, end)


def log_errors(observed: pd.Series, model: pd.Series) -> pd.Series:
    """Log of model over observed per month (0 = exact)."""
    return np.log(model.astype(float)) - np.log(observed.astype(float))
