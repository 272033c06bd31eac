"""One run from the command line: compute it, write its two files together, reproduce it later.

``depin run`` writes ``timeseries.parquet`` and ``summary.json``. Both are serialised in memory first and
then written with :func:`models.io.atomic_write_files`, so a run that fails (or a disk that fills) leaves
the previous outputs of the directory exactly as they were. A summary records everything needed to
reproduce its run (parameters, engine, root seed, point, replicate, horizon) and a hash of the time
series' values, which :func:`reproduce` compares against.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.params import ParameterError, Scenario, scenario_from_dict, with_overrides


class OutputError(Exception):
    """The output directory cannot be written; nothing was computed or written."""


def content_hash(frame: pd.DataFrame) -> str:
    """sha256 of a time series' column names and float64 values (independent of the Parquet writer)."""
    digest = hashlib.sha256()
    for col in frame.columns:
        if col in ("run", "date"):  # labels: the date follows from the step and the scenario's start date
            continue
        digest.update(str(col).encode() + b"\0")
        digest.update(np.ascontiguousarray(frame[col].to_numpy(dtype=np.float64)).tobytes())
    return digest.hexdigest()


def check_out_dir(out: Path) -> None:
    """Refuse, before any work, an ``--out`` that is a file or cannot be written."""
    from models.io import unwritable_reason

    reason = unwritable_reason(out)
    if reason is not None:
        raise OutputError(f"--out {out}: {reason}")


def with_steps(scenario: Scenario, steps: int | None, source: str) -> Scenario:
    """The scenario with a shorter horizon, validated again (a shock beyond the new horizon is an error)."""
    if steps is None:
        return scenario
    if not 1 <= steps <= scenario.simulation.steps:
        raise ParameterError(f"{source}: --steps {steps}: must be between 1 and simulation.steps "
                             f"({scenario.simulation.steps})")
    try:
        return with_overrides(scenario, {"simulation.steps": steps})
    except ParameterError as exc:
        raise ParameterError(f"{source}: --steps {steps}: {str(exc).replace('<overrides>: ', '')}") from None


def compute(scenario: Scenario, engine: str, point: int = 0, replicate: int = 0,
            twin: bool = True) -> tuple[pd.DataFrame, dict, float]:
    """Run once; ``(frame, headline metrics, seconds)``. The root seed is ``scenario.simulation.seed``.

    With ``twin`` (the default) a shocked scenario is run a second time without its shock and the metrics
    are judged against that twin (``models.analysis.twins.summarise_pair``; ``seconds`` covers both runs).
    Without it (a replay, whose "shock" is the history itself) only the absolute metrics are reported, under
    their ``_absolute`` names.
    """
    from models.analysis.regimes import realised_shock_starts, reference_step, summarise_run
    from models.analysis.shocks import shock_outcomes
    from models.analysis.twin_runs import run_pairs
    from models.analysis.twins import absolute_names, summarise_pair

    # the run's realised shock starts, drawn once from its seed (the engines draw the same)
    starts = realised_shock_starts(scenario, point=point, replicate=replicate)
    shock = min(starts) if starts else reference_step(scenario)
    started = time.perf_counter()
    if twin:
        (pair,) = run_pairs([scenario], [(point, replicate)], engine)
        frame = pair.frame
        seconds = time.perf_counter() - started
        results = summarise_pair(frame, pair.twin, scenario, shock, starts)
    else:
        from models import engines

        frame = engines.run(scenario, engine, point=point, replicate=replicate).drop(columns=["run"])
        seconds = time.perf_counter() - started
        results = absolute_names(summarise_run(frame, scenario, shock, starts))
    outcomes = shock_outcomes(frame, scenario, starts)
    results["shocks"] = outcomes
    results["warnings"] = [o["warning"] for o in outcomes if o["warning"]]
    return frame, results, seconds


def summary_record(scenario: Scenario, engine: str, frame: pd.DataFrame, results: dict, seconds: float,
                   source: str, point: int = 0, replicate: int = 0, extra: dict | None = None) -> dict[str, Any]:
    """The ``summary.json`` of a run: enough to reproduce it, its headline metrics and provenance."""
    from models.io import model_version, provenance

    return {
        "scenario": scenario.name, "scenario_file": source, "engine": engine,
        "seed": scenario.simulation.seed, "point": point, "replicate": replicate,
        "steps": scenario.simulation.steps, "runtime_seconds": round(seconds, 3), "results": results,
        "timeseries_content_sha256": content_hash(frame), **(extra or {}),
        "parameters": scenario.model_dump(mode="json"), "model": model_version(), "provenance": provenance(),
    }


def write_outputs(out: Path, frame: pd.DataFrame, summary: dict[str, Any]) -> None:
    """Write ``timeseries.parquet`` and ``summary.json`` into ``out``: both replaced, or neither."""
    from models.io import atomic_write_files, json_bytes, parquet_bytes

    files = {out / "timeseries.parquet": parquet_bytes(frame), out / "summary.json": json_bytes(summary)}
    atomic_write_files(files)


def load_summary(path: str | Path) -> tuple[Scenario, dict[str, Any]]:
    """Read a ``summary.json`` and validate the scenario it records.

    Raises:
        ParameterError: the file is unreadable or lacks what a reproduction needs.
    """
    path = Path(path)
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParameterError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParameterError(f"{path}: not a readable summary.json ({type(exc).__name__}: {exc})") from None
    needed = ("parameters", "engine", "seed", "steps")
    missing = [k for k in needed if not isinstance(summary, dict) or k not in summary]
    if missing:
        raise ParameterError(f"{path}: {missing[0]}: missing (a summary.json written by `depin run` is needed)")
    scenario = scenario_from_dict(summary["parameters"], f"{path}: parameters")
    return scenario, summary


def sweep_run(spec_path: str | Path, point: int, replicate: int) -> tuple[Scenario, str, tuple, dict]:
    """The scenario, engine and task of sweep row ``(point, replicate)``, exactly as the sweep built it.

    Returns:
        ``(scenario, engine, task, spec_fields)`` where task is ``(run_id, point, replicate, params)``;
        ``spec_fields`` holds ``seed_key`` when the sweep uses common random numbers.

    Raises:
        ParameterError: invalid spec, or a point/replicate outside the sweep.
    """
    from models.experiments.runner import plan, seed_key
    from models.experiments.spec import load_sweep, point_scenario

    spec = load_sweep(spec_path, force=True)
    base, tasks = plan(spec)
    n_points = len(tasks) // spec.replicates
    if not 0 <= point < n_points:
        raise ParameterError(f"{spec_path}: --point {point}: the sweep has points 0..{n_points - 1}")
    if not 0 <= replicate < spec.replicates:
        raise ParameterError(f"{spec_path}: --replicate {replicate}: the sweep has replicates "
                             f"0..{spec.replicates - 1}")
    task = tasks[point * spec.replicates + replicate]
    extra = {"sweep": spec.name, "run_id": task[0]}
    if spec.common_random_numbers:  # the row drew from (0, replicate), not (point, replicate)
        extra["seed_key"] = list(seed_key(point, replicate, True))
    return point_scenario(base, task[3]), spec.engine, task, extra
