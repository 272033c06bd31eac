"""Data against model for a calibrated sector: the replay at the sector file's values, in and out of sample.

What notebook 05 shows: the monthly series of the data and of the model replayed at the values now in the
sector file (the posterior medians written by the last fit), the errors in and out of sample, the lag from
the price peak to the onboarding peak in both, a halving notch where the sector has a halving, and the
month the series turns down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.calibration import metrics
from models.calibration.fit import Replayer, make_replayer
from models.calibration.sectors import FITS


@dataclass
class HistoryCheck:
    """One sector's history against its calibrated model.

    Attributes:
        sector: sector name.
        monthly: per month: ``observed``, ``model``, ``price_usd`` (monthly mean), ``window`` (fit/check).
        errors: ``in_sample_log_rmse``, ``out_of_sample_log_rmse`` of the replay at the file's values.
        lag: price peak, onboarding peak and lag in months, for ``data`` and ``model``.
        notch: halving notch (additions after / before) for ``data`` and ``model``, or None.
        turning: month of the maximum of the series, for ``data`` and ``model``.
        replayer: the replay used (to re-run with other values).
    """

    sector: str
    monthly: pd.DataFrame
    errors: dict
    lag: dict
    notch: dict | None
    turning: dict
    replayer: Replayer


def check_sector(sector: str, scenario=None, seed: int = 0) -> HistoryCheck:
    """Replay ``sector`` at its file's values over its fit and check windows and compare with the data."""
    spec = FITS[sector]
    scenario = spec.scenario() if scenario is None else scenario
    target = spec.build_target(scenario)
    replayer = make_replayer(scenario, target, (), spec.fit, spec.check, seed)
    model = replayer.monthly(np.empty((1, 0)))[0]
    fit_err, check_err = replayer.errors(model[None, :])
    months = replayer.months
    price = metrics.monthly_mean_price(target.price()).reindex(months)
    monthly = pd.DataFrame({
        "observed": replayer.observed, "model": model, "price_usd": price.to_numpy(),
        "window": ["fit"] * len(replayer.fit_months) + ["check"] * len(replayer.check_months),
    }, index=pd.Index(months, name="date"))
    observed, modelled = monthly["observed"], monthly["model"]
    lag = {"data": metrics.price_onboarding_lag(monthly["price_usd"], observed),
           "model": metrics.price_onboarding_lag(monthly["price_usd"], modelled)}
    notch = None
    if spec.halving:
        when = pd.Timestamp(spec.halving)
        notch = {"date": when, "data": metrics.halving_notch(observed, when),
                 "model": metrics.halving_notch(modelled, when)}
    turning = {"data": metrics.turning_point(observed), "model": metrics.turning_point(modelled)}
    errors = {"in_sample_log_rmse": float(fit_err[0]), "out_of_sample_log_rmse": float(check_err[0])}
    return HistoryCheck(sector, monthly, errors, lag, notch, turning, replayer)


def calibrated_sectors() -> tuple[str, ...]:
    """Sectors with a fit specification (the ones notebook 05 shows)."""
    return tuple(FITS)


EMISSION_DATA = {
    # sector: (history loader, column of tokens issued per month, column of a provider count or None)
    "compute": ("akash_monthly", "akt_mined", None),
    "ai": ("bittensor_monthly", "tao_issued", "nodes"),
}


def emission_check(sector: str, scenario=None, seed: int = 0) -> pd.DataFrame:
    """An uncalibrated sector's issuance (and provider count, where the data has one) against its history.

    The sector is run from its start date on the batch engine without a replayed price (the shipped
    history has no provider counts to fit for Akash, and Bittensor's ``nodes`` changes definition in
    2023-10), so this checks the emission schedule the file encodes, not behaviour.

    Returns:
        Per month: ``issued_data``, ``issued_model`` (tokens minted in the month, from the mean daily rate of
        the steps dated in it), and ``providers_data``,
        ``providers_model`` (monthly mean) where the data has a count.
    """
    from models import engines, history
    from models.calibration.sectors import SECTORS_DIR
    from models.params import load_scenario
    from models.replay import with_dates

    loader, issued_column, count_column = EMISSION_DATA[sector]
    scenario = load_scenario(SECTORS_DIR / f"{sector}.yaml") if scenario is None else scenario
    data = getattr(history, loader)().set_index("date")
    frame = with_dates(engines.run(scenario, "batch", seed=seed), scenario)
    month = frame["date"].dt.to_period("M").dt.to_timestamp()
    # a month's issuance from the mean daily rate of the steps dated in it (weeks straddle months)
    per_day = (frame["minted"] / scenario.simulation.dt_days).groupby(month).mean()
    minted = per_day * per_day.index.days_in_month
    out = pd.DataFrame({"issued_data": data[issued_column], "issued_model": minted}).dropna()
    # a month the run covers only in part is not compared
    first, last = frame["date"].iloc[0], frame["date"].iloc[-1]
    out = out.loc[(out.index >= first.to_period("M").to_timestamp() + pd.offsets.MonthBegin(1))
                  & (out.index < last.to_period("M").to_timestamp())]
    if count_column:
        out["providers_data"] = data[count_column].reindex(out.index)
        out["providers_model"] = frame.groupby(month)["providers"].mean().reindex(out.index)
    return out
