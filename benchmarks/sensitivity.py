"""Time a Sobol analysis from spec to indices and print one table (issue 12: "in minutes on 2 cores").

Usage: ``python benchmarks/sensitivity.py [--spec params/sweeps/sensitivity.yaml] [--samples N] [--workers W]``.
Runs the spec's sweep from scratch into a temporary directory (the store is removed afterwards; it is the
benchmark's own), then reads the summary and the stored paths back and computes the indices at the horizon
and at every step. Prints the time of each phase, the runs per second and the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from models.analysis import sensitivity as sa
    from models.experiments.results import SweepResults
    from models.experiments.runner import run_sweep
    from models.experiments.spec import expected_runs, load_sweep

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", default=str(ROOT / "params" / "sweeps" / "sensitivity.yaml"))
    parser.add_argument("--samples", type=int, default=None, help="Sobol base sample N (default: the spec's)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    spec = load_sweep(args.spec)
    if args.samples is not None:
        spec = spec.model_copy(update={"samples": args.samples, "name": f"{spec.name}-n{args.samples}"})
    runs = expected_runs(spec)
    tmp = Path(tempfile.mkdtemp(prefix="depin-bench-"))
    rows = []
    try:
        start = time.perf_counter()
        root = run_sweep(spec, workers=args.workers, out=tmp, progress=False)
        rows.append(("sweep (runs and twins, stored)", time.perf_counter() - start))
        start = time.perf_counter()
        results = SweepResults(root)
        n = len(sa.design(spec))
        y = sa.outcome(results.summary, "trough", points=n)
        series = results.timeseries(columns=["point", "replicate", "step", "providers", "twin_providers"])
        paths, steps = sa.outcome_paths(series, "providers", relative_to_twin=True, points=n)
        rows.append(("read summary and paths", time.perf_counter() - start))
        start = time.perf_counter()
        sa.sobol_indices(spec, y)
        rows.append(("indices at the horizon (1000 resamples)", time.perf_counter() - start))
        start = time.perf_counter()
        sa.sobol_over_time(spec, paths, steps)
        rows.append((f"indices at each of {paths.shape[1]} steps (200 resamples)", time.perf_counter() - start))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    total = sum(seconds for _, seconds in rows)
    print(f"Sobol: {len(spec.parameters)} parameters, N = {spec.samples}, {runs:,} runs (each with its twin), "
          f"{spec.steps} steps, engine {spec.engine}, {args.workers} workers")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}, Python "
          f"{platform.python_version()}")
    print(f"{'phase':<48}{'seconds':>10}")
    for name, seconds in rows:
        print(f"{name:<48}{seconds:>10.1f}")
    print(f"{'total':<48}{total:>10.1f}")
    print(f"runs per second in the sweep: {runs / rows[0][1]:,.1f}")


if __name__ == "__main__":
    main()
