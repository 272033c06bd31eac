"""Figures of history against model (notebook 05): levels and monthly additions, fit and check windows.

Each function returns a matplotlib Figure with labelled axes and units; the posterior predictive band is
the central 90% of the last ABC generation's particles replayed (saved with the fit).
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from models.analysis.figures import _new_figure
from models.calibration import metrics

WINDOW_COLOURS = {"check": "0.85"}


def predictive_frame(saved: dict) -> pd.DataFrame:
    """The saved fit's per-month posterior predictive (observed, model_q05, model_median, model_q95, window)."""
    frame = pd.DataFrame(saved["predictive"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame.set_index("date")


def _shade_check(ax, monthly: pd.DataFrame) -> None:
    check = monthly.index[monthly["window"] == "check"]
    if len(check):
        ax.axvspan(check[0] - pd.Timedelta(days=15), check[-1] + pd.Timedelta(days=15), color="0.88", zorder=0,
                   label="out of sample")


def history_figure(check, saved: dict | None, unit: str, title: str) -> Figure:
    """Two panels: the series (log scale) and its smoothed monthly additions, data against model.

    Args:
        check: a ``models.calibration.history_check.HistoryCheck``.
        saved: the saved fit (``models.calibration.sectors.read_result``) for the predictive band, or None.
        unit: unit of the series (axis label).
        title: figure title.
    """
    fig = _new_figure((13, 4.6))
    left, right = fig.subplots(1, 2)
    monthly = check.monthly
    for ax in (left, right):
        _shade_check(ax, monthly)
    if saved is not None:
        band = predictive_frame(saved).reindex(monthly.index)
        left.fill_between(band.index, band["model_q05"], band["model_q95"], color="C1", alpha=0.25,
                          label="model, 90% posterior predictive")
    left.plot(monthly.index, monthly["observed"], "o-", color="C0", ms=3, label="data")
    left.plot(monthly.index, monthly["model"], "-", color="C1", label="model at the calibrated values")
    left.set(yscale="log", ylabel=f"{unit} (log scale)", xlabel="month", title=f"{title}: level")
    right.plot(monthly.index, metrics.monthly_additions(monthly["observed"]), "o-", color="C0", ms=3, label="data")
    right.plot(monthly.index, metrics.monthly_additions(monthly["model"]), "-", color="C1", label="model")
    twin = right.twinx()
    twin.plot(monthly.index, monthly["price_usd"], ":", color="0.35", label="token price (right axis)")
    twin.set(ylabel="token price, monthly mean (USD)")
    twin.grid(False)
    right.set(ylabel=f"{unit} added per month (3-month mean)", xlabel="month", title=f"{title}: monthly additions")
    handles, labels = [], []
    for ax in (left, right, twin):
        h, lab = ax.get_legend_handles_labels()
        for hh, ll in zip(h, lab, strict=True):
            if ll not in labels:
                handles.append(hh)
                labels.append(ll)
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5), frameon=False)
    return fig


def posterior_table(saved: dict) -> pd.DataFrame:
    """The saved posterior as a table: median and 90% interval per parameter, with the prior box."""
    table = pd.DataFrame(saved["posterior"]).set_index("parameter")
    return table.rename(columns={"point": "in the sector file (best particle)",
                                 "median": "posterior median", "q05": "5%", "q95": "95%",
                                 "prior_low": "prior low", "prior_high": "prior high"})


def emission_figure(checks: dict[str, pd.DataFrame], units: dict[str, str]) -> Figure:
    """One panel per uncalibrated sector: tokens issued per month, data against the sector file."""
    fig = _new_figure((6.5 * len(checks), 4.2))
    axes = fig.subplots(1, len(checks), squeeze=False)[0]
    for ax, (sector, frame) in zip(axes, checks.items(), strict=True):
        ax.plot(frame.index, frame["issued_data"], "o-", ms=3, label="data")
        ax.plot(frame.index, frame["issued_model"], "-", label="model (sector file)")
        ax.set(xlabel="month", ylabel=f"{units[sector]} issued per month", title=f"{sector}: issuance")
        ax.legend(loc="best", frameon=False)
    return fig
