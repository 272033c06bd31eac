"""Run a sweep on Dask: resumable, streamed to disk, independent of worker count and order.

Each task runs one run (``abm``, ``cadcad``) or a chunk of runs of one structure in a single batched
call (``batch``). Workers write every finished run's files themselves and return only small status
tuples, so the client's memory stays flat whatever the sweep size. Run ``(point i, replicate r)`` always
draws from ``run_seed_sequence(spec.seed, i, r)``, so results never depend on chunking, worker count or
execution order, and a resumed sweep gives the same numbers as an uninterrupted one.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from models.experiments.spec import SweepSpec, base_scenario, load_sweep, points
from models.experiments.store import SweepStore, headline, run_id, scenario_hash
from models.params import ParameterError

# Swept paths that change a run's array shapes: batched runs must agree on these.
STRUCTURAL_PREFIXES = ("simulation.steps", "simulation.cost_cohorts", "simulation.dt_days",
                       "providers.lead_time_steps", "vesting.allocations")
MAX_CHUNK = 250


class SweepFailed(RuntimeError):
    """Some runs raised; the others are stored and a rerun computes only the missing ones."""


def _run_row(task: tuple, scenario, frame, meta: dict, seconds: float) -> tuple[dict, Any]:
    """Summary row and (optionally) the time series to store for one run."""
    from models.analysis.regimes import pre_shock_step
    from models.exogenous import run_seed_int, run_seed_sequence

    rid, point, replicate, params = task
    frame = frame.drop(columns=["run"], errors="ignore").reset_index(drop=True)
    shock = pre_shock_step(scenario, seed=meta["seed"], point=point, replicate=replicate)
    row = {
        "run_id": rid, "point": point, "replicate": replicate,
        "seed": run_seed_int(run_seed_sequence(meta["seed"], point, replicate)),
        "engine": meta["engine"], "steps": scenario.simulation.steps, **params,
        **headline(frame, scenario, shock), "runtime_seconds": round(seconds, 6),
    }
    series = None
    if meta["keep"] == "timeseries":
        keys = {"run": rid, "point": point, "replicate": replicate, **params}
        series = frame.assign(**keys)[[*keys, *frame.columns]]
    return row, series


def execute_chunk(tasks: list[tuple], base, meta: dict, store_root: str) -> list[tuple[str, str | None]]:
    """Run a chunk of runs on a worker and write each run's files.

    Args:
        tasks: ``(run_id, point, replicate, {path: value})`` tuples.
        base: base scenario (fixed overrides applied).
        meta: ``engine``, ``seed`` (root) and ``keep``.
        store_root: the sweep directory.

    Returns:
        ``(run_id, error message or None)`` per run.
    """
    from models.params import with_overrides

    store = SweepStore(store_root)
    status: list[tuple[str, str | None]] = []
    scenarios = [with_overrides(base, t[3]) for t in tasks]
    if meta["engine"] == "batch":
        from models.exogenous import run_seed_sequence, sample_exogenous
        from models.sd.batch import run_batch
        from models.sd.compile import structure_of

        groups: dict[Any, list[int]] = {}
        for k, sc in enumerate(scenarios):
            groups.setdefault(structure_of(sc), []).append(k)
        for members in groups.values():
            started = time.perf_counter()
            try:
                exos = [sample_exogenous(scenarios[k], run_seed_sequence(meta["seed"], tasks[k][1], tasks[k][2]))
                        for k in members]
                frame = run_batch([scenarios[k] for k in members], exos, run_ids=list(range(len(members))))
            except Exception as exc:  # noqa: BLE001 - reported per run, the sweep continues
                status.extend((tasks[k][0], f"{type(exc).__name__}: {exc}") for k in members)
                continue
            seconds = (time.perf_counter() - started) / len(members)
            for j, (_, part) in enumerate(frame.groupby("run", sort=True)):
                k = members[j]
                status.append(_write_one(store, tasks[k], scenarios[k], part, meta, seconds))
        return status
    from models import engines

    for task, sc in zip(tasks, scenarios, strict=True):
        started = time.perf_counter()
        try:
            frame = engines.run(sc, meta["engine"], seed=meta["seed"], point=task[1], replicate=task[2])
        except Exception as exc:  # noqa: BLE001
            status.append((task[0], f"{type(exc).__name__}: {exc}"))
            continue
        status.append(_write_one(store, task, sc, frame, meta, time.perf_counter() - started))
    return status


def _write_one(store: SweepStore, task: tuple, scenario, frame, meta: dict, seconds: float):
    try:
        row, series = _run_row(task, scenario, frame, meta, seconds)
        store.write_run(task[0], row, series)
    except Exception as exc:  # noqa: BLE001
        return task[0], f"{type(exc).__name__}: {exc}"
    return task[0], None


def _open_client(workers: int | None, scheduler: str | None):
    """A Dask client on ``scheduler`` (or ``$DASK_SCHEDULER_ADDRESS``), else on a new LocalCluster."""
    from distributed import Client, LocalCluster

    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        client = Client(address)
        client.wait_for_workers(1, timeout=120)
        return client, None
    cluster = LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.ERROR)
    return Client(cluster), cluster


def _chunks(pending: list[tuple], engine: str, n_workers: int) -> list[list[tuple]]:
    """Split pending runs into tasks: chunks of one structural key (batch) or single runs."""
    if engine != "batch":
        return [[t] for t in pending]
    size = max(1, min(MAX_CHUNK, math.ceil(len(pending) / (4 * n_workers))))

    def key(task):
        return tuple(sorted((p, repr(v)) for p, v in task[3].items() if p.startswith(STRUCTURAL_PREFIXES)))

    groups: dict[tuple, list[tuple]] = {}
    for t in pending:
        groups.setdefault(key(t), []).append(t)
    return [g[i:i + size] for g in groups.values() for i in range(0, len(g), size)]


def plan(spec: SweepSpec):
    """The base scenario and every run of a spec as ``(run_id, point, replicate, params)``, in order."""
    base = base_scenario(spec)
    base_hash = scenario_hash(base)
    steps = base.simulation.steps
    tasks = [
        (run_id(p, r, spec.engine, spec.seed, steps, i, base_hash), i, r, p)
        for i, p in enumerate(points(spec)) for r in range(spec.replicates)
    ]
    return base, tasks


def run_sweep(spec: SweepSpec | str | Path, workers: int | None = None, scheduler: str | None = None,
              out: str | Path = "results", resume: bool = True, progress: bool = True) -> Path:
    """Run every missing run of a sweep and rebuild its summary table.

    Args:
        spec: a loaded spec or a sweep YAML path.
        workers: LocalCluster worker processes (default: CPU count); ignored with a scheduler.
        scheduler: Dask scheduler address (default: ``$DASK_SCHEDULER_ADDRESS``, else a LocalCluster).
        out: parent directory of the sweep's directory.
        resume: keep runs already on disk; False deletes the sweep directory first.
        progress: show a tqdm progress bar.

    Returns:
        The sweep directory ``<out>/<name>``.

    Raises:
        ParameterError: invalid spec (nothing is written).
        SweepFailed: some runs raised (the rest are stored).
    """
    if not isinstance(spec, SweepSpec):
        spec = load_sweep(spec)
    base, tasks = plan(spec)
    root = Path(out) / spec.name
    if not resume and root.exists():
        shutil.rmtree(root)
    store = SweepStore(root)
    store.prepare()
    done = store.done(timeseries=spec.keep == "timeseries")
    pending = [t for t in tasks if t[0] not in done]
    manifest = {
        "name": spec.name, "spec": spec.model_dump(mode="json"), "spec_hash": spec.spec_hash(),
        "root_seed": spec.seed, "engine": spec.engine, "points": len(tasks) // spec.replicates,
        "replicates": spec.replicates, "runs": len(tasks), "base_scenario": base.model_dump(mode="json"),
        "seeding": "numpy.random.SeedSequence(entropy=root_seed, spawn_key=(point, replicate))",
    }
    store.write_manifest({**manifest, "status": "running"})
    failures: dict[str, str] = {}
    if pending:
        failures = _execute(pending, base, spec, root, workers, scheduler, progress)
    summary = store.build_summary([t[0] for t in tasks])
    store.write_manifest({**manifest, "status": "failed" if failures else "complete", "completed_runs": len(summary),
                          "failed_runs": len(failures)})
    if failures:
        first = next(iter(failures.items()))
        raise SweepFailed(f"{len(failures)} of {len(tasks)} runs failed (first: {first[0]}: {first[1]}); "
                          f"rerun to retry only those")
    return root


def _execute(pending, base, spec: SweepSpec, root: Path, workers, scheduler, progress) -> dict[str, str]:
    """Submit chunks with a bounded window and collect per-run statuses as they complete."""
    from distributed import as_completed
    from tqdm.auto import tqdm

    meta = {"engine": spec.engine, "seed": spec.seed, "keep": spec.keep}
    client, cluster = _open_client(workers, scheduler)
    failures: dict[str, str] = {}
    try:
        n_workers = max(1, len(client.scheduler_info(n_workers=-1)["workers"]))
        chunks = _chunks(pending, spec.engine, n_workers)
        window = 2 * n_workers + 2
        base_future = client.scatter(base, broadcast=True)
        todo = iter(chunks)

        def submit(chunk):
            return client.submit(execute_chunk, chunk, base_future, meta, str(root),
                                 key=f"{spec.name}-{chunk[0][0]}-{len(chunk)}", retries=0)

        queue = as_completed([submit(c) for _, c in zip(range(window), todo, strict=False)])
        with tqdm(total=len(pending), desc=spec.name, unit="run", disable=not progress) as bar:
            for future in queue:
                try:
                    for rid, error in future.result():
                        if error is not None:
                            failures[rid] = error
                        bar.update(1)
                except Exception as exc:  # noqa: BLE001 - a lost task: its runs stay missing
                    failures[future.key] = f"{type(exc).__name__}: {exc}"
                future.release()
                nxt = next(todo, None)
                if nxt is not None:
                    queue.add(submit(nxt))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return failures


def sweep_main(args) -> int:
    """``depin sweep``: run a sweep from parsed CLI arguments.

    Args:
        args: namespace with ``spec``, ``workers``, ``scheduler``, ``out`` (parent directory, default
            ``results``) and ``no_resume``.

    Returns:
        0 when every run is stored, 1 when some runs failed, 2 for an invalid spec (nothing written).
    """
    try:
        spec = load_sweep(args.spec)
    except ParameterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        root = run_sweep(spec, workers=getattr(args, "workers", None), scheduler=getattr(args, "scheduler", None),
                         out=getattr(args, "out", None) or "results", resume=not getattr(args, "no_resume", False))
    except ParameterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SweepFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{spec.name}: {spec.replicates} replicates x {len(points(spec))} points ({spec.engine}) -> {root} "
          f"in {time.perf_counter() - started:.1f} s")
    return 0
