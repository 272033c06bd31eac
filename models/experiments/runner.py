"""Run a sweep on Dask: resumable, verified, streamed to disk, independent of worker count and order.

Each task runs a chunk of runs (:mod:`models.experiments.chunks`): a few cadCAD or ABM runs, or batch runs
of one structure in a single batched call, summarised together and written with one flush. Workers write
their runs' files themselves and return only small status tuples, so the client's memory stays flat
whatever the sweep size. A small batch sweep (:func:`in_process`) runs in the client, without a cluster;
otherwise the LocalCluster is shared by the sweeps of one process (its start-up is paid once).
Run ``(point i, replicate r)`` always draws from ``run_seed_sequence(root, i, r)``, where ``root`` is the
run scenario's ``simulation.seed`` (the spec's ``seed``, unless ``simulation.seed`` is swept), so results
never depend on chunking, worker count or execution order, and a resumed sweep gives the same numbers as an
uninterrupted one.

What a sweep guarantees (issue 7): the store directory is absolute before workers see it; one writer at
a time (:mod:`models.experiments.lock`); stored runs are verified (hash) and corrupt ones quarantined and
recomputed; runs of another model version are never mixed in silently; the manifest's status is
``complete`` only when every expected run has a verified file; Ctrl-C and a full disk leave the store
``interrupted`` and resumable; lost workers are retried.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

from models.experiments.chunks import (  # noqa: F401 - seed_key: public here
    BATCH_TARGET,
    execute_chunk,
    plan_chunks,
    seed_key,
)
from models.experiments.cluster import (
    ClusterError,
    check_worker_code,
    check_worker_paths,
    open_client,
    preflight,
    release,
)
from models.experiments.lock import StoreError
from models.experiments.spec import SweepSpec, base_scenarios, canonical_json, load_sweep, points
from models.experiments.store import MixedModelError, SweepStore, run_id, scenario_hash

TASK_RETRIES = 3  # a task whose worker died is run again elsewhere (Dask's ``retries``)
# Lower bounds of the bytes one run writes (measured: record ~3 KB; Parquet ~ 2.4 bytes per value).
RECORD_BYTES, SERIES_BYTES_PER_VALUE = 2_000, 2
# A batch sweep whose estimated work is below this runs in the client: a LocalCluster takes ~3 s to start.
IN_PROCESS_MAX_S = 2.0
# Rough costs of the batch engine (2 cores, under load): per step of a batch call, per run-step.
BATCH_STEP_S, BATCH_RUN_STEP_S = 2.5e-3, 4e-5


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
        (run_id(p, r, spec.run_engine, spec.seed, steps, i, base_hash), i, r, p)
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
              allow_mixed: bool = False, force: bool = False, quick: bool = False,
              local: bool | None = None) -> Path:
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
        local: run in this process without Dask (True), on Dask (False), or decide by :func:`in_process`
            (None; never with a scheduler).

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
    if local is None:
        local = in_process(spec, base, len(tasks) - stored, scheduler)
    client, cluster = (None, None) if local else open_client(workers, scheduler, shared=True)
    lock = store.lock()
    manifest: dict[str, Any] | None = None
    broken = True
    try:
        lock.acquire()
        if client is not None:
            check_worker_code(client, model["code_hash"])
        if not resume:
            moved = store.move_aside()
            if moved is not None:
                print(f"{spec.name}: --no-resume: the previous store was moved to {moved}")
        created = store.create()
        try:
            if client is not None:
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
            "root_seed": spec.seed, "engine": spec.engine, "backend": spec.backend,
            "points": len(tasks) // spec.replicates, "replicates": spec.replicates, "runs": len(tasks),
            **({"base_scenario": base[None].model_dump(mode="json")} if None in base else
               {"base_scenarios": {k: v.model_dump(mode="json") for k, v in base.items()}}),
            "seeding": "numpy.random.SeedSequence(entropy=simulation.seed, spawn_key=" + (
                "(0, replicate)): common random numbers" if spec.common_random_numbers else "(point, replicate))"),
            "model": model, "stale_lock": lock.stale, "quarantined": scan.quarantined,
        }
        store.write_manifest({**manifest, "status": "running"})
        store.stage_interrupted(manifest)
        pending = [t for t in tasks if t[0] not in scan.done]
        meta = {"engine": spec.engine, "backend": spec.backend, "keep": spec.keep, "model": model,
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
        broken = False
    except StoreError:
        broken = False
        raise
    except KeyboardInterrupt:  # outside the run loop: before any run was submitted, or while summarising
        if manifest is not None:
            store.mark_interrupted(manifest, "interrupted by Ctrl-C")
        raise SweepInterrupted("interrupted by Ctrl-C before the runs finished; rerun the same command to resume",
                               exit_code=130) from None
    finally:
        release(client, cluster, broken)
        lock.release()
    if status != "complete":
        first = next(iter(failures.items()), (missing[0] if missing else "?", "no verified file after the run"))
        raise SweepFailed(f"{len(tasks) - len(done)} of {len(tasks)} runs are not stored (first: {first[0]}: "
                          f"{first[1]}); rerun to retry only those")
    return store.root


def _verified(store: SweepStore, written: set[str], spec: SweepSpec) -> set[str]:
    """The runs among ``written`` whose files are really there and sound (a worker may see another disk)."""
    return {rid for rid in written if store.verify(rid, spec.keep == "timeseries")[0] is not None}


def in_process(spec: SweepSpec, base: dict, pending: int, scheduler: str | None) -> bool:
    """Whether a sweep is small enough to run in the client: a batch sweep of under ``IN_PROCESS_MAX_S``.

    Never with a scheduler (given or in ``$DASK_SCHEDULER_ADDRESS``); cadCAD and ABM sweeps always use Dask
    (their runs are slow enough to gain from workers, and a crash stays in a worker).
    """
    import os

    if scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or spec.engine != "batch" or pending <= 0:
        return pending <= 0 and not (scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS"))
    steps = next(iter(base.values())).simulation.steps
    engine_runs = pending * (2 if any(sc.shocks for sc in base.values()) else 1)
    chunks = math.ceil(engine_runs / BATCH_TARGET)
    return chunks * steps * BATCH_STEP_S + engine_runs * steps * BATCH_RUN_STEP_S < IN_PROCESS_MAX_S


def _record(statuses, store: SweepStore, written: set, failures: dict, bar) -> None:
    """Take the per-run statuses of one finished task; a storage fault stops the sweep."""
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


def _execute(client, pending, base, spec: SweepSpec, store: SweepStore, meta: dict, progress: bool):
    """Run the pending runs' chunks, on Dask with a bounded window (or here when ``client`` is None).

    Returns:
        ``(failures: run id -> error, written: run ids the workers reported as written)``.
    """
    import uuid

    from tqdm.auto import tqdm

    failures: dict[str, str] = {}
    written: set[str] = set()
    n_workers = 1 if client is None else max(1, len(client.scheduler_info(n_workers=-1)["workers"]))
    chunks = plan_chunks(pending, spec.engine, n_workers, twins=any(sc.shocks for sc in base.values()),
                         backend=spec.backend)
    base_data = {label or "": sc.model_dump(mode="json") for label, sc in base.items()}
    bar = tqdm(total=len(pending), desc=spec.name, unit="run", disable=None if progress else True)
    if client is None:
        with bar:
            try:
                for chunk in chunks:
                    _record(execute_chunk(chunk, base_data, meta, str(store.root)), store, written, failures, bar)
            except KeyboardInterrupt:
                stop = SweepInterrupted("interrupted by Ctrl-C", exit_code=130)
                stop.written = written
                raise stop from None
        return failures, written
    from distributed import as_completed

    window = 2 * n_workers + 2
    todo = iter(chunks)
    futures = []
    tag = uuid.uuid4().hex[:8]  # a shared cluster may still know the keys of an earlier sweep

    def submit(chunk):
        future = client.submit(execute_chunk, chunk, base_data, meta, str(store.root),
                               key=f"{spec.name}-{tag}-{chunk[0][0]}-{len(chunk)}", retries=TASK_RETRIES,
                               pure=False)
        futures.append(future)
        return future

    try:
        queue = as_completed([submit(c) for _, c in zip(range(window), todo, strict=False)])
        with bar:
            for future in queue:
                try:
                    statuses = future.result()
                except Exception as exc:  # noqa: BLE001 - a task lost even after retries
                    statuses = [(future.key, f"{type(exc).__name__}: {exc}", False)]
                _record(statuses, store, written, failures, bar)
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
