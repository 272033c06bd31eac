"""Providers and users in space: a Mesa ``ContinuousSpace`` (torus) with a coverage grid over it.

Every provider and user agent is placed in the space (``agent.pos``); the coverage rule itself is
``models.mechanisms.coverage`` (cells whose centre is within the coverage radius; a cell covered by k
active providers gives each 1/k, Helium HIP-15 / HIP-17), evaluated for whole populations with one sparse
product per step. The aggregate engines use the mean field of the same rule.
"""

from __future__ import annotations

import numpy as np
from mesa.space import ContinuousSpace

from models.mechanisms import coverage


class CoverageSpace:
    """Locations of providers and users and the coverage they make.

    Attributes:
        space: the Mesa continuous space (torus) holding every provider and user agent.
        side_km, grid_cells: square side and grid resolution.
        provider_xy, user_xy: positions (rows of the agent tables).
        membership: sparse (providers x cells) disc membership; user_cells: each user's cell.
        counts: active providers covering each cell (after :meth:`update`).
    """

    def __init__(self, model, params):
        """Draw uniform positions for every provider and user from the model's generator and place them."""
        self.side_km = float(np.sqrt(params.area_km2))
        self.grid_cells = int(params.grid_cells)
        self.radius_km = float(params.coverage_radius_km)
        self.provider_xy = model.rng.uniform(0.0, self.side_km, (len(model.providers), 2))
        self.user_xy = model.rng.uniform(0.0, self.side_km, (len(model.users), 2))
        self.space = ContinuousSpace(self.side_km, self.side_km, torus=True)
        for agents, xy in ((model.providers, self.provider_xy), (model.users, self.user_xy)):
            for agent, (x, y) in zip(agents, xy, strict=True):
                self.space.place_agent(agent, (float(x), float(y)))
        self.membership = coverage.disc_membership(self.provider_xy, self.radius_km, self.grid_cells, self.side_km)
        self.user_cells = coverage.cell_of(self.user_xy, self.grid_cells, self.side_km)
        self.counts = np.zeros(self.grid_cells**2)

    def update(self, active: np.ndarray) -> None:
        """Recount coverage from the mask of active providers."""
        self.counts = coverage.coverage_counts(self.membership, active)

    def covered_share(self) -> float:
        """Share of the area (cells) covered by at least one active provider."""
        return float(coverage.covered_share(self.counts))

    def covered_users(self, rows) -> np.ndarray:
        """Whether each user in ``rows`` sits in a covered cell."""
        return coverage.covered(self.user_cells[rows], self.counts)

    def overlap_weights(self, rows) -> np.ndarray:
        """Reward weight of each provider in ``rows``: the mean over its cells of 1 / providers covering it."""
        return coverage.overlap_weights(self.membership[rows], self.counts)

    def coverage_map(self) -> np.ndarray:
        """Active providers covering each cell as a (grid, grid) array (row = y), for maps."""
        return self.counts.reshape(self.grid_cells, self.grid_cells)
