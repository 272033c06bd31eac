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


def _legend_below(fig: Figure, ax, title: str | None = None, extra: list | None = None) -> None:
    """Move the legend of ``ax`` (plus ``extra`` (handle, label) pairs) below the panels, off the data."""
    handles, labels = ax.get_legend_handles_labels()
    for handle, label in extra or []:
        handles.append(handle)
        labels.append(label)
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5), title=title,
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
                    hue: str | None = "scenario", events=None, ncols: int = 2, title: str | None = None,
                    style: str | None = None) -> Figure:
    """Median and 90% band over replicates of several columns, one panel each.

    Args:
        frame: tidy frame with ``step``, ``run`` and the columns (plus ``hue`` when given).
        columns: columns to plot.
        hue: column separating scenarios (None for one scenario).
        events: output of :func:`event_steps` to mark halvings (dashed) and shocks (dotted red).
        ncols: panels per row.
        title: figure title (None = none).
        style: column that sets the line style too (so identical lines of two engines both show).
    """
    nrows = int(np.ceil(len(columns) / ncols))
    fig = _new_figure(figsize=(6 * ncols, 3.6 * nrows + 0.6))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True)).ravel()
    use_hue = hue if hue and hue in frame else None
    for i, (ax, col) in enumerate(zip(axes, columns, strict=False)):
        sns.lineplot(data=frame, x="step", y=col, hue=use_hue, style=style if style in frame else None,
                     estimator="median", errorbar=BAND, ax=ax, legend=i == 0 and use_hue is not None)
        ax.set_xlabel(LABELS["step"])
        ax.set_ylabel(LABELS.get(col, col))
        _mark(ax, events)
    for ax in axes[len(columns):]:
        ax.set_visible(False)
    _legend_below(fig, axes[0], extra=_event_handles(events))
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
    _legend_below(fig, axes[0])
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
        _legend_below(fig, ax, title=hue)
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


# ---------------------------------------------------------------------------------------------------------
# Economy v2: who holds the tokens, subsidy and burn, price facts, impulse responses and the crash ablation.

ACCOUNT_LABELS = {
    "amm_tokens": "pool (liquidity providers)",
    "provider_tokens": "providers' inventory",
    "speculator_tokens": "speculators",
    "float_tokens": "outside holders (float)",
    "treasury": "treasury",
    "unvested": "unvested allocations",
    "seller_tokens": "forced seller",
    "arbitrageur_tokens": "arbitrageur",
    "locked": "providers' stake (locked)",
    "unbonding": "stake unbonding",
}


def step_of_day(scenario, day: float) -> int:
    """The step during which ``day`` falls, at the scenario's step length (as shocks are placed)."""
    return int(np.floor(float(day) / scenario.simulation.dt_days + 1e-9))


def median_paths(frame: pd.DataFrame, columns=("price", "providers", "capacity", "users"),
                 by: str = "scenario") -> pd.DataFrame:
    """Median over replicates of ``columns`` at every step, indexed by (``by``, step)."""
    return frame.groupby([by, "step"], sort=False)[list(columns)].median()


def loop_landmarks(frame: pd.DataFrame, scenario, weeks_after_halving: int = 26) -> dict[str, float]:
    """Numbers the text of the loop section quotes, from the median paths of one scenario.

    Events beyond the horizon give NaN (format them with ``regimes.format_ratio``).

    Args:
        frame: tidy frame with a ``scenario`` column (one or more scenarios).
        scenario: the scenario to describe (its name selects the rows).
        weeks_after_halving: window after the first halving in which the providers' low is searched, steps.

    Returns:
        ``providers_start``, ``providers_peak`` and ``peak_step`` (before the first halving, or over the run),
        ``halving_step``, ``providers_after_halving`` (lowest in the window), ``providers_final``,
        ``price_start``, ``price_final``, ``users_start``, ``users_final``, ``potential_users_final``,
        ``served_share`` (median over replicates of the share of steps in which all demand was served),
        ``capacity_to_demand_final`` (median of capacity / demand at the last step), ``final_step``.
    """
    part = frame[frame["scenario"] == scenario.name]
    med = part.groupby("step")[["providers", "price", "users", "potential_users"]].median()
    last = int(med.index[-1])
    halvings = event_steps(scenario, last)["halving"]
    halving = halvings[0] if halvings else None
    before = med.loc[: halving - 1] if halving is not None else med
    after = med.loc[halving: halving + weeks_after_halving] if halving is not None else med.iloc[0:0]
    served = part.assign(full=part["quality"] >= 0.999).groupby("run")["full"].mean().median()
    final = part[part["step"] == last]
    spare = (final["capacity"] / final["demand"].where(final["demand"] > 0)).median()
    return {
        "providers_start": float(med["providers"].iloc[0]),
        "providers_peak": float(before["providers"].max()),
        "peak_step": int(before["providers"].idxmax()),
        "halving_step": float(halving) if halving is not None else float("nan"),
        "providers_after_halving": float(after["providers"].min()) if len(after) else float("nan"),
        "providers_final": float(med["providers"].iloc[-1]),
        "price_start": float(med["price"].iloc[0]),
        "price_final": float(med["price"].iloc[-1]),
        "users_start": float(med["users"].iloc[0]),
        "users_final": float(med["users"].iloc[-1]),
        "potential_users_final": float(med["potential_users"].iloc[-1]),
        "served_share": float(served),
        "capacity_to_demand_final": float(spare),
        "final_step": last,
    }


def crash_landmarks(frame: pd.DataFrame, scenario, shock_step: int) -> dict[str, float]:
    """Median price just before and after a crash and what the forced seller used of its inventory.

    Args:
        frame: tidy frame with a ``scenario`` column.
        scenario: the crash scenario (its name selects the rows).
        shock_step: the step during which the crash acts (its effect shows in the next row).

    Returns:
        ``price_before``, ``price_after`` and ``drop`` (1 - after / before, medians over replicates of each
        run's drop), ``seller_inventory`` and ``seller_sold`` (tokens); NaN when the crash is beyond the horizon.
    """
    part = frame[frame["scenario"] == scenario.name]
    inventory = float(sum(s.inventory_tokens for s in scenario.shocks if s.type == "price_crash"))
    if shock_step + 1 > part["step"].max():
        nan = float("nan")
        return {"price_before": nan, "price_after": nan, "drop": nan, "seller_inventory": inventory,
                "seller_sold": nan}
    rows = part.set_index(["run", "step"])
    before = rows.xs(shock_step, level="step")
    after = rows.xs(shock_step + 1, level="step")
    last = rows.xs(int(part["step"].max()), level="step")
    return {
        "price_before": float(before["price"].median()),
        "price_after": float(after["price"].median()),
        "drop": float((1.0 - after["price"] / before["price"]).median()),
        "seller_inventory": inventory,
        "seller_sold": float((inventory - last["seller_tokens"]).median()),
    }


def median_run(frame: pd.DataFrame, column: str = "price") -> int:
    """The run whose last value of ``column`` is closest to the median over runs (a typical run)."""
    last = frame[frame["step"] == frame["step"].max()].set_index("run")[column]
    return int((last - last.median()).abs().idxmin())


def ledger_gap(frame: pd.DataFrame) -> float:
    """Largest relative gap, over every run and step, between the sum of the token accounts and supply."""
    from models.ledger import TOKEN_ACCOUNTS

    total = frame[list(TOKEN_ACCOUNTS)].sum(axis=1)
    return float(((total - frame["supply"]).abs() / frame["supply"].abs().clip(lower=1e-12)).max())


def account_snapshot(frame: pd.DataFrame, steps, by: str = "scenario") -> pd.DataFrame:
    """Median over replicates of every token account, circulating and total supply at chosen steps (M tokens).

    Steps beyond the horizon are dropped.
    """
    from models.ledger import TOKEN_ACCOUNTS

    columns = [*TOKEN_ACCOUNTS, "circulating", "supply"]
    keep = frame[frame["step"].isin([s for s in steps if s <= frame["step"].max()])]
    table = keep.groupby([by, "step"], sort=False)[columns].median() / 1e6
    return table.rename(columns={**ACCOUNT_LABELS, "circulating": "circulating", "supply": "supply"})


def token_accounts(frame: pd.DataFrame, hue: str = "scenario", events=None) -> Figure:
    """Stacked token accounts of one typical run per scenario (see :func:`median_run`), supply on top.

    Args:
        frame: tidy frame with ``step``, ``run``, the ledger accounts, ``supply`` and ``hue``.
        hue: column naming the scenario; one panel per value.
        events: :func:`event_steps` output for every panel, or a mapping of ``hue`` value to it.
    """
    from models.ledger import TOKEN_ACCOUNTS

    groups = list(frame[hue].unique()) if hue in frame else [None]
    fig = _new_figure(figsize=(6.5 * len(groups), 4.4))
    axes = np.atleast_1d(fig.subplots(1, len(groups), sharey=True))
    colors = sns.color_palette("tab10", n_colors=len(TOKEN_ACCOUNTS))
    for ax, group in zip(axes, groups, strict=True):
        part = frame if group is None else frame[frame[hue] == group]
        run = median_run(part)
        one = part[part["run"] == run].sort_values("step")
        ax.stackplot(one["step"], *[one[a] / 1e6 for a in TOKEN_ACCOUNTS], colors=colors,
                     labels=[ACCOUNT_LABELS[a] for a in TOKEN_ACCOUNTS], alpha=0.85, linewidth=0)
        ax.plot(one["step"], one["supply"] / 1e6, color="black", linestyle="--", linewidth=1.2,
                label="total supply")
        ax.set_title(f"{group}: replicate {run} (final price nearest the median)")
        ax.set_xlabel(LABELS["step"])
        ax.set_ylabel("tokens held (millions)")
        ax.set_xlim(one["step"].min(), one["step"].max())
        per_group = events is not None and "halving" not in events and "shock" not in events
        _mark(ax, events.get(group) if per_group else events)
    _legend_below(fig, axes[0])
    return fig


def yearly_flows(frame: pd.DataFrame, dt_days: float, by: str = "scenario") -> pd.DataFrame:
    """Subsidy and burn per year of operation: medians over replicates of each run's yearly totals.

    Row ``t`` holds the flows of step ``t - 1``; year ``k`` collects rows whose day ``t * dt_days`` falls in
    ``((k - 1) * 365, k * 365]``. A year the horizon cuts short is kept; ``weeks`` says how much it covers.

    Returns:
        Indexed by (``by``, year): ``weeks``, ``emission_usd``, ``burn_usd``, ``revenue_usd`` (USD per year),
        ``revenue_share`` (usage revenue / emission value), ``minted``, ``tokens_sold`` (tokens),
        ``sold_share`` (tokens providers sold / tokens minted), ``pool_price`` (mean of the pool price),
        ``bme_price`` (usage USD / tokens providers sold), ``usd_per_minted`` (usage USD / tokens minted),
        and ``price_over_bme`` (pool price / effective BME price); each ratio is taken per run, then the median.
    """
    rows = frame[frame["step"] > 0].copy()
    rows["year"] = np.ceil(rows["step"] * dt_days / 365.0 - 1e-9).astype(int)
    sums = rows.groupby([by, "run", "year"], sort=False).agg(
        weeks=("step", "size"), emission_usd=("emission_usd", "sum"), burn_usd=("burn_usd", "sum"),
        revenue_usd=("revenue_usd", "sum"), minted=("minted", "sum"), tokens_sold=("tokens_sold", "sum"),
        pool_price=("price", "mean"))
    sums["weeks"] = sums["weeks"] * dt_days / 7.0
    sums["revenue_share"] = sums["revenue_usd"] / sums["emission_usd"].where(sums["emission_usd"] > 0)
    sums["sold_share"] = sums["tokens_sold"] / sums["minted"].where(sums["minted"] > 0)
    sums["bme_price"] = sums["revenue_usd"] / sums["tokens_sold"].where(sums["tokens_sold"] > 0)
    sums["usd_per_minted"] = sums["revenue_usd"] / sums["minted"].where(sums["minted"] > 0)
    sums["price_over_bme"] = sums["pool_price"] / sums["bme_price"]
    return sums.groupby([by, "year"], sort=False).median()


def bme_prices(frame: pd.DataFrame, hue: str = "scenario", events=None, smooth_steps: int = 4) -> Figure:
    """Pool price against the effective BME price (usage USD / tokens sold) and usage USD / tokens minted.

    Weekly ratios are noisy, so each run's series is a trailing ``smooth_steps``-step ratio of sums before
    the median and band over replicates are taken. Log scale.

    Args:
        frame: tidy frame with ``step``, ``run``, ``price``, ``revenue_usd``, ``tokens_sold``, ``minted``, ``hue``.
        hue: column naming the scenario; one panel per value.
        events: :func:`event_steps` output for every panel, or a mapping of ``hue`` value to it.
        smooth_steps: window of the trailing sums, steps.
    """
    groups = list(frame[hue].unique()) if hue in frame else [None]
    fig = _new_figure(figsize=(6.5 * len(groups), 4.2))
    axes = np.atleast_1d(fig.subplots(1, len(groups), sharey=True))
    names = {"price": "pool price", "bme": "usage USD / tokens providers sold (effective BME price)",
             "per_minted": "usage USD / tokens minted"}
    palette = {names["price"]: "black", names["bme"]: "tab:blue", names["per_minted"]: "tab:orange"}
    for ax, group in zip(axes, groups, strict=True):
        part = (frame if group is None else frame[frame[hue] == group]).sort_values(["run", "step"])
        part = part[part["step"] > 0]
        roll = part.groupby("run")[["revenue_usd", "tokens_sold", "minted"]].transform(
            lambda s: s.rolling(smooth_steps, min_periods=1).sum())
        wide = pd.DataFrame({
            "step": part["step"], "run": part["run"], names["price"]: part["price"],
            names["bme"]: roll["revenue_usd"] / roll["tokens_sold"].where(roll["tokens_sold"] > 0),
            names["per_minted"]: roll["revenue_usd"] / roll["minted"].where(roll["minted"] > 0),
        })
        long = wide.melt(id_vars=["step", "run"], var_name="series", value_name="usd").dropna()
        long = long[long["usd"] > 0]
        sns.lineplot(data=long, x="step", y="usd", hue="series", estimator="median", errorbar=BAND, ax=ax,
                     palette=palette, hue_order=list(names.values()), legend=ax is axes[0])
        ax.set_yscale("log")
        ax.set_title(str(group) if group is not None else "")
        ax.set_xlabel(LABELS["step"])
        ax.set_ylabel(f"USD per token (trailing {smooth_steps}-week ratio, log)")
        per_group = events is not None and "halving" not in events and "shock" not in events
        _mark(ax, events.get(group) if per_group else events)
    _legend_below(fig, axes[0])
    return fig


def price_facts(frame: pd.DataFrame, dt_days: float) -> tuple[pd.DataFrame, dict[str, bool], list[int]]:
    """Stylised facts of weekly log returns of every replicate beside HNT's and FIL's history.

    Args:
        frame: tidy frame of one scenario (``run``, ``step``, ``price``).
        dt_days: days per step (7 / dt_days must be whole).

    Returns:
        ``(table, bounds, left_out)``: rows are the facts of ``models.analysis.stylised.FACTS``; columns the
        model's median, 10th and 90th percentile over replicates and its pooled value (each run demeaned),
        then HNT and FIL; ``bounds`` is ``check_bounds`` of the model medians against HNT; ``left_out`` the
        runs whose price path was not positive and finite.
    """
    from models.analysis.stylised import (
        check_bounds,
        facts_over_runs,
        pooled_facts,
        reference_facts,
        runs_weekly_returns,
        summarise_facts,
    )

    runs, left_out = runs_weekly_returns(frame, dt_days)
    summary = summarise_facts(facts_over_runs(runs), pooled_facts(runs))
    summary.columns = [f"model {c}" for c in summary.columns]
    for name, facts in reference_facts().items():
        summary[name] = pd.Series(facts)
    bounds = check_bounds(summary["model median"].to_dict(), summary["HNT"].to_dict())
    return summary, bounds, left_out


def _ratio_axis(ax, column: str, log: bool):
    ax.axhline(1.0, color="0.3", linewidth=0.8)
    ax.axvline(0.0, color="tab:red", linestyle=":", linewidth=1.2)
    if log:
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel(f"{column} ratio to the twin" + (" (log)" if log else ""))


def impulse_figure(ratios: pd.DataFrame, shock_step: int, columns=("price", "providers"), hue: str | None = "move",
                   dt_days: float = 7.0, summary: pd.DataFrame | None = None, weeks_before: int = 4,
                   title: str | None = None, band: bool = True) -> Figure:
    """Median and 90% band over seeds of shocked / twin ratios against weeks since the shock.

    Args:
        ratios: tidy ratios (``models.analysis.impulse.impulse_response`` or ``twin_ratios``): ``seed``, ``step``,
            the columns, and ``hue`` when given.
        shock_step: step during which the shock acts (its effect shows in the next row, week 1 here).
        columns: ratio columns, one panel each; ``price`` is drawn on a log scale.
        hue: column separating moves or variants (None for one shock).
        dt_days: days per step.
        summary: optional ``impulse_response`` summary; each move's legend label then gives its half-life.
        weeks_before: weeks before the shock to show.
        title: figure title.
        band: draw the band (turn off to compare many medians).
    """
    data = ratios.copy()
    data["weeks"] = (data["step"] - shock_step) * dt_days / 7.0
    data = data[data["weeks"] >= -weeks_before]
    use_hue = hue if hue and hue in data else None
    if use_hue and summary is not None:
        from models.analysis.regimes import format_ratio

        labels = {row["move"]: f"{row['move']} (half-life {format_ratio(row['half_life_days'], '.0f')} days)"
                  for _, row in summary.iterrows()}
        data[use_hue] = data[use_hue].map(lambda v: labels.get(v, v))
    fig = _new_figure(figsize=(5.6 * len(columns), 4.2))
    axes = np.atleast_1d(fig.subplots(1, len(columns), sharex=True))
    for ax, col in zip(axes, columns, strict=True):
        sns.lineplot(data=data, x="weeks", y=col, hue=use_hue, estimator="median", errorbar=BAND if band else None,
                     ax=ax,
                     legend=ax is axes[0] and use_hue is not None, color=None if use_hue else "tab:blue")
        _ratio_axis(ax, col, log=col == "price")
        ax.set_xlabel("weeks since the shock started")
    _legend_below(fig, axes[0])
    if title:
        fig.suptitle(title)
    return fig


def ablation_variants(scenario) -> dict[str, dict]:
    """The crash ablation: the full economy and three with one source of selling or buying switched off.

    ``without vesting sales`` sets every allocation's ``sell_share`` to 0; ``without provider selling beyond
    opex`` sets the providers' ``sell_share``, ``inventory_sale_rate_per_year`` and ``exit_sale_share`` to 0
    (providers then sell only what covers their operating cost).
    """
    vesting = {f"vesting.allocations.{i}.sell_share": 0.0 for i in range(len(scenario.vesting.allocations))}
    return {
        "full economy": {},
        "without speculators": {"simulation.speculators": 0},
        "without vesting sales": vesting,
        "without provider selling beyond opex": {"providers.sell_share": 0.0,
                                                 "providers.inventory_sale_rate_per_year": 0.0,
                                                 "providers.exit_sale_share": 0.0},
    }


def variant_ratios(scenario, variants, seeds) -> pd.DataFrame:
    """``twin_ratios`` of the shocked scenario under each variant's overrides, with a ``variant`` column."""
    from models.analysis.impulse import twin_ratios
    from models.params import with_overrides

    parts = [twin_ratios(with_overrides(scenario, dict(overrides)), seeds).assign(variant=label)
             for label, overrides in variants.items()]
    return pd.concat(parts, ignore_index=True)


def ratio_after(ratios: pd.DataFrame, shock_step: int, weeks, column: str = "price", by: str = "variant",
                dt_days: float = 7.0) -> pd.DataFrame:
    """Per ``by`` and seed, the ``column`` ratio ``k`` weeks after the shock row (NaN beyond the horizon).

    Week 0 is the row right after the shock step (the shock itself); week ``k`` is ``k`` weeks later.

    Returns:
        ``by``, ``seed`` and one column ``<column>_<k>w`` per ``k``.
    """
    wide = ratios.pivot_table(index=[by, "seed"], columns="step", values=column)
    out = pd.DataFrame(index=wide.index)
    for k in weeks:
        step = shock_step + 1 + int(round(k * 7.0 / dt_days))
        out[f"{column}_{k}w"] = wide[step] if step in wide.columns else np.nan
    return out.reset_index()


def ablation_table(ablation: pd.DataFrame, recovery: pd.DataFrame, metrics, reference: str = "full economy"
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Medians per variant, and what each switched-off part contributes (paired over seeds).

    Args:
        ablation: ``models.analysis.impulse.crash_ablation`` output (``variant``, ``seed``, metrics).
        recovery: :func:`ratio_after` output (``variant``, ``seed``, metrics).
        metrics: metric columns to report, in order.
        reference: label of the full economy.

    Returns:
        ``(medians, contributions)``: medians over seeds per variant; and, per switched-off part, the median
        and 10th / 90th percentiles over seeds of (full economy - variant): how much that part raises the
        ratio (positive: it softens the shock; negative: it deepens it).
    """
    per_seed = ablation.merge(recovery, on=["variant", "seed"])
    order = list(dict.fromkeys(per_seed["variant"]))
    medians = per_seed.groupby("variant")[list(metrics)].median().loc[order]
    full = per_seed[per_seed["variant"] == reference].set_index("seed")[list(metrics)]
    rows = []
    for label in order:
        if label == reference:
            continue
        diff = full - per_seed[per_seed["variant"] == label].set_index("seed")[list(metrics)]
        for metric in metrics:
            rows.append({"part switched off": label, "metric": metric, "median": diff[metric].median(),
                         "p10": diff[metric].quantile(0.1), "p90": diff[metric].quantile(0.9)})
    contributions = pd.DataFrame(rows).set_index(["part switched off", "metric"])
    return medians, contributions


def ablation_figure(ablation: pd.DataFrame, recovery: pd.DataFrame, metrics: dict[str, str]) -> Figure:
    """Point plot of each ablation metric per variant: median over seeds with its 90% interval.

    Args:
        ablation: ``crash_ablation`` output.
        recovery: :func:`ratio_after` output.
        metrics: metric column -> axis label.
    """
    per_seed = ablation.merge(recovery, on=["variant", "seed"])
    order = list(dict.fromkeys(per_seed["variant"]))
    fig = _new_figure(figsize=(3.4 * len(metrics) + 2.5, 3.4))
    axes = np.atleast_1d(fig.subplots(1, len(metrics), sharey=True))
    palette = dict(zip(order, sns.color_palette(n_colors=len(order)), strict=True))
    for ax, (metric, label) in zip(axes, metrics.items(), strict=True):
        sns.pointplot(data=per_seed, x=metric, y="variant", hue="variant", order=order, hue_order=order,
                      estimator="median", errorbar=BAND, palette=palette, ax=ax, legend=False,
                      linestyle="none", capsize=0.2)
        ax.axvline(1.0, color="0.3", linewidth=0.8)
        ax.set_xlabel(label)
        ax.set_ylabel("")
    fig.suptitle(f"Crash ablation: median and {BAND[1]}% interval over seeds (ratio to the unshocked twin)")
    return fig


def float_anchor(frame: pd.DataFrame, by: str = "scenario", last_weeks: int = 52, dt_days: float = 7.0
                 ) -> pd.DataFrame:
    """How closely the price followed the outside holders' valuation, and how often the float had no tokens.

    The float buys with USD from the wider market but sells only the tokens it holds.

    Returns:
        One row per ``by`` value: ``dry_share`` (median over replicates of the share of steps with less than
        one token in the float) and ``price_to_valuation`` (median over replicates of the mean of price /
        valuation over the last ``last_weeks`` weeks).
    """
    data = frame.assign(dry=frame["float_tokens"] < 1.0, rel=frame["price"] / frame["valuation"])
    per_run = data.groupby([by, "run"], sort=False)["dry"].mean()
    start = data["step"].max() - int(round(last_weeks * 7.0 / dt_days))
    tail = data[data["step"] > start].groupby([by, "run"], sort=False)["rel"].mean()
    return pd.DataFrame({
        "dry_share": per_run.groupby(level=0, sort=False).median(),
        "price_to_valuation": tail.groupby(level=0, sort=False).median(),
    })


def pre_shock_gap(ratios: pd.DataFrame, shock_step: int, column: str = "price", by: str | None = "move"
                  ) -> pd.Series:
    """Largest |shocked / twin - 1| before the shock acts, per ``by`` value (0 when the twins agree).

    Twins share every random draw, so anything but 0 means the two runs differed before the shock (for
    example because the shock's actor holds tokens the twin's float holds instead).
    """
    before = ratios[ratios["step"] <= shock_step]
    gap = (before[column] - 1.0).abs()
    if by and by in before:
        return gap.groupby(before[by], sort=False).max()
    return pd.Series({"all": gap.max()})


def seeds_apart_before(ratios: pd.DataFrame, shock_step: int, column: str = "price", by: str | None = "move",
                       tolerance: float = 1e-6) -> pd.Series:
    """Per ``by`` value, how many seeds' shocked and twin runs differ before the shock (by > tolerance)."""
    before = ratios[ratios["step"] <= shock_step]
    apart = (before[column] - 1.0).abs() > tolerance
    keys = [before[by], before["seed"]] if by and by in before else [before["seed"]]
    per_seed = apart.groupby(keys, sort=False).any()
    return per_seed.groupby(level=0, sort=False).sum() if by and by in before else pd.Series({"all": per_seed.sum()})
