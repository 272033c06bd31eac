"""Fit a sector's behavioural parameters to history with the price replayed, and check out of sample.

The model is run on the batch engine from the sector's start date with the token price held to the real
series (``models.replay``) through the end of the check window; a whole ABC population is one batch call.
The distance is the root mean square error of log values over the fit months only (the check months are
never seen by the fit). Every run of a fit shares one seed (common random numbers), so particles differ
only by their parameters.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.calibration.abc import AbcResult, Prior, smc_abc
from models.calibration.targets import Target, monthly_weights
from models.params import Scenario, with_overrides

INTEGER_PARAMETERS = ("simulation.potential_providers",)
FLOOR = 1e-9  # log of a value below this (a run with no providers) is taken at this floor


def log_rmse(model: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Root mean square error of log values over the last axis (model (runs, months), observed (months,))."""
    diff = np.log(np.maximum(model, FLOOR)) - np.log(np.maximum(observed, FLOOR))
    return np.sqrt(np.mean(diff**2, axis=-1))


@dataclass
class Replayer:
    """A sector replayed over fit and check windows; maps parameter matrices to monthly model values.

    Attributes:
        scenario: the replayed scenario (price path through the end of the check window).
        target: what is fitted.
        names: dotted parameter paths, the columns of the matrices passed to :meth:`monthly`.
        fit_months, check_months: month-start dates of the two windows.
        seed: root seed shared by every run.
    """

    scenario: Scenario
    target: Target
    names: tuple[str, ...]
    fit_months: pd.DatetimeIndex
    check_months: pd.DatetimeIndex
    seed: int = 0

    def __post_init__(self):
        from models.exogenous import run_seed_sequence, sample_exogenous
        from models.replay import step_dates

        sim = self.scenario.simulation
        self.exo = sample_exogenous(self.scenario, run_seed_sequence(self.seed))
        self.dates = step_dates(sim.start_date, sim.dt_days, sim.steps)
        self.months = self.fit_months.append(self.check_months)
        self.weights = monthly_weights(self.dates, self.months)
        self.observed = self.target.observed.reindex(self.months).to_numpy(float)

    def scenarios(self, theta: np.ndarray) -> list[Scenario]:
        """One validated scenario per row of ``theta`` (natural scale)."""
        out = []
        for row in np.atleast_2d(theta):
            values = {n: (int(round(v)) if n in INTEGER_PARAMETERS else float(v)) for n, v in zip(self.names, row,
                                                                                                  strict=True)}
            out.append(with_overrides(self.scenario, values))
        return out

    def columns(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """The batch engine's columns for every row of ``theta``, each of shape (runs, rows)."""
        from models.exogenous import stack_exogenous
        from models.output import COLUMNS
        from models.sd.batch import step_all
        from models.sd.compile import compile_params

        scenarios = self.scenarios(theta)
        structure, P = compile_params(scenarios)
        exo = stack_exogenous([self.exo] * len(scenarios))
        rows = list(step_all(P, structure, exo, structure.steps))
        return {c: np.stack([r[c] for r in rows], axis=1) for c in COLUMNS if c != "step"}

    def monthly(self, theta: np.ndarray) -> np.ndarray:
        """Model values averaged per month over fit and check months, shape (runs, months)."""
        return self.target.model_values(self.columns(theta)) @ self.weights

    def errors(self, monthly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(in-sample, out-of-sample) log RMSE of each run's monthly values."""
        n_fit = len(self.fit_months)
        return (log_rmse(monthly[:, :n_fit], self.observed[:n_fit]),
                log_rmse(monthly[:, n_fit:], self.observed[n_fit:]) if len(self.check_months) else
                np.full(len(monthly), np.nan))

    def distance(self, theta: np.ndarray) -> np.ndarray:
        """What the ABC tolerates: in-sample log RMSE of the levels (plus weighted additions).

        The target's ``flow_weight`` times the log RMSE of the smoothed monthly additions is added (fit
        months only).
        """
        monthly = self.monthly(theta)
        levels = self.errors(monthly)[0]
        if not self.target.flow_weight:
            return levels
        return levels + self.target.flow_weight * self.flow_errors(monthly)

    def flow_errors(self, monthly: np.ndarray) -> np.ndarray:
        """In-sample log RMSE of smoothed monthly additions (``metrics.monthly_additions``), per run."""
        from models.calibration.metrics import SMOOTHING_MONTHS

        n_fit = len(self.fit_months)

        def additions(values):
            frame = pd.DataFrame(np.atleast_2d(values)[:, :n_fit].T)
            return frame.diff().rolling(SMOOTHING_MONTHS, center=True, min_periods=1).mean().to_numpy().T[:, 1:]

        floor = self.target.flow_floor
        return log_rmse(np.maximum(additions(monthly), floor), np.maximum(additions(self.observed)[0], floor))


def months_between(start, end) -> pd.DatetimeIndex:
    """Month-start dates from the month of ``start`` to the month of ``end``, inclusive."""
    return pd.date_range(pd.Timestamp(start).to_period("M").to_timestamp(),
                         pd.Timestamp(end).to_period("M").to_timestamp(), freq="MS")


def make_replayer(scenario: Scenario, target: Target, names, fit: tuple, check: tuple | None, seed: int = 0,
                  prices: pd.Series | None = None) -> Replayer:
    """Replay ``scenario`` at ``target``'s price from its start date to the end of ``check`` (or ``fit``).

    Args:
        scenario: a sector scenario with ``simulation.start_date``.
        target: the observed series.
        names: fitted parameter paths.
        fit: ``(first month, last month)`` of the fit window (``YYYY-MM``).
        check: the same for the out-of-sample window (None: no check).
        seed: root seed shared by every run.
        prices: price series to replay (default: the target's own).
    """
    from models.replay import replay_scenario

    prices = target.price() if prices is None else prices
    fit_months = months_between(*fit)
    check_months = months_between(*check) if check else pd.DatetimeIndex([])
    last = (check_months if len(check_months) else fit_months)[-1] + pd.offsets.MonthEnd(0)
    end = min(last, prices.index[-1])
    replayed = replay_scenario(scenario, prices, scenario.simulation.start_date, end, target.name)
    return Replayer(replayed, target, tuple(names), fit_months, check_months, seed)


@dataclass
class Calibration:
    """The result of one fit: posterior, errors, predictive bands, wall time."""

    sector: str
    target: str
    replayer: Replayer
    abc: AbcResult
    table: pd.DataFrame  # per parameter: point (best posterior particle), median, 5%, 95%, prior bounds
    errors: dict  # in/out of sample RMSE at the point, at the median and over the posterior
    predictive: pd.DataFrame  # per month: observed, model median, 5%, 95% over the posterior, window
    seconds: float
    fitted_on: dt.date

    @property
    def point(self) -> dict[str, float]:
        """The values written into the sector file (the best posterior particle)."""
        return dict(self.table["point"])


def calibrate(scenario: Scenario, target: Target, prior: Prior, fit: tuple, check: tuple | None = None,
              particles: int = 1000, generations: int = 8, seed: int = 0, quantile: float = 0.5,
              progress=None) -> Calibration:
    """ABC-SMC fit of ``prior.names`` to ``target`` over ``fit``, checked on ``check``.

    Returns:
        A :class:`Calibration` (see :func:`summarise`).
    """
    started = time.perf_counter()
    replayer = make_replayer(scenario, target, prior.names, fit, check, seed)
    result = smc_abc(replayer.distance, prior, particles=particles, generations=generations, seed=seed,
                     quantile=quantile, progress=progress)
    return summarise(scenario, replayer, result, time.perf_counter() - started)


def summarise(scenario: Scenario, replayer: Replayer, result: AbcResult, seconds: float,
              fitted_on: dt.date | None = None) -> Calibration:
    """Posterior table, errors and predictive bands of an ABC result.

    The point estimate written into a sector file is the posterior particle with the smallest distance
    (the best fit the posterior holds): with correlated parameters the vector of marginal medians can fit
    far worse than the particles it summarises. The table keeps the medians and 90% intervals beside it.
    """
    prior = result.prior
    q = result.quantiles([0.05, 0.5, 0.95])
    posterior = result.samples()
    monthly = replayer.monthly(np.vstack([q[1][None, :], posterior]))
    fit_err, check_err = replayer.errors(monthly)
    distance = fit_err[1:] + (replayer.target.flow_weight * replayer.flow_errors(monthly[1:])
                              if replayer.target.flow_weight else 0.0)
    best = int(np.argmin(distance))
    table = pd.DataFrame({"point": posterior[best], "median": q[1], "q05": q[0], "q95": q[2],
                          "prior_low": prior.low, "prior_high": prior.high},
                         index=pd.Index(prior.names, name="parameter"))
    point_monthly = monthly[1 + best]
    w = result.posterior.weights
    errors = {
        "in_sample_log_rmse": float(fit_err[1 + best]), "out_of_sample_log_rmse": float(check_err[1 + best]),
        "in_sample_additions_log_rmse": (float(replayer.flow_errors(point_monthly[None, :])[0])
                                         if replayer.target.flow_weight else None),
        "in_sample_log_rmse_at_median": float(fit_err[0]), "out_of_sample_log_rmse_at_median": float(check_err[0]),
        "in_sample_log_rmse_posterior_median": float(np.median(fit_err[1:])),
        "out_of_sample_log_rmse_posterior_median": float(np.median(check_err[1:])),
        "effective_sample_size": result.effective_sample_size(), "simulations": result.simulations,
        "final_tolerance": float(result.posterior.tolerance),
    }
    bands = _weighted_bands(monthly[1:], w)
    predictive = pd.DataFrame({
        "observed": replayer.observed, "model_at_point": point_monthly, "model_at_median": monthly[0],
        "model_q05": bands[0], "model_median": bands[1], "model_q95": bands[2],
        "window": ["fit"] * len(replayer.fit_months) + ["check"] * len(replayer.check_months),
    }, index=pd.Index(replayer.months, name="date"))
    return Calibration(scenario.sector, replayer.target.name, replayer, result, table, errors, predictive,
                       seconds, fitted_on or dt.date.today())


def _weighted_bands(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted 5%, 50%, 95% quantiles over runs of each column."""
    order = np.argsort(values, axis=0)
    out = np.empty((3, values.shape[1]))
    for j in range(values.shape[1]):
        v, ww = values[order[:, j], j], weights[order[:, j]]
        cdf = (np.cumsum(ww) - ww / 2) / ww.sum()
        out[:, j] = np.interp([0.05, 0.5, 0.95], cdf, v)
    return out


def save_to_sector(calibration: Calibration, path: str | Path, digits: int = 4) -> None:
    """Write the point estimates into a sector file, each with its median, interval and the date of the fit.

    Only the value and the comment of each fitted key change; everything else in the file stays as it was.
    The file is replaced by an atomic rename.
    """
    from models.io import atomic_write_files

    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    fit = calibration.replayer.fit_months
    for name, row in calibration.table.iterrows():
        block, key = name.rsplit(".", 1)
        value = int(round(row["point"])) if name in INTEGER_PARAMETERS else float(f"{row['point']:.{digits}g}")
        comment = (f"calibrated {calibration.fitted_on.isoformat()} on {calibration.target} "
                   f"{fit[0]:%Y-%m}..{fit[-1]:%Y-%m}: best ABC-SMC posterior particle; posterior median "
                   f"{row['median']:.{digits}g}, 90% interval {row['q05']:.{digits}g}..{row['q95']:.{digits}g}")
        lines = _set_value(lines, block, key, value, comment, path)
    atomic_write_files({path: "".join(lines).encode("utf-8")})


def _set_value(lines: list[str], block: str, key: str, value, comment: str, path: Path) -> list[str]:
    """Set ``key``'s value (and comment) inside the top-level ``block`` of a YAML file's lines.

    A key the block does not list yet (it took its default) is added as the block's last line.
    """
    start = next((i for i, line in enumerate(lines) if re.match(rf"^{re.escape(block)}:\s*(#.*)?$",
                                                                 line.rstrip("\n"))), None)
    if start is None:
        raise KeyError(f"{path}: no block {block!r} (written as '{block}:' on its own line) to write {key} into")
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^\S", lines[i])), len(lines))
    for i in range(start + 1, end):
        match = re.match(rf"^(\s+){re.escape(key)}:\s*[^#\n]*", lines[i])
        if match:
            text = f"{match.group(1)}{key}: {value}"
            lines[i] = f"{text:<32}  # {comment}\n"
            return lines
    body = [i for i in range(start + 1, end) if lines[i].strip()]
    indent = re.match(r"^(\s+)", lines[body[0]]).group(1) if body else "  "
    text = f"{indent}{key}: {value}"
    at = (body[-1] + 1) if body else start + 1
    return lines[:at] + [f"{text:<32}  # {comment}\n"] + lines[at:]
