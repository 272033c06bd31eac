"""The explorer's figure and widgets: a shocked run against its twin, panel by panel (``models.analysis.explore``).

Four panels share the time axis (dates from the sector's ``simulation.start_date``): the token price (USD per
token, log scale), active providers, users and capacity, each with the shocked run as a solid line and its twin
(same scenario and seed without the shock) dashed. A vertical line marks the first step the shock shows in.
The title states the regime of the shocked run against its twin (``models.analysis.twins.summarise_pair``).
Figures are ``matplotlib.figure.Figure`` objects built without pyplot, so redrawing leaves no open figures.
:class:`Explorer` is the ipywidgets UI of ``models.analysis.explore.explorer``.
"""

from __future__ import annotations

import functools
import html
import io
import textwrap
import time
from dataclasses import replace

import ipywidgets as widgets
import matplotlib.dates as mdates
import matplotlib.ticker as mticker
import pandas as pd
from matplotlib.figure import Figure

from models.analysis.explore import (
    PAYMENTS,
    SCHEDULES,
    SECTORS,
    Choice,
    describe,
    judge,
    run_pair,
    sector_defaults,
    sector_scenario,
)
from models.analysis.loop import SHOCKED, TWIN
from models.analysis.regimes import format_ratio

# units of one capacity unit per sector (the comments beside capacity_per_provider in params/sectors/*.yaml)
CAPACITY_UNITS = {"storage": "TiB", "compute": "GPU-hours/day", "wireless": "1,000 packets/day",
                  "ai": "1,000 requests/day", "sensor": "km of imagery/day"}
PANELS = (("price", "token price (USD/token)", True), ("providers", "active providers (count)", False),
          ("users", "users (count)", False), ("capacity", "capacity ({unit})", False))
TITLE_WIDTH = 120  # characters of the first title line at figsize 10 inches (assumption)
COLOURS = {SHOCKED: "#c0392b", TWIN: "#34495e"}  # red for the shocked run, slate for its twin (assumption)


def title_of(sector: str, verdict: dict | None, text: str) -> str:
    """Two title lines: sector and choice, then the regime against the twin with the final provider ratio."""
    head = textwrap.shorten(f"{sector}: {text}", width=TITLE_WIDTH, placeholder=" ...")
    if verdict is None:
        return head
    if not verdict.get("shock", True):
        return f"{head}\nno shock: the run is its own twin (against its level on the reference day: " \
               f"{verdict.get('regime_absolute', 'n/a')})"
    return (f"{head}\n{verdict['regime']} against the twin: providers end at "
            f"{format_ratio(verdict.get('final_ratio'), '.0%')} of the twin (trough "
            f"{format_ratio(verdict.get('trough'), '.0%')}), price at "
            f"{format_ratio(verdict.get('final_ratio_price'), '.0%')}")


def draw(frame: pd.DataFrame, choice, verdict: dict | None = None, text: str = "", fig: Figure | None = None,
         figsize=(10.0, 6.4)) -> Figure:
    """The shocked run and its twin over time.

    Args:
        frame: ``models.analysis.explore.run_pair`` output (``variant``, ``step``, ``date`` or ``day``, columns).
        choice: the ``models.analysis.explore.Choice`` drawn (its sector names the capacity unit).
        verdict: ``models.analysis.explore.judge`` output, for the title (None: no regime in the title).
        text: the choice in words (``models.analysis.explore.describe``).
        fig: a figure this function drew before: its lines are given the new data (about three times faster
            than a new figure, which is what lets the explorer redraw within a second); None draws a new one.
        figsize: inches (assumption: fits a notebook column).

    Returns:
        A figure with four panels, labelled axes with units, a legend and the regime in the title.
    """
    if fig is None or not hasattr(fig, "explore_lines"):
        fig = _new_figure(figsize)
    x_name = "date" if "date" in frame else "day"
    x_all = mdates.date2num(frame[x_name]) if x_name == "date" else frame[x_name].to_numpy(dtype=float)
    unit = CAPACITY_UNITS.get(choice.sector, "capacity units")
    effect = verdict.get("effect_step") if verdict else None
    at = x_all[((frame["variant"] == SHOCKED) & (frame["step"] == effect)).to_numpy()] if effect is not None else ()
    if x_name == "date" and not isinstance(fig.explore_axes[0].xaxis.get_major_formatter(),
                                           mdates.ConciseDateFormatter):
        for ax in fig.explore_axes:  # the axes share x: dates on all four, written concisely
            locator = mdates.AutoDateLocator(maxticks=8)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    for ax, (column, label, log) in zip(fig.explore_axes, PANELS, strict=True):
        for variant in (TWIN, SHOCKED):
            rows = (frame["variant"] == variant).to_numpy()
            fig.explore_lines[(column, variant)].set_data(x_all[rows], frame[column].to_numpy()[rows])
        mark = fig.explore_marks[column]
        mark.set_visible(len(at) > 0)
        if len(at):
            mark.set_xdata([at[0], at[0]])
        scale = "log" if log and (frame[column] > 0).all() else "linear"
        if ax.get_yscale() != scale:
            ax.set_yscale(scale)
            if scale == "log":  # plain numbers and no minor ticks: mathtext labels are slow to draw
                ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
                ax.yaxis.set_minor_locator(mticker.NullLocator())
            else:
                ax.yaxis.set_major_locator(mticker.MaxNLocator(5))
        ax.relim()
        ax.autoscale_view()
        ax.set_ylabel(label.format(unit=unit))
    for ax in fig.explore_axes[2:]:
        ax.set_xlabel("date (one point per weekly step)" if x_name == "date" else "days since start")
    fig.suptitle(title_of(choice.sector, verdict, text), fontsize="medium")
    return fig


def _new_figure(figsize) -> Figure:
    """Four empty panels with a shocked line, a twin line and a shock mark each (no constrained layout: slow)."""
    fig = Figure(figsize=figsize)
    axes = fig.subplots(2, 2, sharex=True).ravel()
    fig.subplots_adjust(left=0.08, right=0.985, top=0.88, bottom=0.14, hspace=0.1, wspace=0.22)
    fig.explore_axes, fig.explore_lines, fig.explore_marks = axes, {}, {}
    for ax, (column, _, _) in zip(axes, PANELS, strict=True):
        for variant, style in ((TWIN, "--"), (SHOCKED, "-")):
            label = "shocked run" if variant == SHOCKED else "twin (no shock, same seed)"
            fig.explore_lines[(column, variant)] = ax.plot([], [], style, color=COLOURS[variant], lw=1.6,
                                                           label=label)[0]
        fig.explore_marks[column] = ax.axvline(0.0, color="0.5", lw=0.8, ls=":", label="shock shows")
        ax.yaxis.set_major_locator(mticker.MaxNLocator(5))
        ax.grid(alpha=0.3)
    # below the panels, so it never covers a line (a price path can run through any corner)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=len(labels), fontsize="small", frameon=False)
    return fig


def figure_png(fig: Figure, dpi: int = 72) -> bytes:
    """The figure rendered as PNG bytes (what the explorer shows; dpi is an assumption: screen resolution)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


class Explorer(widgets.VBox):
    """Controls, a status line and the figure; every control change re-runs the pair and redraws.

    Attributes:
        controls: ``Choice`` field name -> widget.
        image: the figure as a PNG ``ipywidgets.Image``.
        status: HTML line: the regime, or why the choice cannot run, and the seconds the redraw took.
        figure: the last figure drawn; verdict: its ``judge`` output; choice: the last choice run.
        timings: one dict per redraw: ``control`` changed, ``sector``, ``regime``, ``run_s`` (run and judge),
            ``draw_s`` (figure and PNG), ``total_s`` (from the change to the new image), ``error``.
    """

    def __init__(self, choice: Choice, steps: int | None = None):
        """Build the controls at ``choice`` (levers left None show the sector's own values) and draw it."""
        own = sector_defaults(choice.sector)
        choice = replace(choice, steps=steps or choice.steps,
                         **{k: own[k] if getattr(choice, k) is None else getattr(choice, k)
                            for k in ("liquidity", "payment", "burn_share", "schedule", "pledge_days", "seed")})
        lay = {"continuous_update": False, "style": {"description_width": "9em"},
               "layout": widgets.Layout(width="24em")}
        horizon = int(choice.steps) * sector_scenario(choice.sector).simulation.dt_days
        self.controls = {
            "sector": widgets.Dropdown(options=SECTORS, value=choice.sector, description="sector", **_drop(lay)),
            "shock": widgets.Dropdown(options=[("forced-sale crash", "price_crash"), ("bear market", "bear_market"),
                                               ("none", "none")], value=choice.shock, description="shock",
                                      **_drop(lay)),
            "size": widgets.FloatSlider(value=choice.size, min=0.1, max=0.95, step=0.05, description="shock size",
                                        readout_format=".0%", **lay),
            "start_day": widgets.FloatSlider(value=choice.start_day, min=7.0, max=max(7.0, horizon - 7.0), step=7.0,
                                             description="shock day", readout_format=".0f", **lay),
            "liquidity": widgets.FloatSlider(value=choice.liquidity, min=0.01, max=0.6, step=0.01,
                                             description="pool / mkt cap", readout_format=".1%", **lay),
            "payment": widgets.ToggleButtons(options=PAYMENTS, value=choice.payment, description="payment",
                                             style={"description_width": "9em"}),
            "burn_share": widgets.FloatSlider(value=choice.burn_share, min=0.0, max=1.0, step=0.05,
                                              description="burn share", readout_format=".0%", **lay),
            "schedule": widgets.Dropdown(options=SCHEDULES, value=choice.schedule, description="emission",
                                         **_drop(lay)),
            "pledge_days": widgets.FloatSlider(value=choice.pledge_days, min=0.0, max=60.0, step=5.0,
                                               description="pledge (days)", readout_format=".0f", **lay),
            "seed": widgets.BoundedIntText(value=choice.seed, min=0, max=2**32 - 1, description="seed",
                                           **_drop(lay)),
        }
        self.steps = int(choice.steps)
        self.image = widgets.Image(format="png")
        self.status = widgets.HTML()
        self.figure = self.verdict = self.choice = None
        self.timings: list[dict] = []
        self._quiet = False
        for name, widget in self.controls.items():
            widget.observe(functools.partial(self._changed, name), names="value")
        left = [self.controls[k] for k in ("sector", "shock", "size", "start_day", "seed")]
        right = [self.controls[k] for k in ("liquidity", "payment", "burn_share", "schedule", "pledge_days")]
        super().__init__([widgets.HBox([widgets.VBox(left), widgets.VBox(right)]), self.status, self.image])
        self.redraw("initial")

    def current(self) -> Choice:
        """The choice the controls show now."""
        values = {k: w.value for k, w in self.controls.items()}
        return Choice(steps=self.steps, **values)

    def _changed(self, name: str, change: dict) -> None:
        if self._quiet:
            return
        if name == "sector":
            self.reset_levers(change["new"])
        self.controls["burn_share"].disabled = self.controls["payment"].value != "bme"
        self.redraw(name)

    def reset_levers(self, sector: str) -> None:
        """Set every lever (and the seed) to the sector's own value without re-running for each."""
        own = sector_defaults(sector)
        self._quiet = True
        try:
            for key in ("liquidity", "payment", "burn_share", "schedule", "pledge_days", "seed"):
                self.controls[key].value = own[key]
        finally:
            self._quiet = False

    def redraw(self, control: str = "") -> dict:
        """Run the current choice with its twin, draw it and show it; returns this redraw's timing row."""
        t0 = time.perf_counter()
        choice = self.current()
        row = {"control": control, "sector": choice.sector, "regime": "", "error": ""}
        try:
            frame = run_pair(choice)
            verdict = judge(frame, choice)
            t1 = time.perf_counter()
            fig = draw(frame, choice, verdict, describe(choice), fig=self.figure)
            self.image.value = figure_png(fig)
        except ValueError as exc:  # models.params.ParameterError is a ValueError
            t1 = time.perf_counter()
            row["error"] = str(exc)
            self.status.value = f"<b>cannot run this choice:</b> {html.escape(str(exc))}"
        else:
            self.figure, self.verdict, self.choice = fig, verdict, choice
            total = time.perf_counter() - t0
            regime = verdict["regime"] if verdict["shock"] else "no shock"
            row["regime"] = regime
            self.status.value = (f"<b>{html.escape(choice.sector)}</b>: {html.escape(describe(choice))} &rarr; "
                                 f"<b>{regime}</b> against the twin (re-run and redrawn in {total:.2f} s)")
        t2 = time.perf_counter()
        row.update(run_s=t1 - t0, draw_s=t2 - t1, total_s=t2 - t0)
        self.timings.append(row)
        return row


def _drop(lay: dict) -> dict:
    return {k: v for k, v in lay.items() if k != "continuous_update"}


def run_text(choice, frame: pd.DataFrame, verdict: dict, seconds: float) -> str:
    """The paragraph under the static figure.

    It gives the regime against the twin and the ratios at the horizon, and checks that the pair shares every
    draw until the shock (the runs must be identical before it).
    """
    from models.analysis.explore import describe

    shocked = frame[frame["variant"] == SHOCKED]
    twin = frame[frame["variant"] == TWIN]
    if not verdict["shock"]:
        return (f"**{choice.sector}** without a shock: the run is its own twin; against its level on the reference "
                f"day it is a *{verdict['regime_absolute']}*, with {shocked['providers'].iloc[-1]:,.0f} active "
                f"providers at the horizon. Running and drawing it took {seconds:.2f} s.")
    first = int(verdict["effect_step"])
    same_before = bool((shocked["price"].to_numpy()[:first] == twin["price"].to_numpy()[:first]).all())
    return (
        f"**{choice.sector}**, {describe(choice)}: **{verdict['regime']}** against the twin. Active providers "
        f"end at {format_ratio(verdict['final_ratio'], '.0%')} of the twin's "
        f"({shocked['providers'].iloc[-1]:,.0f} against {twin['providers'].iloc[-1]:,.0f}) after a trough of "
        f"{format_ratio(verdict['trough'], '.0%')}; the price ends at "
        f"{format_ratio(verdict['final_ratio_price'], '.0%')} of the twin's and users at "
        f"{format_ratio(verdict['final_ratio_users'], '.0%')}. The shock first shows in step {first} "
        f"({shocked['date'].iloc[first]:%Y-%m-%d}); before it the two runs are "
        f"{'identical' if same_before else 'NOT identical (a bug: they share every draw)'}. "
        f"Against its own level before the shock the run is a *{verdict['regime_absolute']}*. "
        f"Running the pair and drawing it took {seconds:.2f} s."
    )


def compare_text(table: pd.DataFrame) -> str:
    """The paragraph under the every-sector table (``models.analysis.explore.compare_sectors``)."""
    ran = table.dropna(subset=["regime"]) if "regime" in table else table.iloc[0:0]
    counts = ran["regime"].value_counts() if len(ran) else pd.Series(dtype=int)
    lines = [f"Of {len(table)} sectors, {len(ran)} could take the shock: "
             + ", ".join(f"{n} {regime}" for regime, n in counts.items()) + "."]
    if len(ran):
        worst = ran.loc[ran["providers_final_ratio"].idxmin()]
        lines.append(f"The hardest hit is **{worst['sector']}**: providers end at "
                     f"{format_ratio(worst['providers_final_ratio'], '.0%')} of its twin's.")
    if "error" in table and table["error"].notna().any():
        lines.append("Could not run: " + "; ".join(f"{r.sector} ({r.error})"
                                                   for r in table.dropna(subset=["error"]).itertuples()))
    return " ".join(lines)
