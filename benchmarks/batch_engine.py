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


CELLS_BEFORE = 5  # provider cells per run when issue 14's targets were measured (5 cost cohorts, 6ae4cf7)


def cells(runs_steps_per_s: float) -> str:
    """A rate per run and per provider cell (type x vintage slot): the economy v2 holds 400 cells per run."""
    from models.params import load_scenario
    from models.sd.compile import structure_of

    s = structure_of(load_scenario(ROOT / "params" / "base.yaml"))
    return f"{runs_steps_per_s:,.0f} run-steps/s ({runs_steps_per_s * s.types * s.slots / 1e6:,.1f} M cell-steps/s)"


def rows(runs: int, steps: int) -> list[list[str]]:
    """The batch engine's lines of ``make bench``: ``[measurement, target, value, result]``."""
    ref = in_subprocess("numpy", runs, steps)
    fast = in_subprocess("jax", runs, steps)
    one_ref = in_subprocess("numpy", 1, steps)
    target = 2e6

    def verdict(rate):
        return "pass" if rate >= target else "fail"

    return [
        [f"numpy reference, {runs:,} runs x {steps} steps, 1 core", ">= 2,000,000 run-steps/s",
         cells(ref["run_steps_per_s"]), verdict(ref["run_steps_per_s"])],
        [f"jax backend (the same source compiled by XLA), {runs:,} runs x {steps} steps, 1 core",
         ">= 2,000,000 run-steps/s", cells(fast["run_steps_per_s"]), verdict(fast["run_steps_per_s"])],
        ["compiled backend over numpy, same runs", "-", f"{fast['run_steps_per_s'] / ref['run_steps_per_s']:.2f}x",
         "-"],
        ["within 2x of a hand-compiled version of the same update", "<= 2x",
         "not measured: no hand-written compiled port of the economy v2 step exists", "fail"],
        ["jax compilation (per structure and bucket; persistent cache, models.sd.compiled.cache_dir)", "-",
         f"{fast['compile_s']:.1f} s", "-"],
        ["numpy reference, 1 run (what the ABM and cadCAD runner pay per step)", "-",
         f"{one_ref['run_steps_per_s']:,.0f} run-steps/s", "-"],
        [f"run_batch peak RSS, {runs:,} runs x {steps} steps: numpy / jax", "-",
         f"{ref['peak_rss_mb']:,.0f} / {fast['peak_rss_mb']:,.0f} MB", "-"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=26)
    parser.add_argument("--quick", action="store_true", help="1,000 runs x 13 steps")
    parser.add_argument("--rows-json", action="store_true", help="print the rows as JSON (benchmarks/bench.py)")
    args = parser.parse_args()
    runs, steps = (1000, 13) if args.quick else (args.runs, args.steps)
    table = rows(runs, steps)
    if args.rows_json:
        print(json.dumps(table))
        return
    print("| measurement | target | value | result |\n|---|---|---|---|")
    for r in table:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
