"""Per parameter point of a sweep: regime shares, medians with intervals, critical values (issue 11).

Also the critical value of a parameter at which P(collapse) crosses a level (items 2 and 6).

Regime shares are binomial proportions over the replicates of a point; their intervals are Wilson score
intervals (``scipy.stats.binomtest``; Brown, Cai and DasGupta 2001). Medians carry percentile bootstrap
intervals (``scipy.stats.bootstrap``, Efron and Tibshirani 1993) from a fixed seed, so a table is
reproducible to the last digit. The critical value is the 50% point of a logistic regression of the
collapse indicator on the parameter, fitted by maximum likelihood over runs (``scipy.optimize``), with a
bootstrap over runs for its interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from models.analysis.regimes import REGIMES

POINT_METRICS = ("trough", "permanent_loss", "time_to_trough_days", "time_to_recover_days", "price_drop_vs_twin",
                 "shock_achieved", "subsidy_ratio", "net_inflation_per_year", "loop_gain")
BOOTSTRAP_SEED = 20261203  # fixed: intervals are part of the results and must reproduce
N_RESAMPLES = 999


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of ``k`` successes in ``n`` trials."""
    from scipy.stats import binomtest

    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def median_interval(values, confidence: float = 0.95, seed: int = BOOTSTRAP_SEED,
                    n_resamples: int = N_RESAMPLES) -> tuple[float, float, float]:
    """Median of the finite ``values`` with a percentile bootstrap interval; NaNs when none is finite.

    One finite value, or all equal, gives a zero-width interval (the bootstrap has nothing to resample).
    """
    from scipy.stats import bootstrap

    x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return np.nan, np.nan, np.nan
    med = float(np.median(x))
    if x.size == 1 or np.all(x == x[0]):
        return med, med, med
    res = bootstrap((x,), np.median, confidence_level=confidence, method="percentile", n_resamples=n_resamples,
                    rng=np.random.default_rng(seed), vectorized=True)
    return med, float(res.confidence_interval.low), float(res.confidence_interval.high)


def point_table(summary: pd.DataFrame, by: Sequence[str], column: str = "regime",
                metrics: Sequence[str] = POINT_METRICS, confidence: float = 0.95) -> pd.DataFrame:
    """One row per group of ``by`` (a sweep's parameter columns, say): shares and medians with intervals.

    Args:
        summary: one row per run (a sweep's summary table, ``models.experiments.load(name).summary``).
        by: grouping columns (none: the whole table is one group, as for a Monte Carlo-only sweep).
        column: the regime label to count (``regime`` is twin-relative, ``regime_absolute`` against the
            pre-shock level).
        metrics: numeric columns whose median is reported (missing ones are skipped).
        confidence: level of every interval.

    Returns:
        ``by`` columns, ``n``, then per regime ``p_<regime>``, ``p_<regime>_low``, ``p_<regime>_high``, then
        per metric ``<metric>_median``, ``<metric>_low``, ``<metric>_high`` and ``<metric>_n`` (finite values).
        Medians are over the runs where the metric is defined: ``time_to_recover_days`` is 0 for runs that
        never fell and missing for runs still below the level at the horizon (censored), ``loop_gain`` missing
        where no price moved; compare ``<metric>_n`` with ``n`` before reading such a median.
    """
    by = list(by)
    rows = []
    groups = summary.groupby(by, sort=True, dropna=False) if by else [((), summary)]  # no columns: one group
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key, strict=True))
        labels = group[column].to_numpy()
        row["n"] = n = len(labels)
        for regime in REGIMES:
            k = int((labels == regime).sum())
            low, high = wilson(k, n, confidence)
            row.update({f"p_{regime}": k / n, f"p_{regime}_low": low, f"p_{regime}_high": high})
        for metric in metrics:
            if metric not in group:
                continue
            values = pd.to_numeric(group[metric], errors="coerce")
            med, low, high = median_interval(values, confidence)
            row.update({f"{metric}_median": med, f"{metric}_low": low, f"{metric}_high": high,
                        f"{metric}_n": int(np.isfinite(values.to_numpy(dtype=float)).sum())})
        rows.append(row)
    return pd.DataFrame(rows)


def _logistic_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood intercept and slope of P(y) = expit(a + b x)."""
    from scipy.optimize import minimize
    from scipy.special import expit, log_expit

    def nll(theta):
        z = theta[0] + theta[1] * x
        p = expit(z)
        grad = np.array([np.sum(p - y), np.sum((p - y) * x)])
        return -np.sum(y * log_expit(z) + (1 - y) * log_expit(-z)), grad

    # a tiny ridge keeps separable data (all collapse above some x) finite instead of running off to infinity
    def penalised(theta):
        value, grad = nll(theta)
        return value + 1e-6 * theta[1] ** 2, grad + np.array([0.0, 2e-6 * theta[1]])

    res = minimize(penalised, np.zeros(2), jac=True, method="BFGS")
    if not np.all(np.isfinite(res.x)):
        raise RuntimeError(f"the logistic fit did not converge: {res.message}")
    return float(res.x[0]), float(res.x[1])


def critical_value(summary: pd.DataFrame, parameter: str, level: float = 0.5, regime: str = "collapse",
                   column: str = "regime", confidence: float = 0.95, n_resamples: int = 400,
                   seed: int = BOOTSTRAP_SEED) -> dict:
    """The value of ``parameter`` at which P(``regime``) crosses ``level``, with a bootstrap interval.

    A logistic regression of the indicator ``summary[column] == regime`` on the parameter (over runs) gives
    the crossing ``(logit(level) - a) / b``; the interval is the percentile interval of that crossing over
    ``n_resamples`` resamples of the runs. A resample without both outcomes has its crossing beyond the data
    (below every value if all runs collapse, above if none does) and counts as such, so the interval opens
    (becomes infinite) on that side when such resamples are more than the tail share. A crossing outside the
    swept range is reported as it is, with ``inside`` False: the data only say which side it lies on.

    When the data separate completely (every run above some value collapses and none below it), the likelihood
    has no maximum: the crossing is then only known to lie between the largest value without and the smallest
    value with the regime, and that bracket is reported as the interval (``separated`` True) with its midpoint.

    Returns:
        ``parameter``, ``value``, ``low``, ``high``, ``slope`` (per unit of the parameter), ``inside``
        (the point estimate lies within the swept range), ``separated``, ``n`` runs, ``share`` of the regime,
        and ``resamples_without_crossing`` (resamples with one outcome only or a slope of the other sign).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level {level!r} must lie strictly between 0 and 1")
    x = pd.to_numeric(summary[parameter], errors="coerce").to_numpy(dtype=float)
    y = (summary[column].to_numpy() == regime).astype(float)
    keep = np.isfinite(x)
    x, y = x[keep], y[keep]
    out = {"parameter": parameter, "n": int(x.size), "share": float(y.mean()) if y.size else np.nan,
           "value": np.nan, "low": np.nan, "high": np.nan, "slope": np.nan, "inside": False, "separated": False,
           "resamples_without_crossing": 0}
    if x.size < 3 or np.all(y == y[0]) or np.all(x == x[0]):
        return out  # no variation: no crossing can be estimated
    without, with_ = x[y == 0], x[y == 1]
    for below, above, sign in ((without, with_, 1.0), (with_, without, -1.0)):
        if below.max() < above.min():  # complete separation, rising (sign 1) or falling (sign -1) in x
            low, high = float(below.max()), float(above.min())
            out.update(value=(low + high) / 2, low=low, high=high, slope=sign * np.inf, inside=True, separated=True)
            return out
    logit = float(np.log(level / (1 - level)))
    centre, scale = float(np.mean(x)), float(np.std(x))
    a, b = _logistic_fit((x - centre) / scale, y)
    if b == 0:
        return out
    value = centre + scale * (logit - a) / b
    rng = np.random.default_rng(seed)
    draws, misses = [], 0
    for _ in range(n_resamples):
        idx = rng.integers(0, x.size, x.size)
        xs, ys = x[idx], y[idx]
        if np.all(ys == ys[0]):
            misses += 1
            # all in the regime: the crossing lies below the data if P rises with x, above if it falls
            draws.append(-np.inf if (ys[0] == 1) == (b > 0) else np.inf)
            continue
        ai, bi = _logistic_fit((xs - centre) / scale, ys)
        if bi * b <= 0:
            misses += 1
            continue
        draws.append(centre + scale * (logit - ai) / bi)
    alpha = (1 - confidence) / 2
    if draws:
        low, high = np.quantile(np.asarray(draws), [alpha, 1 - alpha], method="inverted_cdf")
    else:
        low, high = np.nan, np.nan
    out.update(value=float(value), low=float(low), high=float(high), slope=float(b / scale),
               inside=bool(x.min() <= value <= x.max()), resamples_without_crossing=misses)
    return out


def critical_values(summary: pd.DataFrame, parameter: str, by: Sequence[str], **kwargs) -> pd.DataFrame:
    """:func:`critical_value` of ``parameter`` within each group of ``by`` (one row per group; none: one row)."""
    by = list(by)
    rows = []
    groups = summary.groupby(by, sort=True, dropna=False) if by else [((), summary)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key, strict=True)), **critical_value(group, parameter, **kwargs)})
    return pd.DataFrame(rows)
