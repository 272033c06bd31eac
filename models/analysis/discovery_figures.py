"""Helpers and figures of notebook 09 (safe boxes): which box to choose, how to say it, how to draw it.

The search itself is ``models.analysis.discovery`` (PRIM and CART); this module adds the notebook's rule for
choosing a box, a readable description of its limits (levers against uncertainties), the design advice
assembled from those limits, and matplotlib figures with labelled axes and legends outside the data.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.analysis.discovery import Box, PrimResult, prim
from models.experiments.timed import sweep_path

SPEC = "safe_boxes.yaml"
# The split of params/sweeps/safe_boxes.yaml, read from its `levers:` (a protocol team sets them); every
# other swept parameter is an uncertainty. A local file: nothing is fetched.
def _split() -> tuple[tuple[str, ...], tuple[str, ...]]:
    from models.params import read_yaml

    data = read_yaml(sweep_path(SPEC))
    levers = tuple(data.get("levers", ()))
    return levers, tuple(p for p in data["parameters"] if p not in levers)


LEVERS, UNCERTAINTIES = _split()
# path -> (axis label with unit, short name, scale, decimals, suffix) for figures and sentences
_NAMES = {
    "payment.burn_share": ("burn share (fraction of usage FIL burned)", "burn share", 100, 0, "%"),
    "stake.pledge_reward_days": ("initial pledge (days of expected reward)", "pledge", 1, 0, " days of reward"),
    "market.liquidity_target_share": ("pool depth target (share of market cap)", "pool depth", 100, 0,
                                      "% of market cap"),
    "emission.half_life_years": ("emission half-life (years)", "emission half-life", 1, 1, " years"),
    "payment.service_price_usd": ("service price (USD per TiB-day)", "service price", 1, 3, " USD per TiB-day"),
    "shocks.0.size": ("shock size (fall of the market factor)", "market falls", 100, 0, "%"),
    "providers.opex_dispersion": ("provider cost spread (lognormal sigma)", "cost spread (sigma)", 1, 2, ""),
    "providers.exit_patience_days": ("provider exit patience (days)", "provider exit patience", 1, 0, " days"),
    "providers.sell_share": ("share of rewards providers sell", "providers' sell share", 100, 0, "%"),
    "providers.opex_usd_per_year": ("provider operating cost (USD per PiB-year)", "operating cost", 1, 0,
                                    " USD per PiB-year"),
}
ROLE_COLOURS = {"lever": "tab:blue", "uncertainty": "tab:orange"}


def spec_path() -> Path:
    """Path of the discovery sweep spec (``models.experiments.timed.sweep_path``)."""
    return sweep_path(SPEC)


def role(path: str) -> str:
    """``lever`` for a parameter a protocol team sets (:data:`LEVERS`), else ``uncertainty``."""
    return "lever" if path in LEVERS else "uncertainty"


def label(path: str) -> str:
    """Axis label (with unit) of a swept parameter."""
    return _NAMES[path][0] if path in _NAMES else path


def format_value(path: str, value: float, side: str | None = None) -> str:
    """A parameter value with its unit; ``side="low"`` rounds up and ``"high"`` down, so a bound stays inside."""
    _, _, scale, decimals, suffix = _NAMES.get(path, (path, path, 1, 3, ""))
    step, scaled = 10.0 ** -decimals, value * scale
    if side == "low":
        scaled = math.ceil(scaled / step - 1e-9) * step
    elif side == "high":
        scaled = math.floor(scaled / step + 1e-9) * step
    return f"{scaled:.{decimals}f}{suffix}"


def find_boxes(x: pd.DataFrame, collapsed, ranges: dict[str, Any]) -> PrimResult:
    """PRIM toward the runs that did not collapse, keeping the whole peeling trajectory.

    ``models.analysis.discovery.prim`` keeps the whole trajectory; the target P(collapse) is applied
    afterwards by :func:`pick_box`.
    """
    survived = ~np.asarray(collapsed, dtype=bool)
    if not survived.any():
        raise ValueError("every run collapsed: there is no box of runs that did not")
    return prim(x, survived, ranges=ranges)


def full_limits(ranges: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every swept range as box limits (a box that restricts nothing)."""
    return {k: ({"values": list(r.values)} if r.values is not None else {"low": float(r.low), "high": float(r.high)})
            for k, r in ranges.items()}


def pick_box(result: PrimResult, max_p_collapse: float, name: str,
             source: dict[str, Any] | None = None) -> tuple[int, Box, str]:
    """The widest box with P(collapse) at most ``max_p_collapse``, else the densest box.

    Returns:
        ``(index, box, how)``: its trajectory index, the :class:`Box` and ``"target"`` or ``"densest"``. A box
        that restricts nothing (the whole sweep already meets the target, or every restriction was dropped
        on its quasi-p-value) gets every swept range as limits, so it can still be written and re-tested.
    """
    index, met = result.choose_or_densest(1.0 - max_p_collapse - 1e-12)  # no float fuzz at the target
    how = "target" if met else "densest"
    box = result.box(index, name, source=source)
    if not box.limits:
        box = replace(box, limits=full_limits(result.ranges))
    return index, box, how


def limits_table(box: Box, ranges: dict[str, Any]) -> pd.DataFrame:
    """One row per swept parameter: role, sweep range, box range, share of the range kept and ``restricted``.

    Raises:
        ValueError: a swept parameter is a list of values (this notebook's sweep has continuous ranges only).
    """
    rows = []
    for path, rng in ranges.items():
        if rng.values is not None:
            raise ValueError(f"{path}: a list of values; only continuous ranges are described")
        lim, width = box.limits.get(path, {"low": rng.low, "high": rng.high}), rng.high - rng.low
        tight = lim["low"] > rng.low + 1e-12 * width or lim["high"] < rng.high - 1e-12 * width
        rows.append({"parameter": path, "role": role(path), "sweep_low": rng.low, "sweep_high": rng.high,
                     "box_low": lim["low"], "box_high": lim["high"], "kept": (lim["high"] - lim["low"]) / width,
                     "restricted": bool(tight)})
    return pd.DataFrame(rows).set_index("parameter")


def clauses(box: Box, ranges: dict[str, Any], kind: str) -> list[str]:
    """Phrases for the box's restrictions of one ``kind`` (``lever`` or ``uncertainty``), in sweep order."""
    table, out = limits_table(box, ranges), []
    for path, row in table[table["restricted"] & (table["role"] == kind)].iterrows():
        short = _NAMES[path][1] if path in _NAMES else path
        up, down = row["box_low"] > row["sweep_low"], row["box_high"] < row["sweep_high"]
        low, high = format_value(path, row["box_low"], "low"), format_value(path, row["box_high"], "high")
        out.append(f"{short} between {low} and {high}" if up and down else f"{short} above {low}" if up else
                   f"{short} {'below' if kind == 'lever' else 'up to'} {high}")
    return out


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def design_advice(box: Box, ranges: dict[str, Any], max_p_collapse: float, how: str, check: dict[str, Any]) -> str:
    """The design advice of the box, every number formatted from its limits, its stats and its re-test ``check``.

    Args:
        box: the chosen box (:func:`pick_box`).
        ranges: the sweep's ranges.
        max_p_collapse: the target.
        how: ``"target"`` or ``"densest"`` (:func:`pick_box`).
        check: ``models.analysis.discovery.retest`` of the box.
    """
    s, target = box.stats, f"{max_p_collapse:.0%}"
    levers, worlds = clauses(box, ranges, "lever"), clauses(box, ranges, "uncertainty")
    lever_text = _join(levers) if levers else ""
    world_text = f"for {_join(worlds)}" if worlds else "over every swept uncertainty"
    if how == "densest":
        head = (f"No box on the peeling trajectory keeps P(collapse) at or below {target}. The densest box "
                + (f"({lever_text}, {world_text})" if levers else f"({world_text}; no lever restricted)")
                + f" still collapses in {s['p_collapse']:.1%} of its runs")
    elif not levers and not worlds:
        head = (f"No restriction is needed: over the whole swept ranges P(collapse) is {s['p_collapse']:.1%}, "
                f"at or below {target}")
    elif levers:
        verb = (f"keep{'s' if len(levers) == 1 else ''} P(collapse) at or below {target}"
                if s["p_collapse"] <= max_p_collapse else f"bring P(collapse) down to {s['p_collapse']:.1%}")
        head = f"{lever_text[0].upper()}{lever_text[1:]} {verb} {world_text}"
    else:
        level = (f"at or below {target}" if s["p_collapse"] <= max_p_collapse else
                 f"{s['p_collapse']:.1%}, above {target},")
        head = f"No lever needs restricting: anywhere in the levers' swept ranges P(collapse) is {level} {world_text}"
    text = (f"{head}. In sample: {s['p_collapse']:.1%} (95% interval {s['p_collapse_low']:.1%} to "
            f"{s['p_collapse_high']:.1%}) of {s['n']:,} runs; on {check['n']:,} fresh runs inside the box: "
            f"{check['p_collapse']:.1%} ({check['p_collapse_low']:.1%} to {check['p_collapse_high']:.1%}), "
            + ("inside" if check["within"] else "outside") + " the in-sample interval.")
    if max(s["p_collapse_high"], check["p_collapse_high"]) > max_p_collapse:
        text += (f" The upper ends of the intervals reach {max(s['p_collapse_high'], check['p_collapse_high']):.1%}: "
                 f"the runs do not rule out a P(collapse) above {target} inside the box.")
    return text


def rule_parameters(rules) -> list[str]:
    """The parameters a list of CART rules (``cart_rules(...)["rule"]``) split on, in order of appearance."""
    names: list[str] = []
    for rule in rules:
        for cond in str(rule).split(" and "):
            match = re.match(r"(?:\S+ < )?(\S+) (?:<=|>|in) ", cond)  # "a > x", "a <= x", "lo < a <= hi", "a in"
            if match and match.group(1) not in names:
                names.append(match.group(1))
    return names


def scatter_pair(box: Box, ranges: dict[str, Any], x: pd.DataFrame, collapsed) -> tuple[str, str]:
    """Two numeric parameters to draw the runs on: the box's most narrowed, then those most tied to collapse."""
    table = limits_table(box, ranges)
    tied = x[list(table.index)].corrwith(pd.Series(np.asarray(collapsed, dtype=float), index=x.index),
                                         method="spearman")
    order = sorted(table.index, key=lambda p: (not table.loc[p, "restricted"], table.loc[p, "kept"],
                                           -abs(np.nan_to_num(tied[p]))))
    return order[0], order[1]


def plot_trajectory(trajectory: pd.DataFrame, index: int, box: Box, max_p_collapse: float):
    """PRIM's peeling trajectory: coverage against density, coloured by restricted dimensions; the choice marked."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(8.5, 5.2), layout="constrained")
    ax.plot(trajectory["coverage"], trajectory["density"], color="0.75", lw=1, zorder=1)
    dims = sorted(trajectory["res_dim"].unique())
    sns.scatterplot(data=trajectory, x="coverage", y="density", hue="res_dim", hue_order=dims, ax=ax, s=40,
                    palette=sns.color_palette("viridis", len(dims)), zorder=2, legend=True)
    chosen = trajectory.set_index("index").loc[index]
    ax.scatter(chosen["coverage"], chosen["density"], s=220, facecolors="none", edgecolors="black", lw=2, zorder=3,
               label=f"chosen box (step {index})")
    if box.stats["dropped_restrictions"]:
        ax.scatter(box.stats["coverage"], box.stats["density"], marker="X", s=90, color="black", zorder=3,
                   label="chosen box after dropping restrictions (quasi-p > 0.05)")
    ax.axhline(1.0 - max_p_collapse, color="tab:red", ls="--", lw=1.2,
               label=f"target density {1.0 - max_p_collapse:.2f} (P(collapse) = {max_p_collapse:.0%})")
    ax.set_xlabel("coverage (share of all surviving runs inside the box)")
    ax.set_ylabel("density (share of the box's runs that survive)")
    right = ax.secondary_yaxis("right", functions=(lambda d: 1.0 - d, lambda p: 1.0 - p))
    right.set_ylabel("P(collapse) in the box = 1 - density")
    handles, labels = ax.get_legend_handles_labels()
    ax.get_legend().remove()
    labels = [f"{t} restricted dimension{'s' * (t != '1')}" if t.isdigit() else t for t in labels]
    fig.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False)
    ax.set_title("PRIM peeling trajectory toward runs that do not collapse")
    return fig


def plot_limits(box: Box, ranges: dict[str, Any]):
    """Each swept parameter's box range against its sweep range (0 = the sweep's low end, 1 = its high end)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    table = limits_table(box, ranges)
    fig, ax = plt.subplots(figsize=(9.0, 0.45 * len(table) + 1.6), layout="constrained")
    for y, (path, row) in enumerate(table.iterrows()):
        ax.barh(y, 1.0, color="0.9", height=0.6)
        width = row["sweep_high"] - row["sweep_low"]
        low, high = (row["box_low"] - row["sweep_low"]) / width, (row["box_high"] - row["sweep_low"]) / width
        colour = ROLE_COLOURS[row["role"]] if row["restricted"] else "0.65"
        ax.barh(y, high - low, left=low, color=colour, height=0.6)
        if row["restricted"]:
            ax.text(low - 0.01, y, format_value(path, row["box_low"]), ha="right", va="center", fontsize=8)
            ax.text(high + 0.01, y, format_value(path, row["box_high"]), ha="left", va="center", fontsize=8)
    ax.set_yticks(range(len(table)), [f"{label(p)}\n(swept {r['sweep_low']:g} to {r['sweep_high']:g})"
                                      for p, r in table.iterrows()], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(-0.2, 1.2)
    ax.set_xlabel("position in the swept range (0 = its low end, 1 = its high end; light grey: outside the box)")
    fig.legend([Patch(color=ROLE_COLOURS["lever"]), Patch(color=ROLE_COLOURS["uncertainty"]), Patch(color="0.65")],
               ["restricted lever", "restricted uncertainty", "not restricted"], loc="outside lower center",
               ncols=3, frameon=False)
    ax.set_title(f"Box {box.name!r}: its limits against the sweep's ranges")
    return fig


def plot_runs(x: pd.DataFrame, collapsed, box: Box, pair: tuple[str, str]):
    """The runs on two parameters, collapse or not, with the box's limits in those two drawn as a rectangle."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from models.analysis.discovery import in_box
    from models.analysis.sweep_figures import REGIME_COLOURS

    collapsed, inside = np.asarray(collapsed, dtype=bool), in_box(x, box.limits)
    fig, ax = plt.subplots(figsize=(8.0, 5.0), layout="constrained")
    for mask, colour, name in ((~collapsed, "tab:green", "did not collapse"),
                               (collapsed, REGIME_COLOURS["collapse"], "collapse")):
        for where, alpha, suffix in ((mask & inside, 0.9, "inside the box"), (mask & ~inside, 0.25, "outside")):
            ax.scatter(x.loc[where, pair[0]], x.loc[where, pair[1]], s=14, color=colour, alpha=alpha, lw=0,
                       label=f"{name}, {suffix}")
    (x0, x1), (y0, y1) = ((box.limits[p]["low"], box.limits[p]["high"]) if p in box.limits
                          else (x[p].min(), x[p].max()) for p in pair)
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="black", lw=1.8, label="box (projection)"))
    ax.set_xlabel(label(pair[0]))
    ax.set_ylabel(label(pair[1]))
    fig.legend(loc="outside lower center", ncols=3, frameon=False)
    ax.set_title("Runs of the discovery sweep on two dimensions of the box\n(faded: outside the box in another "
                 "dimension)")
    return fig


def plot_estimates(estimates: pd.DataFrame, max_p_collapse: float):
    """P(collapse) estimates with their 95% intervals (``label, p, low, high, n`` per row) against the target."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    fig, ax = plt.subplots(figsize=(8.0, 0.55 * len(estimates) + 1.8), layout="constrained")
    ys = np.arange(len(estimates))
    err = np.vstack([estimates["p"] - estimates["low"], estimates["high"] - estimates["p"]])
    ax.errorbar(estimates["p"], ys, xerr=err, fmt="o", color="black", capsize=4, label="estimate, 95% interval")
    for y, (_, row) in zip(ys, estimates.iterrows(), strict=True):
        ax.annotate(f"{row['p']:.1%} of {int(row['n']):,}", (row["high"], y), xytext=(6, 0),
                    textcoords="offset points", va="center", fontsize=8)
    ax.axvline(max_p_collapse, color="tab:red", ls="--", lw=1.2, label=f"target {max_p_collapse:.0%}")
    ax.set_yticks(ys, estimates["label"])
    ax.invert_yaxis()
    ax.set_xlim(0.0, min(1.0, float(estimates["high"].max()) * 1.25 + 0.02))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("P(collapse) against the unshocked twin (share of runs)")
    fig.legend(loc="outside lower center", ncols=2, frameon=False)
    ax.set_title("P(collapse): the whole sweep, the box in sample and on fresh runs, CART's safest leaf")
    return fig


def strongest_lever(effects: pd.DataFrame) -> str:
    """The lever whose quantiles part most within a band (largest P(collapse) spread in any band)."""
    spread = effects.groupby(["lever", "band_low"])["p_collapse"].agg(lambda p: p.max() - p.min())
    return str(spread.groupby("lever").max().idxmax())


def plot_lever_bands(effects: pd.DataFrame, lever: str, max_p_collapse: float):
    """P(collapse) against shock band, one line per quantile of ``lever``, with Wilson intervals."""
    import matplotlib.pyplot as plt

    part = effects[effects["lever"] == lever].copy()
    part["band"] = (part["band_low"] + part["band_high"]) / 2
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    quantiles = sorted(part["quantile"].unique())
    colours = plt.get_cmap("viridis")(np.linspace(0.1, 0.9, len(quantiles)))
    for q, colour in zip(quantiles, colours, strict=True):
        rows = part[part["quantile"] == q].sort_values("band")
        span = (format_value(lever, rows["lever_low"].min()), format_value(lever, rows["lever_high"].max()))
        ax.errorbar(rows["band"] * 100, rows["p_collapse"] * 100,
                    yerr=[(rows["p_collapse"] - rows["p_collapse_low"]) * 100,
                          (rows["p_collapse_high"] - rows["p_collapse"]) * 100],
                    marker="o", capsize=3, color=colour, label=f"quantile {q + 1}: {span[0]} to {span[1]}")
    ax.axhline(max_p_collapse * 100, color="0.3", linestyle="--", linewidth=1, label="target")
    ax.set_xlabel("fall of the market factor, band midpoint (%)")
    ax.set_ylabel("P(collapse) against the twin (%)")
    ax.set_title(f"What {label(lever)} does within each band of shock size")
    ax.legend(title=label(lever), fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig
