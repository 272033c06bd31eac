"""A Mesa ``SolaraViz`` page of the agent-based model: providers and coverage in space, price and providers in time.

Serve it with ``solara run models/abm/viz.py --host 127.0.0.1 --port 8765`` (``make viz``). The page steps a
:class:`VizModel`, the ABM (``models.abm.model.DePINModel``) of the base scenario (``params/base.yaml``, or
``params/base_crash.yaml`` with its 80% forced sale in week 66) with coverage in space switched on
(``models.abm.space``: providers and users on a Mesa ``ContinuousSpace``, a coverage grid over it). Components
(Mesa 3.3.1, ``mesa.visualization``):

- the space (:func:`SpaceMap`, a custom solara matplotlib component): the coverage grid shaded by the active
  providers covering each cell (the rule that splits rewards, Helium HIP-15/17, and serves users), active
  providers red, providers whose hardware is on order orange, adopting users blue where covered and grey where
  not. Mesa 3.3.1's ``make_space_component`` is not used: its matplotlib scatter ignores each agent's size and
  alpha and mis-groups agents of different markers and z-orders (``mesa/visualization/mpl_space_drawing.py``
  ``_scatter``), and drawing agent by agent is slow at thousands of agents;
- price and providers over time (``make_plot_component`` on the model's ``mesa.DataCollector``, which reads the
  rows the model records, ``models.output``).

Needs solara 1.58.2 with ``solara-assets`` 1.58.2 (the page's JavaScript served by the server itself, not from a
CDN, so it works offline), ipyvuetify and ipyvue 1.x (Mesa 3.3.1 uses ``solara.v.TabsItems``, which ipyvuetify 3
no longer has), altair and networkx (imported by ``mesa.visualization``).

The sidebar's sliders re-create the model (scenario, seed, potential providers). Populations scale with the
potential providers as ``benchmarks/abm_space.py`` scales them: users 5 per provider, a tenth of the providers
and a twentieth of as many users active at step 0, emission and area in proportion, so the density of coverage
and the reward per provider stay those of the base.
"""

from __future__ import annotations

from pathlib import Path

import mesa
import numpy as np
import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz, make_plot_component
from mesa.visualization.utils import update_counter

from models.abm.agents import ACTIVE, PENDING
from models.abm.model import DePINModel
from models.exogenous import run_seed_sequence
from models.params import load_scenario, with_overrides

PARAMS = Path(__file__).resolve().parents[2] / "params"
SCENARIOS = {"base": "base.yaml", "base_crash": "base_crash.yaml"}
GRID_CELLS = 64  # coverage grid resolution of the page (assumption: coarse enough to draw every step)
REPORTERS = {  # DataCollector name -> models.output column
    "price (USD/token)": "price", "active providers": "providers", "providers on order": "pending_providers",
    "users": "users", "covered share": "coverage",
}


def viz_scenario(scenario: str = "base_crash", potential_providers: int = 1000, steps: int = 260):
    """The validated scenario the page runs: the base file at ``potential_providers`` with space on.

    Args:
        scenario: ``base`` or ``base_crash`` (``params/``).
        potential_providers: agents that may become providers (base: 1,000); the rest scales with it
            (``benchmarks/abm_space.py``, assumption: density and reward per provider held).
        steps: horizon, weekly steps (the base files: 260).
    """
    base = load_scenario(PARAMS / SCENARIOS[scenario])
    n = int(potential_providers)
    scale = n / base.simulation.potential_providers
    return with_overrides(base, {
        "simulation.steps": int(steps), "simulation.potential_providers": n, "simulation.potential_users": 5 * n,
        "providers.initial_active": max(1, n // 10), "users.initial_users": max(1, n // 20),
        "emission.initial_tokens_per_year": base.emission.initial_tokens_per_year * scale,
        "space.enabled": True, "space.area_km2": base.space.area_km2 * scale, "space.grid_cells": GRID_CELLS,
    })


class VizModel(DePINModel):
    """The ABM with keyword parameters (as SolaraViz re-creates it), a ``space`` and a ``DataCollector``.

    Attributes:
        space: the Mesa ``ContinuousSpace`` of providers and users (``models.abm.space.CoverageSpace.space``).
        datacollector: one row per step of ``REPORTERS``, read from the row the model records.
        horizon: steps the scenario's exogenous paths cover; ``running`` turns False there.
    """

    def __init__(self, scenario: str = "base_crash", potential_providers: int = 1000, seed: int = 42,
                 steps: int = 260):
        """Build the ABM of :func:`viz_scenario` with root seed ``seed`` (point 0, replicate 0)."""
        sc = viz_scenario(scenario, potential_providers, steps)
        super().__init__(sc, run_seed_sequence(int(seed)))
        self.horizon = sc.simulation.steps
        self.space = self.coverage.space
        self.datacollector = mesa.DataCollector(
            model_reporters={name: _reporter(column) for name, column in REPORTERS.items()})
        self.datacollector.collect(self)
        self._covered: tuple[int, np.ndarray] = (-1, np.zeros(0, dtype=bool))

    def step(self) -> None:
        """One week of the economy (``DePINModel.step``), recorded; stops at the horizon."""
        if self.steps > self.horizon:  # Mesa counted this call already
            self.running = False
            return
        super().step()
        self.datacollector.collect(self)
        self.running = self.steps < self.horizon

    def user_covered(self) -> np.ndarray:
        """Whether each user (by row) sits in a cell an active provider covers (computed once per step)."""
        if self._covered[0] != self.steps:
            cov = self.coverage
            self._covered = (self.steps, cov.counts[cov.user_cells] > 0)
        return self._covered[1]


def _reporter(column: str):
    def report(model: VizModel) -> float:
        return float(np.asarray(model.rows[-1][column]).ravel()[0])

    return report


@solara.component
def SpaceMap(model: VizModel):
    """Providers and users in space over the coverage grid (the Mesa ``ContinuousSpace``, in km).

    Cells are shaded by the active providers covering them (the rule that splits rewards, Helium HIP-15/17,
    and serves users); active providers are red triangles, providers whose hardware is on order orange, adopting
    users blue where covered and grey where not. Positions are the agents' ``pos`` in ``model.space``.
    """
    update_counter.get()
    cov, providers = model.coverage, model.tables["providers"]["state_code"]
    adopted = model.tables["users"]["adopted"].astype(bool)
    covered = model.user_covered()
    fig = Figure(figsize=(5.6, 4.6), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(cov.coverage_map(), origin="lower", extent=(0.0, cov.side_km, 0.0, cov.side_km),
                      cmap="Greens", interpolation="nearest", vmin=0)
    fig.colorbar(image, ax=ax, label="active providers covering the cell (count)", shrink=0.8)
    for mask, colour, label in ((adopted & ~covered, "0.55", "user, not covered"),
                                (adopted & covered, "tab:blue", "user, covered")):
        ax.scatter(*cov.user_xy[mask].T, s=4, c=colour, alpha=0.6, lw=0, label=label)
    for state, colour, label in ((PENDING, "tab:orange", "provider, on order"),
                                 (ACTIVE, "tab:red", "provider, active")):
        ax.scatter(*cov.provider_xy[providers == state].T, s=16, c=colour, marker="^", lw=0, label=label)
    ax.set(xlim=(0.0, cov.side_km), ylim=(0.0, cov.side_km), xlabel="x (km)", ylabel="y (km)", aspect="equal")
    ax.set_title(f"week {model.steps}: {int((providers == ACTIVE).sum()):,} active providers cover "
                 f"{cov.covered_share():.0%} of the area", fontsize=9)
    ax.legend(loc="upper right", fontsize=7, framealpha=0.8)
    solara.FigureMatplotlib(fig, format="png")


def _axis_labels(ylabel: str):
    def post(ax) -> None:  # Mesa labels the x axis "Step" after this; a step is a week
        ax.set_ylabel(ylabel)
        ax.set_title(f"{ylabel.split(' (')[0]}, one point per weekly step", fontsize=9)
        if ylabel.startswith("price"):
            ax.set_yscale("log")

    return post


MODEL_PARAMS = {
    "scenario": {"type": "Select", "value": "base_crash", "values": list(SCENARIOS), "label": "scenario"},
    "potential_providers": {"type": "SliderInt", "value": 1000, "min": 200, "max": 4000, "step": 100,
                            "label": "potential providers"},
    "seed": {"type": "SliderInt", "value": 42, "min": 0, "max": 99, "step": 1, "label": "seed"},
    "steps": 260,
}
COMPONENTS = [
    SpaceMap,
    make_plot_component("price (USD/token)", post_process=_axis_labels("price (USD/token)")),
    make_plot_component({"active providers": "tab:red", "providers on order": "tab:orange"},
                        post_process=_axis_labels("providers (count)")),
]


def make_page(model: VizModel | None = None):
    """The SolaraViz page of ``model`` (default: :class:`VizModel` with the sidebar's default values)."""
    model = model if model is not None else VizModel()
    return SolaraViz(model, components=COMPONENTS, model_params=MODEL_PARAMS, name="DePIN flywheel: the ABM in space",
                     play_interval=50)


page = make_page()
