"""Figures of notebook 00 (the thread's claims): seaborn / matplotlib, labelled axes with units."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from models.analysis.figures import BAND


def subsidy_figure(model: pd.DataFrame, real: Mapping[str, float]) -> Figure:
    """Emission USD per USD of usage revenue by sector (median, interval) against real ratios as lines.

    Args:
        model: ``claims.median_ratio_table`` output (index sector; ``subsidy_ratio``, ``low``, ``high``).
        real: label -> a real network's rewards per dollar burned (drawn as vertical lines).
    """
    table = model.sort_values("subsidy_ratio")
    fig, ax = plt.subplots(figsize=(9.5, 1.6 + 0.55 * len(table)), layout="constrained")
    y = np.arange(len(table))
    err = np.vstack([(table["subsidy_ratio"] - table["low"]).clip(lower=0),
                     (table["high"] - table["subsidy_ratio"]).clip(lower=0)])
    ax.errorbar(table["subsidy_ratio"], y, xerr=err, fmt="o", color="tab:blue", capsize=4,
                label="model sector: median over seeds, 95% bootstrap interval")
    for (label, value), colour in zip(real.items(), ("tab:red", "tab:purple", "tab:green"), strict=False):
        ax.axvline(value, color=colour, linestyle="--", linewidth=1.2, label=label)
    ax.axvline(1.0, color="0.3", linewidth=0.8, label="usage pays for the emission (ratio 1)")
    ax.set(yticks=y, yticklabels=table.index, xscale="log", xlabel="USD of emission per USD of usage revenue (log)",
           ylabel="sector", title="Emission subsidy per dollar of usage revenue: model sectors and real data")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, frameon=False)
    return fig


def shock_paths_figure(ratios: pd.DataFrame, shock: str, order, collapse_level: float) -> Figure:
    """Providers shocked / twin against weeks since the shock, one panel per sector (median and band)."""
    part = ratios[(ratios["shock"] == shock) & (ratios["weeks"] >= -4)]
    fig, axes = plt.subplots(1, len(order), figsize=(3.2 * len(order) + 1, 3.6), layout="constrained",
                             sharey=True, squeeze=False)
    for ax, name in zip(axes[0], order, strict=True):
        sns.lineplot(data=part[part["sector"] == name], x="weeks", y="providers", estimator="median",
                     errorbar=BAND, ax=ax, color="tab:blue", label=f"median, central {BAND[1]}% of seeds")
        ax.axhline(1.0, color="0.3", linewidth=0.8)
        ax.axhline(collapse_level, color="tab:red", linestyle="--", linewidth=0.9, label="collapse level")
        ax.set(title=name, xlabel="weeks since the shock", ylabel="active providers, shocked / twin")
        handles, labels = ax.get_legend_handles_labels()
        ax.get_legend().remove()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    fig.suptitle(f"{shock}: active providers against the unshocked twin")
    return fig


def reversal_figure(table: pd.DataFrame, order) -> Figure:
    """P(collapse) against the median price fall (against the twin) of each bear-market size, per sector."""
    fig, ax = plt.subplots(figsize=(9.5, 4.6), layout="constrained")
    for name, colour in zip(order, sns.color_palette("colorblind", len(order)), strict=True):
        part = table[table["sector"] == name].sort_values("price_drop")
        err = np.vstack([part["p_collapse"] - part["p_low"], part["p_high"] - part["p_collapse"]])
        ax.errorbar(part["price_drop"], part["p_collapse"], yerr=err, marker="o", capsize=3, color=colour,
                    label=name)
    ax.axhline(0.5, color="0.4", linestyle=":", linewidth=1.0, label="P(collapse) = 50%")
    ax.set(xlabel="sustained price fall against the twin (median over seeds, fraction)",
           ylabel="P(collapse against the twin)", ylim=(-0.03, 1.03),
           title="When the flywheel reverses: bear markets of growing size, 95% Wilson intervals")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right center", frameon=False)
    return fig


def storage_cost_figure(costs: Mapping[str, float], thread_price: float, aws: float) -> Figure:
    """Storage cost per TiB-month under stated utilisations against the thread's price and AWS S3."""
    fig, ax = plt.subplots(figsize=(9.5, 1.4 + 0.6 * len(costs)), layout="constrained")
    labels = list(costs)
    ax.barh(labels, [costs[k] for k in labels], color="tab:blue", label="provider cost (capex written off + opex)")
    ax.axvline(thread_price, color="tab:red", linestyle="--", label=f"thread's price {thread_price:.2f} USD")
    ax.axvline(aws, color="0.3", linestyle="-.", label=f"AWS S3 {aws:.1f} USD")
    ax.set(xscale="log", xlabel="USD per used TiB-month (log)", ylabel="",
           title=f"Can storage providers break even at {1 - thread_price / aws:.0%} below AWS without token rewards?")
    ax.invert_yaxis()
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=3, frameon=False)
    return fig
