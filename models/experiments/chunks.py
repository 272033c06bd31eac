"""One task of a sweep: run a chunk of runs, summarise them together, write them with one flush (issue 14).

A chunk's runs are computed (the batch engine steps the runs of one array structure, and their twins, in
one call; cadCAD and the ABM run one by one), summarised at once on ``(runs, steps)`` arrays
(:mod:`models.experiments.summaries`) and written by :meth:`SweepStore.write_runs`. A sweep that keeps
only summaries reads only :data:`~models.experiments.summaries.SUMMARY_COLUMNS` of each batch run: the
tidy frame of every column is never built. Seeds depend only on each run's seed key, never on the chunk.
"""

from __future__ import annotations

import math
import time
from typing import Any

from models.experiments.summaries import SUMMARY_COLUMNS

# Swept paths that change a run's array shapes: batched runs must agree on these.
STRUCTURAL_PREFIXES = ("base", "simulation.steps", "simulation.cost_cohorts", "simulation.dt_days",
                       "providers.lead_time_days", "vesting.allocations", "simulation.patience_cohorts",
                       "simulation.expectation_cohorts", "simulation.vintage", "stake.unbonding_days")
MAX_CHUNK = 250
# Engine runs (runs and their twins) per batch call, whatever the worker count: the engine's fixed cost per step
# is shared by this many (measured at 260 steps, 2 cores under load: 99 ms a run at 16 per call, 63 at 32, 42 at
# 64, 40 at 128, 42 at 250), and a sweep still splits into enough chunks to show progress and balance workers.
# It is also a compiled size of the jax backend (models.sd.compiled.BUCKETS).
BATCH_TARGET = 64
# cadCAD / ABM runs per task. One, as before issue 14: tasks of 4 gained nothing measurable (200 cadCAD runs, 2
# workers: 1.70x, against 1.72x with one per task), and they keep a worker busy for seconds when Ctrl-C stops a sweep
# (a CI run then saw the stopped CLI report a leaked semaphore at exit).
NONBATCH_CHUNK = 1


def seed_key(point: int, replicate: int, common_random_numbers: bool = False) -> tuple[int, int]:
    """The ``(point, replicate)`` key a run's seed is spawned from: ``(0, replicate)`` with common random numbers."""
    return (0 if common_random_numbers else point, replicate)


def series_frame(task: tuple, frame, twin: dict, series_columns=None):
    """The time series a sweep stores for one run: its columns, ``twin_<column>`` beside them, keys first.

    Args:
        task: ``(run_id, point, replicate, params)``.
        frame: the run's tidy frame (without ``run``).
        twin: column -> the twin's values (at least ``models.analysis.twin_runs.TWIN_COLUMNS``).
        series_columns: the spec's ``series_columns`` (None: every column, and the parameters as columns).
    """
    import numpy as np

    from models.analysis.twin_runs import TWIN_COLUMNS

    rid, point, replicate, params = task
    if series_columns is None:
        columns = TWIN_COLUMNS
    else:
        kept = [c for c in series_columns if c != "step"]
        frame = frame[["step", *kept]]
        columns = [c for c in kept if c in TWIN_COLUMNS]
    frame = frame.assign(**{f"twin_{c}": np.asarray(twin[c]) for c in columns})
    # with chosen columns (large sensitivity sweeps) the parameters stay in the summary row only
    keys = {"run": rid, "point": point, "replicate": replicate, **(params if series_columns is None else {})}
    return frame.assign(**keys)[[*keys, *frame.columns]]


def summary_row(task: tuple, scenario, engine: str, key: tuple[int, int], metrics: dict, seconds: float) -> dict:
    """The stored summary row of one run: identity, seed, parameters, metrics, run time."""
    from models.exogenous import run_seed_int, run_seed_sequence

    rid, point, replicate, params = task
    root = scenario.simulation.seed
    return {"run_id": rid, "point": point, "replicate": replicate, "root_seed": root,
            "seed": run_seed_int(run_seed_sequence(root, *key)), "engine": engine,
            "steps": scenario.simulation.steps, **params, **metrics, "runtime_seconds": round(seconds, 6)}


def _batch_group(tasks, scenarios, keys, members, keep, series_columns, backend="numpy"):
    """Rows (and series) of the batch runs ``members`` of one structure: ``{k: (row, series)}``."""
    from models.analysis.twin_runs import TWIN_COLUMNS, run_pair_arrays
    from models.experiments.summaries import summarise_rows
    from models.output import COLUMNS

    columns = list(SUMMARY_COLUMNS)
    if keep == "timeseries":
        columns += list(COLUMNS) if series_columns is None else [*series_columns, *TWIN_COLUMNS]
    started = time.perf_counter()
    arrays = run_pair_arrays([scenarios[k] for k in members], [keys[k] for k in members], columns, backend)
    seconds = (time.perf_counter() - started) / len(members)
    metrics = summarise_rows(arrays.main, arrays.twin, arrays.steps, [scenarios[k] for k in members],
                             arrays.shock_starts)
    series = _batch_series([tasks[k] for k in members], arrays, series_columns) if keep == "timeseries" else None
    label = "batch+jax" if backend == "jax" else "batch"
    return {k: (summary_row(tasks[k], scenarios[k], label, keys[k], metrics[r], seconds),
                None if series is None else series[r]) for r, k in enumerate(members)}


def _batch_series(tasks, arrays, series_columns) -> list:
    """The stored time series of a batch group's runs, as :func:`series_frame` lays them out, one per run.

    The whole group goes to Arrow in one conversion and each run's series is a slice of it (zero-copy), so a
    run costs one Parquet write instead of a pandas frame and a conversion of its own (measured: 27 ms per
    run of 26 steps with every column, most of it pandas). Where the group's columns cannot share one type
    (a parameter swept over numbers and strings), each run is built by :func:`series_frame` instead.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from models.analysis.twin_runs import TWIN_COLUMNS
    from models.output import COLUMNS

    names = list(COLUMNS) if series_columns is None else ["step", *[c for c in series_columns if c != "step"]]
    params = list(tasks[0][3]) if series_columns is None else []
    mixed = any(len({type(t[3][p]) for t in tasks}) > 1 for p in params)  # numpy would coerce them to one type
    twinned = [c for c in (TWIN_COLUMNS if series_columns is None else names) if c in TWIN_COLUMNS]
    steps, runs = len(arrays.steps), len(tasks)
    data = {"run": np.repeat([t[0] for t in tasks], steps), "point": np.repeat([t[1] for t in tasks], steps),
            "replicate": np.repeat([t[2] for t in tasks], steps)}
    data.update({p: np.repeat([t[3][p] for t in tasks], steps) for p in params if not mixed})
    data.update({c: np.tile(arrays.steps, runs) if c == "step" else arrays.main[c].reshape(-1) for c in names})
    data.update({f"twin_{c}": arrays.twin[c].reshape(-1) for c in twinned})
    try:
        if mixed:
            raise TypeError("a parameter takes values of several types")
        table = pa.Table.from_pandas(pd.DataFrame(data), preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        return [series_frame(t, pd.DataFrame({c: arrays.steps if c == "step" else arrays.main[c][r] for c in names}),
                             {c: arrays.twin[c][r] for c in TWIN_COLUMNS}, series_columns)
                for r, t in enumerate(tasks)]
    return [table.slice(r * steps, steps) for r in range(runs)]


def _frame_runs(tasks, scenarios, keys, engine, keep, series_columns):
    """Rows (and series) of cadCAD or ABM runs, run one by one and summarised together per horizon."""
    from models.analysis.regimes import realised_shock_starts
    from models.analysis.twin_runs import pair_arrays, run_pairs
    from models.experiments.summaries import summarise_rows

    done, errors = {}, {}
    for k, sc in enumerate(scenarios):
        started = time.perf_counter()
        try:
            (pair,) = run_pairs([sc], [keys[k]], engine)
            done[k] = (pair, time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - reported per run, the sweep continues
            errors[k] = f"{type(exc).__name__}: {exc}"
    groups: dict[int, list[int]] = {}
    for k, (pair, _) in done.items():
        groups.setdefault(len(pair.frame), []).append(k)
    out = {}
    for members in groups.values():
        try:
            arrays = pair_arrays([done[k][0] for k in members], SUMMARY_COLUMNS)
            starts = [realised_shock_starts(scenarios[k], scenarios[k].simulation.seed, None, *keys[k])
                      for k in members]
            metrics = summarise_rows(arrays.main, arrays.twin, arrays.steps, [scenarios[k] for k in members], starts)
        except Exception as exc:  # noqa: BLE001 - the group's runs fail, the others go on
            errors.update({k: f"{type(exc).__name__}: {exc}" for k in members})
            continue
        for r, k in enumerate(members):
            pair, seconds = done[k]
            series = None
            if keep == "timeseries":
                series = series_frame(tasks[k], pair.frame, pair.twin, series_columns)
            out[k] = (summary_row(tasks[k], scenarios[k], engine, keys[k], metrics[r], seconds), series)
    return out, errors


def compute_chunk(tasks: list[tuple], scenarios: list, engine: str, keys: list[tuple[int, int]], keep: str,
                  series_columns=None, backend: str = "numpy") -> list[tuple[dict | None, Any, str | None]]:
    """Run and summarise a chunk: ``(summary row, time series or None, error or None)`` per task, in order.

    ``backend`` steps batch runs (``models.sd.batch.BACKENDS``).
    """
    from models.sd.compile import structure_of

    results: list[tuple[dict | None, Any, str | None]] = [(None, None, "not computed")] * len(tasks)
    if engine != "batch":
        out, errors = _frame_runs(tasks, scenarios, keys, engine, keep, series_columns)
        for k, error in errors.items():
            results[k] = (None, None, error)
        for k, (row, series) in out.items():
            results[k] = (row, series, None)
        return results
    groups: dict[Any, list[int]] = {}
    for k, sc in enumerate(scenarios):
        groups.setdefault(structure_of(sc), []).append(k)
    for members in groups.values():
        try:
            out = _batch_group(tasks, scenarios, keys, members, keep, series_columns, backend)
        except Exception as exc:  # noqa: BLE001 - the group's runs fail, the others go on
            for k in members:
                results[k] = (None, None, f"{type(exc).__name__}: {exc}")
            continue
        for k, (row, series) in out.items():
            results[k] = (row, series, None)
    return results


def execute_chunk(tasks: list[tuple], base: dict, meta: dict, store_root: str) -> list[tuple[str, str | None, bool]]:
    """Run a chunk of runs on a worker (or in the client) and write their files with one flush.

    Args:
        tasks: ``(run_id, point, replicate, {path: value})`` tuples.
        base: label -> base scenario as JSON data (fixed overrides applied; label ``""`` for a sweep over one
            base); plain data survives worker loss.
        meta: ``engine``, ``keep``, ``model`` (the client's :func:`models.io.model_version`), and optionally
            ``common_random_numbers`` and ``series_columns`` (the spec's).
        store_root: the sweep directory, absolute.

    Returns:
        ``(run_id, error message or None, storage_fault)`` per run, stored runs first; ``storage_fault``
        marks a full or read-only disk, which stops the sweep.
    """
    from models.experiments.spec import point_scenario
    from models.experiments.store import SweepStore
    from models.io import model_code_hash
    from models.params import Scenario

    if model_code_hash() != meta["model"]["code_hash"]:
        return [(t[0], "this worker runs different model code than the client", False) for t in tasks]
    scenarios_ = {label or None: Scenario.model_validate(data) for label, data in base.items()}
    scenarios = [point_scenario(scenarios_, t[3]) for t in tasks]
    keys = [seed_key(t[1], t[2], meta.get("common_random_numbers", False)) for t in tasks]
    results = compute_chunk(tasks, scenarios, meta["engine"], keys, meta["keep"], meta.get("series_columns"),
                            meta.get("backend", "numpy"))
    failed = [(t[0], error, False) for t, (_, _, error) in zip(tasks, results, strict=True) if error is not None]
    ready = [(t[0], row, series) for t, (row, series, error) in zip(tasks, results, strict=True) if error is None]
    return SweepStore(store_root).write_runs(ready, meta["model"]) + failed


def plan_chunks(pending: list[tuple], engine: str, n_workers: int, twins: bool = True,
                backend: str = "numpy") -> list[list[tuple]]:
    """Split pending runs into tasks: few, large, balanced over ``n_workers``, independent of results.

    Batch runs are grouped by structural key and cut into chunks of about :data:`BATCH_TARGET` engine runs
    (``twins``: each run steps with its twin), the number of chunks rounded up to a multiple of the workers so
    that each does the same share. On the jax backend a chunk holds exactly :data:`BATCH_TARGET` engine runs
    (the last one of a group fewer), since it is padded to a compiled size anyway (``models.sd.compiled.bucket``:
    50 runs would cost what 64 do). cadCAD and ABM runs go :data:`NONBATCH_CHUNK` to a task (fewer when there
    are too few to keep every worker busy). Which chunk a run lands in never changes its numbers.
    """
    n_workers = max(1, n_workers)
    if engine != "batch":
        size = max(1, min(NONBATCH_CHUNK, math.ceil(len(pending) / (4 * n_workers))))
        return [pending[i:i + size] for i in range(0, len(pending), size)]

    def key(task):
        return tuple(sorted((p, repr(v)) for p, v in task[3].items() if p.startswith(STRUCTURAL_PREFIXES)))

    groups: dict[tuple, list[tuple]] = {}
    for t in pending:
        groups.setdefault(key(t), []).append(t)
    per_run = 2 if twins else 1
    out = []
    for g in groups.values():
        if backend == "jax":
            size = max(1, min(BATCH_TARGET // per_run, math.ceil(len(g) / n_workers)))
        else:
            n_chunks = max(1, math.ceil(len(g) * per_run / BATCH_TARGET))
            if len(groups) == 1:
                n_chunks = math.ceil(n_chunks / n_workers) * n_workers
            size = max(1, min(MAX_CHUNK, math.ceil(len(g) / n_chunks)))
        out += [g[i:i + size] for i in range(0, len(g), size)]
    return out
