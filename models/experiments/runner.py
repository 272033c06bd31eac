"""Run a sweep on Dask: resumable, verified, streamed to disk, independent of worker count and order.

Each task runs one run (``abm``, ``cadcad``) or a chunk of runs of one structure in a single batched
call (``batch``). Workers write every finished run's files themselves and return only small status
tuples, so the client's memory stays flat whatever the sweep size. Run ``(point i, replicate r)`` always
draws from ``run_seed_sequence(root, i, r)``, where ``root`` is the run scenario's ``simulation.seed`` (the
spec's ``seed``, unless ``simulation.seed`` is swept), so results never depend on chunking, worker count or
execution order, and a resumed sweep gives the same numbers as an uninterrupted one.

What a sweep guarantees (issue 7): the store directory is absolute before workers see it; one writer at
a time (:mod:`models.experiments.lock`); stored runs are verified (hash) and corrupt ones quarantined and
recomputed; runs of another model version are never mixed in silently; the manifest's status is
``complete`` only when every expected run has a verified file; Ctrl-C and a full disk leave the store
``interrupted`` and resumable; lost workers are retried.
"""

from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path
from typing import Any

from models.experiments.cluster import (
    ClusterError,
    check_worker_code,
    check_worker_paths,
    close_quietly,
    open_client,
    preflight,
)
from models.experiments.spec import SweepSpec, base_scenarios, canonical_json, load_sweep, points
from models.experiments.store import MixedModelError, SweepStore, run_id, scenario_hash
from models.io import STORAGE_ERRNOS

# Swept paths that change a run's array shapes: batched runs must agree on these.
STRUCTURAL_PREFIXES = ("base", "simulation.steps", "simulation.cost_cohorts", "simulation.dt_days",
                       "providers.lead_time_days", "vesting.allocations", "simulation.patience_cohorts",
                       "simulation.expectation_cohorts", "simulation.vintage", "stake.unbonding_days")
MAX_CHUNK = 250
TASK_RETRIES = 3  # a task whose worker died is run again elsewhere (Dask's ``retries``)
# Lower bounds of the bytes one run writes (measured: record ~3 KB; Parquet ~ 2.4 bytes per value).
RECORD_BYTES, SERIES_BYTES_PER_VALUE = 2_000, 2


class SweepFailed(RuntimeError):
    """Some runs raised; the others are stored and a rerun computes only the missing ones."""


class SweepInterrupted(RuntimeError):
    """The sweep stopped early (Ctrl-C, a full or read-only disk); the store is ``interrupted``, resumable.

    Attributes:
        exit_code: 130 after Ctrl-C, 1 otherwise.
    """

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def seed_key(point: int, replicate: int, common_random_numbers: bool = False) -> tuple[int, int]:
    """The ``(point, replicate)`` key a run's seed is spawned from: ``(0, replicate)`` with common random numbers."""
    return (0 if common_random_numbers else point, replicate)


def run_row(task: tuple, scenario, pair, engine: str, keep: str, seconds: float,
            key: tuple[int, int] | None = None, series_columns=None) -> tuple[dict, Any]:
    """Summary row and (optionally) the time series to store for one run and its twin.

    The row holds the twin-relative metrics and the absolute ones (``models.analysis.twins.summarise_pair``);
    a stored time series carries ``twin_<column>`` beside the main columns
    (``models.analysis.twin_runs.TWIN_COLUMNS``), or only ``series_columns`` and their twins.
    ``key`` is the run's seed key (:func:`seed_key`; default ``(point, replicate)``).
    """
    from models.analysis.twin_runs import TWIN_COLUMNS, summarise, with_twin_columns
    from models.exogenous import run_seed_int, run_seed_sequence

    rid, point, replicate, params = task
    key = key or (point, replicate)
    root = scenario.simulation.seed
    row = {
        "run_id": rid, "point": point, "replicate": replicate, "root_seed": root,
        "seed": run_seed_int(run_seed_sequence(root, *key)),
        "engine": engine, "steps": scenario.simulation.steps, **params,
        **summarise(pair, scenario, *key), "runtime_seconds": round(seconds, 6),
    }
    series = None
    if keep == "timeseries":
        if series_columns is None:
            frame = with_twin_columns(pair)
        else:
            kept = [c for c in series_columns if c != "step"]
            frame = with_twin_columns(pair._replace(frame=pair.frame[["step", *kept]]),
                                      [c for c in kept if c in TWIN_COLUMNS])
        # with chosen columns (large sensitivity sweeps) the parameters stay in the summary row only
        keys = {"run": rid, "point": point, "replicate": replicate, **(params if series_columns is None else {})}
        series = frame.assign(**keys)[[*keys, *frame.columns]]
    return row, series


def compute_runs(tasks: list[tuple], scenarios: list, engine: str,
                 keys: list[tuple[int, int]] | None = None) -> list[tuple[Any, float, str | None]]:
    """Run every task and its twin; ``(Pair or None, seconds per run, error or None)`` per task, in order.

    ``keys`` are the runs' seed keys (:func:`seed_key`; default each task's ``(point, replicate)``).

    The batch engine steps the runs of one array structure, and their twins, together; cadCAD and the ABM
    run one by one (``models.analysis.twin_runs.run_pairs``).
    """
    from models.analysis.twin_runs import run_pairs

    results: list[tuple[Any, float, str | None]] = [(None, 0.0, None)] * len(tasks)
    keys = keys or [(t[1], t[2]) for t in tasks]
    if engine != "batch":
        for k, sc in enumerate(scenarios):
            started = time.perf_counter()
            try:
                (pair,) = run_pairs([sc], [keys[k]], engine)
                results[k] = (pair, time.perf_counter() - started, None)
            except Exception as exc:  # noqa: BLE001 - reported per run, the sweep continues
                results[k] = (None, 0.0, f"{type(exc).__name__}: {exc}")
        return results
    from models.sd.compile import structure_of

    groups: dict[Any, list[int]] = {}
    for k, sc in enumerate(scenarios):
        groups.setdefault(structure_of(sc), []).append(k)
    for members in groups.values():
        started = time.perf_counter()
        try:
            pairs = run_pairs([scenarios[k] for k in members], [keys[k] for k in members])
        except Exception as exc:  # noqa: BLE001
            for k in members:
                results[k] = (None, 0.0, f"{type(exc).__name__}: {exc}")
            continue
        seconds = (time.perf_counter() - started) / len(members)
        for k, pair in zip(members, pairs, strict=True):
            results[k] = (pair, seconds, None)
    return results


def execute_chunk(tasks: list[tuple], base: dict, meta: dict, store_root: str) -> list[tuple[str, str | None, bool]]:
    """Run a chunk of runs on a worker and write each run's files.

    Args:
        tasks: ``(run_id, point, replicate, {path: value})`` tuples.
        base: label -> base scenario as JSON data (fixed overrides applied; label ``""`` for a sweep over one
            base); plain data survives worker loss.
        meta: ``engine``, ``keep``, ``model`` (the client's :func:`models.io.model_version`), and optionally
            ``common_random_numbers`` and ``series_columns`` (the spec's).
        store_root: the sweep directory, absolute.

    Returns:
        ``(run_id, error message or None, storage_fault)`` per run; ``storage_fault`` marks a full or
        read-only disk, which stops the sweep.
    """
    from models.experiments.spec import point_scenario
    from models.io import model_code_hash
    from models.params import Scenario

    if model_code_hash() != meta["model"]["code_hash"]:
        return [(t[0], "this worker runs different model code than the client", False) for t in tasks]
    store = SweepStore(store_root)
    scenarios_ = {label or None: Scenario.model_validate(data) for label, data in base.items()}
    scenarios = [point_scenario(scenarios_, t[3]) for t in tasks]
    status: list[tuple[str, str | None, bool]] = []
    keys = [seed_key(t[1], t[2], meta.get("common_random_numbers", False)) for t in tasks]
    for task, sc, key, (pair, seconds, error) in zip(tasks, scenarios, keys,
                                                     compute_runs(tasks, scenarios, meta["engine"], keys),
                                                     strict=True):
        if error is not None:
            status.append((task[0], error, False))
            continue
        try:
            row, series = run_row(task, sc, pair, meta["engine"], meta["keep"], seconds, key,
                                  meta.get("series_columns"))
            store.write_run(task[0], row, series, meta["model"])
        except OSError as exc:
            status.append((task[0], f"{type(exc).__name__}: {exc}", exc.errno in STORAGE_ERRNOS))
            continue
        except Exception as exc:  # noqa: BLE001
            status.append((task[0], f"{type(exc).__name__}: {exc}", False))
            continue
        status.append((task[0], None, False))
    return status


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
    """The base scenarios and every run of a spec, in order.

    Returns:
        ``(bases, tasks)``: label -> base scenario (``{None: ...}`` for a sweep over one), and one
        ``(run_id, point, replicate, params)`` per run.
    """
    bases_ = base_scenarios(spec)
    base_hash = scenario_hash(bases_[None]) if None in bases_ else \
        hashlib.sha256(canonical_json({k: scenario_hash(v) for k, v in bases_.items()}).encode()).hexdigest()
    steps = next(iter(bases_.values())).simulation.steps
    tasks = [
        (run_id(p, r, spec.engine, spec.seed, steps, i, base_hash), i, r, p)
        for i, p in enumerate(points(spec)) for r in range(spec.replicates)
    ]
    return bases_, tasks


def bytes_needed(spec: SweepSpec, runs: int, steps: int) -> int:
    """A lower estimate of what ``runs`` runs write, for the free-space check."""
    from models.output import COLUMNS

    per_run = RECORD_BYTES
    if spec.keep == "timeseries":
        per_run += SERIES_BYTES_PER_VALUE * (steps + 1) * (len(COLUMNS) + len(spec.parameters) + 3)
    return runs * per_run


def run_sweep(spec: SweepSpec | str | Path, workers: int | None = None, scheduler: str | None = None,
              out: str | Path = "results", resume: bool = True, progress: bool = True,
              allow_mixed: bool = False, force: bool = False, quick: bool = False) -> Path:
    """Run every missing run of a sweep and rebuild its summary table.

    Args:
        spec: a loaded spec or a sweep YAML path.
        workers: LocalCluster worker processes (default: CPU count); ignored with a scheduler.
        scheduler: Dask scheduler address (default: ``$DASK_SCHEDULER_ADDRESS``, else a LocalCluster).
        out: parent directory of the sweep's directory; made absolute before workers see it.
        resume: keep verified runs already on disk; False moves the old store aside (never deletes it).
        progress: show a tqdm progress bar.
        allow_mixed: resume even when stored runs come from other model code.
        force: run sweeps above the size limit and skip the free-space check.
        quick: run the spec's quick mode (a YAML path only: ``load_sweep(..., quick=True)``).

    Returns:
        The sweep directory ``<out>/<name>``.

    Raises:
        ParameterError: invalid spec (nothing is written).
        StoreError: the output cannot be used, another sweep writes it, or model versions would mix.
        ClusterError: the scheduler is unreachable or has no workers (nothing is written).
        SweepInterrupted: Ctrl-C or a full/read-only disk; the store is ``interrupted`` and resumable.
        SweepFailed: some runs raised or are missing (the rest are stored).
    """
    from models.io import model_version

    if not isinstance(spec, SweepSpec):
        spec = load_sweep(spec, force=force, quick=quick)
    base, tasks = plan(spec)
    out = Path(out).expanduser().resolve()
    store = SweepStore(out / spec.name)
    # runs already stored need no new space (verified later; a resume after a full disk must fit what is left)
    stored = sum((store.runs / f"{t[0]}.json").is_file() for t in tasks) if resume else 0
    steps = next(iter(base.values())).simulation.steps
    preflight(out, store.root, bytes_needed(spec, len(tasks) - stored, steps), force)
    store.check_usable()
    if store.lock().held():  # refuse before starting a cluster (acquire raises StoreLocked with the holder)
        store.lock().acquire()
    model = model_version()
    client, cluster = open_client(workers, scheduler)
    lock = store.lock()
    manifest: dict[str, Any] | None = None
    try:
        lock.acquire()
        check_worker_code(client, model["code_hash"])
        if not resume:
            moved = store.move_aside()
            if moved is not None:
                print(f"{spec.name}: --no-resume: the previous store was moved to {moved}")
        created = store.create()
        try:
            check_worker_paths(client, store.marker)
        except ClusterError:
            if created:
                store.remove_new()
            raise
        expected = [t[0] for t in tasks]
        scan = store.scan(expected, timeseries=spec.keep == "timeseries")
        other = {h: n for h, n in scan.code_hashes.items() if h != model["code_hash"]}
        if other and not allow_mixed:
            raise MixedModelError(
                f"{store.root}: {sum(other.values())} stored runs were computed by other model code "
                f"({', '.join(h[:12] for h in other)}; this is {model['code_hash'][:12]}); rerun with --no-resume "
                "to recompute everything, or --allow-mixed to keep them")
        manifest = {
            "name": spec.name, "spec": spec.model_dump(mode="json"), "spec_hash": spec.spec_hash(),
            "root_seed": spec.seed, "engine": spec.engine, "points": len(tasks) // spec.replicates,
            "replicates": spec.replicates, "runs": len(tasks),
            **({"base_scenario": base[None].model_dump(mode="json")} if None in base else
               {"base_scenarios": {k: v.model_dump(mode="json") for k, v in base.items()}}),
            "seeding": "numpy.random.SeedSequence(entropy=simulation.seed, spawn_key=" + (
                "(0, replicate)): common random numbers" if spec.common_random_numbers else "(point, replicate))"),
            "model": model, "stale_lock": lock.stale, "quarantined": scan.quarantined,
        }
        store.write_manifest({**manifest, "status": "running"})
        store.stage_interrupted(manifest)
        pending = [t for t in tasks if t[0] not in scan.done]
        meta = {"engine": spec.engine, "keep": spec.keep, "model": model,
                "common_random_numbers": spec.common_random_numbers,
                "series_columns": list(spec.series_columns) if spec.series_columns is not None else None}
        try:
            failures, written = _execute(client, pending, base, spec, store, meta, progress)
        except SweepInterrupted as exc:
            done = scan.done | _verified(store, getattr(exc, "written", set()), spec)
            store.mark_interrupted({**manifest, "completed_runs": len(done)}, str(exc))
            raise SweepInterrupted(f"{exc}: {len(done)} of {len(tasks)} runs stored in {store.root}; "
                                   "rerun the same command to resume", exc.exit_code) from None
        done = scan.done | _verified(store, written, spec)
        missing = [rid for rid in expected if rid not in done and rid not in failures]
        summary = store.build_summary(expected)
        status = "complete" if len(done) == len(tasks) else ("failed" if failures else "incomplete")
        versions = dict(scan.code_hashes)
        versions[model["code_hash"]] = versions.get(model["code_hash"], 0) + len(done - scan.done)
        store.write_manifest({**manifest, "status": status, "completed_runs": len(summary),
                              "failed_runs": len(failures), "missing_runs": len(missing),
                              "model_code_hashes": versions, "mixed_models": len(versions) > 1})
        (store.root / ".manifest.interrupted.json").unlink(missing_ok=True)
    except KeyboardInterrupt:  # outside the run loop: before any run was submitted, or while summarising
        if manifest is not None:
            store.mark_interrupted(manifest, "interrupted by Ctrl-C")
        raise SweepInterrupted("interrupted by Ctrl-C before the runs finished; rerun the same command to resume",
                               exit_code=130) from None
    finally:
        close_quietly(client, cluster)
        lock.release()
    if status != "complete":
        first = next(iter(failures.items()), (missing[0] if missing else "?", "no verified file after the run"))
        raise SweepFailed(f"{len(tasks) - len(done)} of {len(tasks)} runs are not stored (first: {first[0]}: "
                          f"{first[1]}); rerun to retry only those")
    return store.root


def _verified(store: SweepStore, written: set[str], spec: SweepSpec) -> set[str]:
    """The runs among ``written`` whose files are really there and sound (a worker may see another disk)."""
    return {rid for rid in written if store.verify(rid, spec.keep == "timeseries")[0] is not None}


def _execute(client, pending, base, spec: SweepSpec, store: SweepStore, meta: dict, progress: bool):
    """Submit chunks with a bounded window and collect per-run statuses as they complete.

    Returns:
        ``(failures: run id -> error, written: run ids the workers reported as written)``.
    """
    from distributed import as_completed
    from tqdm.auto import tqdm

    failures: dict[str, str] = {}
    written: set[str] = set()
    n_workers = max(1, len(client.scheduler_info(n_workers=-1)["workers"]))
    chunks = _chunks(pending, spec.engine, n_workers)
    window = 2 * n_workers + 2
    base_data = {label or "": sc.model_dump(mode="json") for label, sc in base.items()}
    todo = iter(chunks)
    futures = []

    def submit(chunk):
        future = client.submit(execute_chunk, chunk, base_data, meta, str(store.root),
                               key=f"{spec.name}-{chunk[0][0]}-{len(chunk)}", retries=TASK_RETRIES, pure=False)
        futures.append(future)
        return future

    try:
        queue = as_completed([submit(c) for _, c in zip(range(window), todo, strict=False)])
        with tqdm(total=len(pending), desc=spec.name, unit="run", disable=None if progress else True) as bar:
            for future in queue:
                try:
                    statuses = future.result()
                except Exception as exc:  # noqa: BLE001 - a task lost even after retries
                    statuses = [(future.key, f"{type(exc).__name__}: {exc}", False)]
                for rid, error, storage_fault in statuses:
                    if storage_fault:
                        stop = SweepInterrupted(f"cannot write to {store.root} ({error})")
                        stop.written = written
                        raise stop
                    if error is None:
                        written.add(rid)
                    else:
                        failures[rid] = error
                    bar.update(1)
                future.release()
                nxt = next(todo, None)
                if nxt is not None:
                    queue.add(submit(nxt))
    except KeyboardInterrupt:
        stop = SweepInterrupted("interrupted by Ctrl-C", exit_code=130)
        stop.written = written
        client.cancel(futures)
        raise stop from None
    except SweepInterrupted:
        client.cancel(futures)
        raise
    return failures, written

