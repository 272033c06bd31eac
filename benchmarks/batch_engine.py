"""Batch engine throughput and memory, numpy reference against the compiled (JAX) backend.

Usage: ``python benchmarks/batch_engine.py [--runs 10000] [--steps 26] [--json]``. Each measurement runs in
its own process pinned to one core (``taskset``-style affinity, XLA limited to one thread), so peak memory
(max RSS) belongs to that measurement alone. Rates are run-steps per second on ``params/base.yaml`` over
the first ``--steps`` steps; the compiled backend is timed after its compilation (reported apart).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONE_THREAD = {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
              "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def measure(backend: str, runs: int, steps: int) -> dict:
    """Run-steps/s, compile seconds and peak RSS of one backend, in this process."""
    import resource
    import time

    from models.exogenous import run_seed_sequence, sample_exogenous
    from models.params import load_scenario
    from models.sd.batch import run_batch

    sc = load_scenario(ROOT / "params" / "base.yaml")
    exos = [sample_exogenous(sc, run_seed_sequence(1, i)) for i in range(runs)]
    compile_s = 0.0
    if backend == "jax":  # compile (and warm) every bucket the timed call uses, on a small batch of each
        from models.sd import compiled

        started = time.perf_counter()
        for size in {compiled.bucket(runs), compiled.bucket(min(runs, compiled.BUCKETS[-1]))}:
            run_batch([sc] * min(size, runs), exos[:size], steps=steps, backend="jax")
        compile_s = time.perf_counter() - started
    started = time.perf_counter()
    frame = run_batch([sc] * runs, exos, steps=steps, backend=backend)
    seconds = time.perf_counter() - started
    assert len(frame) == runs * (steps + 1)
    return {"backend": backend, "runs": runs, "steps": steps, "seconds": seconds,
            "run_steps_per_s": runs * steps / seconds, "compile_s": compile_s,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def in_subprocess(backend: str, runs: int, steps: int) -> dict:
    """:func:`measure` in a fresh interpreter pinned to one core."""
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / 'benchmarks')!r});"
            f"import batch_engine; print(json.dumps(batch_engine.measure({backend!r}, {runs}, {steps})))")
    cmd = [sys.executable, "-c", code]
    if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) > 1:
        cmd = ["taskset", "-c", str(min(os.sched_getaffinity(0))), *cmd]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT, env={**os.environ, **ONE_THREAD})
    return json.loads(out.stdout.strip().splitlines()[-1])


def rows(runs: int, steps: int) -> list[dict]:
    """The batch engine's lines of ``make bench``."""
    ref = in_subprocess("numpy", runs, steps)
    fast = in_subprocess("jax", runs, steps)
    one_ref = in_subprocess("numpy", 1, steps)
    one_fast = in_subprocess("jax", 1, steps)
    return [
        {"what": f"batch engine, numpy, {runs:,} runs, 1 core", "value": ref["run_steps_per_s"],
         "unit": "run-steps/s", "target": ">= 2,000,000", "pass": ref["run_steps_per_s"] >= 2e6},
        {"what": f"batch engine, jax (compiled from the same source), {runs:,} runs, 1 core",
         "value": fast["run_steps_per_s"], "unit": "run-steps/s", "target": ">= 2,000,000",
         "pass": fast["run_steps_per_s"] >= 2e6},
        {"what": "  compiled over numpy, same runs", "value": fast["run_steps_per_s"] / ref["run_steps_per_s"],
         "unit": "x", "target": "(report)", "pass": None},
        {"what": "  jax compilation, once per structure and bucket", "value": fast["compile_s"], "unit": "s",
         "target": "(report)", "pass": None},
        {"what": "batch engine, 1 run, numpy (what one cadCAD-sized run pays)", "value": one_ref["run_steps_per_s"],
         "unit": "run-steps/s", "target": "(report)", "pass": None},
        {"what": "batch engine, 1 run, jax (padded to 16)", "value": one_fast["run_steps_per_s"],
         "unit": "run-steps/s", "target": "(report)", "pass": None},
        {"what": f"run_batch peak RSS, numpy, {runs:,} runs x {steps} steps", "value": ref["peak_rss_mb"],
         "unit": "MB", "target": "(report)", "pass": None},
        {"what": f"run_batch peak RSS, jax, {runs:,} runs x {steps} steps", "value": fast["peak_rss_mb"],
         "unit": "MB", "target": "(report)", "pass": None},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=26)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    table = rows(args.runs, args.steps)
    if args.json:
        print(json.dumps(table))
        return
    for r in table:
        print(f"| {r['what']} | {r['value']:,.2f} {r['unit']} | {r['target']} | {r['pass']} |")


if __name__ == "__main__":
    main()
