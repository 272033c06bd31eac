"""Where the agents live: rows of the model's tables, Mesa's registers, and places in space.

An agent's state sits in one row of a column table the model owns (``model.tables[kind][column][row]``),
read and written through :class:`Column` descriptors of a :class:`TableAgent`; :func:`derived` holds
whole-population arrays computed from those columns. :func:`register_all` creates a population and
registers it with the model, and :func:`place_all` places it in a space, each in one pass with the result of
Mesa's one-agent-at-a-time calls (at 600,000 agents those calls were most of a run's time).

:class:`CoverageSpace`: every provider and user agent is placed in a Mesa ``ContinuousSpace`` (torus,
``agent.pos``) with a coverage grid over it; the coverage rule itself is ``models.mechanisms.coverage``
(cells whose centre is within the coverage radius; a cell covered by k active providers gives each 1/k,
Helium HIP-15 / HIP-17), evaluated for whole populations with one sparse product per step. The aggregate
engines use the mean field of the same rule.
"""

from __future__ import annotations

import gc
import itertools
import weakref

import mesa
import numpy as np
from mesa.agent import AgentSet
from mesa.space import ContinuousSpace

from models.mechanisms import coverage


def derived(model, name: str, key: tuple, compute, rows=None):
    """A whole-population array that depends only on ``key`` (compared bit for bit), computed once per key.

    ``compute(rows)`` evaluates the rule (``slice(None)``: everyone). With ``rows`` None the whole array is
    returned; otherwise ``rows`` of it, computed whole only when the same key comes a second time (inputs that
    change every step cost no more than before). A :class:`Column` written through an agent drops ``name``.
    """
    store = model.__dict__.setdefault("_derived", {})
    key = tuple(np.asarray(k).tobytes() for k in key)
    entry = store.get(name)
    if (entry is None or entry[0] != key) and rows is not None:
        store[name] = [key, None, None]  # first time with this key: only the rows asked for
        return compute(rows)
    if entry is None or entry[0] != key or entry[1] is None:
        entry = store[name] = [key, compute(slice(None)), None]
    return entry[1] if rows is None else entry[1][rows]


def derived_cap(model, name: str, key: tuple) -> float:
    """:func:`cap` of :func:`derived` array ``name`` if it is held for ``key``, else infinity."""
    entry = model.__dict__.get("_derived", {}).get(name)
    if entry is None or entry[1] is None or entry[0] != tuple(np.asarray(k).tobytes() for k in key):
        return np.inf
    if entry[2] is None:
        entry[2] = cap(entry[1])
    return entry[2]


def cap(chances) -> float:
    """A bound no chance in ``chances`` exceeds: the largest, plus 1e-9 of it for rounding (inf with a NaN)."""
    top = float(np.max(chances)) if np.size(chances) else np.inf
    return np.inf if np.isnan(top) else top * (1.0 + 1e-9)


class Column:
    """Descriptor: an agent attribute stored in the agent's row of a model-owned array.

    Writing through the agent drops the :func:`derived` arrays named in ``invalidates`` (writing to the table
    array directly does not: the model never rewrites those columns).
    """

    def __init__(self, invalidates: tuple[str, ...] = ()):
        self.invalidates = invalidates

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, agent, owner=None):
        if agent is None:
            return self
        return agent.model.tables[agent.kind][self.name][agent.row].item()

    def __set__(self, agent, value):
        agent.model.tables[agent.kind][self.name][agent.row] = value
        for name in self.invalidates:
            agent.model.__dict__.get("_derived", {}).pop(name, None)


class TableAgent(mesa.Agent):
    """A Mesa agent whose attributes live in row ``row`` of the model's table ``kind``."""

    kind = ""

    def __init__(self, model: mesa.Model, row: int):
        super().__init__(model)
        self.row = row

    @classmethod
    def table(cls, model) -> dict[str, np.ndarray]:
        """The column table of this agent type."""
        return model.tables[cls.kind]

    @classmethod
    def populate(cls, model, columns: dict[str, np.ndarray]) -> list[TableAgent]:
        """Install ``columns`` as the table of this type and create one agent per row."""
        model.tables[cls.kind] = columns
        n = len(next(iter(columns.values()))) if columns else 0
        return register_all(model, cls, n)


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
            place_all(self.space, agents, xy)
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


def place_all(space: ContinuousSpace, agents: list, xy: np.ndarray) -> None:
    """Place each agent at its row of ``xy`` (n, 2): what ``space.place_agent`` does one by one, in one pass.

    ``place_agent`` drops the space's position cache, adds the agent to its index and sets ``agent.pos`` to
    the position wrapped onto the torus; here the cache is dropped once and the index filled in one update
    (falls back to ``place_agent`` for a space laid out otherwise).
    """
    points = [(x, y) for x, y in xy.tolist()]
    if len(points) != len(agents):
        raise ValueError(f"{len(agents)} agents but {len(points)} positions")
    index = getattr(space, "_agent_to_index", None)
    if type(space).place_agent is not ContinuousSpace.place_agent or not isinstance(index, dict):
        for agent, pos in zip(agents, points, strict=True):
            space.place_agent(agent, pos)
        return
    space._invalidate_agent_cache()
    index.update(dict.fromkeys(agents))
    x, y = xy[:, 0], xy[:, 1]  # ContinuousSpace.out_of_bounds, for every agent at once
    outside = (x < space.x_min) | (x >= space.x_max) | (y < space.y_min) | (y >= space.y_max)
    for i in np.flatnonzero(outside):
        points[i] = space.torus_adj(points[i])
    for agent, pos in zip(agents, points, strict=True):
        agent.pos = pos


def register_all(model: mesa.Model, cls: type, n: int) -> list:
    """Create ``n`` agents of ``cls`` (rows 0..n-1) and register them with ``model`` in one pass.

    The result is what ``[cls(model, row) for row in range(n)]`` leaves behind (``mesa.Agent.__init__``
    and ``mesa.Model.register_agent``: consecutive ``unique_id``, ``pos`` None, the model's agent dict,
    the type's and the model's ``AgentSet`` in creation order), at a quarter to a third of the cost per agent:
    the sets are filled with one C-level update each and the cyclic garbage collector pauses meanwhile
    (it would rescan the growing heap many times over). Falls back to creating agents one by one when
    Mesa's registration is not the one this mirrors (an overridden ``register_agent``, another layout) or
    ``cls`` has an ``__init__`` of its own (this stands for ``TableAgent.__init__``).
    """
    sets = [model.__dict__.get("_all_agents"), model.__dict__.get("_agents_by_type", {}).get(cls)]
    plain = (type(model).register_agent is mesa.Model.register_agent and cls.__init__ is TableAgent.__init__
             and isinstance(model.__dict__.get("_agents"), dict) and isinstance(sets[0], AgentSet)
             and all(isinstance(getattr(s, "_agents", None), weakref.WeakKeyDictionary) for s in sets if s is not None))
    if not plain:
        return [cls(model, row) for row in range(n)]
    paused = gc.isenabled()
    gc.disable()
    try:
        agents = [cls.__new__(cls) for _ in range(n)]
        for agent, uid, row in zip(agents, itertools.islice(cls._ids[model], n), range(n), strict=True):
            agent.model, agent.unique_id, agent.pos, agent.row = model, uid, None, row
        model._agents.update(dict.fromkeys(agents))
        if n and sets[1] is None:
            sets[1] = model._agents_by_type[cls] = AgentSet([], random=model.random)
        for agent_set in (s for s in sets if s is not None):
            data = agent_set._agents
            # WeakKeyDictionary.__setitem__ stores ``data[ref(key, self._remove)] = value``; the same, in bulk
            data.data.update(zip(map(weakref.ref, agents, itertools.repeat(data._remove)), itertools.repeat(None)))
    finally:
        if paused:
            gc.enable()
    return agents
