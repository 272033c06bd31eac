"""Seaborn figure helpers for the notebooks: each returns a matplotlib Figure, labelled with units.

Figures are created through pyplot (so the notebook's inline backend is active and can render them) and
closed at once, so a notebook shows each figure exactly once: as the value of the cell that makes it.
Lines are medians over Monte Carlo replicates; bands are the central 90% of replicates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from models.analysis.shocks import nominal_starts

# Axis labels with units for the tidy columns of models.output (one step = one week by default).
LABELS = {
    "step": "week (step)",
    "price": "token price (USD/token)",
    "providers": "active providers (count)",
    "capacity": "capacity (service units/day)",
    "users": "paying users (count)",
    "demand": "demand (service units/day)",
    "served": "served demand (service units/day)",
    "quality": "service quality (served/demand, 0-1)",
    "revenue_usd": "usage revenue (USD/week)",
    "emission_usd": "emission (USD/week)",
    "burn_usd": "burn (USD/week)",
    "mean_margin_usd": "mean provider margin (USD/week)",
    "reward_per_provider_usd": "reward per provider (USD/week)",
    "supply": "token supply (tokens)",
    "circulating": "circulating supply (tokens)",
    "bme_price": "effective BME price (USD/token)",
    "tokens_sold": "tokens providers sold (tokens/week)",
}
BAND = ("pi", 90)


def _new_figure(figsize) -> Figure:
    """A themed, constrained-layout figure that pyplot no longer tracks."""
    import matplotlib.pyplot as plt

    sns.set_theme(style="whitegrid", context="notebook")
    fig = plt.figure(figsize=figsize, layout="constrained")
    plt.close(fig)  # displayed once as the cell's value, not again by the inline backend
    return fig


def event_steps(scenario, steps: int | None = None) -> dict[str, list[int]]:
    """Steps worth marking on a time axis: emission halvings and shock starts (nominal).

    Args:
        scenario: validated ``models.params.Scenario``.
        steps: horizon (defaults to the scenario's).

    Returns:
        ``{"halving": [...], "shock": [...]}``.
    """
    horizon = scenario.simulation.steps if steps is None else steps
    halvings = []
    if scenario.emission.schedule == "halving":
        period = scenario.emission.halving_period_years * 365.0 / scenario.simulation.dt_days
        halvings = [int(np.ceil(k * period)) for k in range(1, int(horizon / period) + 1)]
    starts = nominal_starts(scenario)
    return {"halving": halvings, "shock": [s for s in starts if s <= horizon]}


def _mark(ax, events: dict[str, list[int]] | None):
    """Dashed grey lines at halvings, dotted red lines at shocks."""
    if not events:
        return
    for step in events.get("halving", []):
        ax.axvline(step, color="0.5", linestyle="--", linewidth=0.9, zorder=0)
    for step in events.get("shock", []):
        ax.axvline(step, color="tab:red", linestyle=":", linewidth=1.2, zorder=0)


def _legend_on_top(fig: Figure, ax, title: str | None = None, extra: list | None = None) -> None:
    """Move the legend of ``ax`` (plus ``extra`` (handle, label) pairs) above the panels, off the data."""
    handles, labels = ax.get_legend_handles_labels()
    for handle, label in extra or []:
        handles.append(handle)
        labels.append(label)
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    if handles:
        fig.legend(handles, labels, loc="outside upper center", ncols=min(len(labels), 5), title=title,
                   frameon=False)


def _event_handles(events) -> list:
    """Legend entries for the event lines drawn by :func:`_mark` (only those present)."""
    from matplotlib.lines import Line2D

    out = []
    if events and events.get("halving"):
        out.append((Line2D([], [], color="0.5", linestyle="--", linewidth=0.9), "emission halving"))
    if events and events.get("shock"):
        out.append((Line2D([], [], color="tab:red", linestyle=":", linewidth=1.2), "shock (crash scenario)"))
    return out


def timeseries_grid(frame: pd.DataFrame, columns=("price", "providers", "capacity", "users"),
                    hue: str | None = "scenario", events=None, ncols: int = 2, title: str | None = None) -> Figure:
    """Median and 90% band over replicates of several columns, one panel each.

    Args:
        frame: tidy frame with ``step``, ``run`` and the columns (plus ``hue`` when given).
        columns: columns to plot.
        hue: column separating scenarios (None for one scenario).
        events: output of :func:`event_steps` to mark halvings (dashed) and shocks (dotted red).
        ncols: panels per row.
        title: figure title (None = none).
    """
    nrows = int(np.ceil(len(columns) / ncols))
    fig = _new_figure(figsize=(6 * ncols, 3.6 * nrows + 0.6))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True)).ravel()
    use_hue = hue if hue and hue in frame else None
    for i, (ax, col) in enumerate(zip(axes, columns, strict=False)):
        sns.lineplot(data=frame, x="step", y=col, hue=use_hue, estimator="median", errorbar=BAND, ax=ax,
                     legend=i == 0 and use_hue is not None)
        ax.set_xlabel(LABELS["step"])
        ax.set_ylabel(LABELS.get(col, col))
        _mark(ax, events)
    for ax in axes[len(columns):]:
        ax.set_visible(False)
    _legend_on_top(fig, axes[0], extra=_event_handles(events))
    if title:
        fig.suptitle(title)
    return fig


def mint_burn(frame: pd.DataFrame, hue: str = "scenario", events=None) -> Figure:
    """USD value of tokens minted (emission) against tokens burned by usage, per scenario panel.

    The gap is the subsidy: while emission_usd exceeds burn_usd the network pays providers more than
    its users pay in, and the difference is sold to (or held against) the market.

    Args:
        frame: tidy frame with ``step``, ``run``, ``emission_usd``, ``burn_usd`` and ``hue``.
        hue: column naming the scenario of each row; one panel per value.
        events: :func:`event_steps` output for every panel, or a mapping of ``hue`` value to it.
    """
    groups = list(frame[hue].unique()) if hue in frame else [None]
    fig = _new_figure(figsize=(6 * len(groups), 3.8))
    axes = np.atleast_1d(fig.subplots(1, len(groups), sharey=True))
    for ax, group in zip(axes, groups, strict=True):
        part = frame if group is None else frame[frame[hue] == group]
        long = part.melt(id_vars=["step", "run"], value_vars=["emission_usd", "burn_usd"], var_name="flow",
                         value_name="usd")
        long["flow"] = long["flow"].map({"emission_usd": "minted (emission)", "burn_usd": "burned (usage)"})
        sns.lineplot(data=long, x="step", y="usd", hue="flow", estimator="median", errorbar=BAND, ax=ax,
                     palette={"minted (emission)": "tab:orange", "burned (usage)": "tab:blue"},
                     legend=ax is axes[0])
        ax.set_title(str(group) if group is not None else "")
        ax.set_xlabel(LABELS["step"])
        ax.set_ylabel("token value (USD/week)")
        # A mapping keyed by scenario marks each panel with its own shocks.
        per_group = events is not None and "halving" not in events and "shock" not in events
        _mark(ax, events.get(group) if per_group else events)
    _legend_on_top(fig, axes[0])
    return fig


def relative_to(frame: pd.DataFrame, step: int, columns) -> pd.DataFrame:
    """Each run's columns divided by their value at ``step`` (per run), for shock-propagation plots."""
    base = frame[frame["step"] == step].set_index("run")[list(columns)]
    out = frame[["run", "step"]].copy()
    for col in columns:
        out[col] = frame[col].to_numpy() / frame["run"].map(base[col]).to_numpy()
    return out


def propagation(frame: pd.DataFrame, shock_step: int, window: tuple[int, int] = (-8, 60),
                columns=("price", "providers", "capacity", "users")) -> Figure:
    """How a shock travels through the loop: price, then provider margin, then providers and users.

    Left: levels relative to the pre-shock step (1 = pre-shock). Right: mean provider margin in USD/week,
    which must stay negative for ``exit_patience_days`` before providers start to leave.

    Args:
        frame: tidy frame of one scenario (``step``, ``run``, the columns, ``mean_margin_usd``).
        shock_step: the pre-shock step (row recorded just before the shock acts).
        window: steps before and after the shock to show.
        columns: series shown relative to the pre-shock level.
    """
    # A horizon that ends before the shock (quick runs) shows the last weeks instead of failing.
    shock_step = min(int(shock_step), int(frame["step"].max()))
    lo, hi = shock_step + window[0], shock_step + window[1]
    rel = relative_to(frame, shock_step, columns)
    rel = rel[(rel["step"] >= lo) & (rel["step"] <= hi)]
    long = rel.melt(id_vars=["step", "run"], value_vars=list(columns), var_name="series", value_name="ratio")
    fig = _new_figure(figsize=(12, 4))
    ax_rel, ax_margin = fig.subplots(1, 2)
    sns.lineplot(data=long, x="step", y="ratio", hue="series", estimator="median", errorbar=BAND, ax=ax_rel)
    ax_rel.axhline(1.0, color="0.3", linewidth=0.8)
    ax_rel.axvline(shock_step, color="tab:red", linestyle=":", linewidth=1.2)
    ax_rel.set_xlabel(LABELS["step"])
    ax_rel.set_ylabel("level / pre-shock level (ratio)")
    part = frame[(frame["step"] >= lo) & (frame["step"] <= hi)]
    sns.lineplot(data=part, x="step", y="mean_margin_usd", estimator="median", errorbar=BAND, ax=ax_margin,
                 color="tab:purple")
    ax_margin.axhline(0.0, color="0.3", linewidth=0.8)
    ax_margin.axvline(shock_step, color="tab:red", linestyle=":", linewidth=1.2)
    ax_margin.set_xlabel(LABELS["step"])
    ax_margin.set_ylabel(LABELS["mean_margin_usd"])
    return fig


def regime_bars(probabilities: pd.DataFrame, hue: str = "scenario") -> Figure:
    """Regime shares with Wilson 95% intervals (output of ``regimes.regime_table``)."""
    fig = _new_figure(figsize=(7, 3.6))
    ax = fig.subplots()
    groups = list(probabilities[hue].unique()) if hue in probabilities else [None]
    regimes = list(dict.fromkeys(probabilities["regime"]))
    width = 0.8 / len(groups)
    palette = sns.color_palette(n_colors=len(groups))
    x = np.arange(len(regimes))
    for i, group in enumerate(groups):
        part = probabilities if group is None else probabilities[probabilities[hue] == group]
        part = part.set_index("regime").loc[regimes]
        err = np.vstack([part["share"] - part["ci_low"], part["ci_high"] - part["share"]])
        ax.bar(x + (i - (len(groups) - 1) / 2) * width, part["share"], width, yerr=err, capsize=3,
               color=palette[i], label=str(group) if group is not None else None)
    ax.set_xticks(x, regimes)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("regime of active providers")
    ax.set_ylabel("share of replicates (Wilson 95% CI)")
    if groups != [None]:
        ax.legend(title=hue)
    return fig


def median_at_steps(frame: pd.DataFrame, steps, columns=("price", "providers", "users", "quality",
                    "reward_per_provider_usd", "mean_margin_usd", "emission_usd", "burn_usd"),
                    by: str = "scenario") -> pd.DataFrame:
    """Median over replicates of ``columns`` at chosen steps, one row per (scenario, step).

    Steps beyond the horizon are dropped, so the same call works for short (quick) runs.
    """
    keep = frame[frame["step"].isin([s for s in steps if s <= frame["step"].max()])]
    keys = [by, "step"] if by in frame else ["step"]
    return keep.groupby(keys, sort=False)[list(columns)].median().round(4)
