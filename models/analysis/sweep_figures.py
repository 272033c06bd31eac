"""Figures of a sweep: phase diagrams, critical-value curves, regime trajectories and small multiples.

Every helper takes the tables of ``models.experiments.load(name)`` (``.points()``, ``.critical_values()``,
``.rerun()``) and returns a matplotlib Figure with labelled axes, units where they exist, and legends
outside the data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from models.analysis.regimes import REGIMES

REGIME_COLOURS = {"collapse": "#c0392b", "recovery": "#e67e22", "growth": "#27ae60", "stall": "#7f8c8d"}


def label(name: str) -> str:
    """Readable axis label of a swept path or metric column."""
    names = {
        "shocks.0.size": "shock size (fall of the market factor)", "market.liquidity_target_share":
        "pool depth target (share of market cap)", "payment.mode": "payment mode", "stake.mode": "stake",
        "providers.opex_dispersion": "provider cost spread (lognormal sigma)", "p_collapse": "P(collapse)",
        "emission.halving_period_years": "halving period (years)", "emission.schedule": "emission schedule",
    }
    return names.get(name, name.replace("_", " "))


def _grid(points: pd.DataFrame, x: str, y: str, value: str) -> pd.DataFrame:
    return points.pivot_table(index=y, columns=x, values=value, aggfunc="mean").sort_index().sort_index(axis=1)


def phase_diagram(points: pd.DataFrame, x: str, y: str, value: str = "p_collapse", level: float = 0.5,
                  ax=None, title: str | None = None, colorbar: bool = True):
    """Heatmap of ``value`` (P(collapse) by default) over two parameters with its ``level`` contour.

    Args:
        points: ``SweepResults.points(by=[x, y, ...])``; cells are averaged over the other columns.
        x: parameter column on the horizontal axis.
        y: parameter column on the vertical axis.
        value: column to colour.
        level: contour drawn (the boundary: 50% by default).
        ax: draw into this Axes (a new Figure otherwise).
        title: the Axes title.
        colorbar: draw a colour bar beside the Axes.

    Returns:
        The Figure.
    """
    import matplotlib.pyplot as plt

    grid = _grid(points, x, y, value)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    fig = ax.figure
    xs, ys = np.arange(grid.shape[1]), np.arange(grid.shape[0])
    mesh = ax.pcolormesh(np.r_[xs - 0.5, xs[-1] + 0.5], np.r_[ys - 0.5, ys[-1] + 0.5], grid.to_numpy(),
                         cmap="RdYlGn_r", vmin=0.0, vmax=1.0, shading="flat")
    if grid.shape[0] > 1 and grid.shape[1] > 1 and np.nanmin(grid) < level < np.nanmax(grid):
        contour = ax.contour(xs, ys, grid.to_numpy(), levels=[level], colors="black", linewidths=2)
        ax.clabel(contour, fmt=lambda v: f"{v:.0%}", fontsize=8)
    ax.set_xticks(xs, [f"{v:g}" if isinstance(v, float) else str(v) for v in grid.columns])
    ax.set_yticks(ys, [f"{v:g}" if isinstance(v, float) else str(v) for v in grid.index])
    ax.set_xlabel(label(x))
    ax.set_ylabel(label(y))
    if title:
        ax.set_title(title)
    if colorbar:
        fig.colorbar(mesh, ax=ax, label=f"{label(value)} (against the unshocked twin)")
    return fig


def small_multiples(points: pd.DataFrame, x: str, y: str, col: str, row: str | None = None,
                    value: str = "p_collapse", level: float = 0.5) -> Figure:
    """:func:`phase_diagram` for each value of ``col`` (and ``row``), on one colour scale."""
    import matplotlib.pyplot as plt

    cols = sorted(points[col].dropna().unique(), key=str)
    rows = sorted(points[row].dropna().unique(), key=str) if row else [None]
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(3.6 * len(cols) + 1.2, 3.0 * len(rows) + 0.6),
                             squeeze=False, sharex=True, sharey=True, layout="constrained")
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            part = points[(points[col] == c) & ((points[row] == r) if row else True)]
            title = f"{label(col)}: {c}" + (f"\n{label(row)}: {r}" if row else "")
            if part[[x, y, value]].dropna().empty:  # a parameter of another base: nothing to draw here
                axes[i, j].set_axis_off()
                axes[i, j].set_title(title + "\n(not swept here)")
                continue
            phase_diagram(part, x, y, value, level, ax=axes[i, j], title=title, colorbar=False)
            axes[i, j].set_xlabel("")
            axes[i, j].set_ylabel("")
    # one label per figure axis: per-panel labels longer than a panel overlap their neighbours
    fig.supxlabel(label(x))
    fig.supylabel(label(y))
    mappable = next(ax.collections[0] for ax in axes.flat if ax.collections)
    fig.colorbar(mappable, ax=axes, label=f"{label(value)} (against the unshocked twin)", shrink=0.8)
    return fig


def critical_value_curve(critical: pd.DataFrame, x: str, hue: str | None = None,
                         parameter_label: str = "critical shock size", ax=None) -> Figure:
    """The critical value (where P(collapse) crosses 50%) against ``x`` with its bootstrap interval.

    Args:
        critical: ``SweepResults.critical_values(parameter, by=[x, hue])``.
        x: the column on the horizontal axis.
        hue: a column drawn as separate lines (sector, say).
        parameter_label: axis label of the critical value.
        ax: draw into this Axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    groups = critical.groupby(hue, sort=True) if hue else [(None, critical)]
    categorical = not pd.api.types.is_numeric_dtype(critical[x])
    levels = sorted(critical[x].unique(), key=str) if categorical else None
    for k, (name, part) in enumerate(groups):
        part = part.sort_values(x)
        xs = np.array([levels.index(v) for v in part[x]]) + 0.08 * (k - 0.5) if categorical else part[x].to_numpy()
        err = np.vstack([part["value"] - part["low"], part["high"] - part["value"]])
        # an open side (infinite bound) is drawn to the axis edge by clipping, never as a zero-width bar
        err = np.where(np.isfinite(err), err, 10.0)
        line = ax.errorbar(xs, part["value"], yerr=err, marker="o", capsize=4, label=str(name) if hue else None)
        solid = part["inside"].to_numpy(dtype=bool) & np.isfinite(part[["low", "high"]].to_numpy()).all(axis=1)
        # extrapolated crossings and open intervals: hollow markers
        ax.plot(np.asarray(xs)[~solid], part["value"].to_numpy()[~solid], "o", mfc="white",
                color=line.lines[0].get_color(), mec=line.lines[0].get_color(), ms=7, zorder=3)
    finite = critical[["value", "low", "high"]].to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size:
        pad = 0.05 * max(finite.max() - finite.min(), 0.1)
        ax.set_ylim(finite.min() - pad, finite.max() + pad)
    if categorical:
        ax.set_xticks(range(len(levels)), [str(v) for v in levels])
    ax.set_xlabel(label(x))
    ax.set_ylabel(f"{parameter_label}\n(P(collapse) = 50%, 95% interval;\nhollow: extrapolated or open)")
    if hue:
        ax.legend(title=label(hue), loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax.figure


def regime_trajectories(frame: pd.DataFrame, summary: pd.DataFrame, column: str = "providers",
                        dt_days: float = 7.0, ax=None, regimes: Sequence[str] = REGIMES) -> Figure:
    """Shocked / twin ratio of ``column`` over time for runs of each regime (one line per run).

    Args:
        frame: ``SweepResults.rerun(ids)`` (``column`` and ``twin_<column>``).
        summary: summary rows of those runs (``run_id`` and ``regime``).
        column: the series whose ratio is drawn.
        dt_days: days per step (for the time axis in years).
        ax: draw into this Axes.
        regimes: the regimes drawn.
    """
    import matplotlib.pyplot as plt

    from models.analysis.twins import twin_ratio

    if ax is None:
        fig, ax = plt.subplots(figsize=(7.0, 4.0), layout="constrained")
    regime_of = summary.set_index("run_id")["regime"]
    seen = set()
    for rid, run in frame.groupby("run_id", sort=False):
        regime = regime_of[rid]
        if regime not in regimes:
            continue
        ratio = twin_ratio(run[column], run[f"twin_{column}"])
        ax.plot(run["step"] * dt_days / 365.0, ratio, color=REGIME_COLOURS[regime], alpha=0.8, lw=1.2,
                label=regime if regime not in seen else None)
        seen.add(regime)
    ax.axhline(1.0, color="black", lw=0.8, ls=":")
    ax.set_xlabel("years from the start")
    ax.set_ylabel(f"{label(column)}: shocked / unshocked twin")
    ax.legend(title="regime", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax.figure
