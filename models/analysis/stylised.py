"""Stylised facts of token returns, measured the same way on real price history and on model paths.

The facts follow Cont (2001), "Empirical properties of asset returns: stylized facts and statistical
issues", Quantitative Finance 1(2), 223-236: (1) linear autocorrelations of returns are insignificant
except at very short (intraday) scales, (2) return distributions have heavy tails (positive excess
kurtosis) and (3) volatility is large. They are measured on **weekly** log returns, the step of the base
scenario, so that daily history and model paths sampled every ``dt_days`` days are compared on one scale.

Conventions: a weekly close is the last observation of a week ending Sunday (``W-SUN``; CoinGecko's daily
snapshots are taken at 00:00 UTC). A trailing week that the data do not reach the end of is dropped, so
every return spans a whole week (weeks with no data at all make the next return span two weeks).
Volatility is annualised with 365.2425 / 7 = 52.1775 weeks per year.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

WEEK_RULE = "W-SUN"
WEEKS_PER_YEAR = 52.1775
FACTS = ("annual_volatility", "lag1_autocorrelation", "excess_kurtosis", "max_abs_return", "n")

VOLATILITY_FACTOR = 1.5
MAX_ABS_AUTOCORRELATION = 0.25
MIN_EXCESS_KURTOSIS = 0.0
STYLISED_BOUNDS = {
    "volatility": f"annual volatility within a factor {VOLATILITY_FACTOR} of the reference's (HNT): "
                  f"reference / {VOLATILITY_FACTOR} <= model <= reference x {VOLATILITY_FACTOR}",
    "autocorrelation": f"|lag-1 autocorrelation of weekly returns| < {MAX_ABS_AUTOCORRELATION} "
                       "(no linear predictability; Cont 2001, fact 1)",
    "kurtosis": f"excess kurtosis of weekly returns > {MIN_EXCESS_KURTOSIS:g} (heavy tails; Cont 2001, fact 2)",
}


def _positive_prices(prices, what: str) -> np.ndarray:
    values = np.asarray(prices, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"{what}: expected a 1-D price path, got shape {values.shape}")
    if not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(f"{what}: prices must be positive and finite to take log returns")
    return values


def weekly_log_returns_from_daily(series: pd.Series, rule: str = WEEK_RULE) -> pd.Series:
    """Weekly log returns of a daily price series, from weekly closes.

    Args:
        series: positive prices on a ``DatetimeIndex`` (daily; gaps allowed).
        rule: pandas weekly anchor; the close of a week is its last observation.

    Returns:
        ``log_return`` Series indexed by week end; the first week has no return and a trailing week the
        data stop inside is dropped.

    Raises:
        ValueError: the index is not a ``DatetimeIndex`` or a price is not positive and finite.
    """
    if not isinstance(series.index, pd.DatetimeIndex):
        raise ValueError("weekly_log_returns_from_daily: series must be indexed by a DatetimeIndex")
    series = series.sort_index()
    _positive_prices(series.to_numpy(), "weekly_log_returns_from_daily")
    closes = series.resample(rule).last().dropna()
    closes = closes[closes.index <= series.index[-1].normalize()]
    returns = np.log(closes).diff().dropna()
    return returns.rename("log_return")


def weekly_log_returns_from_steps(prices, dt_days: float) -> np.ndarray:
    """Weekly log returns of a model price path sampled every ``dt_days`` days (step 0 first).

    Args:
        prices: 1-D positive prices, one per step.
        dt_days: days per step; 7 / ``dt_days`` must be a whole number (within 1e-6).

    Returns:
        Log returns between every ``round(7 / dt_days)``-th price, starting at step 0.

    Raises:
        ValueError: ``dt_days`` does not divide a week, or a price is not positive and finite.
    """
    ratio = 7.0 / float(dt_days)
    stride = round(ratio)
    if not (float(dt_days) == 7.0 or (stride >= 1 and abs(ratio - stride) <= 1e-6 * ratio)):
        raise ValueError(f"dt_days={dt_days!r} does not divide a week (7 / dt_days = {ratio:.6g} is not a "
                         "whole number); cannot sample weekly closes")
    values = _positive_prices(prices, "weekly_log_returns_from_steps")
    return np.diff(np.log(values[::stride]))


def _lag1(runs: Sequence[np.ndarray]) -> float:
    """Pearson correlation of (r_t, r_t+1) pairs taken within each run (never across runs)."""
    pairs = [(r[:-1], r[1:]) for r in runs if r.size >= 2]
    if not pairs:
        return math.nan
    x, y = (np.concatenate(p) for p in zip(*pairs, strict=True))
    if x.size < 2 or np.std(x) == 0 or np.std(y) == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


def _finite(returns, what: str = "returns") -> np.ndarray:
    values = np.asarray(returns, dtype=float).ravel()
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{what}: every return must be finite")
    return values


def stylised_facts(returns, periods_per_year: float = WEEKS_PER_YEAR) -> dict[str, float]:
    """Volatility, lag-1 autocorrelation, excess kurtosis and largest move of one return series.

    Args:
        returns: 1-D finite log returns (NaN is refused, not dropped).
        periods_per_year: return periods per year, to annualise the standard deviation.

    Returns:
        ``annual_volatility`` (std, ddof=1, x sqrt(periods_per_year)), ``lag1_autocorrelation`` (Pearson,
        as ``pandas.Series.autocorr``), ``excess_kurtosis`` (``scipy.stats.kurtosis``, fisher, bias
        corrected), ``max_abs_return`` and ``n``. With fewer than 4 returns the kurtosis is NaN.

    Raises:
        ValueError: a return is not finite or there are fewer than 2.
    """
    r = _finite(returns)
    if r.size < 2:
        raise ValueError(f"stylised_facts: need at least 2 returns, got {r.size}")
    kurt = float(stats.kurtosis(r, fisher=True, bias=False)) if r.size >= 4 else math.nan
    return {
        "annual_volatility": float(np.std(r, ddof=1) * math.sqrt(periods_per_year)),
        "lag1_autocorrelation": _lag1([r]),
        "excess_kurtosis": kurt,
        "max_abs_return": float(np.max(np.abs(r))),
        "n": int(r.size),
    }


def facts_over_runs(runs: Sequence, periods_per_year: float = WEEKS_PER_YEAR) -> pd.DataFrame:
    """Stylised facts of each run's returns.

    Args:
        runs: one 1-D array of log returns per run.
        periods_per_year: see :func:`stylised_facts`.

    Returns:
        One row per run (index ``run``), columns ``FACTS``.
    """
    rows = [stylised_facts(r, periods_per_year) for r in runs]
    return pd.DataFrame(rows, columns=list(FACTS)).rename_axis("run")


def pooled_facts(runs: Sequence, periods_per_year: float = WEEKS_PER_YEAR) -> dict[str, float]:
    """The facts of all runs' returns pooled, after removing each run's own mean return.

    Demeaning keeps differences in drift between runs out of the volatility and the tails. The
    autocorrelation is taken over pairs within runs; the volatility divides by (N - runs) degrees of freedom.

    Args:
        runs: one 1-D array of log returns per run (each with at least 2 returns).
        periods_per_year: see :func:`stylised_facts`.

    Returns:
        The keys of :func:`stylised_facts`.
    """
    centred = [r - r.mean() for r in (_finite(r, f"run {i}") for i, r in enumerate(runs))]
    if not centred or any(r.size < 2 for r in centred):
        raise ValueError("pooled_facts: need at least one run, each with at least 2 returns")
    pooled = np.concatenate(centred)
    facts = stylised_facts(pooled, periods_per_year)
    dof = pooled.size - len(centred)
    facts["annual_volatility"] = float(math.sqrt(np.sum(pooled**2) / dof * periods_per_year))
    facts["lag1_autocorrelation"] = _lag1(centred)
    return facts


def summarise_facts(df: pd.DataFrame, pooled: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Median and 10th / 90th percentiles over runs of each fact.

    Args:
        df: output of :func:`facts_over_runs`.
        pooled: optionally the output of :func:`pooled_facts` for the same runs, added as column ``pooled``.

    Returns:
        One row per fact, columns ``median``, ``p10``, ``p90`` (NaN runs ignored) and maybe ``pooled``.
    """
    cols = [c for c in FACTS if c in df.columns]
    out = pd.DataFrame({
        "median": df[cols].median(),
        "p10": df[cols].quantile(0.10),
        "p90": df[cols].quantile(0.90),
    })
    if pooled is not None:
        out["pooled"] = pd.Series({c: float(pooled[c]) for c in cols})
    return out


def check_bounds(model_facts: Mapping[str, float], reference_facts: Mapping[str, float]) -> dict[str, bool]:
    """Whether model facts fall within ``STYLISED_BOUNDS`` (NaN fails).

    Args:
        model_facts: facts of the model (for example the medians over runs), keys as :func:`stylised_facts`.
        reference_facts: facts of the reference token (HNT weekly history).

    Returns:
        ``{"volatility": bool, "autocorrelation": bool, "kurtosis": bool}``.
    """
    vol, ref = float(model_facts["annual_volatility"]), float(reference_facts["annual_volatility"])
    return {
        "volatility": bool(ref / VOLATILITY_FACTOR <= vol <= ref * VOLATILITY_FACTOR),
        "autocorrelation": bool(abs(float(model_facts["lag1_autocorrelation"])) < MAX_ABS_AUTOCORRELATION),
        "kurtosis": bool(float(model_facts["excess_kurtosis"]) > MIN_EXCESS_KURTOSIS),
    }


def runs_weekly_returns(frame: pd.DataFrame, dt_days: float) -> tuple[list[np.ndarray], list[int]]:
    """Weekly log returns of every run of a tidy frame (``run``, ``step``, ``price``).

    Returns:
        ``(returns, left_out)``: one array per run whose price stays positive and finite, and the ids of the
        runs left out.
    """
    returns, left_out = [], []
    for run, path in frame.sort_values("step").groupby("run"):
        prices = path["price"].to_numpy(dtype=float)
        if np.all(np.isfinite(prices) & (prices > 0)):
            returns.append(weekly_log_returns_from_steps(prices, dt_days))
        else:
            left_out.append(int(run))
    return returns, left_out


def reference_facts() -> dict[str, dict[str, float]]:
    """Facts of the shipped HNT and FIL daily prices (``models.history``), keyed by token."""
    from models.history import fil_price_daily, hnt_price_daily

    return {name: stylised_facts(weekly_log_returns_from_daily(load()))
            for name, load in (("HNT", hnt_price_daily), ("FIL", fil_price_daily))}
