"""The aggregate economy on cadCAD 0.5.3: partial state update blocks built from ``economy.BLOCKS``.

Each block becomes one partial state update block: a policy ``p_<block>`` that unpacks the cadCAD
state, calls the block (which calls the mechanisms) and packs its changes as the policy signal, and one
state update ``s_<variable>`` per variable that takes the signal's value (or keeps the old one).

Per-run inputs (compiled parameters and the run's pre-sampled exogenous paths) travel in cadCAD's
parameter dict ``M`` under ``inputs``: one entry per parameter point, so cadCAD's own sweep runs the
points, and ``N`` Monte Carlo runs per point each read their own exogenous paths by cadCAD's run index.
Nothing draws from numpy's global random state.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.exogenous import Exogenous, stack_exogenous
from models.output import record, to_frame
from models.sd.compile import Structure, compile_params
from models.sd.economy import BLOCKS, exo_at, initial_state


@dataclass(frozen=True)
class PointInputs:
    """Everything a cadCAD run of one parameter point needs."""

    structure: Structure
    P: dict
    exogenous: tuple  # one (1, steps) dict per Monte Carlo run


def _inputs(params: dict, state: dict) -> tuple[PointInputs, dict]:
    inputs = params["inputs"]
    # cadCAD numbers Monte Carlo runs from 1 within each configuration
    return inputs, inputs.exogenous[(state["run"] - 1) % len(inputs.exogenous)]


def _make_policy(name: str, block, first: bool):
    def policy(params, substep, history, state, *_):
        inputs, exo = _inputs(params, state)
        step = int(state["step"])
        if first and not state["genesis_ready"]:
            # cadCAD gives every swept point one shared initial state; start from this point's own genesis
            genesis = {**initial_state(inputs.P, inputs.structure), "genesis_ready": True}
            changes = {**genesis, **block(inputs.P, inputs.structure, {**state, **genesis}, exo_at(exo, step), step)}
            return changes
        changes = block(inputs.P, inputs.structure, state, exo_at(exo, step), step)
        if name == "shocks":
            changes["step"] = step + 1
        return changes

    policy.__name__ = f"p_{name}"
    return policy


def _make_state_update(variable: str):
    def update(params, substep, history, state, signal, *_):
        return variable, signal.get(variable, state[variable])

    update.__name__ = f"s_{variable}"
    return update


def partial_state_update_blocks(variables) -> list[dict]:
    """CadCAD PSUBs, one per economy block, in the documented order."""
    updates = {v: _make_state_update(v) for v in variables}
    return [
        {"label": name, "policies": {f"p_{name}": _make_policy(name, block, i == 0)}, "variables": dict(updates)}
        for i, (name, block) in enumerate(BLOCKS)
    ]


def _point_inputs(scenario, exos: list[Exogenous]) -> PointInputs:
    structure, P = compile_params([scenario])
    return PointInputs(structure, P, tuple(stack_exogenous([e]) for e in exos))


def run_cadcad(scenarios, exogenous: list[Exogenous], replicates: int = 1, mode: str = "single",
               deepcopy: bool = False) -> pd.DataFrame:
    """Run parameter points through cadCAD's Executor.

    Args:
        scenarios: one scenario per parameter point (all with the same horizon).
        exogenous: ``len(scenarios) * replicates`` exogenous paths, point-major.
        replicates: Monte Carlo runs per point (cadCAD's ``N``).
        mode: ``single`` (single_proc) or ``multi`` (cadCAD's multi_proc, pathos processes).
        deepcopy: keep cadCAD's default deepcopy of the state at every substep (slower).

    Returns:
        Tidy frame; ``run`` = point * replicates + replicate.
    """
    from cadCAD.configuration import Experiment
    from cadCAD.configuration.utils import config_sim
    from cadCAD.engine import ExecutionContext, ExecutionMode, Executor

    if len(exogenous) != len(scenarios) * replicates:
        raise ValueError("need one exogenous path per (point, replicate)")
    points = [
        _point_inputs(sc, exogenous[i * replicates:(i + 1) * replicates]) for i, sc in enumerate(scenarios)
    ]
    steps = points[0].structure.steps
    if any(p.structure.steps != steps for p in points):
        raise ValueError("all points of one cadCAD experiment need the same horizon")
    genesis = initial_state(points[0].P, points[0].structure)
    genesis["step"] = 0
    genesis["genesis_ready"] = False
    exp = Experiment()
    exp.append_model(
        initial_state=genesis,
        partial_state_update_blocks=partial_state_update_blocks(list(genesis)),
        sim_configs=config_sim({"N": replicates, "T": range(steps), "M": {"inputs": points}}),
    )
    context = ExecutionContext(
        ExecutionMode.single_mode if mode == "single" else ExecutionMode.multi_mode,
        additional_objs=None if deepcopy else {"deepcopy_off": True},
    )
    executor = Executor(exec_context=context, configs=exp.configs, supress_print=True)
    with contextlib.redirect_stdout(io.StringIO()):
        raw, _, _ = executor.execute()
    return _to_frame(raw, points, replicates)


def _to_frame(raw, points, replicates: int) -> pd.DataFrame:
    """Keep the end-of-step records and rebuild each run's state with its own parameters."""
    last_substep = len(BLOCKS)
    frames = []
    by_run: dict = {}
    for rec in raw:
        if rec["substep"] in (0, last_substep):
            by_run.setdefault((rec["simulation"], rec["subset"], rec["run"]), []).append(rec)
    for key in sorted(by_run):
        _, subset, run = key
        recs = sorted(by_run[key], key=lambda r: r["timestep"])
        # the initial state is shared; each point's own genesis replaces it
        point = points[subset]
        rows = []
        for r in recs:
            state = r if r["timestep"] > 0 else {**initial_state(point.P, point.structure), "step": 0}
            rows.append(record(state, int(r["timestep"])))
        # cadCAD numbers runs per subset when N > 1 but across subsets when N == 1
        run_id = subset * replicates + (run - 1) % replicates
        frames.append(to_frame(rows, np.array([run_id])))
    return pd.concat(frames, ignore_index=True)
