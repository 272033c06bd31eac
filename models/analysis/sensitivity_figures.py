"""Helpers of notebook 08 (global sensitivity): which levers decide the flywheel's fate under a bear market.

The indices come from ``models.analysis.sensitivity`` (SALib); this module adds what the notebook needs
around them: where the sweep specs live and a timed run of them, which swept parameter is a lever and which
an uncertainty, indices of several outcomes in one tidy table, bounds on the variance share of each group,
binned main effects (the direction an index does not give), the overlap of a Morris ranking with the Sobol
set, and the figures (Sobol bars, indices over time, main effects, Morris mu*/sigma).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from models.experiments.timed import run_timed, sweep_path


# The levers of params/sweeps/sensitivity.yaml (its `levers:`; a protocol team sets them). Every other
# parameter of that spec is an uncertainty; the ten extra parameters of screening.yaml are "other".
def _levers() -> tuple[str, ...]:
    from models.params import read_yaml

    return tuple(read_yaml(sweep_path("sensitivity.yaml")).get("levers", ()))


LEVERS = _levers()
COLOURS = {"lever": "tab:blue", "uncertainty": "tab:orange", "other": "0.55"}
NAMES = {
    "payment.burn_share": "burn share (of usage FIL)", "stake.pledge_reward_days": "pledge (days of reward)",
    "market.liquidity_target_share": "pool depth (share of market cap)", "emission.half_life_years":
    "emission half-life (years)", "payment.service_price_usd": "service price (USD/TiB-day)",
    "shocks.0.size": "shock size (fall of the factor)", "providers.opex_dispersion": "opex spread (lognormal sigma)",
    "providers.exit_patience_days": "exit patience (days)", "providers.sell_share": "sell share (of rewards)",
    "users.quality_churn_per_year": "quality churn (1/year)", "providers.exit_rate_per_year": "exit rate (1/year)",
    "providers.capex_usd": "capex (USD/PiB)", "providers.opex_usd_per_year": "opex (USD/PiB-year)",
    "users.bass_imitation_per_year": "Bass imitation (1/year)", "users.base_churn_per_year": "base churn (1/year)",
    "speculators.intensity_of_choice": "intensity of choice (beta)",
    "speculators.fundamentalist_strength": "fundamentalist strength",
    "market.liquidity_half_life_days": "liquidity half-life (days)",
    "market.factor_volatility_per_year": "factor volatility (1/sqrt(year))",
    "stake.commitment_days": "commitment (days)",
}


def name(parameter: str) -> str:
    """Short readable name of a swept path, with its unit."""
    return NAMES.get(parameter, parameter)


def role(parameter: str, sobol_set=None) -> str:
    """``lever``, ``uncertainty`` (in ``sobol_set``, default: any non-lever) or ``other``."""
    if parameter in LEVERS:
        return "lever"
    return "uncertainty" if sobol_set is None or parameter in sobol_set else "other"


def article(kind: str) -> str:
    """``a lever``, ``an uncertainty``: a role with its indefinite article, for generated sentences."""
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind}"


def run_sweeps(files, workers: int, out: str | Path, quick: bool) -> dict:
    """Run (or resume, or verify) sweeps of ``params/sweeps`` on one Dask cluster, timing each call.

    One LocalCluster (or ``$DASK_SCHEDULER_ADDRESS``) serves every sweep, so its start-up is paid once and
    timed apart. A store of other model code is moved aside and recomputed (``resume=False``), never mixed.

    Returns:
        ``{file: models.experiments.timed.run_timed(...)}`` (root, spec, seconds, stored, computed, stale) and
        ``"cluster_seconds"``.
    """
    import time

    from models.experiments.cluster import close_quietly, open_client

    started = time.perf_counter()
    client, cluster = open_client(workers, None)
    done: dict = {"cluster_seconds": time.perf_counter() - started}
    try:
        for file in files:
            done[file] = run_timed(sweep_path(file), workers=workers, out=out, quick=quick,
                                   scheduler=client.scheduler.address)
    finally:
        close_quietly(client, cluster)
    return done


def indices_table(spec, outcomes: Mapping[str, np.ndarray], **kwargs) -> pd.DataFrame:
    """Sobol S1 and ST of several outcomes in one tidy frame, with each parameter's role.

    An outcome that does not vary over the design (every run stalls, say) has no indices: its rows are NaN
    with ``defined`` False instead of an error.

    Args:
        spec: the loaded Sobol spec.
        outcomes: ``{outcome name: one value per point}``.
        **kwargs: passed to ``sensitivity.sobol_indices``.
    """
    from models.analysis.sensitivity import sobol_indices

    frames = []
    for key, y in outcomes.items():
        if np.nanvar(np.asarray(y, dtype=float)) > 1e-12:
            table = sobol_indices(spec, y, **kwargs)["indices"].assign(defined=True)
        else:
            table = pd.DataFrame({"parameter": list(spec.parameters), "defined": False})
        frames.append(table.assign(outcome=key))
    frame = pd.concat(frames, ignore_index=True)
    frame["role"] = frame["parameter"].map(role)
    return frame


def group_shares(table: pd.DataFrame) -> pd.DataFrame:
    """Per outcome: the sum of S1, the interaction share ``1 - sum S1``, and bounds per role.

    The closed first-order index of a group (the variance its members explain together, interactions among
    them included) is at least the sum of its members' S1 and at least ``1 -`` the sum of the other group's
    ST (the other group's total index is at most that sum). ``<role>_low`` is the larger of the two bounds.
    """
    rows = []
    for key, part in table[table["defined"]].groupby("outcome", sort=False):
        row = {"outcome": key, "sum_S1": part["S1"].sum(), "interaction": 1.0 - part["S1"].sum()}
        for own, other in (("lever", "uncertainty"), ("uncertainty", "lever")):
            mine, theirs = part[part["role"] == own], part[part["role"] == other]
            row[f"{own}_S1"], row[f"{own}_ST"] = mine["S1"].sum(), mine["ST"].sum()
            row[f"{own}_low"] = float(np.clip(max(mine["S1"].sum(), 1.0 - theirs["ST"].sum()), 0.0, 1.0))
        rows.append(row)
    return pd.DataFrame(rows).set_index("outcome")


def main_effects(values: pd.DataFrame, y: np.ndarray, bins: int = 8) -> pd.DataFrame:
    """Binned mean of ``y`` against each column of ``values`` (the first-order effect E[y | x]).

    Args:
        values: one column per parameter, one row per observation (a point's parameter values).
        y: the outcome of each row.
        bins: equal-width bins over each column's observed range.

    Returns:
        Tidy frame ``parameter, x (bin centre), mean, low, high, n``; low/high: mean -/+ 1.96 standard errors.
    """
    y = np.asarray(y, dtype=float)
    rows = []
    for col in values.columns:
        x = values[col].to_numpy(dtype=float)
        edges = np.linspace(x.min(), x.max(), bins + 1)
        which = np.clip(np.digitize(x, edges[1:-1]), 0, bins - 1)
        for b in range(bins):
            sel = y[(which == b) & np.isfinite(y)]
            if sel.size == 0:
                continue
            half = 1.96 * sel.std(ddof=1) / np.sqrt(sel.size) if sel.size > 1 else 0.0
            rows.append({"parameter": col, "x": 0.5 * (edges[b] + edges[b + 1]), "mean": sel.mean(),
                         "low": sel.mean() - half, "high": sel.mean() + half, "n": sel.size})
    return pd.DataFrame(rows)


def overlap(morris: pd.DataFrame, sobol_set, top: int = 10) -> dict:
    """Compare a Morris ranking with the Sobol set.

    Returns:
        ``shared`` (Sobol parameters in the Morris top ``top``), ``missed`` (Morris top-``top`` parameters not
        in the Sobol set, by rank) and ``left_out`` (Sobol parameters ranked below ``top``, by rank).
    """
    ranked = morris.sort_values("rank")
    head = ranked[ranked["rank"] <= top]["parameter"].tolist()
    tail = ranked[ranked["rank"] > top]["parameter"].tolist()
    return {"shared": [p for p in head if p in sobol_set], "missed": [p for p in head if p not in sobol_set],
            "left_out": [p for p in tail if p in sobol_set]}


def sobol_bars(table: pd.DataFrame, titles: Mapping[str, str]):
    """S1 and ST with their intervals per parameter, one panel per outcome; colour = role, hatch = S1."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    params = list(dict.fromkeys(table.sort_values("role", kind="stable")["parameter"]))
    fig, axes = plt.subplots(1, len(titles), figsize=(4.6 * len(titles) + 1.8, 0.42 * len(params) + 1.8),
                             sharey=True, squeeze=False, layout="constrained")
    ys = np.arange(len(params))
    for ax, (key, title) in zip(axes[0], titles.items(), strict=True):
        part = table[table["outcome"] == key].set_index("parameter").reindex(params)
        colours = [COLOURS[r] for r in part["role"]]
        for offset, index, style in ((-0.2, "S1", {"hatch": "///", "alpha": 0.45}), (0.2, "ST", {})):
            err = np.vstack([part[index] - part[f"{index}_low"], part[f"{index}_high"] - part[index]])
            ax.barh(ys + offset, part[index], height=0.38, color=colours, edgecolor=colours, **style)
            ax.errorbar(part[index], ys + offset, xerr=err, fmt="none", ecolor="0.15", capsize=2, lw=0.9)
        if not part["defined"].any():
            ax.text(0.5, 0.5, "outcome constant over the design:\nno indices", transform=ax.transAxes,
                    ha="center", va="center")
        ax.axvline(0.0, color="0.3", lw=0.8)
        ax.axhline((part["role"] == "lever").sum() - 0.5, color="0.5", lw=0.8, ls=":")
        ax.set(title=title, xlabel="Sobol index (share of the outcome's variance)")
    axes[0, 0].set_yticks(ys, [name(p) for p in params])
    axes[0, 0].invert_yaxis()
    handles = [Patch(color=COLOURS["lever"], label="lever"), Patch(color=COLOURS["uncertainty"], label="uncertainty"),
               Patch(facecolor="white", edgecolor="0.3", hatch="///", label="first order S1"),
               Patch(facecolor="0.3", label="total ST"),
               Patch(facecolor="none", edgecolor="none", label="error bars: bootstrap 95%")]
    fig.legend(handles=handles, loc="outside lower center", ncols=5, frameon=False)
    return fig


def indices_over_time(frames: Mapping[str, pd.DataFrame], titles: Mapping[str, str], dt_days: float,
                      shock_day: float, clip: tuple[float, float] = (-0.2, 1.2)):
    """S1 and ST over time per parameter (rows 1 and 2) and the outcome's variance (row 3), per outcome.

    Args:
        frames: ``{outcome: sensitivity.sobol_over_time(...)}``.
        titles: the column titles, by outcome.
        dt_days: days per step (the time axis is in years).
        shock_day: the day the shock starts (a vertical line).
        clip: y range of the index rows; estimates outside it (a step whose variance is still tiny) are cut.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, len(frames), figsize=(6.4 * len(frames), 9.6), sharex=True, squeeze=False,
                             height_ratios=(1.0, 1.0, 0.6), layout="constrained")
    palette = dict(zip(dict.fromkeys(next(iter(frames.values()))["parameter"]), plt.get_cmap("tab10").colors,
                       strict=False))
    for j, (key, frame) in enumerate(frames.items()):
        frame = frame.assign(years=frame["step"] * dt_days / 365.0)
        defined = frame.loc[frame["defined"], "years"]
        first = defined.min() if len(defined) else frame["years"].max()  # no indices before the outcome varies
        for i, index in enumerate(("S1", "ST")):
            ax = axes[i, j]
            for p, part in frame.groupby("parameter", sort=False):
                ax.plot(part["years"], part[index].clip(*clip), color=palette[p], lw=1.4,
                        ls="-" if role(p) == "lever" else "--", label=f"{name(p)} ({role(p)})")
            ax.set(ylim=(clip[0] - 0.02, clip[1] + 0.02), ylabel=f"{index} (share of variance)",
                   title=titles[key] if i == 0 else None)
        variance = frame.drop_duplicates("step")
        axes[2, j].plot(variance["years"], variance["variance"].where(variance["defined"]), color="0.2")
        axes[2, j].set(yscale="log", ylabel="variance over the design", xlabel="years from the start (weekly steps)")
        for ax in axes[:, j]:
            if first > frame["years"].min():
                ax.axvspan(frame["years"].min(), first, color="0.9", zorder=0)
            ax.axvline(shock_day / 365.0, color="tab:red", ls="-.", lw=1.0)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4, frameon=False, fontsize="small")
    return fig


def main_effects_figure(effects: Mapping[str, pd.DataFrame], titles: Mapping[str, str]):
    """Binned main effects: one row per outcome, one column per parameter, mean with its 95% band."""
    import matplotlib.pyplot as plt

    params = list(dict.fromkeys(next(iter(effects.values()))["parameter"]))
    fig, axes = plt.subplots(len(effects), len(params), figsize=(2.9 * len(params), 2.7 * len(effects) + 0.4),
                             sharey="row", squeeze=False, layout="constrained")
    for i, (key, frame) in enumerate(effects.items()):
        for j, p in enumerate(params):
            part, ax = frame[frame["parameter"] == p], axes[i, j]
            ax.fill_between(part["x"], part["low"], part["high"], color=COLOURS[role(p)], alpha=0.25, lw=0)
            ax.plot(part["x"], part["mean"], color=COLOURS[role(p)], marker="o", ms=3)
            ax.set(xlabel=name(p) if i == len(effects) - 1 else None, ylabel=titles[key] if j == 0 else None)
    return fig


def morris_scatter(tables: Mapping[str, pd.DataFrame], titles: Mapping[str, str], sobol_set, labelled: int = 10):
    """Morris mu* against sigma per parameter; colour = role, marker x = not in the Sobol set.

    The first ``labelled`` parameters by mu* carry their rank beside the point and are named, by rank, in a
    key to the right of the panel (names on the points would overlap where effects are alike).
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    fig, axes = plt.subplots(1, len(tables), figsize=(7.6 * len(tables), 5.2), squeeze=False, layout="constrained")
    for ax, (key, table) in zip(axes[0], tables.items(), strict=True):
        table = table.sort_values("rank")
        for _, row in table.iterrows():
            kind = role(row["parameter"], sobol_set)
            err = [[row["mu_star"] - row["mu_star_low"]], [row["mu_star_high"] - row["mu_star"]]]
            ax.errorbar(row["mu_star"], row["sigma"], xerr=err, fmt="x" if kind == "other" else "o",
                        color=COLOURS[kind], capsize=2, lw=0.8)
            if row["rank"] <= labelled:
                ax.annotate(str(int(row["rank"])), (row["mu_star"], row["sigma"]), fontsize=8, xytext=(3, 3),
                            textcoords="offset points")
        ax.text(1.02, 1.0, "rank by mu*", transform=ax.transAxes, va="top", fontsize=8)
        for k, (r, p) in enumerate(zip(table["rank"][:labelled], table["parameter"][:labelled], strict=True)):
            ax.text(1.02, 0.95 - 0.05 * k, f"{int(r)}  {name(p).split(' (')[0]}", transform=ax.transAxes, va="top",
                    fontsize=8, color=COLOURS[role(p, sobol_set)])
        top = float(max(table["mu_star_high"].max(), table["sigma"].max(), 1e-12))
        ax.plot([0, top], [0, top], color="0.6", lw=0.8, ls=":")
        ax.set(title=titles[key], ylabel="sigma (spread of elementary effects)",
               xlabel="mu* (mean |elementary effect|, outcome units per full range)")
    handles = [Line2D([], [], color=COLOURS[k], marker="x" if k == "other" else "o", ls="", label=text)
               for k, text in (("lever", "lever (Sobol set)"), ("uncertainty", "uncertainty (Sobol set)"),
                               ("other", "not in the Sobol set"))]
    handles.append(Line2D([], [], color="0.6", ls=":", label="sigma = mu*"))
    fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False)
    return fig
